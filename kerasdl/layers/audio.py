"""The spectrogram front end of speech models: STFT magnitude, mel filterbank, log."""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops

from kerasdl._validation import check_greater, check_one_of, check_positive_int, check_rank
from kerasdl.ops.audio import (
    MEL_NORMS,
    MEL_SCALES,
    check_mel_range,
    mel_filterbank,
    num_frames,
    samples_for_frames,
)

WINDOWS = ("hann", "hamming", "rectangular")
LOGS = (None, "log", "db")
DFTS = ("factorized", "matmul", "rfft")
MAGNITUDES = ("exact", "approximate")

# The approximate magnitude: c * max over two directions theta of (cos(theta) * max(|re|, |im|)
# + sin(theta) * min(|re|, |im|)), the directions pi/16 and 3pi/16 splitting the octant
# [0, pi/4] in half, c = 2 / (1 + cos(pi/16)) centring the error.
_APPROX_ANGLES = (math.pi / 16, 3 * math.pi / 16)
_APPROX_SCALE = 2.0 / (1.0 + math.cos(math.pi / 16))
APPROXIMATE_MAGNITUDE_ERROR = math.tan(math.pi / 32) ** 2  # 0.0097

# Frames are joined from ceil(frame_length / frame_step) slices; past this many a gather
# (whose index table grows with the number of frames) makes a smaller graph.
_MAX_FRAME_BLOCKS = 32

__all__ = [
    "APPROXIMATE_MAGNITUDE_ERROR",
    "Spectrogram",
    "num_frames",
    "samples_for_frames",
    "mel_filterbank",
]


