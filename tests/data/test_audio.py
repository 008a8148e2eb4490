"""WAV reading and writing against scipy's and sox's own files, resampling against the
analytic signal and sox's resampler, and the small signal helpers."""

import shutil
import subprocess

import numpy as np
import pytest
from scipy.io import wavfile

from kerasdl.data.audio import chime, overlay, read_wav, resample, trim_silence, write_wav

RATES = (8000, 22050, 44100, 48000)
SOX = shutil.which("sox")
# Two channels, 440 Hz left and 660 Hz right, at half scale, for 0.2 s.
TONES = ("synth", 0.2, "sine", 440, "sine", 660, "vol", 0.5)
needs_sox = pytest.mark.skipif(SOX is None, reason="sox is not installed (apt-get install sox)")


def sox(*args):
    subprocess.run([SOX, *map(str, args)], check=True, capture_output=True)


def scipy_floats(path):
    """A WAV file's samples as floats in [-1, 1], channels averaged, decoded by scipy."""
    rate, data = wavfile.read(path)
    if data.dtype == np.uint8:
        x = (data.astype(np.float64) - 128) / 128
    elif data.dtype.kind == "i":
        x = data.astype(np.float64) / 2.0 ** (8 * data.itemsize - 1)
    else:
        x = data.astype(np.float64)
    return rate, (x.mean(axis=1) if x.ndim == 2 else x)


def tone(rate, seconds=0.25, freqs=(440.0,), amplitude=0.5):
    t = np.arange(round(rate * seconds)) / rate
    return amplitude * sum(np.sin(2 * np.pi * f * t) for f in freqs) / len(freqs)


