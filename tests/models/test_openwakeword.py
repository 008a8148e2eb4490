"""`openwakeword_head`: classifier files read into Keras, checked against onnxruntime on the
same windows (graphs written here in each form openWakeWord's exporters use, and the
classifiers openWakeWord 0.4.0 ships), the streaming form, and the refusals."""

import re

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="needs onnx (pip install kerasdl[speech])")
ort = pytest.importorskip("onnxruntime", reason="needs onnxruntime (pip install kerasdl[speech])")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from kerasdl.models import (  # noqa: E402
    SpeechEmbeddingStreamer,
    openwakeword_head,
    speech_embedding,
    speech_embedding_streaming,
)

DIM = 96


def _save(path, nodes, weights, steps, *, opset=13, outputs=1, input_dim=DIM):
    graph = helper.make_graph(
        nodes,
        "head",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, steps, input_dim])],
        [helper.make_tensor_value_info(f"out{i}", TensorProto.FLOAT, [1, 1]) for i in
         range(outputs)],
        [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in weights.items()],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


def _torch_mlp(path, steps, units, rng, norm=None, trans_b=1, blocks=1):
    """Flatten, Gemm, [layer norm], Relu, `blocks` x (Gemm, [norm], Relu), Gemm, Sigmoid as
    torch.onnx writes it: norm None, "op" (LayerNormalization) or "decomposed"."""
    nodes = [helper.make_node("Flatten", ["x"], ["t0"])]
    weights, current, width = {}, "t0", steps * DIM
    for i in range(blocks + 2):
        last = i == blocks + 1
        out = 1 if last else units
        w = rng.normal(scale=width**-0.5, size=(width, out))
        weights[f"w{i}"] = w.T if trans_b else w
        weights[f"b{i}"] = rng.normal(scale=0.1, size=out)
        nodes.append(
            helper.make_node(
                "Gemm", [current, f"w{i}", f"b{i}"], [f"g{i}"], transB=trans_b, name=f"gemm{i}"
            )
        )
        current, width = f"g{i}", out
        if last:
            break
        if norm is not None:
            weights[f"s{i}"] = rng.uniform(0.5, 1.5, units)
            weights[f"o{i}"] = rng.normal(scale=0.2, size=units)
            if norm == "op":
                nodes.append(
                    helper.make_node(
                        "LayerNormalization", [current, f"s{i}", f"o{i}"], [f"n{i}"],
                        axis=-1, epsilon=1e-5,
                    )
                )  # fmt: skip
            else:
                c = lambda name, value: helper.make_node(  # noqa: E731
                    "Constant", [], [name], value=numpy_helper.from_array(np.float32(value))
                )
                nodes += [
                    helper.make_node("ReduceMean", [current], [f"m{i}"], axes=[-1]),
                    helper.make_node("Sub", [current, f"m{i}"], [f"d{i}"]),
                    c(f"two{i}", 2.0),
                    helper.make_node("Pow", [f"d{i}", f"two{i}"], [f"p{i}"]),
                    helper.make_node("ReduceMean", [f"p{i}"], [f"v{i}"], axes=[-1]),
                    c(f"eps{i}", 1e-5),
                    helper.make_node("Add", [f"v{i}", f"eps{i}"], [f"e{i}"]),
                    helper.make_node("Sqrt", [f"e{i}"], [f"r{i}"]),
                    helper.make_node("Div", [f"d{i}", f"r{i}"], [f"q{i}"]),
                    helper.make_node("Mul", [f"q{i}", f"s{i}"], [f"k{i}"]),
                    helper.make_node("Add", [f"k{i}", f"o{i}"], [f"n{i}"]),
                ]
            current = f"n{i}"
        nodes.append(helper.make_node("Relu", [current], [f"a{i}"]))
        current = f"a{i}"
    nodes.append(helper.make_node("Sigmoid", [current], ["out0"]))
    return _save(path, nodes, weights, steps, opset=17 if norm == "op" else 13)


def _keras_mlp(path, steps, units, rng):
    """Flatten, MatMul + Add, Relu, MatMul + Add, Sigmoid, as tf2onnx writes a Keras head."""
    weights = {
        "w0": rng.normal(scale=(steps * DIM) ** -0.5, size=(steps * DIM, units)),
        "b0": rng.normal(scale=0.1, size=units),
        "w1": rng.normal(scale=units**-0.5, size=(units, 1)),
        "b1": rng.normal(scale=0.1, size=1),
    }
    nodes = [
        helper.make_node("Flatten", ["x"], ["f"]),
        helper.make_node("MatMul", ["f", "w0"], ["h"]),
        helper.make_node("Add", ["h", "b0"], ["hb"]),
        helper.make_node("Relu", ["hb"], ["a"]),
        helper.make_node("MatMul", ["a", "w1"], ["z"]),
        helper.make_node("Add", ["z", "b1"], ["zb"]),
        helper.make_node("Sigmoid", ["zb"], ["out0"]),
    ]
    return _save(path, nodes, weights, steps)


