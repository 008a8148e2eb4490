"""openWakeWord classifiers (`.onnx` files) read into Keras heads for the speech embedding.

openWakeWord's training script turns a wake word into a small network on the last `T`
speech embeddings (16 for most, 1.98 s of audio): flatten the `(T, 96)` window, then
dense layers, each but the last followed by an optional layer norm and a ReLU, and a
sigmoid. `openwakeword_head` reads such a file into a `speech_embedding_head`-shaped
Keras model, so a classifier trained with openWakeWord runs in `speech_embedding_streaming`
(one TFLite file from audio to probability, 80 ms per call, float or int8 weights) and in
`kerasdl wakeword`.

The file's ops are checked node by node (`Flatten`, `Gemm` or `MatMul` + `Add`, `Relu`,
`LayerNormalization` or its decomposed form, `Sigmoid`), and anything else is refused with
the op it met. The heads openWakeWord 0.4.0 itself ships (alexa, hey_marvin, weather, ...)
are under a non-commercial licence (CC BY-NC-SA 4.0); a head you train is yours.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import layers

from kerasdl.models.speech_embedding import EMBEDDING_DIM

_LAYER_NORM_OPS = ("ReduceMean", "Sub", "Pow", "ReduceMean", "Add", "Sqrt", "Div", "Mul", "Add")


def _read_graph(path: Path) -> tuple[Any, dict[str, np.ndarray]]:
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError as error:
        raise ImportError(
            "Reading an openWakeWord model needs the `onnx` package: `pip install onnx` (or "
            "`pip install kerasdl[speech]`)."
        ) from error
    try:
        graph = onnx.load(str(path)).graph
    except Exception as error:  # onnx raises DecodeError and others for a foreign file
        raise ValueError(f"{path} is not an ONNX file ({error})") from None
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            for attribute in node.attribute:
                if attribute.name == "value":
                    constants[node.output[0]] = numpy_helper.to_array(attribute.t)
    return graph, constants


def _label(node: Any) -> str:
    """A node as an error names it: its name, or the tensor it writes."""
    return repr(node.name) if node.name else f"writing {node.output[0]!r}"


def _attributes(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


class _Chain:
    """Walks a graph's nodes as one chain of ops on a single running tensor."""

    def __init__(self, path: Path, graph: Any, constants: dict[str, np.ndarray]):
        self.path, self.constants = path, constants
        self.nodes = [n for n in graph.node if n.op_type != "Constant"]
        self.position = 0

    def refuse(self, why: str) -> ValueError:
        return ValueError(
            f"{self.path} is not an openWakeWord classifier kerasdl reads: {why}. Expected "
            "Flatten, then dense layers (Gemm, or MatMul + Add) each followed by an optional "
            "layer norm and a Relu, then a dense layer to one output and a Sigmoid."
        )

    def peek(self) -> Any | None:
        return self.nodes[self.position] if self.position < len(self.nodes) else None

    def take(self, op: str, current: str) -> Any:
        node = self.peek()
        if node is None or node.op_type != op:
            met = "the end of the graph" if node is None else f"a {node.op_type} node"
            raise self.refuse(f"expected {op} after the previous op, met {met}")
        if current not in node.input:
            raise self.refuse(f"the {op} node {_label(node)} does not read the previous output")
        self.position += 1
        return node

    def constant(self, node: Any, skip: str) -> np.ndarray:
        values = [self.constants[i] for i in node.input if i != skip and i in self.constants]
        if len(values) != 1:
            raise self.refuse(f"the {node.op_type} node {_label(node)} has no constant operand")
        return np.asarray(values[0], np.float32)

    def dense(self, current: str) -> tuple[str, np.ndarray, np.ndarray]:
        node = self.peek()
        if node is not None and node.op_type == "Gemm":
            self.take("Gemm", current)
            attributes = _attributes(node)
            if (
                attributes.get("transA", 0)
                or attributes.get("alpha", 1.0) != 1.0
                or attributes.get("beta", 1.0) != 1.0
                or node.input[0] != current
                or len(node.input) != 3
                or not all(name in self.constants for name in node.input[1:])
            ):
                raise self.refuse(
                    f"the Gemm node {_label(node)} is not x @ W + b with constant W and b"
                )
            kernel = np.asarray(self.constants[node.input[1]], np.float32)
            bias = np.asarray(self.constants[node.input[2]], np.float32)
            if attributes.get("transB", 0):
                kernel = kernel.T
            return node.output[0], kernel, bias.reshape(-1)
        if node is None or node.op_type != "MatMul":
            met = "the end of the graph" if node is None else f"a {node.op_type} node"
            raise self.refuse(f"expected a dense layer (Gemm or MatMul), met {met}")
        node = self.take("MatMul", current)
        if node.input[0] != current:
            raise self.refuse(f"the MatMul node {_label(node)} is not x @ W")
        kernel = self.constant(node, current)
        add = self.take("Add", node.output[0])
        return add.output[0], kernel, self.constant(add, node.output[0]).reshape(-1)

    def layer_norm(self, current: str) -> tuple[str, tuple | None]:
        node = self.peek()
        if node is not None and node.op_type == "LayerNormalization":
            self.take("LayerNormalization", current)
            if _attributes(node).get("axis", -1) not in (-1, 1) or len(node.input) != 3:
                raise self.refuse(f"the LayerNormalization {_label(node)} is not over the units")
            gamma, beta = (self.constants.get(name) for name in node.input[1:])
            epsilon = float(_attributes(node).get("epsilon", 1e-5))
            return node.output[0], (gamma, beta, epsilon)
        if node is None or node.op_type != "ReduceMean":
            return current, None
        found = [n.op_type for n in self.nodes[self.position : self.position + 9]]
        if found != list(_LAYER_NORM_OPS):
            raise self.refuse(f"a ReduceMean starts {found}, not a layer norm")
        mean, centred, square, variance, shifted, root, divided, scaled, shifted_out = self.nodes[
            self.position : self.position + 9
        ]
        self.position += 9
        wiring = (
            current in mean.input
            and current in centred.input
            and mean.output[0] in centred.input
            and centred.output[0] in square.input
            and square.output[0] in variance.input
            and variance.output[0] in shifted.input
            and shifted.output[0] in root.input
            and list(divided.input) == [centred.output[0], root.output[0]]
            and divided.output[0] in scaled.input
            and scaled.output[0] in shifted_out.input
            and np.allclose(self.constant(square, centred.output[0]), 2.0)
        )
        axes = [_attributes(n).get("axes", [-1]) for n in (mean, variance)]
        if not wiring or any(list(a) not in ([-1], [1]) for a in axes):
            raise self.refuse(f"the nodes from {_label(mean)} are not a layer norm over the units")
        epsilon = float(self.constant(shifted, variance.output[0]).reshape(-1)[0])
        gamma = self.constant(scaled, divided.output[0])
        beta = self.constant(shifted_out, scaled.output[0])
        return shifted_out.output[0], (gamma, beta, epsilon)


