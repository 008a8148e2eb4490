"""`kerasdl wakeword --embedding`: the GRU file and a speech-embedding streaming file
combined; the detections against both full-clip Keras models run through the detector, the
header line, and the one-line errors."""

import io

import keras
import numpy as np
import pytest

from kerasdl.cli.wakeword import command, run_wakeword
from kerasdl.data.audio import write_wav
from kerasdl.export.tflite import tflite
from kerasdl.models import (
    SpeechEmbeddingStreamer,
    speech_embedding,
    speech_embedding_head,
    speech_embedding_step_ends,
    speech_embedding_streaming,
)
from kerasdl.models.trigger_word import TriggerWordStreamer, trigger_word_streaming
from kerasdl.verification.wakeword import combine_scores, detection_steps
from tests.models.trigger_word_helpers import full_clip_probabilities, small_model, speech_like

SR = 16000


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The small GRU model's logit file and an embedding detector's file (random weights:
    the plumbing, not the quality)."""
    folder = tmp_path_factory.mktemp("models")
    gru = small_model()
    gru_path = str(folder / "gru.tflite")
    tflite(trigger_word_streaming(gru, chunk_samples=1280, output="logit"), gru_path)
    keras.utils.set_random_seed(1)
    embedding, head = speech_embedding(weights=None), speech_embedding_head(units=16)
    embedding_path = str(folder / "embedding.tflite")
    tflite(speech_embedding_streaming(embedding, head, output="logit"), embedding_path)
    return gru, gru_path, embedding, head, embedding_path


def test_combined_detections_follow_the_full_clip_models(files, tmp_path):
    gru, gru_path, embedding, head, embedding_path = files
    audio = speech_like(5.0, seed=4)
    wav = tmp_path / "input.wav"
    write_wav(wav, audio, SR, dtype="float32")
    p, times = full_clip_probabilities(gru, audio)
    logits = keras.Model(head.input, head.get_layer("logits").output)
    second = np.asarray(logits(embedding(audio[None])))[0, :, 0]
    second_times = speech_embedding_step_ends(audio.size) / SR
    streamed, streamed_times = SpeechEmbeddingStreamer(embedding_path).run(audio)
    np.testing.assert_allclose(streamed, second, atol=1e-3 * np.abs(second).max())
    np.testing.assert_allclose(streamed_times, second_times)
    expected = combine_scores(
        np.log(p / (1 - p)), np.minimum(times, audio.size / SR), second, second_times, 0.6,
        from_logits=(True, True),
    )  # fmt: skip
    for threshold in (float(np.quantile(expected, q)) for q in (0.3, 0.9)):
        p_threshold = 1 / (1 + np.exp(-threshold))
        steps = detection_steps(expected, second_times, threshold, 1.0)
        printed = io.StringIO()
        detections = run_wakeword(
            gru_path, wav, threshold=p_threshold, stream=printed, embedding=embedding_path,
            weight=0.6,
        )  # fmt: skip
        np.testing.assert_allclose(detections, np.minimum(second_times[steps], 5.0))
        header = printed.getvalue().splitlines()[0]
        assert f"(logit {threshold:.3f}) on the logits combined with {embedding_path}" in header
        assert "(weight 0.6)" in header


def test_errors_are_one_line(files, tmp_path):
    _, gru_path, _, _, embedding_path = files
    wav = tmp_path / "input.wav"
    write_wav(wav, speech_like(3.0, seed=5), SR, dtype="float32")
    for embedding, message in (
        (str(tmp_path / "missing.tflite"), "`--embedding` must be an existing .tflite file"),
        (gru_path, "is not a speech-embedding streaming file"),
    ):
        errors = io.StringIO()
        code = command([str(wav)], gru_path, errors=errors, embedding=embedding)
        assert code == 2
        assert errors.getvalue().count("\n") == 1 and message in errors.getvalue()
    short = tmp_path / "short.wav"
    write_wav(short, speech_like(0.5, seed=6), SR, dtype="float32")
    errors = io.StringIO()
    assert command([str(short)], gru_path, errors=errors, embedding=embedding_path) == 2
    assert "the audio lasts" in errors.getvalue()
    with pytest.raises(TypeError, match="`model` must be a keras.Model from speech_embedding"):
        SpeechEmbeddingStreamer(42)


def test_a_speech_embedding_file_runs_alone(files, tmp_path):
    """`--model` may be the speech-embedding file itself: its detections are those of the
    full-clip Keras logits at its steps, and its header speaks in logits."""
    _, _, embedding, head, embedding_path = files
    audio = speech_like(5.0, seed=7)
    wav = tmp_path / "input.wav"
    write_wav(wav, audio, SR, dtype="float32")
    # The detector pads the end to whole 80 ms calls, so its last step hears silence too.
    padded = np.zeros(11232 + 1280 * -(-(audio.size - 11232) // 1280), np.float32)
    padded[: audio.size] = audio
    logits = keras.Model(head.input, head.get_layer("logits").output)
    expected = np.asarray(logits(embedding(padded[None])))[0, :, 0]
    times = speech_embedding_step_ends(padded.size) / SR
    threshold = float(np.quantile(expected, 0.8))
    steps = detection_steps(expected, times, threshold, 1.0)
    printed = io.StringIO()
    detections = run_wakeword(
        embedding_path, wav, threshold=1 / (1 + np.exp(-threshold)), stream=printed
    )
    np.testing.assert_allclose(detections, np.minimum(times[steps], audio.size / SR))
    assert f"(logit {threshold:.3f})" in printed.getvalue().splitlines()[0]
    errors = io.StringIO()
    short = tmp_path / "short.wav"
    write_wav(short, speech_like(0.5, seed=6), SR, dtype="float32")
    assert command([str(short)], embedding_path, errors=errors) == 2
    assert "the model needs at least 0.782 s" in errors.getvalue()


def test_an_openwakeword_classifier_runs_from_its_onnx_file(tmp_path):
    """`--model my_word.onnx`: the classifier on the speech embedding, detections as the
    full-clip Keras embedding + `openwakeword_head`; a file it cannot read is one line."""
    onnx = pytest.importorskip("onnx", reason="needs onnx (pip install kerasdl[speech])")
    from onnx import TensorProto, helper, numpy_helper

    from kerasdl.models import openwakeword_head

    rng = np.random.default_rng(8)
    weights = {
        "w0": rng.normal(scale=0.02, size=(4 * 96, 8)),
        "b0": np.zeros(8),
        "w1": rng.normal(scale=0.3, size=(8, 1)),
        "b1": np.zeros(1),
    }
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["x"], ["f"]),
         helper.make_node("Gemm", ["f", "w0", "b0"], ["h"]),
         helper.make_node("Relu", ["h"], ["a"]),
         helper.make_node("Gemm", ["a", "w1", "b1"], ["z"]),
         helper.make_node("Sigmoid", ["z"], ["p"])],
        "classifier",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 96])],
        [helper.make_tensor_value_info("p", TensorProto.FLOAT, [1, 1])],
        [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in weights.items()],
    )  # fmt: skip
    path = str(tmp_path / "my_word.onnx")
    onnx.save(helper.make_model(graph), path)
    audio = speech_like(4.0, seed=9)
    wav = tmp_path / "input.wav"
    write_wav(wav, audio, SR, dtype="float32")
    padded = np.zeros(11232 + 1280 * -(-(audio.size - 11232) // 1280), np.float32)
    padded[: audio.size] = audio
    expected = np.asarray(openwakeword_head(path)(speech_embedding()(padded[None])))[0]
    times = speech_embedding_step_ends(padded.size) / SR
    threshold = float(np.quantile(expected, 0.7))
    steps = detection_steps(expected, times, threshold, 1.0)
    detections = run_wakeword(path, wav, threshold=threshold, stream=io.StringIO())
    np.testing.assert_allclose(detections, np.minimum(times[steps], audio.size / SR))
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x00not onnx")
    errors = io.StringIO()
    assert command([str(wav)], str(broken), errors=errors) == 2
    assert errors.getvalue().count("\n") == 1 and "is not an ONNX file" in errors.getvalue()


def test_progress_bars_change_nothing_but_stderr(files, tmp_path, capsys):
    """`progress=True` streams the same scores with a bar of the model calls on stderr, for
    both streamers and through the CLI's detector (which shows it by itself only for long
    recordings on a terminal)."""
    gru, gru_path, _, _, embedding_path = files
    audio = speech_like(3.0, seed=8)
    second = SpeechEmbeddingStreamer(embedding_path)
    quiet = second.run(audio)
    capsys.readouterr()
    loud = second.run(audio, progress=True)
    bar = capsys.readouterr().err
    calls = quiet[0].size
    assert f"{calls}/{calls}" in bar and "streaming" in bar
    np.testing.assert_array_equal(loud[0], quiet[0])
    np.testing.assert_array_equal(loud[1], quiet[1])
    first = TriggerWordStreamer(gru_path)
    expected = first.run(audio)
    got = first.run(audio, progress=True)
    bar = capsys.readouterr().err
    assert f"{first.calls}/{first.calls}" in bar and first.calls > 25  # several pieces
    np.testing.assert_array_equal(got, expected)
    wav = tmp_path / "input.wav"
    write_wav(wav, audio, SR, dtype="float32")
    printed = io.StringIO()
    run_wakeword(gru_path, wav, stream=printed, embedding=embedding_path, progress=True)
    assert capsys.readouterr().err.count("streaming") >= 2  # a bar per file
    assert "streaming" not in printed.getvalue()
    run_wakeword(gru_path, wav, stream=io.StringIO(), embedding=embedding_path)
    assert "streaming" not in capsys.readouterr().err  # 3 s: no bar by default
