"""The speech embedding in Keras against openWakeWord's ONNX files run by onnxruntime."""

import importlib
import importlib.util
import shutil

import numpy as np
import pytest

from kerasdl.models import (
    load_speech_embedding_weights,
    speech_embedding,
    speech_embedding_head,
    speech_embedding_step_ends,
    speech_embedding_steps,
    speech_embedding_streaming,
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
    floored = speech_embedding(top_db=80.0)  # as the ONNX file, one clip at a time
    mel = floored.get_layer("melspectrogram")(audio[None]).numpy()[0]
    np.testing.assert_allclose(mel, spectrogram, atol=1e-4)
    out = floored.predict(audio[None], verbose=0)[0]
    assert out.shape == expected.shape == (speech_embedding_steps(len(audio)), 96)
    scale = np.abs(expected).max()
    assert scale > 1  # real embeddings, not zeros
    np.testing.assert_allclose(out, expected, atol=1e-5 * scale)
    # No floor by default: equal where the floor does not bind, lower where it does.
    unfloored = model.get_layer("melspectrogram")(audio[None]).numpy()[0]
    binding = spectrogram <= spectrogram.min() + 1e-6
    np.testing.assert_allclose(unfloored[~binding], spectrogram[~binding], atol=1e-4)
    quiet = audio.copy()
    quiet[4000:12000] = 0
    low = model.get_layer("melspectrogram")(quiet[None]).numpy()[0]
    high = floored.get_layer("melspectrogram")(quiet[None]).numpy()[0]
    assert low.min() == pytest.approx(-8.0)  # 10 log10(1e-10) / 10 + 2
    assert high.min() == pytest.approx(high.max() - 8.0, abs=1e-4)  # 80 dB under the top


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


def test_front_end_is_a_windowed_fft(model):
    """The file's 512 x 257 DFT matrices are a window times cos and sin (a 400-sample
    periodic Hann window, 25 ms, centred in the 512-sample frame); the layer keeps the
    window (checked against scipy's) and runs an FFT."""
    from scipy.signal import get_window

    front = model.get_layer("melspectrogram")
    hann = np.pad(get_window("hann", 400), 56)
    np.testing.assert_allclose(np.asarray(front.window), hann, atol=1e-6)
    angle = 2 * np.pi * np.outer(np.arange(512), np.arange(257)) / 512
    window = np.random.default_rng(0).uniform(0.5, 1.0, 512)
    real, imag = window[:, None] * np.cos(angle), -window[:, None] * np.sin(angle)
    np.testing.assert_allclose(module._dft_window(real, imag), window)
    np.testing.assert_allclose(module._dft_window(real, -imag), window)
    with pytest.raises(ValueError, match="is not a windowed DFT"):
        module._dft_window(real, np.roll(imag, 1, axis=1))


def test_dynamic_range_file_keeps_the_front_end_float(model, tmp_path):
    """Dynamic-range quantization leaves the filterbank's 771-number slices in float (int8
    activations of a power spectrum lose its quiet bins), so the quantized front end still
    equals Keras; the file holds no DFT matrices."""
    import keras

    from kerasdl.export import tflite

    audio = speech()[None, :12512]
    fixed = speech_embedding(num_samples=12512)
    front = keras.Model(fixed.input, fixed.get_layer("melspectrogram").output)
    report = tflite(front, tmp_path / "front.tflite", quantization="dynamic", check_inputs=audio)
    assert "RFFT2D" in report.ops
    assert report.size_bytes < 60_000
    assert report.max_abs_diff < 1e-3


def stream(streaming, audio, context):
    """Runs a streaming model over a clip, 1280 new samples per call."""
    state = {"tail": audio[None, :11232], "history": np.zeros((1, context - 1, 96), "float32")}
    scores = []
    for start in range(11232, len(audio) - 1279, 1280):
        out = streaming({"audio": audio[None, start : start + 1280], **state})
        state = {"tail": np.asarray(out["tail"]), "history": np.asarray(out["history"])}
        scores.append(float(np.asarray(out["logits"])[0, 0]))
    return np.array(scores)


def test_streaming_equals_the_full_clip(model, tmp_path):
    import keras

    from kerasdl.export import TFLiteModel, tflite

    keras.utils.set_random_seed(3)
    head = speech_embedding_head(context_steps=6, units=16)
    audio = speech()
    logits = keras.Model(head.input, head.get_layer("logits").output)
    full = logits.predict(model.predict(audio[None], verbose=0), verbose=0)[0, :, 0]
    streaming = speech_embedding_streaming(model, head, output="logit")
    streamed = stream(streaming, audio, 6)
    assert len(streamed) == len(full) == speech_embedding_steps(len(audio))
    np.testing.assert_allclose(streamed, full, atol=1e-4 * np.abs(full).max())
    probabilities = speech_embedding_streaming(model, head)
    assert set(probabilities.output) == {"probabilities", "tail", "history"}
    path = tmp_path / "verifier.tflite"
    report = tflite(streaming, path, check_inputs=None)
    assert report.max_abs_diff < 1e-3
    runner = TFLiteModel(path)
    first = runner(
        {
            "audio": audio[None, 11232:12512],
            "tail": audio[None, :11232],
            "history": np.zeros((1, 5, 96), "float32"),
        }
    )
    np.testing.assert_allclose(np.asarray(first["logits"])[0, 0], full[0], atol=1e-3)


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
    with pytest.raises(ValueError, match="`head` must be built by `speech_embedding_head`"):
        speech_embedding_streaming(speech_embedding(weights=None), other)
    with pytest.raises(ValueError, match="`output` must be one of"):
        speech_embedding_streaming(speech_embedding(weights=None), speech_embedding_head(), "odds")
    with pytest.raises(ValueError, match=r"`top_db` must be > 0.0\. Received: top_db=-1"):
        speech_embedding(weights=None, top_db=-1)
    with pytest.raises(ValueError, match="`context_steps` must be"):
        speech_embedding_head(context_steps=0)
    monkeypatch.setattr(module.importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(FileNotFoundError, match=r"pip install openwakeword==0.4.0"):
        speech_embedding()