# -- reading files written by scipy ---------------------------------------------------


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize(
    "dtype, scale, offset",
    [
        ("uint8", 128, 128),
        ("int16", 2**15, 0),
        ("int32", 2**31, 0),
        ("float32", 1, 0),
        ("float64", 1, 0),
    ],
)
def test_read_scipy_written_files_exactly(tmp_path, rate, dtype, scale, offset):
    rng = np.random.default_rng(rate)
    x = rng.uniform(-1, 1, (rate // 20, 2))
    data = x if dtype.startswith("float") else np.round(x * (scale - 1)) + offset
    data = data.astype(dtype)
    path = tmp_path / "x.wav"
    wavfile.write(path, rate, data)
    expected = (data.astype(np.float64) - offset) / scale
    np.testing.assert_allclose(read_wav(path, rate), expected.mean(axis=1), atol=1e-7)
    mono = tmp_path / "mono.wav"
    wavfile.write(mono, rate, data[:, 0])
    np.testing.assert_allclose(read_wav(mono, rate), expected[:, 0], atol=1e-7)


# -- reading files written by sox, an independent writer -------------------------------


@needs_sox
@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize(
    "encoding", [("-b", 8), ("-b", 16), ("-b", 24), ("-b", 32), ("-e", "floating-point")]
)
def test_read_sox_written_files(tmp_path, rate, encoding):
    path = tmp_path / "sox.wav"
    # Two channels with different tones; -D: no dither, so the samples are the tones.
    sox("-D", "-n", "-r", rate, *encoding, "-c", 2, path, *TONES)
    _, expected = scipy_floats(path)
    audio = read_wav(path, rate)
    np.testing.assert_allclose(audio, expected, atol=1e-7)
    # Each tone at amplitude 0.5, averaged over the two channels: 0.25 at 440 and 660 Hz.
    spectrum = np.abs(np.fft.rfft(audio)) * 2 / audio.size
    freqs = np.fft.rfftfreq(audio.size, 1 / rate)
    for f in (440, 660):
        assert abs(spectrum[np.argmin(np.abs(freqs - f))] - 0.25) < 0.01


@needs_sox
def test_read_big_endian_rifx(tmp_path):
    path = tmp_path / "be.wav"
    sox("-D", "-n", "-r", 22050, "-B", "-b", 16, path, "synth", 0.1, "sine", 440, "vol", 0.5)
    assert path.read_bytes()[:4] == b"RIFX"
    _, expected = scipy_floats(path)
    audio = read_wav(path, 22050)
    np.testing.assert_allclose(audio, expected, atol=1e-7)
    assert abs(np.abs(audio).max() - 0.5) < 1e-3


# -- resampling ------------------------------------------------------------------------


@pytest.mark.parametrize("rate", RATES)
def test_read_resamples_to_the_analytic_signal(tmp_path, rate):
    path = tmp_path / "tone.wav"
    write_wav(path, tone(rate, 0.5, (440, 1800)), rate, dtype="float32")
    audio = read_wav(path, 16000)
    expected = tone(16000, 0.5, (440, 1800))
    assert audio.shape == expected.shape
    inner = slice(80, -80)  # the filter's edge effects
    assert np.abs(audio[inner] - expected[inner]).max() < 2e-3


@needs_sox
@pytest.mark.parametrize("rate", RATES)
def test_resample_matches_sox(tmp_path, rate):
    rng = np.random.default_rng(0)
    # Band-limited noise below 3 kHz: both resamplers pass it unchanged.
    passband = np.fft.rfftfreq(rate, 1 / rate) < 3000
    x = np.fft.irfft(np.fft.rfft(rng.standard_normal(rate)) * passband)
    x = 0.5 * x / np.abs(x).max()
    source, converted = tmp_path / "in.wav", tmp_path / "out.wav"
    write_wav(source, x, rate, dtype="float32")
    sox("-D", source, "-r", 16000, "-e", "floating-point", "-b", 32, converted, "rate", "-v")
    _, reference = scipy_floats(converted)
    ours = read_wav(source, 16000)
    n = min(ours.size, reference.size)
    inner = slice(100, n - 100)
    assert abs(ours.size - reference.size) <= 1
    assert np.abs(ours[:n][inner] - reference[:n][inner]).max() < 2e-3


def test_resample_lengths_and_batches():
    x = np.random.default_rng(1).standard_normal((3, 4410))
    y = resample(x, 44100, 16000)
    assert y.shape == (3, 1600) and y.dtype == np.float32
    np.testing.assert_allclose(y[1], resample(x[1], 44100, 16000), atol=1e-6)
    np.testing.assert_array_equal(resample(x[0], 16000, 16000), x[0].astype(np.float32))


# -- writing, checked by scipy's reader -------------------------------------------------


@pytest.mark.parametrize(
    "dtype, scale, offset", [("int16", 2**15, 0), ("int32", 2**31, 0), ("uint8", 128, 128)]
)
def test_write_integer_formats(tmp_path, dtype, scale, offset):
    x = np.array([0.0, 0.25, -0.5, 1.0, -1.0, 1.7, -3.0, 0.1])
    path = tmp_path / "w.wav"
    write_wav(path, x, 22050, dtype=dtype)
    rate, data = wavfile.read(path)
    assert rate == 22050 and data.dtype == np.dtype(dtype)
    info = np.iinfo(dtype)
    expected = np.clip(np.round(x * scale) + offset, info.min, info.max)
    np.testing.assert_array_equal(data, expected)
    np.testing.assert_allclose(read_wav(path, 22050), (expected - offset) / scale, atol=1e-7)


def test_write_float_and_stereo(tmp_path):
    x = np.random.default_rng(2).uniform(-1, 1, (500, 2)).astype(np.float32)
    path = tmp_path / "f.wav"
    write_wav(path, x, 48000, dtype="float32")
    rate, data = wavfile.read(path)
    assert rate == 48000 and data.dtype == np.float32
    np.testing.assert_array_equal(data, x)
    np.testing.assert_allclose(read_wav(path, 48000), x.mean(axis=1), atol=1e-7)


def test_write_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="`dtype` must be one of"):
        write_wav(tmp_path / "a.wav", [0.0], dtype="int8")
    with pytest.raises(ValueError, match="finite"):
        write_wav(tmp_path / "a.wav", [0.0, np.nan])
    with pytest.raises(ValueError, match=r"`audio` must have shape"):
        write_wav(tmp_path / "a.wav", np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="`sample_rate` must be > 0"):
        write_wav(tmp_path / "a.wav", [0.0], sample_rate=0)


# -- damaged headers and files that are not WAV ----------------------------------------


def test_read_tolerates_wrong_sizes_and_byte_rate(tmp_path):
    x = np.round(tone(8000, 0.1) * 32767).astype(np.int16)
    path = tmp_path / "x.wav"
    wavfile.write(path, 8000, x)
    blob = bytearray(path.read_bytes())
    blob[28:32] = (32000).to_bytes(4, "little")  # byte rate of 16 kHz (flite's kal voice)
    blob[4:8] = blob[40:44] = (0xFFFFFFFF).to_bytes(4, "little")  # streamed: sizes unknown
    blob += b"\x01"  # a cut-off half sample
    path.write_bytes(bytes(blob))
    np.testing.assert_allclose(read_wav(path, 8000), x / 32768, atol=1e-7)


def test_read_rejects_files_that_are_not_wav(tmp_path):
    import matplotlib.pyplot as plt

    text = tmp_path / "notes.txt"
    text.write_text("activate\n" * 10)
    image = tmp_path / "picture.png"
    plt.imsave(image, np.zeros((4, 4)))
    renamed = tmp_path / "image.wav"
    renamed.write_bytes(image.read_bytes())
    for path in (text, image, renamed, tmp_path / "empty.wav"):
        if path.name == "empty.wav":
            path.write_bytes(b"")
        with pytest.raises(ValueError, match="is not a WAV file") as error:
            read_wav(path)
        assert path.name in str(error.value)
    with pytest.raises(FileNotFoundError):
        read_wav(tmp_path / "missing.wav")


def test_read_rejects_headers_without_data(tmp_path):
    path = tmp_path / "header.wav"
    path.write_bytes(b"RIFF\x04\x00\x00\x00WAVE")
    with pytest.raises(ValueError, match="no 'fmt ' chunk"):
        read_wav(path)


@needs_sox
def test_read_rejects_unsupported_encodings(tmp_path):
    path = tmp_path / "alaw.wav"
    sox("-n", "-r", 8000, "-e", "a-law", path, "synth", 0.1, "sine", 440)
    with pytest.raises(ValueError, match=r"unsupported encoding \(A-law") as error:
        read_wav(path)
    assert "alaw.wav" in str(error.value)


# -- signal helpers --------------------------------------------------------------------


def test_trim_silence_keeps_the_sound_and_the_pad():
    sound = 0.5 * np.sin(np.arange(3200) / 3)
    clip = np.concatenate([np.zeros(4000), 1e-4 * np.ones(800), sound, np.zeros(2400)])
    trimmed = trim_silence(clip, 16000, threshold_db=-35, pad_seconds=0.01)
    # Frames are 160 samples; the sound starts on a frame edge at 4800 and ends at 8000.
    np.testing.assert_array_equal(trimmed, clip[4800 - 160 : 8000 + 160].astype(np.float32))
    assert trim_silence(np.zeros(100)).size == 0


def test_chime_spectrum_and_envelope():
    sound = chime(16000, duration=0.4, frequency=1000.0, level=0.8)
    assert sound.shape == (6400,) and sound.dtype == np.float32
    assert np.isclose(np.abs(sound).max(), 0.8)
    spectrum = np.abs(np.fft.rfft(sound))
    freqs = np.fft.rfftfreq(sound.size, 1 / 16000)
    assert abs(freqs[spectrum.argmax()] - 1000) < 5
    quarters = np.abs(sound).reshape(4, -1).max(axis=1)
    assert np.all(np.diff(quarters) < 0)  # it rings and fades
    with pytest.raises(ValueError, match="`frequency` must be in"):
        chime(16000, frequency=9000)


def test_overlay_adds_cuts_and_clips():
    out = overlay(np.full(6, 0.5), [0.25, 0.75], [0, 3, 5])
    np.testing.assert_allclose(out, [0.75, 1.0, 0.5, 0.75, 1.0, 0.75])
    with pytest.raises(ValueError, match=r"`starts` must be in \[0, 6\)"):
        overlay(np.zeros(6), [1.0], [6])
