"""The notes' trigger-word (wake-word) detector, its streaming form and a streaming driver.

`trigger_word` builds the full-clip model: raw audio -> log-mel spectrogram -> Conv1D ->
GRUs -> a sigmoid per output step. `trigger_word_streaming` builds, from the same layers
(the same weights), a model that takes one fixed chunk of new audio plus explicit state
(the audio tail the next window needs and each GRU's hidden state) and returns the new
steps' probabilities (or their logits) and the next state, with no loop inside, so it
converts to TFLite with builtin ops (dynamic-range or full int8 included).
`TriggerWordStreamer` feeds a long signal through it chunk by chunk (the Keras model or
its `.tflite` file) and gives the same per-step outputs as the full-clip model on the
same audio.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from collections.abc import Iterable, Sequence
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from kerasdl._validation import (
    check_bool,
    check_greater,
    check_in_range,
    check_one_of,
    check_positive_int,
)
from kerasdl.export.tflite import TFLiteModel
from kerasdl.layers.audio import DFTS, MAGNITUDES, Spectrogram

AUDIO = "audio"
TAIL = "tail"
PROBABILITIES = "probabilities"
LOGITS = "logits"
# `trigger_word_streaming(output=...)` -> the name of its per-step output.
OUTPUTS = {"probability": PROBABILITIES, "logit": LOGITS}


@dataclasses.dataclass(frozen=True)
class TriggerWordGeometry:
    """How output steps of a `trigger_word` model sit on the audio samples.

    Frame f of the spectrogram covers samples [f * frame_step, f * frame_step +
    frame_length) and output step t (a valid convolution) covers frames [t * conv_stride,
    t * conv_stride + kernel_size), so step t has seen samples up to (exclusive)

        end(t) = frame_step * (conv_stride * t + kernel_size - 1) + frame_length

    Attributes:
        frame_length: samples per spectrogram frame.
        frame_step: samples between frames.
        kernel_size: frames per convolution window.
        conv_stride: frames between output steps.
    """

    frame_length: int
    frame_step: int
    kernel_size: int
    conv_stride: int

    @property
    def receptive_field(self) -> int:
        """Samples one output step sees: `end(0)`."""
        return self.frame_step * (self.kernel_size - 1) + self.frame_length

    @property
    def step_samples(self) -> int:
        """Samples between output steps, `frame_step * conv_stride`."""
        return self.frame_step * self.conv_stride

    @property
    def tail_samples(self) -> int:
        """Samples of the past a streaming window needs besides a chunk of new audio."""
        return self.receptive_field - self.step_samples

    def num_steps(self, num_samples: int) -> int:
        """Output steps of a clip of `num_samples` samples (0 when it is too short)."""
        if num_samples < self.receptive_field:
            return 0
        return 1 + (num_samples - self.receptive_field) // self.step_samples


def trigger_word(
    num_samples: int | None = None,
    filters: int = 32,
    kernel_size: int = 15,
    conv_stride: int = 4,
    units: int | Sequence[int] = (32, 32),
    dropout: float = 0.3,
    sample_rate: int = 16000,
    frame_length: int = 400,
    frame_step: int = 160,
    fft_length: int = 512,
    mel_bins: int = 40,
    log_offset: float = 1e-3,
    dft: str = "rfft",
    magnitude: str = "exact",
    batch_norm_momentum: float = 0.99,
    name: str = "trigger_word",
) -> keras.Model:
    """The notes' trigger-word model from raw audio to a probability per output step.

    The layers, as in the notes' assignment (with the spectrogram inside the model):

        audio (batch, samples)
        -> Spectrogram (log-mel, frames of `frame_length` every `frame_step` samples)
        -> Conv1D(filters, kernel_size, strides=conv_stride, valid) -> BN -> ReLU -> Dropout
        -> [GRU(units[i], return_sequences) -> Dropout -> BN] for each entry of `units`
        -> Dropout -> Dense(1, sigmoid) at every step            -> (batch, steps)

    Output step t is `y<t> = P(the trigger word ended just before end(t))`, where
    `end(t) = frame_step * (conv_stride * t + kernel_size - 1) + frame_length` is the
    exclusive end of the samples it has seen (`trigger_word_step_ends`). Train on labels
    that are 1 for a few steps right after each trigger word ends and 0 elsewhere (the
    notes' labels), with binary cross-entropy. The notes' sizes are `filters=196,
    units=(128, 128)` (and dropout 0.8); the smaller default converts to an int8 streaming
    TFLite file of well under 100 KB.

    Layer names (used by `trigger_word_streaming`): "spectrogram", "conv", "conv_bn",
    "conv_relu", "conv_dropout", "gru_0", "gru_0_dropout", "gru_0_bn", "gru_1", ...,
    "output_dropout", "classifier", "probabilities".

    Args:
        num_samples: the clip length in samples, or None for clips of any length (at
            least one output step, `receptive_field` samples).
        filters: Conv1D filters.
        kernel_size: Conv1D kernel, in spectrogram frames (15 in the notes); must be >=
            `conv_stride` so that no frame is skipped.
        conv_stride: Conv1D stride in frames (4 in the notes).
        units: GRU units, one entry per stacked GRU (an int: two GRUs of that size).
        dropout: the rate of every Dropout layer, in [0, 1).
        sample_rate: audio sample rate in Hz (for the mel filterbank).
        frame_length: spectrogram frame length in samples (400: 25 ms at 16 kHz).
        frame_step: spectrogram hop in samples (160: 10 ms at 16 kHz); < frame_length.
        fft_length: FFT size of the spectrogram (>= frame_length).
        mel_bins: mel filterbank channels.
        log_offset: added to the mel spectrogram before the log, so silence reads
            `log(log_offset)`. Keep it well above the int8 step of the mel spectrogram
            (about its calibrated maximum / 255) when the streaming model is quantised to
            int8: on held-out speech in noise (mel maximum ~1), the int8 log-mel features
            differ from float by 0.067 on average with 1e-2, 0.018 with 5e-2 (approximate
            magnitude).
        dft: the Spectrogram's DFT route. "rfft" (the default) trains fastest; the routes
            hold no weights, and `trigger_word_streaming` rebuilds the spectrogram with
            "factorized", whose ops all have int8 TFLite kernels.
        magnitude: the spectrogram's STFT magnitude, "exact" or "approximate" (within
            0.97%, computed without squares so that its full-int8 form keeps ~48 dB
            instead of ~24 dB; see `Spectrogram`). A model trained with "approximate"
            computes exactly what its int8 streaming form approximates.
        batch_norm_momentum: momentum of the batch norm moving statistics (lower it, e.g.
            0.9, for short trainings, so inference sees statistics close to training's).
        name: the model's name.

    Returns:
        A `keras.Model` from float audio `(batch, num_samples)` in [-1, 1] to per-step
        probabilities `(batch, steps)`.

    Raises:
        ValueError: on non-positive sizes, a dropout outside [0, 1), a kernel shorter than
            the stride, a hop not shorter than the frame, or `num_samples` shorter than one
            output step.
        TypeError: on non-integer sizes.

    Example:

    >>> model = trigger_word(num_samples=16000)
    >>> model.output_shape  # 1 s of audio: 98 frames, 21 steps of 40 ms
    (None, 21)
    >>> trigger_word_step_ends(16000, model)[:3].tolist()
    [2640, 3280, 3920]
    """
    if num_samples is not None:
        check_positive_int("num_samples", num_samples)
    for arg, value in (
        ("filters", filters),
        ("kernel_size", kernel_size),
        ("conv_stride", conv_stride),
        ("sample_rate", sample_rate),
        ("frame_length", frame_length),
        ("frame_step", frame_step),
        ("fft_length", fft_length),
        ("mel_bins", mel_bins),
    ):
        check_positive_int(arg, value)
    units = _check_units(units)
    check_in_range("dropout", dropout, 0, 1)
    check_greater("log_offset", log_offset, 0.0)
    check_in_range("batch_norm_momentum", batch_norm_momentum, 0, 1)
    if kernel_size < conv_stride:
        raise ValueError(
            f"`kernel_size` must be >= conv_stride ({conv_stride}), or frames between "
            f"output steps are never seen. Received: kernel_size={kernel_size}"
        )
    if frame_step >= frame_length:
        raise ValueError(
            f"`frame_step` must be < frame_length ({frame_length}) so that frames overlap. "
            f"Received: frame_step={frame_step}"
        )
    geometry = TriggerWordGeometry(frame_length, frame_step, kernel_size, conv_stride)
    if num_samples is not None and num_samples < geometry.receptive_field:
        raise ValueError(
            f"`num_samples` must be >= {geometry.receptive_field}, the samples one output "
            f"step sees. Received: num_samples={num_samples}"
        )

    audio = keras.Input((num_samples,), name=AUDIO)
    x = Spectrogram(
        frame_length=frame_length,
        frame_step=frame_step,
        fft_length=fft_length,
        mel_bins=mel_bins,
        sample_rate=sample_rate,
        log="log",
        log_offset=log_offset,
        dft=dft,
        magnitude=magnitude,
        name="spectrogram",
    )(audio)
    x = layers.Conv1D(filters, kernel_size, strides=conv_stride, padding="valid", name="conv")(x)
    x = layers.BatchNormalization(momentum=batch_norm_momentum, name="conv_bn")(x)
    x = layers.Activation("relu", name="conv_relu")(x)
    x = layers.Dropout(dropout, name="conv_dropout")(x)
    for i, size in enumerate(units):
        x = layers.GRU(size, return_sequences=True, name=f"gru_{i}")(x)
        x = layers.Dropout(dropout, name=f"gru_{i}_dropout")(x)
        x = layers.BatchNormalization(momentum=batch_norm_momentum, name=f"gru_{i}_bn")(x)
    x = layers.Dropout(dropout, name="output_dropout")(x)
    x = layers.Dense(1, activation="sigmoid", name="classifier")(x)
    probabilities = layers.Reshape((-1,), name=PROBABILITIES)(x)
    return keras.Model(audio, probabilities, name=name)


def trigger_word_geometry(model: keras.Model) -> TriggerWordGeometry:
    """The framing and convolution sizes of a `trigger_word` model (or its streaming form).

    Example:

    >>> trigger_word_geometry(trigger_word()).receptive_field
    2640
    """
    spectrogram = _layer(model, "spectrogram")
    names = {layer.name for layer in model.layers}
    if "conv" not in names and "conv_folded" in names:  # a streaming model, folded
        conv = model.get_layer("conv_folded").conv
    else:
        conv = _layer(model, "conv")
    if not isinstance(spectrogram, Spectrogram):
        raise ValueError(
            "`model` must be a trigger_word model whose 'spectrogram' layer is a kerasdl "
            f"Spectrogram. Received: a {type(spectrogram).__name__} layer"
        )
    return TriggerWordGeometry(
        frame_length=int(spectrogram.frame_length),
        frame_step=int(spectrogram.frame_step),
        kernel_size=int(conv.kernel_size[0]),
        conv_stride=int(conv.strides[0]),
    )


def trigger_word_step_ends(
    num_samples: int,
    model: keras.Model | None = None,
    *,
    frame_length: int | None = None,
    frame_step: int | None = None,
    kernel_size: int | None = None,
    conv_stride: int | None = None,
) -> np.ndarray:
    """The exclusive end sample of what each output step has seen, for the labels.

        end(t) = frame_step * (conv_stride * t + kernel_size - 1) + frame_length,
        t = 0, ..., steps - 1,   steps = 1 + (num_samples - end(0)) // (frame_step * conv_stride)

    This is the `step_end_samples` that `kerasdl.data.trigger_word.trigger_word_labels`
    takes: a trigger word ending at sample e is labelled from the first step with
    `end(t) >= e`.

    Args:
        num_samples: the clip length in samples; at least one output step, `end(0)`.
        model: a `trigger_word` model (or its streaming form) to read the sizes from; the
            sizes not given and not read from a model take `trigger_word`'s defaults
            (400, 160, 15, 4).
        frame_length: spectrogram frame length in samples.
        frame_step: spectrogram hop in samples.
        kernel_size: Conv1D kernel in frames.
        conv_stride: Conv1D stride in frames.

    Returns:
        An int64 array `(steps,)`.

    Raises:
        ValueError: if the clip is shorter than one output step, or a size given disagrees
            with `model`.

    Example:

    >>> trigger_word_step_ends(4000).tolist()  # 400 + 160 * 14 = 2640, then every 640
    [2640, 3280, 3920]
    >>> trigger_word_step_ends(1000, frame_length=200, frame_step=100, kernel_size=2,
    ...                        conv_stride=2).tolist()
    [300, 500, 700, 900]
    """
    given = dict(
        frame_length=frame_length,
        frame_step=frame_step,
        kernel_size=kernel_size,
        conv_stride=conv_stride,
    )
    sizes = dict(frame_length=400, frame_step=160, kernel_size=15, conv_stride=4)
    if model is not None:
        sizes = dataclasses.asdict(trigger_word_geometry(model))
    for arg, value in given.items():
        if value is None:
            continue
        check_positive_int(arg, value)
        if model is not None and value != sizes[arg]:
            raise ValueError(
                f"`{arg}` must match the model's {sizes[arg]} when `model` is given. "
                f"Received: {arg}={value}"
            )
        sizes[arg] = value
    geometry = TriggerWordGeometry(**sizes)
    check_positive_int("num_samples", num_samples)
    steps = geometry.num_steps(num_samples)
    if steps == 0:
        raise ValueError(
            f"`num_samples` must be >= {geometry.receptive_field}, the samples one output "
            f"step sees. Received: num_samples={num_samples}"
        )
    return geometry.receptive_field + geometry.step_samples * np.arange(steps, dtype="int64")


def trigger_word_streaming(
    model: keras.Model,
    chunk_samples: int | None = None,
    dft: str | None = "factorized",
    magnitude: str | None = None,
    fold_batch_norm: bool = True,
    output: str = "probability",
    name: str | None = None,
) -> keras.Model:
    """The streaming form of a `trigger_word` model: one chunk of new audio per call.

    The returned model shares every weight with `model` (training one trains the other)
    and has no loop inside: the GRU steps of one chunk are written out, so it converts to
    TFLite with builtin ops only, full int8 included. Inputs and outputs (dicts keyed by
    these names):

        inputs:  "audio" (batch, chunk_samples)  the new samples
                 "tail"  (batch, tail_samples)   the last tail_samples samples before them
                 "state_i" (batch, units[i])     GRU i's hidden state a<t-1>
        outputs: "probabilities" (batch, chunk_samples // step_samples)
                   (or "logits", with output="logit")
                 "tail", "state_i"               the state for the next call

    With `tail_samples = receptive_field - step_samples` (2000 with the defaults), the
    window `[tail, audio]` holds exactly the spectrogram frames the chunk's new output
    steps need. Starting from the first `tail_samples` samples of a clip and zero GRU
    states, the calls return the full-clip model's outputs on that clip, step for step
    (`TriggerWordStreamer` does this bookkeeping). Batch norm and dropout run in inference
    mode. The model holds private layers: rebuild it from the full model rather than
    saving it; convert it with `kerasdl.export.tflite`.

    Quantisation, measured at the default sizes (one step per call) on 4 s espeak-ng
    mixes with a model trained on them, streamed through the `.tflite` file and compared
    with the full-clip Keras model: float 203 KB, max |diff| 1e-5; dynamic-range 86 KB,
    max |diff| 0.14 (mean 0.001), steps above 0.5 agree 99.9%, recall of the labelled
    steps unchanged (0.917). Full int8 (84 KB) with the exact magnitude loses the quiet
    bins: |X|^2 held in int8 keeps ~24 dB below its calibrated peak, and most mel energies
    of speech in noise sit near one int8 step, so recall falls (0.42 vs 0.94 on 36
    held-out flite triggers in one run). For full int8, train with
    `trigger_word(magnitude="approximate", log_offset=5e-2)` (the magnitude without
    squares keeps ~48 dB; the offset, ~12 int8 steps of the mel energies, keeps the
    quiet bins' rounding out of the features): 85 KB, held-out recall 0.633 vs Keras
    0.652 at threshold 0.5 and 0.566 vs 0.570 at 0.8 on 221 flite triggers, the same
    false activations within one, steps on the same side of 0.5 agree 99.7%
    (tests/models/test_trigger_word_int8.py).

    Args:
        model: a model built by `trigger_word` (or loaded from its `.keras` file).
        chunk_samples: new samples per call, a whole number of output steps (a multiple
            of `step_samples = frame_step * conv_stride`, 640 with the defaults); defaults
            to one step. Each extra step per call writes out the GRU step once more (the
            int8 file grows by about 10 KB per step at the default sizes: 84 KB at one step,
            125 KB at five).
        dft: the DFT route of the streaming model's spectrogram (same numbers up to float
            rounding): "factorized" (default) converts to full-int8 TFLite with builtin
            ops; "rfft" is smaller and faster in float but TFLite's RFFT2D has no int8
            kernel; None keeps the model's own spectrogram layer.
        magnitude: the spectrogram's magnitude, "exact" or "approximate" (within 0.97%,
            no squares, for full int8; see `Spectrogram`); None keeps the model's.
        fold_batch_norm: compute the convolution with the batch norm folded in,
            `W' = W gamma / sqrt(var + eps)`, `b' = (b - mean) gamma / sqrt(var + eps) +
            beta`, from the shared weights at every call (equal to conv -> batch norm up
            to float rounding); False runs the two layers. The TF 2.21 converter fuses an
            inference batch norm into the convolution before it by itself (the int8 files
            give the same outputs either way, measured); folding here does not depend on
            that pattern match, and the file is 0.7 KB smaller.
        output: what each step outputs: "probability" (default), the classifier's sigmoid
            `y<t>`, under the name "probabilities"; or "logit", the score before the
            sigmoid, `logit<t> = log(y<t> / (1 - y<t>))` (`y<t> = sigmoid(logit<t>)`), under
            the name "logits". Use "logit" for full int8: an int8 sigmoid output has the
            fixed scale 1/256, so probabilities above 255/256 all read as 0.996 and a
            threshold above ~0.99 (where <= 1 false activation per hour often lands)
            cannot be told apart; the logit's int8 steps are uniform in logit space, its
            scale calibrated on the logits' range (e.g. 0.1 per step, p = 0.999 and 0.9999
            are logits 6.9 and 9.2). Compare logits with `log(p / (1 - p))` of a
            probability threshold (`TriggerWordStreamer.threshold`).
        name: the model's name; defaults to `model.name + "_streaming"`.

    Returns:
        A `keras.Model` with the inputs and outputs above.

    Raises:
        ValueError: if `model` is not a `trigger_word` model or `chunk_samples` is not a
            positive multiple of `step_samples`.

    Example:

    >>> model = trigger_word()
    >>> stream = trigger_word_streaming(model, chunk_samples=1280)
    >>> {name: tensor.shape[1:] for name, tensor in stream.input.items()}
    {'audio': (1280,), 'tail': (2000,), 'state_0': (32,), 'state_1': (32,)}
    >>> {name: tensor.shape[1:] for name, tensor in stream.output.items()}
    {'probabilities': (2,), 'tail': (2000,), 'state_0': (32,), 'state_1': (32,)}
    >>> sorted(trigger_word_streaming(model, output="logit").output)
    ['logits', 'state_0', 'state_1', 'tail']
    """
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"`model` must be a keras.Model built by trigger_word. Received: model={model!r} "
            f"of type {type(model).__name__}"
        )
    if dft is not None:
        check_one_of("dft", dft, DFTS)
    if magnitude is not None:
        check_one_of("magnitude", magnitude, MAGNITUDES)
    check_bool("fold_batch_norm", fold_batch_norm)
    check_one_of("output", output, OUTPUTS)
    geometry = trigger_word_geometry(model)
    step = geometry.step_samples
    if chunk_samples is None:
        chunk_samples = step
    check_positive_int("chunk_samples", chunk_samples)
    if chunk_samples % step:
        raise ValueError(
            f"`chunk_samples` must be a whole number of output steps, a multiple of "
            f"frame_step * conv_stride = {step} samples. Received: chunk_samples={chunk_samples}"
        )
    grus = _grus(model)

    audio = keras.Input((chunk_samples,), name=AUDIO)
    tail = keras.Input((geometry.tail_samples,), name=TAIL)
    states = [keras.Input((gru.cell.units,), name=f"state_{i}") for i, gru in enumerate(grus)]
    window = layers.Concatenate(axis=1, name="window")([tail, audio])
    next_tail = _TakeLast(geometry.tail_samples, name="next_tail")(window)
    spectrogram = _layer(model, "spectrogram")
    changes = {}
    if dft is not None and dft != spectrogram.dft:
        changes["dft"] = dft
    if magnitude is not None and magnitude != spectrogram.magnitude:
        changes["magnitude"] = magnitude
    if changes:
        # The spectrogram has no weights: a copy with another DFT route computes the same
        # (another magnitude, within its stated error).
        spectrogram = Spectrogram.from_config(
            {**spectrogram.get_config(), **changes, "name": "spectrogram"}
        )
    x = spectrogram(window)
    conv, conv_bn = _layer(model, "conv"), _layer(model, "conv_bn")
    if fold_batch_norm:
        _check_foldable(conv, conv_bn)
        x = _ConvBatchNorm(conv, conv_bn, name="conv_folded")(x)
    else:
        x = conv_bn(conv(x), training=False)
    x = _layer(model, "conv_relu")(x)
    next_states = []
    for i, (gru, state) in enumerate(zip(grus, states, strict=True)):
        x, last = _GRUSteps(gru, name=f"gru_{i}_steps")([x, state])
        next_states.append(last)
        x = _layer(model, f"gru_{i}_bn")(x, training=False)
    classifier = _layer(model, "classifier")
    if output == "logit":
        _check_sigmoid(classifier)
        scores = layers.Reshape((-1,), name=LOGITS)(_Logits(classifier, name="logit")(x))
    else:
        scores = _layer(model, PROBABILITIES)(classifier(x))
    outputs = {OUTPUTS[output]: scores, TAIL: next_tail}
    outputs.update({f"state_{i}": s for i, s in enumerate(next_states)})
    inputs = {AUDIO: audio, TAIL: tail}
    inputs.update({f"state_{i}": s for i, s in enumerate(states)})
    return keras.Model(inputs, outputs, name=name or f"{model.name}_streaming")


def logit_threshold(probability: float) -> float:
    """A probability threshold p in logit units, `log(p / (1 - p))`, so that `logit >=
    threshold` exactly when `sigmoid(logit) >= p`; p = 0 maps to the lowest finite float
    (every step fires), p = 1 to the highest (no finite logit reaches it).

    Example:

    >>> round(logit_threshold(0.5), 6), logit_threshold(1.0) > 1e300
    (0.0, True)
    """
    p = check_in_range("probability", probability, 0, 1, include_high=True)
    if p in (0.0, 1.0):
        return float(np.finfo(np.float64).max * (1 if p else -1))
    return float(np.log(p) - np.log1p(-p))


def output_threshold(probability: float, output: str) -> float:
    """A probability threshold on the scale of a model's `output` ("probability" or
    "logit"): `probability` itself, or `logit_threshold(probability)`.

    Example:

    >>> output_threshold(0.5, "probability"), round(output_threshold(0.5, "logit"), 6)
    (0.5, 0.0)
    """
    p = check_in_range("probability", probability, 0, 1, include_high=True)
    return p if output == "probability" else logit_threshold(p)


class TriggerWordStreamer:
    """Runs a streaming trigger-word model over audio, chunk by chunk, keeping its state.

    Audio arrives in pieces of any length through `push`; the first `tail_samples`
    samples of a stream only fill the tail (the first output step needs
    `receptive_field` samples), then every whole chunk of `chunk_samples` new samples is
    one model call that returns `chunk_samples // step_samples` new probabilities (logits,
    for a model built with `output="logit"`: the streamer returns what the model outputs,
    see `output`). Left-over samples wait for the next `push`. Output step t of a stream
    is the full-clip model's step t on the same audio: it has seen the samples before
    `trigger_word_step_ends(n, model)[t]`.

    Args:
        model: a streaming model from `trigger_word_streaming`, a `.tflite` file converted
            from one (e.g. with `kerasdl.export.tflite`), or a `TFLiteModel` of such a file.
        batch_size: independent streams run side by side (each `push` takes
            `(batch_size, n)` audio; 1-D audio when it is 1).

    Attributes:
        chunk_samples: new samples per model call.
        tail_samples: samples carried between calls.
        step_samples: samples between output steps.
        steps_per_chunk: output steps per model call.
        receptive_field: samples the first output step needs.
        state_names: the GRU state inputs, "state_0", "state_1", ...
        output: "probability" when the model outputs "probabilities", "logit" when it
            outputs "logits" (`trigger_word_streaming(output="logit")`; in a `.tflite` file
            the output tensor's name says which). `threshold` converts a probability
            threshold to the same scale.
        samples_seen: samples pushed since the last `reset`.
        calls: model calls since the last `reset`.
        compute_seconds: wall time spent in the model since the last `reset`.

    Example:

    >>> import numpy as np
    >>> model = trigger_word()
    >>> streamer = TriggerWordStreamer(trigger_word_streaming(model))
    >>> audio = np.random.default_rng(0).uniform(-0.1, 0.1, 16000).astype("float32")
    >>> streamed = np.concatenate([streamer.push(audio[:5000]), streamer.push(audio[5000:])])
    >>> full = model.predict(audio[None], verbose=0)[0]
    >>> streamed.shape, bool(np.allclose(streamed, full, atol=1e-5))
    ((21,), True)
    >>> logits = TriggerWordStreamer(trigger_word_streaming(model, output="logit"))
    >>> logits.output, bool(np.allclose(logits.run(audio), np.log(full / (1 - full)), atol=1e-4))
    ('logit', True)
    >>> round(logits.threshold(0.999), 4), streamer.threshold(0.999)
    (6.9068, 0.999)
    """

    def __init__(self, model: keras.Model | TFLiteModel | str | os.PathLike, batch_size: int = 1):
        check_positive_int("batch_size", batch_size)
        self.batch_size = batch_size
        if isinstance(model, (str, os.PathLike)):
            model = TFLiteModel(model)
        if isinstance(model, TFLiteModel):
            self._runner = model
            shapes = {
                name: tuple(int(d) for d in details["shape"][1:])
                for name, details in zip(model.input_names, model.input_details, strict=True)
            }
            self._call = self._call_tflite
            outputs = dict(zip(model.output_names, model.output_details, strict=True))
            sizes = {name: details["shape"][1] for name, details in outputs.items()}
        elif isinstance(model, keras.Model):
            self._runner = model
            inputs = model.input if isinstance(model.input, dict) else {}
            shapes = {name: tuple(t.shape[1:]) for name, t in inputs.items()}
            self._call = self._call_keras
            outputs = model.output if isinstance(model.output, dict) else {}
            sizes = {name: tensor.shape[1] for name, tensor in outputs.items()}
        else:
            raise TypeError(
                "`model` must be a streaming keras.Model from trigger_word_streaming, a "
                f".tflite path or a TFLiteModel. Received: model={model!r} of type "
                f"{type(model).__name__}"
            )
        state_names = sorted(
            (name for name in shapes if re.fullmatch(r"state_\d+", name)),
            key=lambda n: int(n[6:]),
        )
        kinds = [kind for kind, name in OUTPUTS.items() if sizes.get(name)]
        if (
            AUDIO not in shapes
            or TAIL not in shapes
            or not state_names
            or set(shapes) != {AUDIO, TAIL, *state_names}
            or len(kinds) != 1
        ):
            raise ValueError(
                "`model` must be a streaming trigger-word model with inputs 'audio', 'tail' "
                "and 'state_0', ..., and one output 'probabilities' or 'logits' (see "
                f"trigger_word_streaming). Received: a model with inputs {sorted(shapes)} "
                f"and outputs {sorted(sizes)}"
            )
        self.output = kinds[0]
        self._scores = OUTPUTS[self.output]
        steps = sizes[self._scores]
        self.state_names = state_names
        self._state_shapes = {name: shapes[name] for name in state_names}
        self.chunk_samples = int(shapes[AUDIO][0])
        self.tail_samples = int(shapes[TAIL][0])
        self.steps_per_chunk = int(steps)
        self.step_samples = self.chunk_samples // self.steps_per_chunk
        self.receptive_field = self.tail_samples + self.step_samples
        self.reset()

    def reset(self) -> None:
        """Starts a new stream: empty tail and buffer, zero GRU states."""
        self._buffer = np.zeros((self.batch_size, 0), "float32")
        self._tail = None
        self._states = {
            name: np.zeros((self.batch_size, *shape), "float32")
            for name, shape in self._state_shapes.items()
        }
        self.samples_seen = 0
        self.calls = 0
        self.compute_seconds = 0.0

    def push(self, audio: Any) -> np.ndarray:
        """Adds samples to the stream; returns the outputs of the steps they complete.

        Args:
            audio: float samples in [-1, 1], `(n,)` for one stream or `(batch_size, n)`.

        Returns:
            `(steps,)` (or `(batch_size, steps)`) new probabilities (logits when `output`
            is "logit"), possibly none.
        """
        audio, squeeze = self._check_audio("audio", audio)
        self.samples_seen += audio.shape[1]
        self._buffer = np.concatenate([self._buffer, audio], axis=1)
        if self._tail is None:
            if self._buffer.shape[1] < self.tail_samples:
                return self._empty(squeeze)
            self._tail = self._buffer[:, : self.tail_samples]
            self._buffer = self._buffer[:, self.tail_samples :]
        outputs = []
        while self._buffer.shape[1] >= self.chunk_samples:
            chunk = self._buffer[:, : self.chunk_samples]
            self._buffer = self._buffer[:, self.chunk_samples :]
            result = self._call(self._inputs(chunk))
            self._tail = result[TAIL]
            self._states = {name: result[name] for name in self.state_names}
            outputs.append(result[self._scores])
        if not outputs:
            return self._empty(squeeze)
        probabilities = np.concatenate(outputs, axis=1)
        return probabilities[0] if squeeze else probabilities

    def run(self, audio: Any, progress: bool = False) -> np.ndarray:
        """Streams a whole clip from a fresh state; returns every completed step.

        The clip must hold at least one output step (`receptive_field` samples). Samples
        after the last whole chunk produce no output.

        Args:
            audio: float samples, `(n,)` or `(batch_size, n)`.
            progress: show a progress bar of the model calls (tqdm, on stderr), for long
                recordings.

        Returns:
            `(steps,)` (or `(batch_size, steps)`) probabilities (or logits),
            `steps = (n - tail_samples) // chunk_samples * steps_per_chunk`.
        """
        audio, squeeze = self._check_audio("audio", audio)
        if audio.shape[1] < self.receptive_field:
            raise ValueError(
                f"`audio` must hold at least one output step, {self.receptive_field} "
                f"samples. Received: audio with {audio.shape[1]} samples"
            )
        from tqdm.auto import tqdm

        self.reset()
        calls = (audio.shape[1] - self.tail_samples) // self.chunk_samples
        # Pushed 25 chunks at a time, so a bar can follow; push keeps the state between.
        piece = 25 * self.chunk_samples
        outputs = []
        with tqdm(total=calls, desc="streaming", unit="call", disable=not progress) as bar:
            for start in range(0, audio.shape[1], piece):
                done = self.calls
                outputs.append(self.push(audio[:, start : start + piece]))
                bar.update(self.calls - done)
        scores = np.concatenate(outputs, axis=1)
        return scores[0] if squeeze else scores

    def threshold(self, probability: float) -> float:
        """A probability threshold on the scale of this model's outputs.

        `probability` itself for a probability model; for a logit model
        `log(p / (1 - p))`, so that `logit >= threshold` exactly when `sigmoid(logit) >=
        p`. The ends map to the extreme finite floats: p = 0 to the lowest (every step
        fires), p = 1 to the highest (no finite logit reaches it).

        Args:
            probability: the threshold as a probability, in [0, 1].

        Returns:
            The threshold to compare this streamer's outputs with (a Python float).
        """
        return output_threshold(probability, self.output)

    def calibration_inputs(
        self, clips: Iterable[Any], max_examples: int | None = None
    ) -> dict[str, np.ndarray]:
        """The inputs the model sees while streaming `clips`, for int8 calibration.

        Each clip is streamed from a fresh state and every call's inputs are recorded,
        so the GRU states and tails are the real ones (`representative_data` and
        `check_inputs` of `kerasdl.export.tflite`). Clips of the same length stream
        together as one batch; the examples come clip by clip, call by call.

        Args:
            clips: 1-D float audio clips (or a `(n, samples)` array).
            max_examples: keep at most this many, evenly spaced over all calls.

        Returns:
            A dict input name -> array `(examples, ...)`.
        """
        if max_examples is not None:
            check_positive_int("max_examples", max_examples)
        clips = [np.asarray(clip, "float32").reshape(-1) for clip in clips]
        # Clips of one length stream together, one batch per length (the calls are the
        # same, many times fewer); each clip's calls are then put back in order.
        by_length: dict[int, list[int]] = {}
        for index, clip in enumerate(clips):
            by_length.setdefault(clip.size, []).append(index)
        per_clip: list[list[dict[str, np.ndarray]]] = [[] for _ in clips]
        call, batch_size = self._call, self.batch_size
        try:
            for indices in by_length.values():
                recorded: list[dict[str, np.ndarray]] = []
                self._call = lambda inputs, recorded=recorded: (
                    recorded.append(inputs) or call(inputs)
                )
                self.batch_size = len(indices)
                self.reset()
                self.push(np.stack([clips[i] for i in indices]))
                for row, index in enumerate(indices):
                    per_clip[index] = [
                        {name: value[row : row + 1] for name, value in inputs.items()}
                        for inputs in recorded
                    ]
        finally:
            self._call, self.batch_size = call, batch_size
            self.reset()
        recorded = [inputs for calls in per_clip for inputs in calls]
        if not recorded:
            raise ValueError(
                f"`clips` must hold at least one clip of >= {self.receptive_field} samples. "
                "Received: clips too short for one output step"
            )
        if max_examples is not None and len(recorded) > max_examples:
            keep = np.linspace(0, len(recorded) - 1, max_examples).round().astype(int)
            recorded = [recorded[i] for i in keep]
        return {name: np.concatenate([r[name] for r in recorded]) for name in recorded[0]}

    def _inputs(self, chunk: np.ndarray) -> dict[str, np.ndarray]:
        return {AUDIO: chunk, TAIL: self._tail, **self._states}

    def _call_keras(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        start = time.perf_counter()
        # predict_on_batch runs a traced function: ~100x faster per chunk than eager.
        result = self._runner.predict_on_batch(inputs)
        result = {name: np.asarray(value) for name, value in result.items()}
        self.compute_seconds += time.perf_counter() - start
        self.calls += 1
        return result

    def _call_tflite(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        start = time.perf_counter()
        result = self._runner(inputs)
        self.compute_seconds += time.perf_counter() - start
        self.calls += 1
        return result

    def _check_audio(self, arg: str, audio: Any) -> tuple[np.ndarray, bool]:
        audio = np.asarray(audio, dtype="float32")
        if audio.ndim == 1 and self.batch_size == 1:
            return audio[None], True
        if audio.ndim != 2 or audio.shape[0] != self.batch_size:
            raise ValueError(
                f"`{arg}` must have shape (samples,) or (batch_size, samples) with "
                f"batch_size={self.batch_size}. Received: {arg}.shape={audio.shape}"
            )
        return audio, False

    def _empty(self, squeeze: bool) -> np.ndarray:
        empty = np.zeros((self.batch_size, 0), "float32")
        return empty[0] if squeeze else empty


# Internals --------------------------------------------------------------------------------


class _TakeLast(layers.Layer):
    """The last `length` entries along axis 1."""

    def __init__(self, length: int, **kwargs):
        super().__init__(**kwargs)
        self.length = length

    def call(self, x):
        return x[:, -self.length :]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.length, *input_shape[2:])


class _ConvBatchNorm(layers.Layer):
    """A Conv1D followed by an inference-mode BatchNormalization, as one convolution.

    With `s = gamma / sqrt(moving_var + eps)` (gamma = 1 without scale, beta = 0 without
    center), `BN(x * W + b) = x * (W s) + ((b - moving_mean) s + beta)`. The folded kernel
    and bias are computed from the layers' own variables at each call, so the weights stay
    shared; a converter freezes them into one constant kernel and bias.
    """

    def __init__(self, conv: layers.Conv1D, batch_norm: layers.BatchNormalization, **kwargs):
        super().__init__(**kwargs)
        self.conv = conv
        self.batch_norm = batch_norm

    def folded(self):
        """The folded `(kernel, bias)`."""
        conv, bn = self.conv, self.batch_norm
        scale = ops.rsqrt(bn.moving_variance + bn.epsilon)
        if bn.gamma is not None:
            scale = scale * bn.gamma
        bias = -bn.moving_mean if conv.bias is None else conv.bias - bn.moving_mean
        bias = bias * scale
        if bn.beta is not None:
            bias = bias + bn.beta
        return conv.kernel * scale, bias

    def call(self, x):
        kernel, bias = self.folded()
        conv = self.conv
        y = ops.conv(
            x,
            kernel,
            strides=conv.strides,
            padding=conv.padding,
            data_format=conv.data_format,
            dilation_rate=conv.dilation_rate,
        )
        return y + bias

    def compute_output_shape(self, input_shape):
        return self.conv.compute_output_shape(input_shape)


class _GRUSteps(layers.Layer):
    """A Keras GRU's equations over a fixed number of steps, written out (no loop op).

    With the GRU's own weights (reset_after=True, as Keras' default):

        [x_z, x_r, x_h] = x<t> W + b_x          (all steps in one matmul)
        [h_z, h_r, h_h] = a<t-1> U + b_h
        z = sigmoid(x_z + h_z),  r = sigmoid(x_r + h_r)
        c = tanh(x_h + r * h_h)
        a<t> = z * a<t-1> + (1 - z) * c
    """

    def __init__(self, gru: layers.GRU, **kwargs):
        super().__init__(**kwargs)
        self.gru = gru

    def call(self, inputs):
        x, a = inputs
        cell = self.gru.cell
        units = cell.units
        input_bias, recurrent_bias = cell.bias[0], cell.bias[1]
        projected = ops.matmul(x, cell.kernel) + input_bias
        outputs = []
        for t in range(x.shape[1]):
            x_t = projected[:, t]
            h = ops.matmul(a, cell.recurrent_kernel) + recurrent_bias
            z = ops.sigmoid(x_t[:, :units] + h[:, :units])
            r = ops.sigmoid(x_t[:, units : 2 * units] + h[:, units : 2 * units])
            c = ops.tanh(x_t[:, 2 * units :] + r * h[:, 2 * units :])
            a = z * a + (1 - z) * c
            outputs.append(a)
        return ops.stack(outputs, axis=1), a

    def compute_output_shape(self, input_shapes):
        x_shape, a_shape = input_shapes
        return (x_shape[0], x_shape[1], a_shape[-1]), tuple(a_shape)


class _Logits(layers.Layer):
    """A sigmoid Dense layer's score before the sigmoid, `x W + b`, with its own weights."""

    def __init__(self, dense: layers.Dense, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense

    def call(self, x):
        return ops.matmul(x, self.dense.kernel) + self.dense.bias

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.dense.units)


