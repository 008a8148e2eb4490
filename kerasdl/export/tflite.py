"""TFLite (LiteRT) conversion with a static signature, quantisation and a parity report.

`tflite` converts a Keras model to a `.tflite` flatbuffer (float, dynamic-range, float16
or full-int8), writes it atomically, and checks it against Keras with the LiteRT
interpreter. `TFLiteModel` runs a `.tflite` file on numpy batches of any size, quantising
inputs and dequantising outputs of integer-I/O models.

The conversion route is the one that works for Keras 3 models in TF 2.21: a SavedModel with
a *static* input signature (batch fixed, 1 by default) written by `keras.export.
ExportArchive`, then `tf.lite.TFLiteConverter.from_saved_model`. The static batch is what
makes recurrent layers convert with builtin ops (a dynamic batch leaves TensorList ops),
and going through a SavedModel freezes the variables (converting a concrete function of a
Keras model keeps them as resource variables, which the interpreter reads as NaN).
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from ai_edge_litert import interpreter as litert
from ai_edge_litert import schema_py_generated as schema

from kerasdl._validation import check_bool, check_one_of

QUANTIZATIONS = ("none", "dynamic", "float16", "int8", "int16x8")
# Full-integer modes, whose activation ranges are calibrated on representative data.
CALIBRATED = ("int8", "int16x8")
# Examples drawn when no data is given to check parity on.
NUM_RANDOM_CHECK_INPUTS = 16


@dataclasses.dataclass(frozen=True)
class ParityReport:
    """What `tflite` wrote and how closely it matches Keras.

    Attributes:
        path: the `.tflite` file.
        quantization: "none", "dynamic", "float16", "int8" or "int16x8".
        size_bytes: size of the file.
        input_shapes: the static input shapes the model was converted with.
        ops: sorted names of the operators in the flatbuffer, every subgraph included
            (Flex ops appear as `Flex<TFOp>`).
        uses_flex: whether any op is a Flex (Select TF) op.
        max_abs_diff: max |TFLite - Keras| over every output element of the checked
            examples, `None` when the model could not be run here (see `note`).
        checked_on: where the checked examples came from: "check_inputs",
            "representative_data", "labelled_data" or "random" (standard normal floats,
            ints in {0, 1}).
        num_checked: how many examples were checked.
        mean_latency_ms: mean wall time of one `invoke()` (one static batch) with the
            LiteRT interpreter after a few warm-up invokes, `None` when not run.
        keras_accuracy: argmax accuracy of Keras on `labelled_data` (threshold accuracy for
            one-unit outputs), `None` without `labelled_data`.
        tflite_accuracy: the same for the TFLite model.
        accuracy_change: `tflite_accuracy - keras_accuracy`.
        note: why a measurement is missing, else "".
    """

    path: str
    quantization: str
    size_bytes: int
    input_shapes: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]
    uses_flex: bool
    max_abs_diff: float | None
    checked_on: str
    num_checked: int
    mean_latency_ms: float | None
    keras_accuracy: float | None = None
    tflite_accuracy: float | None = None
    accuracy_change: float | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Returns the report as a JSON-friendly dict (tuples become lists)."""
        result = dataclasses.asdict(self)
        result["input_shapes"] = [list(shape) for shape in self.input_shapes]
        result["ops"] = list(self.ops)
        return result

    def __str__(self) -> str:
        def number(value, fmt):
            return "n/a" if value is None else format(value, fmt)

        rows = [
            ("path", self.path),
            ("quantization", self.quantization),
            ("size", f"{self.size_bytes / 1024:.1f} KiB ({self.size_bytes} bytes)"),
            ("input shapes", ", ".join(str(s) for s in self.input_shapes)),
            ("ops", ", ".join(self.ops)),
            ("uses Flex ops", "yes" if self.uses_flex else "no"),
            (
                "max |tflite - keras|",
                "not measured"
                if self.max_abs_diff is None
                else f"{self.max_abs_diff:.3g} on {self.num_checked} examples ({self.checked_on})",
            ),
            (
                "mean latency",
                "not measured"
                if self.mean_latency_ms is None
                else f"{self.mean_latency_ms:.3f} ms per invoke",
            ),
        ]
        if self.keras_accuracy is not None:
            rows.append(
                (
                    "accuracy",
                    f"keras {self.keras_accuracy:.4f}  tflite "
                    f"{number(self.tflite_accuracy, '.4f')}  change "
                    f"{number(self.accuracy_change, '+.4f')}",
                )
            )
        if self.note:
            rows.append(("note", self.note))
        width = max(len(key) for key, _ in rows)
        return "\n".join(["TFLite parity report"] + [f"  {k:<{width}}  {v}" for k, v in rows])


