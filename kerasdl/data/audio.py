"""WAV files, resampling and small signal helpers for the audio pipelines.

Audio is handled as float32 samples in [-1, 1], mono, at a chosen sample rate (16 kHz
unless told otherwise), which is what the wake-word model consumes. `read_wav` accepts any
WAV file a recorder or converter writes (8/16/24/32-bit PCM, 32/64-bit float, any number of
channels, any rate) and converts it to that form; `write_wav` writes it back.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.io import wavfile
from scipy.signal import resample_poly

from kerasdl._validation import check_positive_int

WAV_DTYPES = ("int16", "int32", "uint8", "float32")
# RIFF (little-endian), RIFX (big-endian) and RF64 (over 4 GB) containers of WAVE data.
_WAV_MAGICS = (b"RIFF", b"RIFX", b"RF64")


def _check_rate(name: str, value: Any) -> int:
    if isinstance(value, np.integer):
        value = int(value)
    return check_positive_int(name, value)


def _check_audio(name: str, audio: Any, max_rank: int = 1, dtype: Any = np.float32) -> np.ndarray:
    try:
        array = np.asarray(audio, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"`{name}` must be an array of audio samples. Received: {name}={audio!r:.80}"
        ) from error
    if not 1 <= array.ndim <= max_rank:
        layout = "(samples,)" if max_rank == 1 else "(samples,) or (samples, channels)"
        raise ValueError(f"`{name}` must have shape {layout}. Received: {name}.shape={array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"`{name}` must hold finite samples. Received: NaN or inf in {name}")
    return array


def resample(audio: Any, orig_rate: int, target_rate: int) -> np.ndarray:
    """Changes the sample rate of `audio` by polyphase filtering.

    The rate ratio is reduced to `up / down` (e.g. 44100 -> 16000 is 160 / 441) and
    `scipy.signal.resample_poly` upsamples by `up`, low-pass filters (Kaiser window) below
    the smaller Nyquist frequency and keeps every `down`-th sample. The output has
    `ceil(samples * up / down)` samples.

    Args:
        audio: float samples, shape `(samples,)` or `(..., samples)` (last axis is time).
        orig_rate: the rate of `audio`, in Hz.
        target_rate: the rate wanted, in Hz.

    Returns:
        float32 audio at `target_rate` (a float32 copy of `audio` when the rates are equal).

    Example:

    >>> tone = np.sin(2 * np.pi * 1000 * np.arange(441) / 44100)
    >>> resample(tone, 44100, 16000).shape
    (160,)
    """
    orig_rate = _check_rate("orig_rate", orig_rate)
    target_rate = _check_rate("target_rate", target_rate)
    audio = np.asarray(audio, dtype=np.float32)
    if orig_rate == target_rate:
        return audio.copy()
    g = math.gcd(orig_rate, target_rate)
    return resample_poly(audio, target_rate // g, orig_rate // g, axis=-1).astype(np.float32)


_FORMAT_PCM, _FORMAT_FLOAT, _FORMAT_EXTENSIBLE = 0x0001, 0x0003, 0xFFFE
_FORMAT_NAMES = {0x0002: "MS ADPCM", 0x0006: "A-law", 0x0007: "mu-law", 0x0011: "IMA ADPCM"}


def _decode_wav(path: str, blob: bytes) -> tuple[int, np.ndarray]:
    """The sample rate and float32 `(frames, channels)` samples of a RIFF/RIFX WAV file.

    Header fields that only describe the data (byte rate, chunk sizes of streamed output
    such as `espeak-ng --stdout` or a cut-off recording) are not trusted: the data runs to
    the end of the file when its chunk claims more, and a partial last frame is dropped.
    """
    order = "big" if blob[:4] == b"RIFX" else "little"
    endian = ">" if order == "big" else "<"
    fmt, raw, pos = None, None, 12
    while pos + 8 <= len(blob):
        chunk, size = blob[pos : pos + 4], int.from_bytes(blob[pos + 4 : pos + 8], order)
        body = blob[pos + 8 : pos + 8 + size]
        if chunk == b"fmt " and len(body) >= 16:
            tag, channels, rate = (
                int.from_bytes(body[i:j], order) for i, j in ((0, 2), (2, 4), (4, 8))
            )
            align, bits = (int.from_bytes(body[i:j], order) for i, j in ((12, 14), (14, 16)))
            if tag == _FORMAT_EXTENSIBLE and len(body) >= 26:
                tag = int.from_bytes(body[24:26], order)  # first field of the subformat GUID
            fmt = (tag, channels, rate, align, bits)
        elif chunk == b"data":
            raw = body
            if fmt is not None:
                break
        pos += 8 + size + (size & 1)  # chunks are padded to an even size
    if fmt is None or raw is None:
        missing = "fmt " if fmt is None else "data"
        raise ValueError(f"{path!r} is not a readable WAV file: it has no '{missing}' chunk")
    tag, channels, rate, align, bits = fmt
    width = align // channels if channels else 0
    supported = {_FORMAT_PCM: (1, 2, 3, 4, 8), _FORMAT_FLOAT: (4, 8)}
    if tag not in supported or width not in supported[tag] or rate <= 0:
        encoding = _FORMAT_NAMES.get(tag, f"format tag 0x{tag:04x}")
        if tag in supported:
            encoding = (
                f"{'PCM' if tag == _FORMAT_PCM else 'float'} {bits}-bit in {width}-byte samples"
            )
        raise ValueError(
            f"{path!r} is a WAV file in an unsupported encoding ({encoding}, {channels} "
            f"channels, {rate} Hz). Supported: PCM 8/16/24/32-bit and 32/64-bit float; "
            "convert with e.g. `sox input.wav -b 16 -e signed-integer output.wav`."
        )
    frames = len(raw) // align
    data = np.frombuffer(raw, np.uint8, frames * align)
    if tag == _FORMAT_FLOAT:
        samples = data.view(f"{endian}f{width}").astype(np.float32)
    elif width == 1:  # 8-bit WAV is unsigned with 128 as zero
        samples = (data.astype(np.float32) - 128.0) / 128.0
    else:
        if width == 3:  # widen 24-bit samples to int32 with the value in the top bytes
            bytes3 = data.reshape(-1, 3)
            wide = np.zeros((bytes3.shape[0], 4), np.uint8)
            if order == "little":
                wide[:, 1:] = bytes3
            else:
                wide[:, :3] = bytes3
            data, width = wide.reshape(-1), 4
        ints = data.view(f"{endian}i{width}")
        # Samples are left-justified in their container, so the container sets the scale.
        samples = (ints.astype(np.float64) / float(2 ** (8 * width - 1))).astype(np.float32)
    return rate, samples.reshape(frames, channels)


def read_wav(path: str | os.PathLike, sample_rate: int = 16000) -> np.ndarray:
    """Reads a WAV file as float32 mono samples in [-1, 1] at `sample_rate`.

    Integer PCM is scaled by its full range (8-bit: `(x - 128) / 128`, 16-bit: `x / 2^15`,
    24/32-bit: `x / 2^31`), float WAV is kept as it is, channels are averaged to mono, and
    the signal is resampled with `resample` when the file's rate differs. Only the format
    fields the samples need are trusted, so files with an inconsistent byte rate (flite's
    8 kHz voice) or streamed output whose sizes were never filled in read as well.

    Args:
        path: the WAV file.
        sample_rate: the rate of the returned samples, in Hz.

    Returns:
        float32 array `(samples,)`.

    Raises:
        ValueError: when the file is not a WAV file (another format, or a damaged header),
            naming the file.
        FileNotFoundError: when the file does not exist.

    Example:

    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "tone.wav")
    >>> write_wav(path, np.full(800, 0.25), sample_rate=8000)
    >>> audio = read_wav(path, sample_rate=16000)
    >>> audio.shape, float(np.round(audio[400], 4))
    ((1600,), 0.25)
    """
    sample_rate = _check_rate("sample_rate", sample_rate)
    path = os.fspath(path)
    with open(path, "rb") as file:
        head = file.read(12)
    if len(head) < 12 or head[:4] not in _WAV_MAGICS or head[8:12] != b"WAVE":
        raise ValueError(
            f"{path!r} is not a WAV file: it starts with {head!r}, not a RIFF/WAVE header. "
            "Convert other formats to WAV first, e.g. `sox input.mp3 output.wav`."
        )
    rate, audio = _decode_wav(path, head + Path(path).read_bytes()[12:])
    return resample(audio.mean(axis=1), rate, sample_rate)


def write_wav(
    path: str | os.PathLike, audio: Any, sample_rate: int = 16000, dtype: str = "int16"
) -> None:
    """Writes float samples in [-1, 1] to a WAV file.

    Integer formats store `round(x * 2^(bits - 1))` clipped to the format's range (so a
    file written here reads back exactly with `read_wav` for samples on that grid), 8-bit
    adds the 128 offset, "float32" stores the samples unchanged. Samples outside [-1, 1]
    are clipped in integer formats.

    Args:
        path: the file to write.
        audio: float samples, `(samples,)` mono or `(samples, channels)`.
        sample_rate: the rate stored in the header, in Hz.
        dtype: sample format, one of "int16" (default), "int32", "uint8", "float32".

    Example:

    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "x.wav")
    >>> write_wav(path, [0.0, 0.5, -1.0])
    >>> read_wav(path).tolist()
    [0.0, 0.5, -1.0]
    """
    # float64 keeps the 32-bit PCM grid exact.
    audio = _check_audio("audio", audio, max_rank=2, dtype=np.float64)
    sample_rate = _check_rate("sample_rate", sample_rate)
    if dtype not in WAV_DTYPES:
        raise ValueError(f"`dtype` must be one of {WAV_DTYPES}. Received: dtype={dtype!r}")
    if dtype == "float32":
        data = audio.astype(np.float32)
    else:
        info = np.iinfo(dtype)
        scale = float(2 ** (info.bits - 1))
        offset = 128.0 if dtype == "uint8" else 0.0
        data = np.clip(np.round(audio * scale) + offset, info.min, info.max)
        data = data.astype(dtype)
    wavfile.write(os.fspath(path), sample_rate, data)


def trim_silence(
    audio: Any,
    sample_rate: int = 16000,
    threshold_db: float = -35.0,
    frame_seconds: float = 0.01,
    pad_seconds: float = 0.01,
) -> np.ndarray:
    """Cuts the leading and trailing silence of a clip.

    The clip is cut into frames of `frame_seconds`; a frame is sound when its RMS is above
    `threshold_db` relative to the loudest frame. The result runs from the first to the
    last sound frame, widened by `pad_seconds` on each side, so an inserted word ends
    where its speech ends (which is where the wake-word labels start).

    Args:
        audio: float samples `(samples,)`.
        sample_rate: rate of `audio`, in Hz.
        threshold_db: frame level (dB relative to the loudest frame) counted as sound, < 0.
        frame_seconds: frame length, in seconds.
        pad_seconds: silence kept on each side, in seconds.

    Returns:
        float32 `(trimmed_samples,)`; empty when the clip is all zeros.

    Example:

    >>> clip = np.concatenate([np.zeros(1600), np.ones(800), np.zeros(1600)])
    >>> trim_silence(clip, 16000, pad_seconds=0.0).shape
    (800,)
    """
    audio = _check_audio("audio", audio)
    sample_rate = _check_rate("sample_rate", sample_rate)
    if not threshold_db < 0:
        raise ValueError(f"`threshold_db` must be < 0. Received: threshold_db={threshold_db}")
    if not frame_seconds > 0 or not pad_seconds >= 0:
        raise ValueError(
            "`frame_seconds` must be > 0 and `pad_seconds` >= 0. "
            f"Received: frame_seconds={frame_seconds}, pad_seconds={pad_seconds}"
        )
    hop = max(1, round(frame_seconds * sample_rate))
    frames = -(-audio.size // hop)
    padded = np.zeros(frames * hop, np.float32)
    padded[: audio.size] = audio
    rms = np.sqrt(np.mean(padded.reshape(frames, hop).astype(np.float64) ** 2, axis=1))
    if frames == 0 or rms.max() == 0:
        return audio[:0].copy()
    loud = np.nonzero(rms > rms.max() * 10 ** (threshold_db / 20))[0]
    pad = round(pad_seconds * sample_rate)
    start = max(0, loud[0] * hop - pad)
    end = min(audio.size, (loud[-1] + 1) * hop + pad)
    return audio[start:end].copy()


def chime(
    sample_rate: int = 16000, duration: float = 0.35, frequency: float = 1046.5, level: float = 0.5
) -> np.ndarray:
    """A short bell-like chime, the sound played after a detected wake word.

    Three partials at `f`, `2.76 f` and `5.4 f` (a struck bar's first modes) with
    amplitudes 1, 0.4, 0.15 decay exponentially (time constants `duration / 4`, `/ 8`,
    `/ 12`) after a 5 ms attack; the peak is scaled to `level`.

    Args:
        sample_rate: rate of the returned samples, in Hz.
        duration: length in seconds.
        frequency: the fundamental `f` in Hz (C6 by default); must be below half the rate.
        level: peak amplitude in (0, 1].

    Returns:
        float32 `(round(duration * sample_rate),)`.

    Example:

    >>> sound = chime(16000)
    >>> sound.shape, float(np.round(np.abs(sound).max(), 3))
    ((5600,), 0.5)
    """
    sample_rate = _check_rate("sample_rate", sample_rate)
    if not duration > 0:
        raise ValueError(f"`duration` must be > 0. Received: duration={duration}")
    if not 0 < frequency < sample_rate / 2:
        raise ValueError(
            f"`frequency` must be in (0, sample_rate / 2 = {sample_rate / 2}). "
            f"Received: frequency={frequency}"
        )
    if not 0 < level <= 1:
        raise ValueError(f"`level` must be in (0, 1]. Received: level={level}")
    t = np.arange(round(duration * sample_rate)) / sample_rate
    sound = np.zeros_like(t)
    for ratio, amplitude, decay in ((1.0, 1.0, 4), (2.76, 0.4, 8), (5.4, 0.15, 12)):
        if ratio * frequency < sample_rate / 2:  # partials above Nyquist would alias
            envelope = amplitude * np.exp(-t * decay / duration)
            sound += envelope * np.sin(2 * np.pi * ratio * frequency * t)
    sound *= np.minimum(1.0, t / 0.005)
    return (sound * (level / np.abs(sound).max())).astype(np.float32)


def overlay(audio: Any, clip: Any, starts: int | Sequence[int]) -> np.ndarray:
    """Adds `clip` to `audio` starting at each sample index in `starts`.

    A copy is returned; a clip running past the end of `audio` is cut there, and the sum is
    clipped to [-1, 1].

    Args:
        audio: float samples `(samples,)`.
        clip: float samples `(clip_samples,)`.
        starts: sample index (or indices) in `[0, samples)` where a copy of `clip` begins.

    Returns:
        float32 `(samples,)`.

    Example:

    >>> overlay(np.zeros(5), [0.5, 0.5], [1, 4]).tolist()
    [0.0, 0.5, 0.5, 0.0, 0.5]
    """
    audio = _check_audio("audio", audio)
    clip = _check_audio("clip", clip)
    starts = np.atleast_1d(np.asarray(starts))
    if starts.ndim != 1 or (starts.size and not np.issubdtype(starts.dtype, np.integer)):
        raise TypeError(f"`starts` must be sample indices (ints). Received: starts={starts!r}")
    bad = (starts < 0) | (starts >= audio.size)
    if bad.any():
        raise ValueError(
            f"`starts` must be in [0, {audio.size}). Received: starts={starts[bad].tolist()}"
        )
    out = audio.copy()
    for start in starts.tolist():
        piece = clip[: audio.size - start]
        out[start : start + piece.size] += piece
    return np.clip(out, -1.0, 1.0)