def _check_sigmoid(classifier: layers.Layer) -> None:
    if not (
        isinstance(classifier, layers.Dense)
        and classifier.activation is keras.activations.sigmoid
        and classifier.use_bias
    ):
        raise ValueError(
            "`output` 'logit' needs the model's 'classifier' to be a Dense layer with a bias "
            f"and a sigmoid. Received: output='logit' and a {type(classifier).__name__} "
            f"with activation {getattr(classifier, 'activation', None)!r}"
        )


def _check_units(units: Any) -> tuple[int, ...]:
    if isinstance(units, int) and not isinstance(units, bool):
        check_positive_int("units", units)
        return (units, units)
    if not isinstance(units, Sequence) or isinstance(units, str) or not units:
        raise TypeError(
            f"`units` must be an int or a non-empty sequence of ints, one per GRU. "
            f"Received: units={units!r}"
        )
    for size in units:
        check_positive_int("units", size)
    return tuple(units)


def _check_foldable(conv: layers.Layer, batch_norm: layers.Layer) -> None:
    axis = batch_norm.axis if isinstance(batch_norm, layers.BatchNormalization) else None
    if not (
        isinstance(conv, layers.Conv1D)
        and conv.activation is keras.activations.linear
        and conv.data_format == "channels_last"
        and axis in (-1, 2, [-1], [2])
    ):
        raise ValueError(
            "`fold_batch_norm` needs the model's 'conv' to be a Conv1D without activation "
            "(channels last) and 'conv_bn' a BatchNormalization over its channels. "
            f"Received: {type(conv).__name__} and {type(batch_norm).__name__}; pass "
            "fold_batch_norm=False to run them as two layers"
        )