def tflite(
    model: keras.Model,
    path: str | os.PathLike,
    quantization: str = "none",
    representative_data: Any = None,
    input_shape: tuple[int, ...] | list[tuple[int, ...]] | None = None,
    allow_flex_ops: bool = False,
    check_inputs: Any = None,
    labelled_data: tuple[Any, Any] | None = None,
    integer_io: bool = False,
    per_channel: bool = True,
    float_ops: Sequence[str] = (),
) -> ParityReport:
    """Converts `model` to a `.tflite` file and reports its parity with Keras.

    The model is converted with a static input signature: the model's input shapes with
    the batch dimension set to 1, or `input_shape`. Only TFLite builtin ops are allowed
    unless `allow_flex_ops=True`.

    Quantisation:
        - "none": float32 weights and activations.
        - "dynamic": dynamic-range; weights stored as int8 (tensors of >= 1024 elements),
          activations float. No data needed.
        - "float16": weights stored as float16, computed in float32.
        - "int8": full-integer; weights and activations int8, with activation ranges
          calibrated on `representative_data`. The interface stays float32 (a quantize op
          in, a dequantize op out) unless `integer_io=True`, which makes inputs and outputs
          int8 for microcontrollers (`TFLiteModel` converts them for you). Recurrent layers
          that loop over time cannot be int8-calibrated (the TF 2.21 converter crashes);
          use `unroll=True` or a single-step model with the state as explicit inputs.
        - "int16x8": full-integer with int16 activations and int8 weights (TFLite's 16x8
          mode), calibrated like "int8": 256 times finer activation steps for about the
          same file size, for models whose int8 error adds up (e.g. a recurrent state
          carried from call to call). TFLite runs its 16x8 kernels without the optimised
          int8 paths, so it is several times slower on a CPU; the interface stays float32.

    Data arguments (`representative_data`, `check_inputs`, the `x` of `labelled_data`) take
    a numpy array `(n, ...)` for a single-input model, a list of arrays in input order or a
    dict input name -> array for several inputs, or an iterable (a generator, a list of
    batches, a `tf.data.Dataset`) yielding any of these, per example or per batch. Every
    example is checked against the static input shape.

    Args:
        model: a built `keras.Model`.
        path: the `.tflite` file to write; its directory must exist. Written to a temporary
            file in that directory and renamed into place, so `path` is either the old file
            or the complete new one.
        quantization: one of "none", "dynamic", "float16", "int8", "int16x8".
        representative_data: calibration examples, required for "int8" and "int16x8" (a
            few hundred typical inputs).
        input_shape: the static input shape including the batch, e.g. `(1, 28, 28, 1)`;
            a list of shapes for several inputs. Needed when the model has unknown
            non-batch dimensions.
        allow_flex_ops: allow TensorFlow (Select TF / Flex) ops that have no builtin
            kernel. The app then needs the Flex delegate (several MB), and the LiteRT
            Python package cannot run such a model, so parity is not measured here unless
            `tf.lite.Interpreter` has Flex support.
        check_inputs: examples to compare TFLite with Keras on. Defaults to
            `representative_data`, then the `x` of `labelled_data`, then 16 random inputs;
            `checked_on` in the report says which.
        labelled_data: optional `(x, y)` with integer class labels `y` of shape `(n,)` (or
            one-hot `(n, classes)`) for a single-output classifier: the report then has
            the Keras and TFLite accuracy and their difference.
        integer_io: int8 inputs and outputs; only with `quantization="int8"`.
        per_channel: quantize each output channel of a weight tensor with its own scale
            (TFLite's default); False gives one scale per tensor, for integer kernels that
            only take per-tensor weights. Only with "dynamic", "int8" or "int16x8".
        float_ops: TFLite builtin op names (e.g. `("LOG",)`) kept in float inside an
            "int8" or "int16x8" model, between a dequantize and a quantize op (selective
            quantization, with TFLite's `QuantizationDebugger`). For runtimes that lack an
            integer kernel of an op: TensorFlow Lite for Microcontrollers has LOG in float
            only (`MicroModel` runs a file as it would). Each must be an op of the model.

    Returns:
        A `ParityReport`.

    Raises:
        TypeError: if `model` is not a `keras.Model`.
        ValueError: if an argument is invalid (nothing is written then); if the model
            needs Flex ops and `allow_flex_ops` is False (the message names the ops); if it
            needs ops TFLite has no kernel for at all; if "int8" or "int16x8" is asked for a
            model with a recurrent loop.
        RuntimeError: if the converter fails for another reason.

    Example:

    >>> import tempfile
    >>> import keras
    >>> inputs = keras.Input((4,), name="features")
    >>> model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    >>> path = os.path.join(tempfile.mkdtemp(), "model.tflite")
    >>> report = tflite(model, path)
    >>> report.input_shapes, report.ops, report.uses_flex
    (((1, 4),), ('FULLY_CONNECTED',), False)
    >>> report.max_abs_diff < 1e-5, report.checked_on
    (True, 'random')
    >>> TFLiteModel(path)(np.ones((3, 4), "float32")).shape
    (3, 2)
    """
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"`model` must be a keras.Model. Received: model={model!r} "
            f"of type {type(model).__name__}"
        )
    if not model.built:
        raise ValueError(
            "`model` must be built (called on data, or created from keras.Input) before "
            f"conversion. Received: model={model.name!r}, which is not built"
        )
    check_one_of("quantization", quantization, QUANTIZATIONS)
    if integer_io and quantization != "int8":
        raise ValueError(
            "`integer_io` must be False unless quantization='int8'. "
            f"Received: integer_io={integer_io!r} with quantization={quantization!r}"
        )
    per_channel = check_bool("per_channel", per_channel)
    float_ops = _check_float_ops(float_ops, quantization)
    if not per_channel and quantization not in ("dynamic", *CALIBRATED):
        raise ValueError(
            "`per_channel` must be True unless quantization is 'dynamic' or 'int8' (only "
            f"quantized weights have scales). Received: quantization={quantization!r}"
        )
    path = _check_output_path(path)
    specs, pack = _model_inputs(model)
    shapes = _static_shapes(specs, input_shape)

    # Every data argument is checked before anything is converted or written.
    calibration = None
    if quantization in CALIBRATED:
        if representative_data is None:
            raise ValueError(
                f"`representative_data` must be given for quantization={quantization!r} "
                "(typical inputs to calibrate activation ranges on). Received: "
                "representative_data=None"
            )
    if representative_data is not None:
        calibration = _as_arrays("representative_data", representative_data, specs, shapes)
    checks = None
    if check_inputs is not None:
        checks = _as_arrays("check_inputs", check_inputs, specs, shapes)
    labels = None
    if labelled_data is not None:
        labelled_x, labels = _labelled(labelled_data, specs, shapes, model)

    content = _convert(
        model, specs, shapes, pack, quantization, calibration, allow_flex_ops, integer_io,
        per_channel, float_ops,
    )  # fmt: skip
    ops = ops_in_flatbuffer(content)
    missing = sorted(set(float_ops) - set(ops))
    if missing:
        raise ValueError(
            f"`float_ops` must name ops of the converted model; it has no {missing}. Its ops: "
            f"{', '.join(ops)}"
        )
    _write_atomically(path, content)

    if checks is not None:
        checked_on = "check_inputs"
    elif calibration is not None:
        checks, checked_on = calibration, "representative_data"
    elif labels is not None:
        checks, checked_on = labelled_x, "labelled_data"
    else:
        checks, checked_on = _random_inputs(specs, shapes), "random"

    uses_flex = any(op.startswith("Flex") for op in ops)
    fields = dict(
        path=path,
        quantization=quantization,
        size_bytes=len(content),
        input_shapes=tuple(shapes),
        ops=ops,
        uses_flex=uses_flex,
        checked_on=checked_on,
        num_checked=len(checks[0]),
    )
    keras_accuracy = None
    if labels is not None:
        keras_accuracy = _accuracy(model.predict(pack(labelled_x), verbose=0), labels)
    try:
        runner = TFLiteModel(path)
    except RuntimeError as error:
        if not uses_flex:
            raise
        # The file is fine for a device with the Flex delegate; it just cannot run here.
        return ParityReport(
            **fields,
            max_abs_diff=None,
            mean_latency_ms=None,
            keras_accuracy=keras_accuracy,
            note=f"not run: {error}",
        )

    expected = _named_outputs(model.predict(pack(checks), verbose=0))
    actual = _named_outputs(runner(_by_name(checks, runner, specs)))
    diff = max(
        float(np.max(np.abs(actual[name].astype("float64") - value.astype("float64"))))
        for name, value in _match_outputs(expected, actual).items()
    )
    accuracy = {}
    if labels is not None:
        tflite_accuracy = _accuracy(runner(_by_name(labelled_x, runner, specs)), labels)
        accuracy = dict(
            keras_accuracy=keras_accuracy,
            tflite_accuracy=tflite_accuracy,
            accuracy_change=tflite_accuracy - keras_accuracy,
        )
    return ParityReport(
        **fields, max_abs_diff=diff, mean_latency_ms=runner.mean_latency_ms(), **accuracy
    )