def _parse(path: Path) -> tuple[int, list[tuple]]:
    """The file's window length and its layers: ("dense", W (in, out), b), ("norm", gamma,
    beta, epsilon), ("relu",)."""
    graph, constants = _read_graph(path)
    inputs = [i for i in graph.input if i.name not in constants]
    chain = _Chain(path, graph, constants)
    if len(inputs) != 1 or len(graph.output) != 1:
        raise chain.refuse(
            f"it has {len(inputs)} inputs and {len(graph.output)} outputs, not one of each"
        )
    dims = [d.dim_value or None for d in inputs[0].type.tensor_type.shape.dim]
    if len(dims) != 3 or dims[2] != EMBEDDING_DIM or not dims[1]:
        raise chain.refuse(
            f"its input has shape {dims}, not (batch, steps, {EMBEDDING_DIM}) embeddings"
        )
    steps = int(dims[1])
    current = chain.take("Flatten", inputs[0].name).output[0]
    found: list[tuple] = []
    while True:
        current, kernel, bias = chain.dense(current)
        if kernel.ndim != 2 or bias.shape != (kernel.shape[1],):
            raise chain.refuse(f"a dense layer has weights {kernel.shape} and bias {bias.shape}")
        found.append(("dense", kernel, bias))
        after = chain.peek()
        if after is not None and after.op_type == "Sigmoid":
            current = chain.take("Sigmoid", current).output[0]
            break
        current, norm = chain.layer_norm(current)
        if norm is not None:
            gamma, beta, epsilon = norm
            if np.shape(gamma) != (kernel.shape[1],) or np.shape(beta) != (kernel.shape[1],):
                raise chain.refuse("a layer norm's scale or offset does not fit its dense layer")
            found.append(("norm", np.asarray(gamma, np.float32), np.asarray(beta), epsilon))
        current = chain.take("Relu", current).output[0]
        found.append(("relu",))
    if chain.peek() is not None:
        raise chain.refuse(f"a {chain.peek().op_type} node follows the Sigmoid")
    if current != graph.output[0].name:
        raise chain.refuse("the Sigmoid is not the graph's output")
    denses = [layer for layer in found if layer[0] == "dense"]
    if len(denses) < 2 or denses[-1][1].shape[1] != 1:
        raise chain.refuse(
            f"it has {len(denses)} dense layers ending in {denses[-1][1].shape[1]} outputs; "
            "a classifier has at least two, the last with one output"
        )
    if denses[0][1].shape[0] != steps * EMBEDDING_DIM:
        raise chain.refuse(
            f"its first dense layer takes {denses[0][1].shape[0]} numbers, not the "
            f"{steps} x {EMBEDDING_DIM} of its input"
        )
    for previous, following in zip(denses, denses[1:], strict=False):
        if previous[1].shape[1] != following[1].shape[0]:
            raise chain.refuse("its dense layers' sizes do not chain")
    return steps, found