def _layer(model: keras.Model, name: str) -> layers.Layer:
    try:
        return model.get_layer(name)
    except ValueError as error:
        raise ValueError(
            f"`model` must be a trigger_word model with a layer named {name!r}. Received: "
            f"a model with layers {[layer.name for layer in model.layers]}"
        ) from error


def _grus(model: keras.Model) -> list[layers.GRU]:
    grus = []
    names = {layer.name for layer in model.layers}
    while f"gru_{len(grus)}" in names:
        gru = model.get_layer(f"gru_{len(grus)}")
        if not isinstance(gru, layers.GRU):
            raise ValueError(
                f"`model` layer 'gru_{len(grus)}' must be a keras.layers.GRU. Received: "
                f"{type(gru).__name__}"
            )
        cell = gru.cell
        if not (
            cell.reset_after
            and cell.use_bias
            and cell.activation is keras.activations.tanh
            and cell.recurrent_activation is keras.activations.sigmoid
        ):
            raise ValueError(
                f"`model` GRU 'gru_{len(grus)}' must use Keras' defaults (reset_after=True, "
                "use_bias=True, tanh and sigmoid) for its streaming form. Received: "
                f"reset_after={cell.reset_after}, use_bias={cell.use_bias}"
            )
        grus.append(gru)
    if not grus:
        raise ValueError(
            "`model` must have GRU layers named 'gru_0', 'gru_1', ... Received: a model "
            f"with layers {sorted(names)}"
        )
    return grus