class TFLiteModel:
    """Runs a `.tflite` file on numpy batches of any size.

    Inputs are fed example-by-example in chunks of the file's static batch size (the last
    chunk zero-padded), or resized to the whole batch when the file's batch dimension is
    dynamic. Float inputs to a quantised (integer) input tensor are quantised with the
    tensor's `(scale, zero_point)`, `q = round(x / scale) + zero_point`, and integer
    outputs are dequantised, `x = (q - zero_point) * scale`, so an int8-I/O model is used
    exactly like a float one.

    Uses the LiteRT interpreter (`ai_edge_litert`), or `tf.lite.Interpreter` for files with
    Flex ops, since LiteRT's Python package has no Flex delegate.

    Args:
        path: a `.tflite` file.
        num_threads: interpreter threads; `None` lets the interpreter decide.

    Attributes:
        path: the file.
        input_details: the interpreter's `get_input_details()`, ordered as `input_names`.
        output_details: the interpreter's `get_output_details()`, ordered as
            `output_names`.
        input_names: the signature's input names (tensor names without a signature),
            sorted with numbers compared as numbers; the order list inputs follow.
        output_names: the signature's output names, sorted the same way (`output_0`,
            `output_1`, ... for Keras list outputs).
        ops: sorted operator names in the file.
        uses_flex: whether any op is a Flex op.

    Call arguments:
        inputs: a float (or the input's own dtype) array `(n, ...)` for a single-input
            model; a dict keyed by `input_names` (or a list in that order) for several
            inputs.

    Returns (of a call):
        An array `(n, ...)` for a single output; a list of arrays when the outputs are
        named `output_0`, `output_1`, ... (Keras list outputs); else a dict keyed by
        `output_names`.

    Raises:
        ValueError: if `path` is not a file, or inputs do not match the input tensors.
        RuntimeError: if the file uses Flex ops and no interpreter here can run them.

    Example:

    >>> import tempfile
    >>> import keras
    >>> inputs = keras.Input((3,))
    >>> model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    >>> path = os.path.join(tempfile.mkdtemp(), "model.tflite")
    >>> _ = tflite(model, path)
    >>> runner = TFLiteModel(path)
    >>> runner.input_details[0]["shape"].tolist()
    [1, 3]
    >>> x = np.random.rand(5, 3).astype("float32")
    >>> bool(np.allclose(runner(x), model.predict(x, verbose=0), atol=1e-5))
    True
    """

    def __init__(self, path: str | os.PathLike, num_threads: int | None = None):
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise ValueError(f"`path` must be an existing .tflite file. Received: path={path!r}")
        with open(path, "rb") as f:
            content = f.read()
        self.path = path
        self.ops = ops_in_flatbuffer(content)
        self.uses_flex = any(op.startswith("Flex") for op in self.ops)
        self._interpreter = _make_interpreter(path, self.uses_flex, num_threads)
        self.input_details, self.input_names = self._named(
            self._interpreter.get_input_details(), "inputs"
        )
        self.output_details, self.output_names = self._named(
            self._interpreter.get_output_details(), "outputs"
        )
        self._dynamic_batch = any(
            len(d["shape_signature"]) and d["shape_signature"][0] == -1 for d in self.input_details
        )
        self._batch_size = int(self.input_details[0]["shape"][0]) if self.input_details else 1

    def _named(self, details: list[dict], kind: str) -> tuple[list[dict], list[str]]:
        """Tensor details with their signature names, in natural order of the names.

        The interpreter's own tensor order follows neither the model's inputs nor its
        outputs (a two-output model may list `output_1` first), so tensors are named
        through the signature and sorted with numbers compared as numbers (`output_2`
        before `output_10`). Without a single signature, tensor names are used.
        """
        index_to_name = {}
        signatures = self._interpreter.get_signature_list()
        if len(signatures) == 1:
            runner = self._interpreter.get_signature_runner(next(iter(signatures)))
            method = runner.get_input_details if kind == "inputs" else runner.get_output_details
            index_to_name = {d["index"]: name for name, d in method().items()}
        named = [(index_to_name.get(d["index"], d["name"]), d) for d in details]
        named.sort(key=lambda pair: _natural_key(pair[0]))
        return [d for _, d in named], [name for name, _ in named]

    def __call__(self, inputs: Any) -> np.ndarray | list[np.ndarray] | dict[str, np.ndarray]:
        arrays = self._input_arrays(inputs)
        count = len(arrays[0])
        if self._dynamic_batch:
            for details, array in zip(self.input_details, arrays, strict=True):
                self._interpreter.resize_tensor_input(details["index"], array.shape)
            self._interpreter.allocate_tensors()
            chunk = max(count, 1)
        else:
            chunk = self._batch_size
        results = [[] for _ in self.output_details]
        for start in range(0, count, chunk):
            for details, array in zip(self.input_details, arrays, strict=True):
                part = array[start : start + chunk]
                if len(part) < chunk:
                    pad = np.zeros((chunk - len(part),) + part.shape[1:], part.dtype)
                    part = np.concatenate([part, pad])
                self._interpreter.set_tensor(details["index"], part)
            self._interpreter.invoke()
            valid = min(chunk, count - start)
            for i, details in enumerate(self.output_details):
                value = self._interpreter.get_tensor(details["index"])[:valid]
                results[i].append(_dequantize(value, details))
        outputs = [np.concatenate(r) for r in results]
        if len(outputs) == 1:
            return outputs[0]
        if self.output_names == [f"output_{i}" for i in range(len(outputs))]:
            return outputs
        return dict(zip(self.output_names, outputs, strict=True))

    def _input_arrays(self, inputs: Any) -> list[np.ndarray]:
        if isinstance(inputs, Mapping):
            if set(inputs) != set(self.input_names):
                raise ValueError(
                    f"`inputs` must be keyed by the input names {self.input_names}. "
                    f"Received: inputs with keys {sorted(map(str, inputs))}"
                )
            values = [inputs[name] for name in self.input_names]
        elif len(self.input_details) == 1:
            values = [inputs]
        else:
            if not isinstance(inputs, (list, tuple)) or len(inputs) != len(self.input_details):
                raise ValueError(
                    f"`inputs` must be a list of {len(self.input_details)} arrays (in the "
                    f"order {self.input_names}) or a dict. Received: inputs of type "
                    f"{type(inputs).__name__}"
                )
            values = list(inputs)
        arrays = []
        for name, details, value in zip(self.input_names, self.input_details, values, strict=True):
            array = np.asarray(value)
            expected = tuple(int(d) for d in details["shape_signature"][1:])
            if array.ndim != len(expected) + 1 or any(
                e != -1 and e != a for e, a in zip(expected, array.shape[1:], strict=True)
            ):
                shown = ", ".join("None" if d == -1 else str(d) for d in expected)
                raise ValueError(
                    f"`inputs` must have shape (n, {shown}) for "
                    f"input {name!r}. Received: inputs[{name!r}].shape={array.shape}"
                )
            arrays.append(_quantize(array, details))
        counts = [len(a) for a in arrays]
        if len(set(counts)) != 1 or counts[0] == 0:
            raise ValueError(
                "`inputs` must have the same, non-zero number of examples for every input. "
                f"Received: inputs with {counts} examples"
            )
        return arrays

    def mean_latency_ms(
        self, warmup: int = 3, min_runs: int = 5, max_runs: int = 50, budget_s: float = 1.0
    ) -> float:
        """Mean wall time of one `invoke()` in milliseconds, on the current input tensors.

        Runs `warmup` untimed invokes (first-run allocation, delegate set-up), then times
        invokes until `max_runs` or `budget_s` seconds, but at least `min_runs`.
        """
        for details in self.input_details:
            if self._dynamic_batch:
                self._interpreter.resize_tensor_input(details["index"], details["shape"])
        if self._dynamic_batch:
            self._interpreter.allocate_tensors()
        for details in self.input_details:
            self._interpreter.set_tensor(
                details["index"], np.zeros(details["shape"], details["dtype"])
            )
        for _ in range(warmup):
            self._interpreter.invoke()
        runs, start = 0, time.perf_counter()
        while runs < min_runs or (runs < max_runs and time.perf_counter() - start < budget_s):
            self._interpreter.invoke()
            runs += 1
        return (time.perf_counter() - start) * 1000.0 / runs


