"""Audio front-end math: framing arithmetic and the mel filterbank (numpy, no Keras).

Framing has no padding and no centering: a clip of `n` samples holds
`1 + (n - frame_length) // frame_step` whole frames, frame `t` covering samples
`[t * frame_step, t * frame_step + frame_length)`. Because a frame never depends on samples
outside itself, spectrograms of consecutive chunks (each chunk starting with the previous
chunk's last `frame_length - frame_step` samples) concatenate to the spectrogram of the
whole clip, which is what streaming inference relies on.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from kerasdl._validation import check_one_of, check_positive_int

MEL_SCALES = ("slaney", "htk")
MEL_NORMS = ("slaney", None)

# Slaney's Auditory Toolbox mel scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic
# above it (27 mels per factor 6.4), as librosa's default (htk=False).
_SLANEY_HZ_PER_MEL = 200.0 / 3.0
_SLANEY_BREAK_HZ = 1000.0
_SLANEY_BREAK_MEL = _SLANEY_BREAK_HZ / _SLANEY_HZ_PER_MEL
_SLANEY_LOG_STEP = math.log(6.4) / 27.0


def num_frames(num_samples: int, frame_length: int, frame_step: int) -> int:
    """Whole frames in `num_samples` samples: `1 + (num_samples - frame_length) // frame_step`.

    Returns 0 when `num_samples < frame_length` (not even one frame fits).

    Example:

    >>> num_frames(16000, frame_length=400, frame_step=160)
    98
    >>> num_frames(399, frame_length=400, frame_step=160)
    0
    """
    check_positive_int("frame_length", frame_length)
    check_positive_int("frame_step", frame_step)
    if isinstance(num_samples, bool) or not isinstance(num_samples, int | np.integer):
        raise TypeError(
            f"`num_samples` must be an int. Received: num_samples={num_samples!r} "
            f"of type {type(num_samples).__name__}"
        )
    if num_samples < frame_length:
        return 0
    return 1 + (int(num_samples) - frame_length) // frame_step


def samples_for_frames(frames: int, frame_length: int, frame_step: int) -> int:
    """Samples needed for `frames` whole frames: `(frames - 1) * frame_step + frame_length`.

    The inverse of `num_frames`: `num_frames(samples_for_frames(k, L, H), L, H) == k`, and
    one sample fewer gives `k - 1` frames.

    Example:

    >>> samples_for_frames(98, frame_length=400, frame_step=160)
    15920
    """
    check_positive_int("frames", frames)
    check_positive_int("frame_length", frame_length)
    check_positive_int("frame_step", frame_step)
    return (frames - 1) * frame_step + frame_length


def hz_to_mel(hz, mel_scale: str = "slaney"):
    """Frequencies in Hz to mels.

    `"htk"`: `m = 2595 log10(1 + f / 700)`. `"slaney"`: `m = 3 f / 200` below 1 kHz and
    `m = 15 + 27 ln(f / 1000) / ln(6.4)` above (librosa's default, `htk=False`).

    Example:

    >>> float(hz_to_mel(1000.0)), round(float(hz_to_mel(1000.0, "htk")), 2)
    (15.0, 1000.0)
    """
    check_one_of("mel_scale", mel_scale, MEL_SCALES)
    hz = np.asarray(hz, np.float64)
    if mel_scale == "htk":
        return 2595.0 * np.log10(1.0 + hz / 700.0)
    linear = hz / _SLANEY_HZ_PER_MEL
    # np.maximum keeps log() finite on the linear branch that np.where discards anyway.
    octaves = np.log(np.maximum(hz, _SLANEY_BREAK_HZ) / _SLANEY_BREAK_HZ)
    logarithmic = _SLANEY_BREAK_MEL + octaves / _SLANEY_LOG_STEP
    return np.where(hz >= _SLANEY_BREAK_HZ, logarithmic, linear)


def mel_to_hz(mel, mel_scale: str = "slaney"):
    """Mels to Hz, the inverse of `hz_to_mel`.

    Example:

    >>> round(float(mel_to_hz(15.0)), 6), round(float(mel_to_hz(1000.0, "htk")), 2)
    (1000.0, 1000.0)
    """
    check_one_of("mel_scale", mel_scale, MEL_SCALES)
    mel = np.asarray(mel, np.float64)
    if mel_scale == "htk":
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)
    linear = mel * _SLANEY_HZ_PER_MEL
    logarithmic = _SLANEY_BREAK_HZ * np.exp(
        _SLANEY_LOG_STEP * (np.maximum(mel, _SLANEY_BREAK_MEL) - _SLANEY_BREAK_MEL)
    )
    return np.where(mel >= _SLANEY_BREAK_MEL, logarithmic, linear)


def mel_filterbank(
    mel_bins: int,
    fft_length: int,
    sample_rate: int = 16000,
    fmin: float = 0.0,
    fmax: float | None = None,
    mel_scale: str = "slaney",
    norm: str | None = "slaney",
) -> np.ndarray:
    """Triangular mel filters as a `(fft_length // 2 + 1, mel_bins)` float32 matrix.

    A spectrogram `S` of shape `(..., fft_length // 2 + 1)` becomes a mel spectrogram
    `S @ W` of shape `(..., mel_bins)`. The `mel_bins + 2` edges `f_0 < f_1 < ... <
    f_{M+1}` are equally spaced in mels between `fmin` and `fmax`; filter `m` rises
    linearly (in Hz) from 0 at `f_{m-1}` to 1 at `f_m` and falls to 0 at `f_{m+1}`,
    evaluated at the FFT bin frequencies `k * sample_rate / fft_length`. `norm="slaney"`
    scales filter `m` by `2 / (f_{m+1} - f_{m-1})` so each has unit area (constant energy
    per band); `norm=None` keeps peaks of 1.

    This is `librosa.filters.mel(sr=sample_rate, n_fft=fft_length, n_mels=mel_bins,
    fmin=fmin, fmax=fmax, htk=mel_scale == "htk", norm=norm).T`. (Note
    `tf.signal.linear_to_mel_weight_matrix` differs: its triangles are linear in mels,
    HTK scale, no normalisation and a zeroed DC bin.)

    Args:
        mel_bins: number of mel filters `M`.
        fft_length: FFT size `N`; the filterbank has `N // 2 + 1` rows.
        sample_rate: sampling rate in Hz.
        fmin: lowest edge in Hz, `>= 0`.
        fmax: highest edge in Hz, `<= sample_rate / 2`; `None` is `sample_rate / 2`.
        mel_scale: `"slaney"` or `"htk"`, see `hz_to_mel`.
        norm: `"slaney"` (unit-area filters) or `None` (unit-peak filters).

    Returns:
        float32 array `(fft_length // 2 + 1, mel_bins)`. Warns when a filter covers no
        FFT bin (too many mel bins for `fft_length` at low frequencies).

    Example:

    >>> w = mel_filterbank(4, fft_length=16, sample_rate=16000, norm=None)
    >>> w.shape
    (9, 4)
    >>> [f"{v:.3f}" for v in w[:, 3]]  # the highest filter
    ['0.000', '0.000', '0.000', '0.349', '0.852', '0.810', '0.540', '0.270', '0.000']
    """
    check_positive_int("mel_bins", mel_bins)
    check_positive_int("fft_length", fft_length)
    check_positive_int("sample_rate", sample_rate)
    check_one_of("mel_scale", mel_scale, MEL_SCALES)
    check_one_of("norm", norm, MEL_NORMS)
    fmin, fmax = check_mel_range(fmin, fmax, sample_rate)

    fft_hz = np.linspace(0.0, sample_rate / 2.0, fft_length // 2 + 1)
    edges_hz = mel_to_hz(
        np.linspace(hz_to_mel(fmin, mel_scale), hz_to_mel(fmax, mel_scale), mel_bins + 2),
        mel_scale,
    )
    widths = np.diff(edges_hz)
    to_edge = edges_hz[:, None] - fft_hz[None, :]
    rising = -to_edge[:-2] / widths[:-1, None]
    falling = to_edge[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling)) + 0.0  # no -0.0
    if norm == "slaney":
        weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]
    empty = np.flatnonzero(weights.max(axis=1) == 0)
    if empty.size:
        warnings.warn(
            f"mel_filterbank: filters {empty.tolist()} of mel_bins={mel_bins} cover no FFT "
            f"bin at fft_length={fft_length}, sample_rate={sample_rate}; they output zeros. "
            "Use fewer mel bins or a longer FFT.",
            stacklevel=2,
        )
    return weights.T.astype("float32")


def check_mel_range(fmin, fmax, sample_rate: int) -> tuple[float, float]:
    """Returns `(fmin, fmax)` as floats with `0 <= fmin < fmax <= sample_rate / 2`."""
    nyquist = sample_rate / 2.0
    if isinstance(fmin, bool) or not isinstance(fmin, int | float):
        raise TypeError(f"`fmin` must be a number. Received: fmin={fmin!r}")
    if fmax is None:
        fmax = nyquist
    if isinstance(fmax, bool) or not isinstance(fmax, int | float):
        raise TypeError(f"`fmax` must be a number or None. Received: fmax={fmax!r}")
    if fmin < 0:
        raise ValueError(f"`fmin` must be >= 0. Received: fmin={fmin}")
    if fmax > nyquist:
        raise ValueError(
            f"`fmax` must be <= sample_rate / 2 = {nyquist:g} (the Nyquist frequency). "
            f"Received: fmax={fmax}"
        )
    if fmin >= fmax:
        raise ValueError(f"`fmin` must be < fmax={fmax:g}. Received: fmin={fmin}")
    return float(fmin), float(fmax)
