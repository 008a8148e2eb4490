"""Spectrogram against scipy's STFT, the mel filterbank against librosa, chunked == full,
framing arithmetic, errors, SavedModel and TFLite (float and full int8) export."""

import os

import keras
import numpy as np
import pytest
import scipy.signal
import tensorflow as tf

from kerasdl.layers.audio import (
    APPROXIMATE_MAGNITUDE_ERROR,
    DFTS,
    Spectrogram,
    num_frames,
    samples_for_frames,
)
from kerasdl.ops.audio import hz_to_mel, mel_filterbank, mel_to_hz

# (frame_length, frame_step, fft_length, window): the defaults, a frame equal to the FFT,
# a prime FFT size with a hop that does not divide the frame, and the Hamming window.
CONFIGS = [
    (400, 160, 512, "hann"),
    (256, 128, 256, "hann"),
    (100, 33, 101, "hann"),
    (200, 80, 256, "hamming"),
]


def waveform(batch, samples, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (batch, samples)).astype("float32")


def scipy_magnitude(x, frame_length, frame_step, fft_length, window, spectrogram=False):
    """|X_t[k]| by scipy, `(batch, frames, bins)`; scipy's "spectrum" scaling is 1/sum(w)."""
    kwargs = dict(
        window=window,
        nperseg=frame_length,
        noverlap=frame_length - frame_step,
        nfft=fft_length,
        scaling="spectrum",
    )
    x = np.asarray(x, np.float64)
    if spectrogram:
        _, _, s = scipy.signal.spectrogram(x, detrend=False, mode="magnitude", **kwargs)
    else:
        _, _, z = scipy.signal.stft(x, boundary=None, padded=False, **kwargs)
        s = np.abs(z)
    window_sum = scipy.signal.get_window(window, frame_length).sum()
    return np.swapaxes(s, -1, -2) * window_sum


def assert_close_relative(actual, expected, rtol):
    """Max |actual - expected| relative to max |expected| (float32 DFT sums)."""
    error = np.max(np.abs(actual - expected)) / np.max(np.abs(expected))
    assert error < rtol, f"relative error {error:.2e} >= {rtol:.0e}"