def ops_in_flatbuffer(content: bytes) -> tuple[str, ...]:
    """Sorted names of the operators used in a `.tflite` flatbuffer, all subgraphs.

    Parsed from the file rather than asked of an interpreter, which reports only the main
    subgraph (a `WHILE` body is elsewhere) and `DELEGATE` for what XNNPACK took over.
    Custom ops appear under their custom name (Flex ops as `Flex<TFOp>`).

    >>> import keras
    >>> inputs = keras.Input((3,))
    >>> model = keras.Model(inputs, keras.layers.Dense(1, activation="relu")(inputs))
    >>> path = os.path.join(tempfile.mkdtemp(), "model.tflite")
    >>> _ = tflite(model, path)
    >>> with open(path, "rb") as f:
    ...     ops_in_flatbuffer(f.read())
    ('FULLY_CONNECTED',)
    """
    names = {value: name for name, value in vars(schema.BuiltinOperator).items() if name.isupper()}
    model = schema.Model.GetRootAs(content, 0)
    used = set()
    for s in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(s)
        for o in range(subgraph.OperatorsLength()):
            used.add(subgraph.Operators(o).OpcodeIndex())
    ops = set()
    for index in used:
        code = model.OperatorCodes(index)
        # Codes above 127 live in `builtin_code`; older files only set the deprecated field.
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == schema.BuiltinOperator.CUSTOM:
            ops.add(code.CustomCode().decode())
        else:
            ops.add(names.get(builtin, f"BUILTIN_{builtin}"))
    return tuple(sorted(ops))