@keras.saving.register_keras_serializable(package="kerasdl")
class Spectrogram(layers.Layer):
    """Spectrogram of a waveform: STFT magnitude, optionally mel-filtered and logged.

    With frame length `L`, step `H`, FFT size `N >= L`, a periodic window `w` and the
    waveform `x`, frame `t` covers samples `[tH, tH + L)` (no padding, no centering, so
    `T = 1 + (n - L) // H` frames for `n` samples) and

        X_t[k] = sum_{i=0}^{L-1} w[i] x[tH + i] e^{-2 pi j k i / N},   k = 0 .. N/2
        S_t[k] = |X_t[k]|^p                                     (p = magnitude_power)
        |X| ~ c max_i (cos(theta_i) A + sin(theta_i) B)   (magnitude="approximate":
              A = max(|Re X|, |Im X|), B = min(|Re X|, |Im X|), theta_i = pi/16, 3pi/16,
              c = 2 / (1 + cos(pi/16)); relative error at most tan(pi/32)^2 = 0.97%)
        M_t[m] = sum_k S_t[k] W[k, m]                   (with mel_bins, W = mel_filterbank)
        out    = log(M + offset)        (log="log")
        out    = (20 / p) log10(M + offset)   (log="db": decibels of the power |X|^2)

    This is the notes' spectrogram: time on one axis, frequency on the other, the energy of
    each frequency at each time as the value. Because a frame only sees its own `L`
    samples, the spectrogram of a long clip equals the concatenation of the spectrograms of
    overlapping chunks (each starting `H * T_chunk` samples after the previous one), so a
    streaming model can compute it chunk by chunk.

    It equals `scipy.signal.stft(x, nperseg=L, noverlap=L - H, nfft=N, window="hann",
    boundary=None, padded=False, scaling="spectrum")` magnitudes times `sum(w)`, and
    `tf.signal.stft(x, L, H, N)` magnitudes (Hann); the mel filterbank equals librosa's.

    The DFT is computed one of three ways (`dft`), all exporting to TFLite builtin ops:
        - `"factorized"` (default): a two-stage Cooley-Tukey DFT, `N = P * Q`, as two small
          constant matmuls (`P x 2P` and `2Q x 2(N/2P + 1)`) with a twiddle product in
          between, on frames joined from hop-sized blocks. A few KB of constants, every
          op has an int8 kernel (full-int8 TFLite), `O(N (P + Q))` per frame.
        - `"matmul"`: one strided convolution with the constant windowed DFT matrix
          (`L x 2(N/2 + 1)`, 205,600 weights at the defaults: about 200 KB in int8). Full
          int8, the fewest int8 rounding steps, `O(L N)` per frame.
        - `"rfft"`: `keras.ops.rfft` (`tf.signal.rfft`), fastest on CPU/GPU and tiny, but
          TFLite's RFFT2D (power-of-two `N` only) has no int8 kernel: an int8 model runs it
          in float32 between a dequantize and a quantize (complex64 tensors, which
          microcontroller runtimes and most delegates lack).
    The routes hold no weights, so a model trained with one converts with another: train
    with `"rfft"` (the fastest in Keras; `"factorized"` is several times slower on CPU
    without XLA, its many small elementwise steps being memory-bound) and export the same
    weights with `"factorized"`.

    Full int8: use `magnitude_power` 1 or 2 (other powers need POW, which has no int8
    kernel). Every intermediate then has 256 linear levels up to its calibrated maximum,
    so bins far below the loudest lose precision, whichever the route: bins under one int8
    step of the mel energies read `log(offset)`. Choose `log_offset` near that step (on
    spoken audio peaking at 0.1 to 1, 40 log-mel bins differ from float by 0.19 on
    average with `log_offset=1e-2`, 0.63 with 1e-3, 4.8 with 1e-6), or keep the front end
    in float. The exact magnitude squares the DFT parts (`|X|^2` in int8 keeps 10
    log10(255) = 24 dB below its peak; the square root after it cannot bring the range
    back); `magnitude="approximate"` never squares (abs, max, min, two scaled sums and a
    max, all int8 kernels), so `|X|` keeps 20 log10(255) = 48 dB: use it for full-int8
    models with `magnitude_power=1`.

    Args:
        frame_length: samples per frame `L` (400 = 25 ms at 16 kHz).
        frame_step: hop `H` between frames, `<= frame_length` (160 = 10 ms at 16 kHz).
        fft_length: FFT size `N >= frame_length`; frames are zero-padded at the end (as in
            `tf.signal.stft` and `scipy.signal.stft`). Output has `N // 2 + 1` bins.
        window: `"hann"`, `"hamming"` (both periodic, as `scipy.signal.get_window` and
            `tf.signal.hann_window`) or `"rectangular"`.
        magnitude_power: `p > 0`: 1 for the magnitude, 2 for the power spectrogram.
        mel_bins: `None` (linear-frequency bins) or the number of mel filters `M`.
        sample_rate: sampling rate in Hz of the input (used by the mel filterbank).
        fmin: lowest mel edge in Hz.
        fmax: highest mel edge in Hz; `None` is `sample_rate / 2`.
        mel_scale: `"slaney"` (librosa's default: linear below 1 kHz, log above) or
            `"htk"` (`2595 log10(1 + f / 700)`).
        mel_norm: `"slaney"` (each filter has unit area) or `None` (unit peak).
        log: `None`, `"log"` (natural log) or `"db"`, as in the formula.
        log_offset: `offset > 0` added before the log, so silence gives a finite floor
            (`log(offset)`) and the gradient stays finite.
        dft: `"factorized"`, `"matmul"` or `"rfft"`, as above. Same numbers up to float
            rounding.
        magnitude: `"exact"` (`sqrt(Re^2 + Im^2)`) or `"approximate"` (the two-direction
            max above, within 0.97% of the exact magnitude, `APPROXIMATE_MAGNITUDE_ERROR`,
            for full-int8 models).
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float waveform `(batch, samples)`, values in [-1, 1].

    Input shape:
        2D tensor `(batch, samples)` with `samples >= frame_length`.

    Output shape:
        3D tensor `(batch, frames, bins)`: `frames = 1 + (samples - L) // H`
        (`num_frames`), `bins = mel_bins` or `fft_length // 2 + 1`.

    Example:

    >>> import numpy as np
    >>> t = np.arange(16000) / 16000
    >>> tone = np.sin(2 * np.pi * 1000 * t)[None].astype("float32")  # 1 kHz, 1 s
    >>> layer = Spectrogram(frame_length=400, frame_step=160, fft_length=512)
    >>> s = layer(tone).numpy()
    >>> s.shape, layer.num_frames(16000), layer.samples_for_frames(98)
    ((1, 98, 257), 98, 15920)
    >>> int(s[0, 0].argmax()), round(float(s[0, 0].max()), 1)  # 1000 Hz / 31.25 Hz
    (32, 100.0)
    >>> mel = Spectrogram(mel_bins=40, log="db", magnitude_power=2.0)(tone).numpy()
    >>> mel.shape
    (1, 98, 40)
    >>> approx = Spectrogram(magnitude="approximate")(tone).numpy()  # no squares: for int8
    >>> bool(np.all(np.abs(approx - s) <= APPROXIMATE_MAGNITUDE_ERROR * s + 1e-4))
    True

    Reference:
        Slaney, "Auditory Toolbox", 1998 (mel scale); Cooley and Tukey, "An Algorithm for
        the Machine Calculation of Complex Fourier Series", 1965.
    """

    def __init__(
        self,
        frame_length: int = 400,
        frame_step: int = 160,
        fft_length: int = 512,
        window: str = "hann",
        magnitude_power: float = 1.0,
        mel_bins: int | None = None,
        sample_rate: int = 16000,
        fmin: float = 0.0,
        fmax: float | None = None,
        mel_scale: str = "slaney",
        mel_norm: str | None = "slaney",
        log: str | None = None,
        log_offset: float = 1e-6,
        dft: str = "factorized",
        magnitude: str = "exact",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.frame_length = check_positive_int("frame_length", frame_length)
        self.frame_step = check_positive_int("frame_step", frame_step)
        self.fft_length = check_positive_int("fft_length", fft_length)
        if frame_step > frame_length:
            raise ValueError(
                f"`frame_step` must be <= frame_length={frame_length} (a larger step skips "
                f"samples between frames). Received: frame_step={frame_step}"
            )
        if fft_length < frame_length:
            raise ValueError(
                f"`fft_length` must be >= frame_length={frame_length} (a frame is "
                f"zero-padded to the FFT size, never truncated). Received: "
                f"fft_length={fft_length}"
            )
        self.window = check_one_of("window", window, WINDOWS)
        self.magnitude_power = check_greater("magnitude_power", magnitude_power, 0.0)
        if mel_bins is not None:
            check_positive_int("mel_bins", mel_bins)
        self.mel_bins = mel_bins
        self.sample_rate = check_positive_int("sample_rate", sample_rate)
        check_mel_range(fmin, fmax, sample_rate)
        self.fmin = fmin
        self.fmax = fmax
        self.mel_scale = check_one_of("mel_scale", mel_scale, MEL_SCALES)
        self.mel_norm = check_one_of("mel_norm", mel_norm, MEL_NORMS)
        self.log = check_one_of("log", log, LOGS)
        self.log_offset = check_greater("log_offset", log_offset, 0.0)
        self.dft = check_one_of("dft", dft, DFTS)
        self.magnitude = check_one_of("magnitude", magnitude, MAGNITUDES)
        self._constants = _dft_constants(dft, frame_length, fft_length, window)
        if mel_bins is not None:
            self._constants["mel"] = mel_filterbank(
                mel_bins, fft_length, sample_rate, fmin, fmax, mel_scale, mel_norm
            )

    @property
    def num_bins(self) -> int:
        """Output bins per frame: `mel_bins`, or `fft_length // 2 + 1`."""
        return self.mel_bins if self.mel_bins is not None else self.fft_length // 2 + 1

    def num_frames(self, num_samples: int) -> int:
        """Frames in `num_samples` samples (0 if fewer than `frame_length`)."""
        return num_frames(num_samples, self.frame_length, self.frame_step)

    def samples_for_frames(self, frames: int) -> int:
        """Samples needed for `frames` frames: `(frames - 1) * frame_step + frame_length`."""
        return samples_for_frames(frames, self.frame_length, self.frame_step)

    def build(self, input_shape):
        self._check_input_shape(input_shape)
        self.built = True

    def _check_input_shape(self, shape):
        check_rank("inputs", shape, 2, "(batch, samples)")
        samples = shape[1]
        if samples is not None and samples < self.frame_length:
            raise ValueError(
                f"`inputs` must have at least frame_length={self.frame_length} samples for "
                f"one frame (k frames need (k - 1) * {self.frame_step} + "
                f"{self.frame_length} samples). Received: inputs.shape={tuple(shape)}"
            )

    def call(self, inputs):
        self._check_input_shape(tuple(inputs.shape))
        # float32 throughout: a float16 power spectrogram overflows (|X| > 256 for a loud
        # tone in a 1024-sample frame) and its small bins underflow before the log.
        x = ops.cast(inputs, "float32")
        real, imag = self._dft(x)
        if self.magnitude == "approximate":
            spectrogram = self._unfold(_approximate_magnitude(real, imag))
            if self.magnitude_power == 2.0:
                spectrogram = spectrogram * spectrogram
            elif self.magnitude_power != 1.0:
                spectrogram = ops.power(spectrogram, self.magnitude_power)
        else:
            power = self._unfold(real * real + imag * imag)
            if self.magnitude_power == 2.0:
                spectrogram = power
            elif self.magnitude_power == 1.0:
                spectrogram = ops.sqrt(power)
            else:
                spectrogram = ops.power(power, self.magnitude_power / 2.0)
        if self.mel_bins is not None:
            spectrogram = ops.matmul(spectrogram, self._constant("mel"))
        if self.log is not None:
            spectrogram = ops.log(spectrogram + self.log_offset)
            if self.log == "db":
                spectrogram = spectrogram * (20.0 / self.magnitude_power / math.log(10.0))
        return ops.cast(spectrogram, self.compute_dtype)

    def _constant(self, name):
        return ops.convert_to_tensor(self._constants[name], dtype="float32")

    def _dft(self, x):
        """Real and imaginary DFT parts `(batch, frames, bins)` (factorized: blocked)."""
        if self.dft == "matmul":
            y = ops.conv(x[..., None], self._constant("kernel"), strides=self.frame_step)
            bins = self.fft_length // 2 + 1
            return y[..., :bins], y[..., bins:]
        frames = _frames(x, self.frame_length, self.frame_step) * self._constant("window")
        if self.dft == "rfft":
            return ops.rfft(frames, fft_length=self.fft_length)
        return self._factorized_dft(frames)

    def _factorized_dft(self, frames):
        """Cooley-Tukey with `n = Q n1 + n2`, `k = k1 + P k2`:

        X[k1 + P k2] = sum_{n2} W_Q^{n2 k2} W_N^{n2 k1} sum_{n1} x[Q n1 + n2] W_P^{n1 k1},
        W_m = e^{-2 pi j / m}. Returns real and imaginary parts as `(..., P, K2)` blocks
        `[k1, k2]`, `K2 = N // (2P) + 1` (only the `k2` that reach bins up to N/2).
        """
        p, q = self._constants["stage1"].shape[1], self._constants["twiddle_cos"].shape[1]
        padding = self.fft_length - self.frame_length
        if padding:
            frames = ops.pad(frames, ((0, 0), (0, 0), (0, padding)))
        blocks = ops.reshape(frames, (-1, ops.shape(frames)[1], p, q))  # [n1, n2]
        # Left-multiplying contracts n1 without a transpose: rows are [Re; Im] over k1.
        y = ops.matmul(self._constant("stage1"), blocks)
        y_real, y_imag = y[..., :p, :], y[..., p:, :]
        cos, sin = self._constant("twiddle_cos"), self._constant("twiddle_sin")
        z_real = y_real * cos + y_imag * sin
        z_imag = y_imag * cos - y_real * sin
        x = ops.matmul(ops.concatenate([z_real, z_imag], axis=-1), self._constant("stage2"))
        half = self._constants["stage2"].shape[1] // 2
        return x[..., :half], x[..., half:]

    def _unfold(self, values):
        return self._unfold_factorized(values) if self.dft == "factorized" else values

    def _unfold_factorized(self, blocks):
        """`(batch, frames, P, K2)` blocks `[k1, k2]` to bins `k = k1 + P k2` up to N/2."""
        shape = ops.shape(blocks)
        flat = ops.reshape(ops.transpose(blocks, (0, 1, 3, 2)), (-1, shape[1], shape[2] * shape[3]))
        return flat[..., : self.fft_length // 2 + 1]

    def compute_output_shape(self, input_shape):
        samples = input_shape[1]
        frames = None if samples is None else self.num_frames(samples)
        return (input_shape[0], frames, self.num_bins)

    def get_config(self):
        return {
            **super().get_config(),
            "frame_length": self.frame_length,
            "frame_step": self.frame_step,
            "fft_length": self.fft_length,
            "window": self.window,
            "magnitude_power": self.magnitude_power,
            "mel_bins": self.mel_bins,
            "sample_rate": self.sample_rate,
            "fmin": self.fmin,
            "fmax": self.fmax,
            "mel_scale": self.mel_scale,
            "mel_norm": self.mel_norm,
            "log": self.log,
            "log_offset": self.log_offset,
            "dft": self.dft,
            "magnitude": self.magnitude,
        }


def periodic_window(name: str, length: int) -> np.ndarray:
    """`"hann"`: `0.5 - 0.5 cos(2 pi i / L)`; `"hamming"`: `0.54 - 0.46 cos(2 pi i / L)`."""
    check_one_of("window", name, WINDOWS)
    phase = 2.0 * np.pi * np.arange(length) / length
    if name == "hann":
        return 0.5 - 0.5 * np.cos(phase)
    if name == "hamming":
        return 0.54 - 0.46 * np.cos(phase)
    return np.ones(length)


def _approximate_magnitude(real, imag):
    """`|re + j im|` within 0.97% without squaring (see `Spectrogram`): the largest of two
    projections of `(max, min)` of `|re|, |im|`, a lower bound of the magnitude scaled by
    `c` to centre the error."""
    a, b = ops.abs(real), ops.abs(imag)
    big, small = ops.maximum(a, b), ops.minimum(a, b)
    c = _APPROX_SCALE
    first, second = ((c * math.cos(t), c * math.sin(t)) for t in _APPROX_ANGLES)
    return ops.maximum(
        big * first[0] + small * first[1],
        big * second[0] + small * second[1],
    )


def _dft_constants(dft: str, frame_length: int, fft_length: int, window: str) -> dict:
    """The constant matrices of each DFT route, float64 math stored as float32."""
    w = periodic_window(window, frame_length)
    bins = fft_length // 2 + 1
    if dft == "matmul":
        angle = 2.0 * np.pi * np.outer(np.arange(frame_length), np.arange(bins)) / fft_length
        kernel = np.concatenate([w[:, None] * np.cos(angle), -w[:, None] * np.sin(angle)], 1)
        return {"kernel": kernel[:, None, :].astype("float32")}
    constants = {"window": w.astype("float32")}
    if dft == "rfft":
        return constants
    q = max(d for d in range(1, math.isqrt(fft_length) + 1) if fft_length % d == 0)
    p = fft_length // q
    k2 = (fft_length // 2) // p + 1
    stage1 = 2.0 * np.pi * np.outer(np.arange(p), np.arange(p)) / p  # [k1, n1]
    twiddle = 2.0 * np.pi * np.outer(np.arange(p), np.arange(q)) / fft_length  # [k1, n2]
    stage2 = 2.0 * np.pi * np.outer(np.arange(q), np.arange(k2)) / q  # [n2, k2]
    cos2, sin2 = np.cos(stage2), np.sin(stage2)
    constants.update(
        stage1=np.concatenate([np.cos(stage1), -np.sin(stage1)], 0).astype("float32"),
        twiddle_cos=np.cos(twiddle).astype("float32"),
        twiddle_sin=np.sin(twiddle).astype("float32"),
        # Rows [Re z; Im z] over n2, columns [Re X | Im X] over k2.
        stage2=np.block([[cos2, -sin2], [sin2, cos2]]).astype("float32"),
    )
    return constants


def _frames(x, frame_length: int, frame_step: int):
    """`(batch, samples)` -> `(batch, frames, frame_length)`, no padding.

    The signal is cut into blocks of `frame_step` samples; frame `t` is blocks `t .. t + c
    - 1` (`c = ceil(frame_length / frame_step)`) joined and cut to `frame_length`: `c`
    contiguous slices, no index table, builtin TFLite ops only. The zeros appended to fill
    the last blocks never reach a frame.
    """
    blocks_per_frame = -(-frame_length // frame_step)
    samples = ops.shape(x)[1]
    frames = (samples - frame_length) // frame_step + 1
    if blocks_per_frame > _MAX_FRAME_BLOCKS:
        index = ops.arange(frames)[:, None] * frame_step + ops.arange(frame_length)[None, :]
        return ops.take(x, index, axis=1)
    blocks = frames + blocks_per_frame - 1
    x = ops.pad(x, ((0, 0), (0, blocks_per_frame * frame_step)))[:, : blocks * frame_step]
    x = ops.reshape(x, (-1, blocks, frame_step))
    parts = [x[:, i : i + frames, :] for i in range(blocks_per_frame)]
    joined = ops.concatenate(parts, axis=-1) if blocks_per_frame > 1 else parts[0]
    return joined[..., :frame_length]