@pytest.mark.parametrize("dft", DFTS)
@pytest.mark.parametrize("frame_length, frame_step, fft_length, window", CONFIGS)
def test_magnitude_equals_scipy_stft(dft, frame_length, frame_step, fft_length, window):
    x = waveform(2, 1500, seed=frame_length)
    layer = Spectrogram(frame_length, frame_step, fft_length, window=window, dft=dft)
    got = layer(x).numpy()
    expected = scipy_magnitude(x, frame_length, frame_step, fft_length, window)
    assert (
        got.shape
        == expected.shape
        == (2, num_frames(1500, frame_length, frame_step), fft_length // 2 + 1)
    )
    assert_close_relative(got, expected, 1e-5)


@pytest.mark.parametrize("dft", DFTS)
def test_power_equals_scipy_spectrogram(dft):
    x = waveform(3, 2000, seed=1)
    got = Spectrogram(magnitude_power=2.0, dft=dft)(x).numpy()
    expected = scipy_magnitude(x, 400, 160, 512, "hann", spectrogram=True) ** 2
    assert_close_relative(got, expected, 1e-5)
    odd = Spectrogram(magnitude_power=0.5, dft=dft)(x).numpy()
    assert_close_relative(odd, np.sqrt(expected) ** 0.5, 1e-5)


def numpy_approximate_magnitude(z):
    """The two-direction max of the docstring, re-derived in float64 numpy."""
    a, b = np.abs(z.real), np.abs(z.imag)
    big, small = np.maximum(a, b), np.minimum(a, b)
    c = 2 / (1 + np.cos(np.pi / 16))
    terms = [np.cos(t) * big + np.sin(t) * small for t in (np.pi / 16, 3 * np.pi / 16)]
    return c * np.maximum(*terms)


def test_approximate_magnitude_error_bound_is_tight():
    # Brute force over the angle of z: the stated error is the largest relative error.
    phi = np.linspace(0, 2 * np.pi, 200_001)
    relative = numpy_approximate_magnitude(np.exp(1j * phi)) - 1
    assert abs(np.abs(relative).max() - APPROXIMATE_MAGNITUDE_ERROR) < 1e-9
    assert APPROXIMATE_MAGNITUDE_ERROR < 0.00971  # "0.97%" in the docstring
    # Both signs reached: the error is centred.
    assert relative.min() < -0.0096 and relative.max() > 0.0096


@pytest.mark.parametrize("dft", DFTS)
@pytest.mark.parametrize("frame_length, frame_step, fft_length, window", CONFIGS[:3])
def test_approximate_magnitude_equals_numpy(dft, frame_length, frame_step, fft_length, window):
    x = waveform(2, 1500, seed=frame_length + 1)
    layer = Spectrogram(
        frame_length, frame_step, fft_length, window=window, dft=dft, magnitude="approximate"
    )
    got = layer(x).numpy()
    kwargs = dict(window=window, nperseg=frame_length, noverlap=frame_length - frame_step)
    _, _, z = scipy.signal.stft(
        np.float64(x), nfft=fft_length, boundary=None, padded=False, scaling="spectrum", **kwargs
    )
    z = np.swapaxes(z, -1, -2) * scipy.signal.get_window(window, frame_length).sum()
    assert_close_relative(got, numpy_approximate_magnitude(z), 1e-5)
    # Bin by bin within the stated error of the exact magnitude (plus float32 rounding on
    # bins far below the loudest).
    exact = np.abs(z)
    relative = np.abs(got - exact) / exact
    big = exact > 1e-3 * exact.max()
    assert relative[big].max() <= APPROXIMATE_MAGNITUDE_ERROR + 1e-4, relative[big].max()
    assert relative[big].max() > 0.008  # random bins come close to the bound
    # Powers and mel/log on top of it, as for the exact magnitude.
    power = Spectrogram(
        frame_length, frame_step, fft_length, window=window, dft=dft, magnitude="approximate",
        magnitude_power=2.0,
    )(x).numpy()  # fmt: skip
    assert_close_relative(power, numpy_approximate_magnitude(z) ** 2, 1e-5)


def test_rectangular_window_is_the_plain_dft():
    x = waveform(1, 64, seed=2)
    got = Spectrogram(64, 64, 64, window="rectangular")(x).numpy()[0, 0]
    np.testing.assert_allclose(
        got, np.abs(np.fft.rfft(x[0].astype(np.float64))), rtol=1e-4, atol=1e-5
    )


@pytest.mark.parametrize("dft", DFTS)
def test_pure_tone_peaks_at_its_bin(dft):
    # 1750 Hz at 16 kHz with N = 512: bin 1750 / 31.25 = 56, amplitude 0.5 -> sum(w) / 4.
    t = np.arange(16000) / 16000
    tone = (0.5 * np.sin(2 * np.pi * 1750 * t))[None].astype("float32")
    s = Spectrogram(dft=dft)(tone).numpy()[0]
    assert (s.argmax(axis=1) == 56).all()
    np.testing.assert_allclose(s[:, 56], 200 / 4, rtol=1e-4)
    # Hann's main lobe spans +-1.3 bins of a 512-point FFT of 400 samples; its side lobes
    # are below -31 dB.
    assert np.delete(s, range(54, 59), axis=1).max() < 10 ** (-31 / 20) * s[:, 56].min()
    mel = Spectrogram(mel_bins=40, dft=dft, mel_norm=None)(tone).numpy()[0]
    center_hz = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(8000.0), 42))[1:-1]
    assert (mel.argmax(axis=1) == np.argmin(np.abs(center_hz - 1750))).all()


def test_off_bin_tone_peaks_at_nearest_bins():
    t = np.arange(4000) / 8000
    tone = np.sin(2 * np.pi * 1000 * t)[None].astype("float32")
    s = Spectrogram(200, 80, 256, sample_rate=8000)(tone).numpy()[0]
    # 1000 Hz / (8000 / 256) = bin 32 exactly; 1010 Hz falls between 32 and 33.
    assert (s.argmax(axis=1) == 32).all()
    tone = np.sin(2 * np.pi * 1010 * t)[None].astype("float32")
    assert set(Spectrogram(200, 80, 256)(tone).numpy()[0].argmax(axis=1)) <= {32, 33}