# Inputs and data -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _InputSpec:
    name: str
    shape: tuple[int | None, ...] | None
    dtype: str


def _model_inputs(model: keras.Model) -> tuple[list[_InputSpec], Callable]:
    """The model's inputs in call order, and how to pack flat arrays for `model(...)`."""
    try:
        structure = model.input
    except (AttributeError, ValueError):
        structure = None
    if structure is None:
        flat = list(getattr(model, "inputs", None) or [])
    else:
        flat = keras.tree.flatten(structure)
    if flat:
        specs = [
            _InputSpec(
                _tensor_name(t.name, i), tuple(t.shape), keras.backend.standardize_dtype(t.dtype)
            )
            for i, t in enumerate(flat)
        ]
        if structure is None:
            return specs, (lambda xs: xs[0] if len(xs) == 1 else list(xs))
        return specs, (lambda xs: keras.tree.pack_sequence_as(structure, list(xs)))
    # A subclassed model: no symbolic inputs, so `input_shape` supplies the shape.
    return [_InputSpec("input_0", None, "float32")], (lambda xs: xs[0])


def _tensor_name(name: str, index: int) -> str:
    # TF op names allow [A-Za-z0-9_.\-/], starting with an alphanumeric.
    name = re.sub(r"[^A-Za-z0-9_.\-/]", "_", name or "")
    return name if re.match(r"[A-Za-z0-9]", name) else f"input_{index}"


def _static_shapes(specs: list[_InputSpec], input_shape: Any) -> list[tuple[int, ...]]:
    if input_shape is None:
        shapes = []
        for spec in specs:
            if spec.shape is None or any(d is None for d in spec.shape[1:]):
                raise ValueError(
                    "`input_shape` must be given when the model's input shape is not fully "
                    f"known except the batch. Received: input_shape=None for input "
                    f"{spec.name!r} of shape {spec.shape}"
                )
            shapes.append((1 if spec.shape[0] is None else spec.shape[0],) + spec.shape[1:])
        return shapes

    given = input_shape
    if isinstance(given, (list, tuple)) and given and all(_is_int(d) for d in given):
        given = [given]
    if (
        not isinstance(given, (list, tuple))
        or len(given) != len(specs)
        or not all(isinstance(s, (list, tuple)) and all(_is_int(d) for d in s) for s in given)
    ):
        raise ValueError(
            "`input_shape` must be a tuple of ints including the batch, e.g. (1, 28, 28, 1), "
            f"or a list of {len(specs)} such tuples, one per input. "
            f"Received: input_shape={input_shape!r}"
        )
    shapes = []
    for spec, shape in zip(specs, given, strict=True):
        shape = tuple(int(d) for d in shape)
        if any(d <= 0 for d in shape):
            raise ValueError(
                f"`input_shape` must have positive dimensions. Received: input_shape={shape}"
            )
        if spec.shape is not None:
            if len(shape) != len(spec.shape) or any(
                m is not None and m != d for m, d in zip(spec.shape[1:], shape[1:], strict=True)
            ):
                raise ValueError(
                    f"`input_shape` must match the model's input {spec.name!r} of shape "
                    f"{spec.shape} (any batch). Received: input_shape={shape}"
                )
        shapes.append(shape)
    return shapes