def openwakeword_head(path: str | os.PathLike, name: str | None = None) -> keras.Model:
    """An openWakeWord classifier file read into a `speech_embedding_head`-shaped model:
    `(batch, steps, 96)` embeddings -> `(batch, steps)` probabilities.

    The file scores one window of the last `T` embeddings (`(1, T, 96)` -> a probability).
    The model scores every step the same way: step `j` sees embeddings `j - T + 1 .. j`
    (zeros before the first), so from step `T - 1` on it equals the file on that window.
    The first dense layer becomes a `Conv1D` over the window ("context"), the others
    `Dense` layers ("hidden", "hidden_2", ...; the last "logits"), each layer norm a
    `LayerNormalization` with the file's epsilon. Use it with `speech_embedding_streaming`
    to make one streaming file from audio to probability.

    Args:
        path: the classifier's `.onnx` file, as openWakeWord's training writes it.
        name: model name; the file's stem when None.

    Returns:
        A functional `keras.Model` with layers "history", "context", "logits" and
        "probabilities", as `speech_embedding_head` builds.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a file that is not such a classifier (naming the op or shape that is
            not).

    Example:

    >>> import onnx, numpy as np
    >>> from onnx import helper, numpy_helper
    >>> rng = np.random.default_rng(0)
    >>> w1, w2 = rng.normal(size=(16 * 96, 8)), rng.normal(size=(8, 1))
    >>> graph = helper.make_graph(
    ...     [helper.make_node("Flatten", ["x"], ["f"]),
    ...      helper.make_node("Gemm", ["f", "w1", "b1"], ["h"]),
    ...      helper.make_node("Relu", ["h"], ["r"]),
    ...      helper.make_node("Gemm", ["r", "w2", "b2"], ["z"]),
    ...      helper.make_node("Sigmoid", ["z"], ["p"])], "head",
    ...     [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 16, 96])],
    ...     [helper.make_tensor_value_info("p", onnx.TensorProto.FLOAT, [1, 1])],
    ...     [numpy_helper.from_array(a.astype("float32"), n) for n, a in
    ...      [("w1", w1), ("b1", np.zeros(8)), ("w2", w2), ("b2", np.zeros(1))]])
    >>> onnx.save(helper.make_model(graph), "/tmp/kerasdl_doctest_head.onnx")
    >>> head = openwakeword_head("/tmp/kerasdl_doctest_head.onnx")
    >>> tuple(head(np.zeros((1, 20, 96), "float32")).shape), head.get_layer("context").kernel_size
    ((1, 20), (16,))
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"`path` must be an openWakeWord model (.onnx file): {path}")
    steps, found = _parse(path)
    embeddings = keras.Input((None, EMBEDDING_DIM), name="embeddings")
    x = layers.ZeroPadding1D((steps - 1, 0), name="history")(embeddings)
    denses = [layer for layer in found if layer[0] == "dense"]
    names = (
        ["context"]
        + ["hidden" if i == 1 else f"hidden_{i}" for i in range(1, len(denses) - 1)]
        + ["logits"]
    )
    assignments = []
    dense_index = -1
    for layer in found:
        if layer[0] == "dense":
            dense_index += 1
            kernel, bias = layer[1], layer[2]
            label = names[dense_index]
            if dense_index == 0:
                block = layers.Conv1D(kernel.shape[1], steps, name=label)
                kernel = kernel.reshape(steps, EMBEDDING_DIM, kernel.shape[1])
            else:
                block = layers.Dense(kernel.shape[1], name=label)
            x = block(x)
            assignments.append((block, [kernel, bias]))
        elif layer[0] == "norm":
            block = layers.LayerNormalization(epsilon=layer[3], name=f"{label}_norm")
            x = block(x)
            assignments.append((block, [layer[1], layer[2]]))
        else:
            x = layers.ReLU(name=f"{label}_relu")(x)
    x = layers.Reshape((-1,), name="steps")(x)
    x = layers.Activation("sigmoid", name="probabilities")(x)
    model = keras.Model(embeddings, x, name=name or path.stem.replace(".", "_"))
    for block, values in assignments:
        block.set_weights([np.asarray(v, np.float32) for v in values])
    return model