# Mel filterbank ---------------------------------------------------------------------


def test_mel_scales_known_values():
    np.testing.assert_allclose(hz_to_mel([0.0, 1000.0, 6400.0]), [0.0, 15.0, 42.0])
    np.testing.assert_allclose(hz_to_mel(700.0, "htk"), 2595 * np.log10(2))
    freqs = np.array([0.0, 500.0, 999.0, 1000.0, 4321.0, 8000.0])
    for scale in ("slaney", "htk"):
        np.testing.assert_allclose(mel_to_hz(hz_to_mel(freqs, scale), scale), freqs, rtol=1e-9)


def reference_mel_filterbank(mel_bins, fft_length, sample_rate, fmin, fmax, htk, norm):
    """Triangles built one filter at a time from the textbook definition."""
    if htk:

        def to_mel(f):
            return 2595 * np.log10(1 + f / 700)

        def to_hz(m):
            return 700 * (10 ** (m / 2595) - 1)

    else:

        def to_mel(f):
            return f / (200 / 3) if f < 1000 else 15 + np.log(f / 1000) * 27 / np.log(6.4)

        def to_hz(m):
            return m * 200 / 3 if m < 15 else 1000 * np.exp((m - 15) * np.log(6.4) / 27)

    edges = [to_hz(m) for m in np.linspace(to_mel(fmin), to_mel(fmax), mel_bins + 2)]
    bins = np.arange(fft_length // 2 + 1) * sample_rate / fft_length
    out = np.zeros((len(bins), mel_bins))
    for m in range(mel_bins):
        low, center, high = edges[m : m + 3]
        for k, f in enumerate(bins):
            if low < f <= center:
                out[k, m] = (f - low) / (center - low)
            elif center < f < high:
                out[k, m] = (high - f) / (high - center)
        if norm == "slaney":
            out[:, m] *= 2 / (high - low)
    return out


@pytest.mark.parametrize("htk", [False, True])
@pytest.mark.parametrize("norm", ["slaney", None])
@pytest.mark.parametrize(
    "mel_bins, fft_length, sample_rate, fmin, fmax",
    [(40, 512, 16000, 0.0, None), (20, 256, 8000, 50.0, 3800.0), (64, 1024, 22050, 20.0, 8000.0)],
)
def test_mel_filterbank_matches_reference(htk, norm, mel_bins, fft_length, sample_rate, fmin, fmax):
    scale = "htk" if htk else "slaney"
    got = mel_filterbank(mel_bins, fft_length, sample_rate, fmin, fmax, scale, norm)
    expected = reference_mel_filterbank(
        mel_bins, fft_length, sample_rate, fmin, fmax or sample_rate / 2, htk, norm
    )
    assert got.shape == (fft_length // 2 + 1, mel_bins) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("htk", [False, True])
@pytest.mark.parametrize("norm", ["slaney", None])
def test_mel_filterbank_equals_librosa(htk, norm):
    librosa = pytest.importorskip("librosa")
    for sr, n_fft, n_mels, fmin, fmax in [
        (16000, 512, 40, 0.0, None),
        (22050, 2048, 128, 30.0, 11000.0),
    ]:
        expected = librosa.filters.mel(
            sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm
        )
        got = mel_filterbank(n_mels, n_fft, sr, fmin, fmax, "htk" if htk else "slaney", norm)
        np.testing.assert_allclose(got, expected.T, rtol=1e-5, atol=1e-8)


def test_mel_filterbank_warns_on_empty_filters():
    with pytest.warns(UserWarning, match=r"cover no FFT bin at fft_length=64"):
        mel_filterbank(60, 64, 16000)


@pytest.mark.parametrize("log, power", [(None, 1.0), ("log", 1.0), ("db", 2.0), ("db", 1.0)])
def test_log_mel_equals_numpy(log, power):
    x = waveform(2, 3000, seed=3)
    layer = Spectrogram(
        magnitude_power=power,
        mel_bins=32,
        fmin=60.0,
        fmax=7600.0,
        mel_scale="htk",
        log=log,
        log_offset=1e-3,
    )
    got = layer(x).numpy()
    magnitude = scipy_magnitude(x, 400, 160, 512, "hann")
    mel = magnitude**power @ mel_filterbank(32, 512, 16000, 60.0, 7600.0, "htk").astype(np.float64)
    if log == "log":
        expected = np.log(mel + 1e-3)
    elif log == "db":
        # Decibels of the power |X|^2 whatever the magnitude power.
        expected = 10 * np.log10((mel + 1e-3) ** (2 / power))
    else:
        expected = mel
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


# Framing -----------------------------------------------------------------------------


def test_num_frames_and_samples_for_frames_are_inverse():
    for length, step in [(400, 160), (256, 256), (100, 33), (5, 1)]:
        for k in (1, 2, 7, 98):
            needed = samples_for_frames(k, length, step)
            assert num_frames(needed, length, step) == k
            assert num_frames(needed - 1, length, step) == k - 1
            assert num_frames(needed + step - 1, length, step) == k
    assert num_frames(16000, 400, 160) == 98 and num_frames(0, 400, 160) == 0
    layer = Spectrogram(frame_length=200, frame_step=80)
    assert layer.num_frames(1000) == 11 and layer.samples_for_frames(11) == 1000


@pytest.mark.parametrize("dft", DFTS)
@pytest.mark.parametrize("frame_length, frame_step", [(400, 160), (100, 33)])
def test_chunked_equals_full(dft, frame_length, frame_step):
    # Chunk i holds frames [i K, (i + 1) K): it starts i K H samples in and is
    # samples_for_frames(K) long, so consecutive chunks overlap by L - H samples.
    chunk_frames, chunks = 5, 4
    total = samples_for_frames(chunk_frames * chunks, frame_length, frame_step) + 17
    x = waveform(2, total, seed=4)
    layer = Spectrogram(frame_length, frame_step, 512, mel_bins=24, log="log", dft=dft)
    full = layer(x).numpy()
    assert full.shape[1] == chunk_frames * chunks
    size = samples_for_frames(chunk_frames, frame_length, frame_step)
    step = chunk_frames * frame_step
    parts = [layer(x[:, i * step : i * step + size]).numpy() for i in range(chunks)]
    np.testing.assert_allclose(np.concatenate(parts, axis=1), full, rtol=1e-5, atol=1e-5)


def test_symbolic_shapes():
    layer = Spectrogram(mel_bins=40)
    assert tuple(layer(keras.Input((16000,))).shape) == (None, 98, 40)
    assert tuple(Spectrogram()(keras.Input((None,))).shape) == (None, None, 257)
    assert tuple(Spectrogram()(keras.Input((400,))).shape) == (None, 1, 257)


@pytest.mark.parametrize("dft", DFTS)
def test_dynamic_length_in_graph_and_xla(dft):
    layer = Spectrogram(mel_bins=16, log="log", dft=dft)
    fn = tf.function(layer, input_signature=[tf.TensorSpec((None, None), tf.float32)])
    xla = tf.function(layer, jit_compile=True)
    for samples in (400, 1234):
        x = waveform(2, samples, seed=samples)
        np.testing.assert_allclose(fn(x).numpy(), layer(x).numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(xla(x).numpy(), layer(x).numpy(), rtol=1e-4, atol=1e-4)


# Errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            {"frame_step": 500},
            ValueError,
            r"`frame_step` must be <= frame_length=400.*Received: frame_step=500",
        ),
        (
            {"fft_length": 256},
            ValueError,
            r"`fft_length` must be >= frame_length=400.*Received: fft_length=256",
        ),
        ({"frame_length": 0}, ValueError, r"`frame_length` must be > 0. Received: frame_length=0"),
        ({"frame_step": 1.5}, TypeError, r"`frame_step` must be a positive int"),
        (
            {"window": "kaiser"},
            ValueError,
            r"`window` must be one of \('hann', 'hamming', 'rectangular'\)",
        ),
        (
            {"magnitude_power": 0},
            ValueError,
            r"`magnitude_power` must be > 0.0. Received: magnitude_power=0",
        ),
        ({"mel_bins": 0}, ValueError, r"`mel_bins` must be > 0"),
        (
            {"fmax": 9000.0},
            ValueError,
            r"`fmax` must be <= sample_rate / 2 = 8000.*Received: fmax=9000.0",
        ),
        (
            {"fmin": 4000.0, "fmax": 3000.0},
            ValueError,
            r"`fmin` must be < fmax=3000.*Received: fmin=4000.0",
        ),
        ({"fmin": -1.0}, ValueError, r"`fmin` must be >= 0. Received: fmin=-1.0"),
        ({"mel_scale": "bark"}, ValueError, r"`mel_scale` must be one of \('slaney', 'htk'\)"),
        ({"log": "log10"}, ValueError, r"`log` must be one of \(None, 'log', 'db'\)"),
        ({"log_offset": 0.0}, ValueError, r"`log_offset` must be > 0.0"),
        ({"dft": "fft"}, ValueError, r"`dft` must be one of \('factorized', 'matmul', 'rfft'\)"),
        (
            {"magnitude": "abs"},
            ValueError,
            r"`magnitude` must be one of \('exact', 'approximate'\)",
        ),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        Spectrogram(**kwargs)


def test_bad_inputs():
    with pytest.raises(
        ValueError,
        match=r"at least frame_length=400 samples for one frame .*"
        r"\(k - 1\) \* 160 \+ 400 samples\)\. Received: inputs.shape=\(2, 399\)",
    ):
        Spectrogram()(waveform(2, 399))
    with pytest.raises(
        ValueError,
        match=r"`inputs` must have rank 2 with shape \(batch, samples\)\. "
        r"Received: inputs.shape=\(1000,\)",
    ):
        Spectrogram()(waveform(1, 1000)[0])
    with pytest.raises(ValueError, match=r"Received: inputs.shape=\(2, 1000, 1\)"):
        Spectrogram()(waveform(2, 1000)[..., None])
    with pytest.raises(ValueError, match=r"at least frame_length=400 samples"):
        Spectrogram()(keras.Input((300,)))
    with pytest.raises(TypeError, match=r"`num_samples` must be an int"):
        num_frames(1000.0, 400, 160)


# Export ------------------------------------------------------------------------------


def log_mel_model(samples, dft, magnitude="exact", log_offset=1e-2):
    inputs = keras.Input((samples,))
    outputs = Spectrogram(
        mel_bins=40, log="log", log_offset=log_offset, dft=dft, magnitude=magnitude
    )(inputs)
    return keras.Model(inputs, outputs)


def test_saved_model_round_trip(tmp_path):
    model = log_mel_model(None, "factorized")
    path = str(tmp_path / "spectrogram")
    model.export(path, format="tf_saved_model", verbose=False)
    served = tf.saved_model.load(path).serve
    for samples in (1000, 2345):
        x = waveform(2, samples, seed=samples)
        np.testing.assert_allclose(served(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-5)


def coloured_noise(count, samples, seed=0):
    """Noise with random spectral tilts and loudnesses, as calibration and check data."""
    rng = np.random.default_rng(seed)
    white = rng.normal(size=(count, samples))
    tilt = rng.uniform(0.0, 0.95, count)
    x = np.stack(
        [scipy.signal.lfilter([1.0], [1.0, -a], w) for a, w in zip(tilt, white, strict=True)]
    )
    x /= np.abs(x).max(axis=1, keepdims=True)
    return (x * rng.uniform(0.1, 1.0, (count, 1))).astype("float32")


def test_tflite_float_and_full_int8(tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    from kerasdl.export.tflite import TFLiteModel, tflite

    model = log_mel_model(4000, "factorized")
    data = coloured_noise(32, 4000)
    expected = model.predict(data, verbose=0)
    report = tflite(model, os.path.join(tmp_path, "float.tflite"), check_inputs=data)
    assert not report.uses_flex and report.max_abs_diff < 1e-4
    assert {"BATCH_MATMUL", "FULLY_CONNECTED", "LOG"} <= set(report.ops), report.ops

    report = tflite(
        model,
        os.path.join(tmp_path, "int8.tflite"),
        quantization="int8",
        representative_data=data,
    )
    assert not report.uses_flex and report.size_bytes < 40_000
    # Every tensor but the float input and output is an integer.
    tensors = Interpreter(model_path=report.path).get_tensor_details()
    floats = [t["name"] for t in tensors if t["dtype"] in (np.float32, np.complex64)]
    assert len(floats) == 2, floats
    # Linear int8 steps before the log: bins within 1.5 nats of the loudest keep ~1% error,
    # the quietest ones (below an int8 step of the mel energies) fall to log(offset).
    error = np.abs(TFLiteModel(report.path)(data) - expected)
    loud = expected > expected.max() - 1.5
    assert error[loud].max() < 0.2 and error[loud].mean() < 0.03, error[loud].max()
    assert error.max() < 2.5 and error.mean() < 0.6, (error.max(), error.mean())


def test_tflite_int8_approximate_magnitude_keeps_more_range(tmp_path):
    """Full int8: the exact magnitude squares in int8 (~24 dB below the peak survive),
    the approximate one does not (~48 dB). With a small log offset, the int8 log-mel of
    the approximate magnitude is closer to float over the whole range, and the loud bins
    within the stated error."""
    from ai_edge_litert.interpreter import Interpreter

    from kerasdl.export.tflite import TFLiteModel, tflite

    data = coloured_noise(32, 4000, seed=1)
    reference = log_mel_model(4000, "factorized", log_offset=1e-4).predict(data, verbose=0)
    errors = {}
    for magnitude in ("exact", "approximate"):
        model = log_mel_model(4000, "factorized", magnitude, log_offset=1e-4)
        report = tflite(
            model,
            os.path.join(tmp_path, f"{magnitude}.tflite"),
            quantization="int8",
            representative_data=data,
        )
        tensors = Interpreter(model_path=report.path).get_tensor_details()
        assert len([t for t in tensors if t["dtype"] == np.float32]) == 2
        errors[magnitude] = np.abs(TFLiteModel(report.path)(data) - reference)
    # 20 dB (4.6 nats) below each clip's loudest bin: the exact int8 path is already
    # at its floor there.
    loud = reference > reference.max(axis=(1, 2), keepdims=True) - 4.6
    assert errors["approximate"][loud].mean() < 0.5 * errors["exact"][loud].mean(), (
        errors["approximate"][loud].mean(),
        errors["exact"][loud].mean(),
    )
    assert errors["approximate"].mean() < errors["exact"].mean()


def test_tflite_rfft_route(tmp_path):
    from kerasdl.export.tflite import tflite

    model = log_mel_model(2000, "rfft")
    report = tflite(
        model, os.path.join(tmp_path, "rfft.tflite"), check_inputs=coloured_noise(8, 2000)
    )
    assert "RFFT2D" in report.ops and not report.uses_flex and report.max_abs_diff < 1e-4


def test_mixed_precision_computes_in_float32():
    # A full-scale 1 kHz tone in 1024-sample frames: power ~ 256^2 overflows float16.
    tone = np.sin(2 * np.pi * 1000 * np.arange(4096) / 16000)[None].astype("float32")
    kwargs = dict(frame_length=1024, frame_step=512, fft_length=1024, magnitude_power=2.0)
    # Keras casts the input to float16 before the layer sees it.
    expected = Spectrogram(**kwargs, log="db")(tone.astype("float16").astype("float32")).numpy()
    got = Spectrogram(**kwargs, log="db", dtype="mixed_float16")(tone)
    assert got.dtype == "float16"
    assert np.isfinite(got.numpy()).all()
    np.testing.assert_allclose(got.numpy().astype("float32"), expected, atol=0.1)
