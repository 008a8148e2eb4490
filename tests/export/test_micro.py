"""TensorFlow Lite for Microcontrollers runs the files a device gets: `MicroModel` (TFLM's
reference kernels, from the `tflite-micro` package) against LiteRT on the same file,
`float_ops` (an op kept in float inside an int8 file), the arena search, and the errors."""

import os
import sys

import keras
import numpy as np
import pytest

from kerasdl.export import MicroModel, TFLiteModel, micro_arena_bytes, tflite
from kerasdl.models.trigger_word import TriggerWordStreamer, trigger_word, trigger_word_streaming
from tests.models.trigger_word_helpers import randomize_batch_norm, speech_like


def int8_step(values):
    """An int8 output's step, measured: dequantized outputs lie on a grid `scale * q +
    offset`, so the smallest gap between distinct values is the scale. Two runtimes'
    outputs may differ by a few steps (their kernels round differently)."""
    levels = np.unique(np.round(np.asarray(values, np.float64), 7))
    gaps = np.diff(levels)
    return float(gaps[gaps > 1e-6].min())


@pytest.fixture(scope="module")
def wake_word():
    """A small streaming trigger-word model with the int8 front end options (approximate
    magnitude, log offset), its calibration inputs, and 6 s of speech-like audio."""
    keras.utils.set_random_seed(3)
    model = trigger_word(
        filters=8, units=(8,), mel_bins=16, magnitude="approximate", log_offset=0.05
    )
    randomize_batch_norm(model, seed=3, affine=False)
    stream = trigger_word_streaming(model, output="logit")
    streamer = TriggerWordStreamer(stream)
    clips = np.stack([speech_like(4.0, seed=s) for s in range(6)])
    calibration = streamer.calibration_inputs(clips, max_examples=300)
    return stream, streamer, calibration, speech_like(6.0, seed=11)


def test_int8_log_fails_on_micro_and_float_ops_makes_it_run(wake_word, tmp_path):
    stream, keras_streamer, calibration, audio = wake_word
    plain = str(tmp_path / "int8.tflite")
    tflite(stream, plain, quantization="int8", representative_data=calibration)
    # LiteRT has an int8 LOG kernel; TFLM's takes float only, and says which op to keep.
    with pytest.raises(RuntimeError, match=r"LOG.*float_ops=\('LOG',\)"):
        MicroModel(plain)
    path = str(tmp_path / "micro.tflite")
    report = tflite(
        stream, path, quantization="int8", representative_data=calibration, float_ops=("LOG",)
    )
    assert {"LOG", "DEQUANTIZE", "QUANTIZE"} <= set(report.ops)
    assert report.size_bytes < os.path.getsize(plain) * 1.05  # one op in float costs little
    micro = MicroModel(path)
    assert micro.arena_bytes == micro_arena_bytes(path) and micro.arena_bytes % 16 == 0
    on_device = TriggerWordStreamer(micro).run(audio)
    litert = TriggerWordStreamer(path).run(audio)
    reference = keras_streamer.run(audio)
    assert on_device.shape == litert.shape == reference.shape
    # Same file, other kernels: some int8 steps apart (the GRU state carries a rounding
    # difference from call to call), and as near Keras as LiteRT.
    step = int8_step(litert)
    assert np.abs(on_device - litert).max() <= 16 * step
    assert np.abs(on_device - reference).max() <= np.abs(litert - reference).max() + 8 * step
    assert np.corrcoef(on_device, reference)[0, 1] > 0.99


def test_micro_equals_litert_call_by_call(tmp_path):
    """An int8 MLP, with float and with int8 inputs and outputs: TFLM's outputs are
    LiteRT's to within an int8 step or two."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((12,))
    hidden = keras.layers.Dense(16, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="tanh")(hidden))
    data = np.random.default_rng(0).normal(size=(128, 12)).astype("float32")
    for integer_io in (False, True):
        path = str(tmp_path / f"mlp_{integer_io}.tflite")
        tflite(model, path, quantization="int8", representative_data=data, integer_io=integer_io)
        micro, litert = MicroModel(path), TFLiteModel(path)
        got, want = micro(data[:40]), litert(data[:40])
        assert got.shape == want.shape == (40, 3)
        step = int8_step(want)
        assert np.abs(got - want).max() <= 2 * step
        assert np.abs(want - model.predict(data[:40], verbose=0)).max() < 0.1
        assert micro.mean_latency_ms() > 0


def test_arena_is_measured_and_a_short_one_refused(tmp_path):
    keras.utils.set_random_seed(1)
    inputs = keras.Input((64,))
    model = keras.Model(inputs, keras.layers.Dense(64)(keras.layers.Dense(256)(inputs)))
    data = np.random.default_rng(1).normal(size=(64, 64)).astype("float32")
    path = str(tmp_path / "mlp.tflite")
    tflite(model, path, quantization="int8", representative_data=data)
    arena = micro_arena_bytes(path)
    assert 256 + 64 < arena < 64 * 1024  # the int8 activations alive at once, and a little
    micro = MicroModel(path, arena_bytes=arena)
    assert micro.arena_bytes == arena
    # A larger arena is used as given and computes the same outputs.
    roomy = MicroModel(path, arena_bytes=arena + 4096)
    assert roomy.arena_bytes == arena + 4096
    np.testing.assert_array_equal(roomy(data[:3]), micro(data[:3]))
    with pytest.raises(ValueError, match=f"at least the {arena} bytes TFLite Micro needs"):
        MicroModel(path, arena_bytes=arena - 16)
    with pytest.raises(ValueError, match="`arena_bytes` must be a positive int"):
        MicroModel(path, arena_bytes=0)
    with pytest.raises(ValueError, match="must be an existing .tflite file"):
        micro_arena_bytes(str(tmp_path / "missing.tflite"))


def test_float_ops_are_checked_before_anything_is_written(wake_word, tmp_path):
    stream, _, calibration, _ = wake_word
    path = tmp_path / "x.tflite"
    cases = [
        (dict(quantization="dynamic", float_ops=("LOG",)), ValueError, "needs quantization"),
        (dict(quantization="int8", float_ops="LOG"), TypeError, "sequence of op names"),
        (dict(quantization="int8", float_ops=("log",)), ValueError, "in capitals"),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            tflite(stream, path, representative_data=calibration, **kwargs)
    with pytest.raises(ValueError, match=r"it has no \['SOFTMAX'\]. Its ops: ABS"):
        tflite(
            stream, path, quantization="int8", representative_data=calibration,
            float_ops=("LOG", "SOFTMAX"),
        )  # fmt: skip
    assert not path.exists()


def test_missing_package_says_what_to_install(monkeypatch, tmp_path):
    inputs = keras.Input((2,))
    path = str(tmp_path / "m.tflite")
    tflite(keras.Model(inputs, keras.layers.Dense(1)(inputs)), path)
    monkeypatch.setitem(sys.modules, "tflite_micro", None)
    with pytest.raises(ImportError, match="pip install tflite-micro"):
        MicroModel(path)
