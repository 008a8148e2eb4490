"""The speech embedding in Keras against openWakeWord's ONNX files run by onnxruntime."""

import importlib
import importlib.util
import shutil

import numpy as np
import pytest

from kerasdl.models import (
    load_speech_embedding_weights,
    speech_embedding,
    speech_embedding_step_ends,
    speech_embedding_steps,
)

module = importlib.import_module("kerasdl.models.speech_embedding")


def skip(reason):
    print(f"skipped: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def folder():
    if importlib.util.find_spec("onnx") is None:
        skip("onnx is not installed (pip install onnx)")
    try:
        return module._weights_folder("openwakeword")
    except FileNotFoundError:
        skip("openWakeWord 0.4.0's files are not installed (pip install openwakeword==0.4.0)")


@pytest.fixture(scope="module")
def sessions(folder):
    if importlib.util.find_spec("onnxruntime") is None:
        skip("onnxruntime, the reference runner, is not installed (pip install onnxruntime)")
    import onnxruntime

    options = dict(providers=["CPUExecutionProvider"])
    return (
        onnxruntime.InferenceSession(str(folder / "melspectrogram.onnx"), **options),
        onnxruntime.InferenceSession(str(folder / "embedding_model.onnx"), **options),
    )


@pytest.fixture(scope="module")
def model(folder):
    return speech_embedding()


def speech():
    """Two seconds: the trigger word said by espeak-ng (when installed) in pink-ish noise."""
    rng = np.random.default_rng(0)
    audio = np.cumsum(rng.standard_normal(32000)) * 1e-3
    audio = (audio - np.convolve(audio, np.ones(400) / 400, mode="same")).astype(np.float32)
    if shutil.which("espeak-ng") is not None:
        from kerasdl.data.speech import synthesize
        from kerasdl.data.trigger_word import TRIGGER_WORD

        word = synthesize(TRIGGER_WORD)[:16000]
        audio[8000 : 8000 + len(word)] += 0.8 * word
    return np.clip(audio, -1, 1)


def reference(sessions, audio):
    """openWakeWord's way: 16-bit samples, the mel model, then the embedding model on each
    76-frame window, 8 frames apart."""
    mel, embedding = sessions
    pcm = np.round(audio * 32767).astype(np.float32)[None]
    spectrogram = mel.run(None, {"input": pcm})[0].reshape(-1, 32) / 10 + 2
    steps = (len(spectrogram) - 76) // 8 + 1
    windows = np.stack([spectrogram[8 * j : 8 * j + 76] for j in range(steps)])[..., None]
    return spectrogram, embedding.run(None, {"input_1": windows})[0].reshape(steps, 96)


def test_equals_openwakeword_onnx(model, sessions):
    audio = np.round(speech() * 32767) / 32767
    spectrogram, expected = reference(sessions, audio)
    mel = model.get_layer("melspectrogram")(audio[None]).numpy()[0]
    np.testing.assert_allclose(mel, spectrogram, atol=1e-4)
    out = model.predict(audio[None], verbose=0)[0]
    assert out.shape == expected.shape == (speech_embedding_steps(len(audio)), 96)
    scale = np.abs(expected).max()
    assert scale > 1  # real embeddings, not zeros
    np.testing.assert_allclose(out, expected, atol=1e-5 * scale)


def test_each_step_is_its_window_alone(model):
    audio = speech()
    ends = speech_embedding_step_ends(len(audio))
    whole = model.predict(audio[None], verbose=0)[0]
    assert len(ends) == len(whole) == 16
    for j in (0, 7, 15):
        alone = model.predict(audio[None, ends[j] - 12512 : ends[j]], verbose=0)[0]
        assert alone.shape == (1, 96)
        np.testing.assert_allclose(alone[0], whole[j], atol=1e-3 * np.abs(whole).max())


def test_steps_follow_the_length():
    model = speech_embedding(weights=None)
    for samples in (12512, 13791, 13792, 20000):
        out = model.predict(np.zeros((1, samples), "float32"), verbose=0)
        assert (
            out.shape[1]
            == speech_embedding_steps(samples)
            == len(speech_embedding_step_ends(samples))
        )
    assert speech_embedding_steps(12511) == 0
    assert not model.trainable and not model.trainable_weights


def test_fixed_length_converts_to_tflite(model, tmp_path):
    from kerasdl.export import tflite

    fixed = speech_embedding(num_samples=16000)
    audio = speech()[:16000][None]
    np.testing.assert_allclose(fixed.predict(audio, verbose=0), model.predict(audio, verbose=0))
    report = tflite(fixed, tmp_path / "embedding.tflite", check_inputs=audio)
    assert report.max_abs_diff < 1e-3 * np.abs(fixed.predict(audio, verbose=0)).max()


def test_errors(folder, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"`num_samples` must be >= 12512 \(one embedding\)"):
        speech_embedding(weights=None, num_samples=12000)
    with pytest.raises(FileNotFoundError, match=r"has no melspectrogram.onnx, embedding_model"):
        speech_embedding(weights=tmp_path)
    (tmp_path / "melspectrogram.onnx").write_bytes((folder / "melspectrogram.onnx").read_bytes())
    (tmp_path / "embedding_model.onnx").write_bytes((folder / "melspectrogram.onnx").read_bytes())
    with pytest.raises(ValueError, match="is not the speech embedding's network"):
        speech_embedding(weights=tmp_path)
    import keras

    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="must be built by `speech_embedding`"):
        load_speech_embedding_weights(other, folder)
    monkeypatch.setattr(module.importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(FileNotFoundError, match=r"pip install openwakeword==0.4.0"):
        speech_embedding()