def _natural_key(name: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _as_arrays(
    arg: str, data: Any, specs: list[_InputSpec], shapes: list[tuple[int, ...]]
) -> list[np.ndarray]:
    """Normalises `data` to one `(n, ...)` array per input, checked against `shapes`."""
    names = [spec.name for spec in specs]

    def is_array(value):
        return isinstance(value, np.ndarray) or tf.is_tensor(value)

    def per_input(item):
        """One item (example or batch) -> list of arrays in input order, or None."""
        if isinstance(item, Mapping):
            if set(item) != set(names):
                raise ValueError(
                    f"`{arg}` must be keyed by the model's input names {names}. "
                    f"Received: {arg} with keys {sorted(map(str, item))}"
                )
            return [item[name] for name in names]
        if len(specs) == 1:
            return [item]
        if isinstance(item, (list, tuple)) and len(item) == len(specs):
            return list(item)
        return None

    direct = None
    if isinstance(data, Mapping) or (len(specs) == 1 and is_array(data)):
        direct = per_input(data)
    elif len(specs) > 1 and isinstance(data, (list, tuple)) and all(map(is_array, data)):
        direct = per_input(data)
    items = [direct] if direct is not None else None
    if items is None:
        if not isinstance(data, Iterable) or isinstance(data, (str, bytes)):
            raise ValueError(
                f"`{arg}` must be an array, a list or dict of arrays, or an iterable of "
                f"them. Received: {arg} of type {type(data).__name__}"
            )
        items = []
        for item in data:
            values = per_input(item)
            if values is None:
                raise ValueError(
                    f"`{arg}` must yield one array per input {names} (a list or dict). "
                    f"Received: an item of type {type(item).__name__}"
                )
            items.append(values)
        if not items:
            raise ValueError(f"`{arg}` must hold at least one example. Received: no items")

    columns = [[] for _ in specs]
    for values in items:
        for i, (spec, shape, value) in enumerate(zip(specs, shapes, values, strict=True)):
            try:
                array = np.asarray(value)
            except ValueError as error:
                raise ValueError(
                    f"`{arg}` must hold rectangular arrays. Received: a value for input "
                    f"{spec.name!r} that numpy cannot stack ({error})"
                ) from error
            if array.ndim == len(shape) - 1:
                array = array[None]  # a single example
            if array.ndim != len(shape) or array.shape[1:] != shape[1:]:
                raise ValueError(
                    f"`{arg}` must have examples of shape {shape[1:]} for input "
                    f"{spec.name!r} (static input shape {shape}). "
                    f"Received: {arg} with shape {array.shape}"
                )
            expected = np.dtype(spec.dtype)
            if not np.can_cast(array.dtype, expected, casting="same_kind"):
                raise ValueError(
                    f"`{arg}` must have dtype {expected.name} (or the same kind) for input "
                    f"{spec.name!r}. Received: {arg} with dtype {array.dtype}"
                )
            columns[i].append(array.astype(expected, copy=False))
    arrays = [np.concatenate(c) for c in columns]
    counts = sorted({len(a) for a in arrays})
    if len(counts) != 1 or counts[0] == 0:
        raise ValueError(
            f"`{arg}` must have the same, non-zero number of examples for every input. "
            f"Received: {arg} with {counts} examples"
        )
    return arrays


def _labelled(labelled_data, specs, shapes, model):
    if not isinstance(labelled_data, (list, tuple)) or len(labelled_data) != 2:
        raise ValueError(
            "`labelled_data` must be a pair (x, y). "
            f"Received: labelled_data of type {type(labelled_data).__name__}"
        )
    x = _as_arrays("labelled_data", labelled_data[0], specs, shapes)
    y = np.asarray(labelled_data[1])
    if len(y) != len(x[0]) or y.ndim not in (1, 2):
        raise ValueError(
            f"`labelled_data` must have labels y of shape ({len(x[0])},) or "
            f"({len(x[0])}, classes) for its {len(x[0])} examples. "
            f"Received: labelled_data y with shape {y.shape}"
        )
    outputs = getattr(model, "outputs", None) or [None]
    if len(outputs) != 1:
        raise ValueError(
            "`labelled_data` must be used with a single-output classifier. "
            f"Received: labelled_data for a model with {len(outputs)} outputs"
        )
    return x, y


def _random_inputs(specs, shapes) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    arrays = []
    for spec, shape in zip(specs, shapes, strict=True):
        size = (NUM_RANDOM_CHECK_INPUTS,) + shape[1:]
        if np.issubdtype(np.dtype(spec.dtype), np.floating):
            arrays.append(rng.standard_normal(size).astype(spec.dtype))
        else:
            # Small integers stay valid token ids / indices for embedding-like inputs.
            arrays.append(rng.integers(0, 2, size).astype(spec.dtype))
    return arrays


def _by_name(arrays, runner: TFLiteModel, specs) -> dict[str, np.ndarray] | list[np.ndarray]:
    names = [spec.name for spec in specs]
    if sorted(runner.input_names) == sorted(names):
        return dict(zip(names, arrays, strict=True))
    return arrays


def _named_outputs(outputs) -> dict[str, np.ndarray]:
    if isinstance(outputs, Mapping):
        return {str(k): np.asarray(v) for k, v in outputs.items()}
    flat = keras.tree.flatten(outputs)
    return {f"output_{i}": np.asarray(v) for i, v in enumerate(flat)}


def _match_outputs(expected, actual) -> dict[str, np.ndarray]:
    """Keras outputs keyed like the TFLite outputs (by name, else by order)."""
    if set(expected) == set(actual):
        return expected
    return dict(zip(actual, expected.values(), strict=True))


def _accuracy(outputs, labels: np.ndarray) -> float:
    (scores,) = _named_outputs(outputs).values()
    scores = scores.reshape(len(scores), -1)
    truth = labels.argmax(-1) if labels.ndim == 2 and labels.shape[1] > 1 else labels.ravel()
    if scores.shape[1] == 1:
        # One unit: a sigmoid probability thresholded at 0.5, or a logit at 0.
        threshold = 0.5 if scores.min() >= 0 and scores.max() <= 1 else 0.0
        predicted = (scores[:, 0] > threshold).astype(int)
    else:
        predicted = scores.argmax(-1)
    return float(np.mean(predicted == truth.astype(int)))


# Conversion -------------------------------------------------------------------------------


def _convert(
    model,
    specs,
    shapes,
    pack,
    quantization,
    calibration,
    allow_flex,
    integer_io,
    per_channel,
    float_ops=(),
):
    signature = [
        tf.TensorSpec(shape, spec.dtype, name=spec.name)
        for spec, shape in zip(specs, shapes, strict=True)
    ]

    def serve(*inputs):
        return model(pack(inputs), training=False)

    with tempfile.TemporaryDirectory() as export_dir:
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint("serve", serve, input_signature=signature)
        archive.write_out(export_dir, verbose=False)
        if quantization in CALIBRATED:
            _check_int8_calibration_safe(export_dir, quantization)

        converter = tf.lite.TFLiteConverter.from_saved_model(export_dir)
        builtins = {
            "int8": tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
            "int16x8": tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8,
        }.get(quantization, tf.lite.OpsSet.TFLITE_BUILTINS)
        converter.target_spec.supported_ops = (
            [builtins]
            # Ops kept in float need the float kernels beside the integer ones.
            + ([tf.lite.OpsSet.TFLITE_BUILTINS] if float_ops else [])
            + ([tf.lite.OpsSet.SELECT_TF_OPS] if allow_flex else [])
        )
        if quantization != "none":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if not per_channel:
            # The converter's own switch (no public flag yet): one scale per weight tensor.
            converter._experimental_disable_per_channel = True
        if quantization == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if quantization in CALIBRATED:
            converter.representative_dataset = _calibration_dataset(specs, shapes, calibration)
            if integer_io:
                converter.inference_input_type = tf.int8
                converter.inference_output_type = tf.int8
        try:
            with warnings.catch_warnings():
                # The int8 calibrator builds a tf.lite.Interpreter, which warns that it is
                # deprecated; that is the converter's business, not the caller's.
                warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
                if not float_ops:
                    return converter.convert()
                debugger = tf.lite.experimental.QuantizationDebugger(
                    converter=converter,
                    debug_dataset=converter.representative_dataset,
                    debug_options=tf.lite.experimental.QuantizationDebugOptions(
                        denylisted_ops=list(float_ops)
                    ),
                )
                return debugger.get_nondebug_quantized_model()
        except Exception as error:  # the converter raises ConverterError and others
            raise _conversion_error(error, quantization) from error


def _check_float_ops(float_ops: Any, quantization: str) -> tuple[str, ...]:
    if isinstance(float_ops, str) or not isinstance(float_ops, Sequence):
        raise TypeError(
            f"`float_ops` must be a sequence of op names such as ('LOG',). Received: "
            f"float_ops={float_ops!r}"
        )
    names = tuple(float_ops)
    for name in names:
        if not isinstance(name, str) or not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
            raise ValueError(
                "`float_ops` must hold TFLite builtin op names in capitals, e.g. 'LOG'. "
                f"Received: {name!r}"
            )
    if names and quantization not in CALIBRATED:
        raise ValueError(
            "`float_ops` keeps ops in float inside an integer model: it needs quantization "
            f"'int8' or 'int16x8'. Received: quantization={quantization!r}"
        )
    return names


def _calibration_dataset(specs, shapes, calibration):
    batch = shapes[0][0]

    def examples():
        count = len(calibration[0])
        # Static batch: feed chunks of exactly `batch` examples, dropping a ragged tail.
        for start in range(0, max(count - batch + 1, 1), batch):
            yield {
                spec.name: array[start : start + batch]
                for spec, array in zip(specs, calibration, strict=True)
            }

    return examples


def _check_int8_calibration_safe(export_dir: str, quantization: str) -> None:
    """Refuses int8 and int16x8 for graphs with TensorList loops (they crash the calibrator).

    The segfault (in `calibrator._feed_tensors`) would kill the whole Python process, so it
    is caught here, before conversion. Unrolled recurrent layers have no TensorList ops.
    """
    from tensorflow.core.protobuf import saved_model_pb2

    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as f:
        graph = saved_model_pb2.SavedModel.FromString(f.read()).meta_graphs[0].graph_def
    ops = {node.op for node in graph.node}
    for function in graph.library.function:
        ops.update(node.op for node in function.node_def)
    loops = sorted(op for op in ops if op.startswith("TensorList"))
    if loops:
        raise ValueError(
            f"`quantization` must not be {quantization!r} for a model whose recurrent layers "
            "loop over "
            f"time (TensorList ops {loops}): the TF {tf.__version__} converter crashes while "
            "calibrating them. Use quantization='dynamic', build the recurrent layer with "
            "unroll=True, or convert a single-step model with the state as explicit inputs "
            f"and outputs. Received: quantization={quantization!r}"
        )


def _conversion_error(error: Exception, quantization: str) -> Exception:
    message = str(error)
    flex = _listed_ops(message, "TF Select ops")
    custom = _listed_ops(message, "Custom ops")
    if custom:
        return ValueError(
            "`model` must use only ops TFLite can run, as builtins or Flex (Select TF) ops. "
            f"Received: a model using the TensorFlow ops {custom}, which TFLite supports "
            "neither way; replace them (e.g. compute them outside the model)"
        )
    if flex:
        return ValueError(
            f"`allow_flex_ops` must be True to convert this model: the TensorFlow ops {flex} "
            "have no TFLite builtin kernel. With allow_flex_ops=True they become Flex ops, and "
            "the app must link the Flex delegate (select-tf-ops); or replace them with "
            "builtin-friendly ops. Received: allow_flex_ops=False"
        )
    details = [line.strip() for line in message.splitlines() if "error:" in line]
    summary = "; ".join(dict.fromkeys(details)) or message.strip()
    return RuntimeError(f"TFLite conversion (quantization={quantization!r}) failed: {summary}")


def _listed_ops(message: str, label: str) -> list[str]:
    ops = set()
    for match in re.finditer(rf"{label}: ([^\n]+)", message):
        ops.update(op.strip() for op in match.group(1).split(",") if op.strip())
    return sorted(ops)


# Files and interpreters ------------------------------------------------------------------


def _check_output_path(path: Any) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"`path` must be a str or os.PathLike. Received: path={path!r} "
            f"of type {type(path).__name__}"
        )
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ValueError(
            f"`path` must be a file path, not a directory. Received: path={path!r}, "
            "which is a directory"
        )
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise ValueError(
            f"`path` must be in an existing directory. Received: path={path!r}, whose "
            f"directory {parent!r} does not exist"
        )
    return path