def _onnx_steps(path, embeddings, steps):
    """onnxruntime on each step's window of the last `steps` embeddings (zeros before)."""
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    padded = np.concatenate([np.zeros((steps - 1, DIM), np.float32), embeddings])
    return np.array(
        [
            session.run(None, {name: padded[None, j : j + steps]})[0].item()
            for j in range(embeddings.shape[0])
        ]
    )


@pytest.mark.parametrize(
    "form",
    ["plain", "plain_untransposed", "layer_norm_op", "layer_norm_decomposed", "keras", "deep"],
)
def test_equals_onnxruntime_on_every_window(form, tmp_path):
    rng = np.random.default_rng(len(form))
    steps = {"keras": 3, "deep": 5}.get(form, 4)
    path = tmp_path / f"{form}.onnx"
    if form == "keras":
        path = _keras_mlp(path, steps, 8, rng)
    else:
        path = _torch_mlp(
            path, steps, 8, rng,
            norm={"layer_norm_op": "op", "layer_norm_decomposed": "decomposed"}.get(form),
            trans_b=0 if form == "plain_untransposed" else 1,
            blocks=3 if form == "deep" else 1,
        )  # fmt: skip
    head = openwakeword_head(path)
    embeddings = rng.normal(scale=3.0, size=(12, DIM)).astype(np.float32)
    got = np.asarray(head(embeddings[None]))[0]
    np.testing.assert_allclose(got, _onnx_steps(path, embeddings, steps), atol=2e-6)
    assert head.get_layer("context").kernel_size == (steps,)
    if form.startswith("layer_norm"):
        assert head.get_layer("context_norm").epsilon == pytest.approx(1e-5)
        assert head.get_layer("hidden_norm").epsilon == pytest.approx(1e-5)


def _installed(name):
    """openWakeWord 0.4.0's classifier file `name`, beside the speech embedding's files."""
    from kerasdl.models.speech_embedding import _weights_folder

    try:
        path = _weights_folder("openwakeword") / f"{name}_v0.1.onnx"
    except FileNotFoundError:
        path = None
    if path is None or not path.is_file():
        pytest.skip(f"openWakeWord 0.4.0's {name} classifier is not installed (pip install "
                    "openwakeword==0.4.0)")  # fmt: skip
    return str(path)


@pytest.mark.parametrize("name, steps", [("alexa", 16), ("hey_marvin", 16), ("weather", 22)])
def test_openwakewords_own_classifiers(name, steps):
    path = _installed(name)
    head = openwakeword_head(path)
    rng = np.random.default_rng(0)
    embeddings = rng.normal(scale=4.0, size=(steps + 8, DIM)).astype(np.float32)
    got = np.asarray(head(embeddings[None]))[0]
    np.testing.assert_allclose(got, _onnx_steps(path, embeddings, steps), atol=1e-5)
    assert head.name == f"{name}_v0_1"


def test_streams_as_one_model(tmp_path):
    """The head plugs into `speech_embedding_streaming` and streams step for step as the
    full-clip embedding + head."""
    rng = np.random.default_rng(3)
    head = openwakeword_head(_torch_mlp(tmp_path / "h.onnx", 4, 8, rng, norm="op"))
    embedding = speech_embedding(weights=None)
    audio = rng.normal(scale=0.1, size=16000).astype(np.float32)
    stream = speech_embedding_streaming(embedding, head)
    streamed, _ = SpeechEmbeddingStreamer(stream).run(audio)
    full = np.asarray(head(embedding(audio[None])))[0]
    np.testing.assert_allclose(streamed, full, atol=1e-5)


