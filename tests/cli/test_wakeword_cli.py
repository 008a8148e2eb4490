"""`kerasdl wakeword`: a small streaming model (TFLite and .keras) on WAV files the test
writes (other rates, stereo); the detections against the full-clip Keras model's outputs
run through the detector here, the chimes in the written WAV, and one-line errors."""

import io

import keras
import numpy as np
import pytest

from kerasdl.cli.wakeword import WakeWordDetector, command, run_wakeword
from kerasdl.data.audio import chime, read_wav, write_wav
from kerasdl.export.tflite import tflite
from kerasdl.models.trigger_word import trigger_word_streaming
from kerasdl.verification.wakeword import detection_steps
from tests.models.trigger_word_helpers import full_clip_probabilities, small_model, speech_like

SR = 16000


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A small full-clip model (batch norm moved off the identity), its `.keras` file and
    the float TFLite file of its streaming form (two steps per call)."""
    model = small_model()
    folder = tmp_path_factory.mktemp("models")
    keras_path = folder / "model.keras"
    model.save(keras_path)
    tflite_path = folder / "model.tflite"
    tflite(trigger_word_streaming(model, chunk_samples=1280), tflite_path)
    return model, str(keras_path), str(tflite_path)


def reference(model, audio, threshold, refractory):
    """The full-clip model on the audio padded like the streamer pads it, and the steps
    at which the detector fires."""
    p, times = full_clip_probabilities(model, audio)
    steps = detection_steps(p, times, threshold, refractory)
    return p, np.minimum(times[steps], audio.size / SR)


def test_tflite_stereo_44k_input(models, tmp_path):
    model, _, tflite_path = models
    audio = speech_like(6.3)
    # The file holds the signal at 44.1 kHz in two channels; read_wav brings it back.
    stereo = np.stack([audio, audio], axis=1)
    from scipy.signal import resample_poly

    wav = tmp_path / "input.wav"
    write_wav(wav, resample_poly(stereo, 441, 160, axis=0), 44100)
    heard = read_wav(wav, SR)
    p, _ = reference(model, heard, 0.0, 1.0)
    threshold = float(np.quantile(p, 0.8))
    _, expected = reference(model, heard, threshold, 1.0)
    # The seeded bursts cross the 80th percentile five separate times, a second or more
    # apart: several detections, so the printed plural and the chimes are exercised.
    assert expected.size == 5
    out, printed = tmp_path / "chimed.wav", io.StringIO()
    detections = run_wakeword(tflite_path, wav, out, threshold=threshold, stream=printed)
    np.testing.assert_allclose(detections, expected, atol=1e-9)
    lines = printed.getvalue().splitlines()
    assert lines[0].startswith(f"{wav}: 6.30 s at 16000 Hz, threshold {threshold:g}")
    assert [line.split()[3] for line in lines[1:-1]] == [f"{t:.2f}" for t in expected]
    assert lines[-1] == f"{expected.size} detection{'s' if expected.size > 1 else ''}; wrote {out}"
    # The written audio is the input plus a chime starting at each detection.
    chimed = read_wav(out, SR)
    assert chimed.shape == heard.shape
    added = np.zeros_like(heard)
    sound = chime(SR)
    for t in expected:
        start = int(round(t * SR))
        end = min(heard.size, start + sound.size)
        added[start:end] += sound[: end - start]
    np.testing.assert_allclose(chimed, np.clip(heard + added, -1, 1), atol=2 / 32768)


def test_keras_full_clip_model_matches_tflite(models, tmp_path):
    model, keras_path, tflite_path = models
    audio = speech_like(4.0, seed=1)
    from_keras = WakeWordDetector(keras_path)
    from_tflite = WakeWordDetector(tflite_path)
    assert from_keras.sample_rate == SR
    p_keras, t_keras = from_keras.probabilities(audio)
    p_tflite, t_tflite = from_tflite.probabilities(audio)
    expected, _ = reference(model, audio, 0.5, 1.0)
    # Keras streams 25 steps per call, the TFLite file 2: both pad to their own chunk.
    n = min(p_keras.size, p_tflite.size, expected.size)
    np.testing.assert_allclose(p_keras[:n], expected[:n], atol=1e-5)
    np.testing.assert_allclose(p_tflite[:n], expected[:n], atol=1e-5)
    np.testing.assert_allclose(t_keras[:n], t_tflite[:n])
    wav = tmp_path / "input.wav"
    write_wav(wav, audio, SR, dtype="float32")
    threshold = float(np.quantile(p_keras[:n], 0.7))
    a = run_wakeword(keras_path, wav, threshold=threshold, stream=io.StringIO())
    b = run_wakeword(tflite_path, wav, threshold=threshold, stream=io.StringIO())
    np.testing.assert_allclose(a, b)


def test_command_exit_codes_and_one_line_errors(models, tmp_path):
    _, keras_path, tflite_path = models
    wav = tmp_path / "input.wav"
    write_wav(wav, speech_like(2.0), SR)
    text = tmp_path / "notes.wav"
    text.write_text("these are not samples\n")
    out, err = io.StringIO(), io.StringIO()
    assert command([str(wav)], tflite_path, None, 0.99, stream=out, errors=err) == 0
    assert err.getvalue() == "" and out.getvalue().splitlines()[-1] == "0 detections"

    def failing(rest, model):
        err = io.StringIO()
        assert command(rest, model, stream=io.StringIO(), errors=err) == 2
        lines = err.getvalue().splitlines()
        assert len(lines) == 1, lines
        return lines[0]

    assert "is not a WAV file" in failing([str(text)], tflite_path)
    assert str(text) in failing([str(text)], keras_path)
    assert "must be an existing WAV file" in failing([str(tmp_path / "missing.wav")], tflite_path)
    assert failing([str(wav)], None).startswith("usage: kerasdl wakeword")
    assert failing([], tflite_path).startswith("usage: kerasdl wakeword")
    assert "must be an existing .tflite, .keras or .onnx file" in failing(
        [str(wav)], "nothing.tflite"
    )
    assert "is not a TFLite model" in failing([str(wav)], str(text))
    short = tmp_path / "short.wav"
    write_wav(short, np.zeros(1000), SR)
    assert "the model needs at least 0.165 s" in failing([str(short)], tflite_path)


def test_non_trigger_word_models_are_rejected(tmp_path):
    inputs = keras.Input((100,))
    other = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    path = tmp_path / "other.keras"
    other.save(path)
    with pytest.raises(ValueError, match=r"is not a trigger-word model: it has no 'spectrogram'"):
        WakeWordDetector(path)
    tflite(other, tmp_path / "other.tflite")
    with pytest.raises(ValueError, match=r"is not a streaming wake-word model"):
        WakeWordDetector(tmp_path / "other.tflite")


def test_plot_is_written(models, tmp_path):
    """`--plot`: the picture of the audio and the probability per step, named in the summary."""
    from PIL import Image

    _, _, tflite_path = models
    wav = tmp_path / "input.wav"
    write_wav(wav, speech_like(3.0, seed=2), SR, dtype="float32")
    picture, printed = tmp_path / "scores.png", io.StringIO()
    code = command([str(wav)], tflite_path, stream=printed, plot=str(picture))
    assert code == 0
    assert printed.getvalue().splitlines()[-1].endswith(f"; plotted {picture}")
    assert Image.open(picture).size == (1000, 650)