def _write_atomically(path: str, content: bytes) -> None:
    """Writes via a hidden temporary file in the same directory and `os.replace`."""
    directory, name = os.path.split(os.path.abspath(path))
    while True:
        tmp = os.path.join(directory, f".{name}.tmp-{secrets.token_hex(4)}")
        try:
            # 0o666 with O_EXCL honours the umask (mkstemp would force 0600).
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _make_interpreter(path: str, uses_flex: bool, num_threads: int | None):
    if not uses_flex:
        interpreter = litert.Interpreter(model_path=path, num_threads=num_threads)
        interpreter.allocate_tensors()
        return interpreter
    # LiteRT's Python package has no Flex delegate; TF's interpreter has one in TF builds
    # that link it (not the TF 2.21 pip wheel).
    tf_interpreter = getattr(tf.lite, "Interpreter", None)
    if tf_interpreter is not None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # its deprecation notice
                interpreter = tf_interpreter(model_path=path, num_threads=num_threads)
                interpreter.allocate_tensors()
            return interpreter
        except (RuntimeError, ValueError):
            pass
    raise RuntimeError(
        f"{path} uses Flex (Select TF) ops, and neither the LiteRT interpreter nor "
        f"tf.lite.Interpreter of TensorFlow {tf.__version__} here has the Flex delegate to "
        "run them; run it where the select-tf-ops runtime is linked (e.g. Android with "
        "tensorflow-lite-select-tf-ops)"
    )


def _quantize(array: np.ndarray, details: dict) -> np.ndarray:
    dtype = np.dtype(details["dtype"])
    scale, zero_point = details["quantization"]
    if scale and np.issubdtype(dtype, np.integer) and np.issubdtype(array.dtype, np.floating):
        info = np.iinfo(dtype)
        quantized = np.round(array / scale) + zero_point
        return np.clip(quantized, info.min, info.max).astype(dtype)
    return array.astype(dtype, copy=False)


def _dequantize(array: np.ndarray, details: dict) -> np.ndarray:
    scale, zero_point = details["quantization"]
    if scale and np.issubdtype(array.dtype, np.integer):
        return ((array.astype("float32") - zero_point) * scale).astype("float32")
    return array