def test_refuses_what_it_cannot_read(tmp_path):
    rng = np.random.default_rng(4)
    flat = helper.make_node("Flatten", ["x"], ["f"])
    gemm = lambda a, w, b, y, **kw: helper.make_node("Gemm", [a, w, b], [y], **kw)  # noqa: E731
    w0 = {"w0": rng.normal(size=(8, 2 * DIM)), "b0": np.zeros(8)}
    w1 = {"w1": rng.normal(size=(2, 8)), "b1": np.zeros(2)}
    cases = {
        "softmax": (
            [flat, gemm("f", "w0", "b0", "h", transB=1), helper.make_node("Relu", ["h"], ["a"]),
             gemm("a", "w1", "b1", "z", transB=1), helper.make_node("Softmax", ["z"], ["out0"])],
            {**w0, **w1}, {}, "expected Relu after the previous op, met a Softmax",
        ),
        "two outputs of the last layer": (
            [flat, gemm("f", "w0", "b0", "h", transB=1), helper.make_node("Relu", ["h"], ["a"]),
             gemm("a", "w1", "b1", "z", transB=1), helper.make_node("Sigmoid", ["z"], ["out0"])],
            {**w0, **w1}, {}, "ending in 2 outputs",
        ),
        "scaled gemm": (
            [flat, gemm("f", "w0", "b0", "out0", transB=1, alpha=2.0)],
            w0, {}, "is not x @ W + b",
        ),
        "weights from an input": (
            [flat, gemm("f", "f", "b0", "out0", transB=1)], w0, {}, "with constant W and b",
        ),
        "no flatten": (
            [helper.make_node("Transpose", ["x"], ["out0"], perm=[0, 2, 1])],
            {}, {}, "expected Flatten after the previous op, met a Transpose",
        ),
        "two outputs": (
            [helper.make_node("Flatten", ["x"], ["out0"]),
             helper.make_node("Relu", ["x"], ["out1"])],
            {}, {"outputs": 2}, "1 inputs and 2 outputs",
        ),
        "not embeddings": (
            [helper.make_node("Flatten", ["x"], ["out0"])], {}, {"input_dim": 95},
            "not (batch, steps, 96) embeddings",
        ),
    }  # fmt: skip
    for case, (nodes, weights, options, message) in cases.items():
        path = _save(tmp_path / f"{case}.onnx", nodes, weights, 2, **options)
        with pytest.raises(ValueError, match=re.escape(message)):
            openwakeword_head(path)
    text = tmp_path / "notes.onnx"
    text.write_text("not a model")
    with pytest.raises(ValueError, match="is not an ONNX file"):
        openwakeword_head(text)
    with pytest.raises(FileNotFoundError, match="must be an openWakeWord model"):
        openwakeword_head(tmp_path / "missing.onnx")


def test_refuses_a_classifier_with_a_verifier():
    """openWakeWord's hey_jarvis file adds a second network behind an If after its sigmoid."""
    hey_jarvis = _installed("hey_jarvis")
    with pytest.raises(ValueError, match="a GreaterOrEqual node follows the Sigmoid"):
        openwakeword_head(hey_jarvis)


def test_detects_as_openwakeword_does_on_held_out_voices():
    """openWakeWord's hey_marvin classifier streamed through kerasdl's speech embedding and
    through openWakeWord's own `Model` on flite / festival speech: the same detections and
    each clip's highest probability within 0.05 (the two cut the audio into embedding
    windows at offsets a few samples apart, so single steps differ slightly)."""
    from kerasdl.data.speech import Voice, available_engines, synthesize_many

    path = _installed("hey_marvin")
    if not {"flite", "festival"} <= set(available_engines()):
        pytest.skip("needs flite and festival (the Makefile installs them)")
    from openwakeword.model import Model

    requests = [
        ("hey marvin", Voice("flite", "rms", 1.0)),
        ("hey marvin", Voice("festival", "cmu_us_slt_arctic_hts", 1.0)),
        ("hey marvin", Voice("flite", "awb", 1.15)),
        ("hello there", Voice("flite", "slt", 1.0)),
        ("a quiet morning", Voice("festival", "kal_diphone", 1.0)),
    ]
    head = openwakeword_head(path)
    stream = SpeechEmbeddingStreamer(speech_embedding_streaming(speech_embedding(), head))
    reference = Model(wakeword_model_paths=[path])
    rng = np.random.default_rng(0)
    for (text, voice), clip in zip(requests, synthesize_many(requests), strict=True):
        # 2 s before the phrase, so the head's 16 embeddings have all heard the clip by its
        # end (before that, the head sees zero embeddings, openWakeWord those of silence).
        silence = np.zeros(16000, np.float32)
        audio = np.concatenate([silence, silence, clip * 0.5, silence])
        audio += np.float32(0.003) * rng.standard_normal(audio.size).astype(np.float32)
        pcm = np.round(np.clip(audio, -1, 1) * 32767).astype(np.int16)
        reference.reset()
        expected = max(p["hey_marvin_v0.1"] for p in reference.predict_clip(pcm, padding=0))
        got = stream.run(pcm.astype(np.float32) / 32767)[0][15:].max()
        assert abs(got - expected) < 0.05, (text, voice, got, expected)
        assert (got > 0.5) == (expected > 0.5) == (text == "hey marvin"), (text, voice)
