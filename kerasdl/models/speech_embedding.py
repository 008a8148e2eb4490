"""Google's speech embedding (Lin et al. 2020), built in Keras 3, with a reader for the
ONNX files openWakeWord 0.4.0 ships.

A network trained on a large body of real speech that turns audio into 96 numbers every
80 ms, each summing up the last ~0.78 s. Small classifiers on these embeddings learn a
wake word from synthetic speech alone and carry over to voices they never heard, which
networks trained from the spectrogram up on a few synthetic speakers do not.

The weights are Google's `speech_embedding` module (Apache-2.0), as converted to ONNX by
openWakeWord (`pip install openwakeword==0.4.0`, the last release whose wheel includes
`melspectrogram.onnx` and `embedding_model.onnx`; openWakeWord's own wake-word models,
under a non-commercial licence, are not used). `speech_embedding` rebuilds both networks
from ordinary Keras layers and `load_speech_embedding_weights` reads the weights from the
files (with the `onnx` package), checking every shape. Nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from kerasdl._validation import (
    check_greater,
    check_in_range,
    check_one_of,
    check_positive_int,
)
from kerasdl.layers.audio import _frames

SAMPLE_RATE = 16000
FFT_SIZE = 512  # the STFT's frame (no window padding: frame k is samples [160k, 160k + 512))
HOP = 160  # samples per mel frame (10 ms)
MEL_BINS = 32
FRAMES_PER_STEP = 8  # mel frames per embedding (80 ms)
RECEPTIVE_FRAMES = 76  # mel frames one embedding depends on
EMBEDDING_DIM = 96
WINDOW_SAMPLES = (RECEPTIVE_FRAMES - 1) * HOP + FFT_SIZE  # 12,512: the audio one embedding hears
# (filters, kernel) of the convolutions after the first, and the max-pooling after some:
# pairs of a 1x3 convolution across the mel bins ("same") and a 3x1 one across time
# ("valid").
_BLOCKS = [
    (24, "pool 2x2"),
    (48, None),
    (48, "pool 1x2"),
    (72, None),
    (72, "pool 2x2"),
    (96, None),
    (96, "pool 1x2"),
    (96, None),
    (96, "pool 2x2"),
]
_FILES = ("melspectrogram.onnx", "embedding_model.onnx")
_MEL_SLICE = 3  # mel bins per matmul: 257 x 3 = 771 numbers, under TFLite's 1,024 for
# dynamic-range quantization, so the filterbank stays float


@keras.saving.register_keras_serializable(package="kerasdl")
class SpeechEmbeddingMelSpectrogram(layers.Layer):
    """The speech embedding's log-mel front end: audio `(batch, samples)` in [-1, 1] ->
    `(batch, frames, 32)`.

    With `x` the audio times 32767 (16-bit sample units), frame `k` covers samples
    `[160 k, 160 k + 512)`: `P = |rfft(w x)|^2` (the 512-point FFT of the frame times the
    window `w`, a 400-sample periodic Hann window centred in the frame), `m = P M` (`M`,
    257 x 32, the mel filterbank), `d = 10 log10(max(m, 1e-10))`, with `top_db` floored
    at `max(d) - top_db` over each clip, and the result `d / 10 + 2` (the scaling the
    embedding network was trained on). The ONNX file holds the windowed DFT as two 512 x
    257 matrices; `load_speech_embedding_weights` checks that they are one (within 1e-6)
    and keeps their window, so the layer holds 8,736 numbers instead of 271,392, and its
    TFLite form is an FFT (builtin RFFT2D). The filterbank is applied in slices of 3 mel
    bins (771 numbers each), which dynamic-range quantization leaves in float: its int8
    activations would lose the quiet bins of a power spectrum. Until the weights are read
    they are random.

    The ONNX file floors at 80 dB under the maximum of whatever it is given at once (a
    batch of clips, or a chunk of a stream), so its numbers for a clip depend on the
    other clips of the batch. The default here is no floor (`top_db=None`): each frame's
    numbers depend only on its own audio, and a streamed clip gives the full clip's
    embeddings whatever its loudness. With the floor over each clip, a head trained on
    6 s mixes in quiet noise found fewer held-out triggers (recall 0.61 against 0.79 at
    <= 1 false activation per hour, one seed of the wake-word tutorial's recipe).

    Args:
        top_db: floor each clip's log-mel values this many dB under their maximum (80
            as the ONNX file does for one clip at a time), or None for no floor.

    Example:

    >>> import numpy as np
    >>> layer = SpeechEmbeddingMelSpectrogram()
    >>> tuple(layer(np.zeros((2, 16000), "float32")).shape)  # (16000 - 512) // 160 + 1
    (2, 97, 32)
    """

    def __init__(self, top_db: float | None = None, **kwargs):
        super().__init__(**kwargs)
        if top_db is not None:
            top_db = check_greater("top_db", top_db, 0.0)
        self.top_db = top_db

    def get_config(self):
        return {**super().get_config(), "top_db": self.top_db}

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                "SpeechEmbeddingMelSpectrogram expects audio of shape (batch, samples). "
                f"Received: input_shape={tuple(input_shape)}"
            )
        if input_shape[1] is not None and input_shape[1] < FFT_SIZE:
            raise ValueError(
                f"SpeechEmbeddingMelSpectrogram needs at least {FFT_SIZE} samples (one "
                f"frame). Received: input_shape={tuple(input_shape)}"
            )
        bins = FFT_SIZE // 2 + 1
        self.window = self.add_weight(name="window", shape=(FFT_SIZE,), trainable=False)
        self.mel = self.add_weight(name="mel", shape=(bins, MEL_BINS), trainable=False)

    def call(self, audio):
        frames = _frames(ops.cast(audio, "float32") * 32767.0, FFT_SIZE, HOP)
        real, imag = ops.rfft(frames * self.window, FFT_SIZE)
        power = real * real + imag * imag
        mel = ops.concatenate(
            [
                ops.matmul(power, self.mel[:, i : i + _MEL_SLICE])
                for i in range(0, MEL_BINS, _MEL_SLICE)
            ],
            axis=-1,
        )
        decibels = 10.0 * ops.log(ops.maximum(mel, 1e-10)) / np.log(10.0)
        if self.top_db is not None:
            floor = ops.max(decibels, axis=(1, 2), keepdims=True) - self.top_db
            decibels = ops.maximum(decibels, floor)
        return decibels / 10.0 + 2.0

    def compute_output_shape(self, input_shape):
        samples = input_shape[1]
        frames = None if samples is None else max(0, (samples - FFT_SIZE) // HOP + 1)
        return (input_shape[0], frames, MEL_BINS)


@keras.saving.register_keras_serializable(package="kerasdl")
class FlooredLeakyReLU(layers.Layer):
    """`max(leaky_relu(x, alpha), floor)`: the speech embedding's activation.

    Args:
        alpha: the slope under zero (0.2 in the speech embedding).
        floor: the lowest output (-0.4 in the speech embedding).

    Example:

    >>> import numpy as np
    >>> FlooredLeakyReLU()(np.array([-5.0, -1.0, 0.5], "float32")).numpy().tolist()
    [-0.4000000059604645, -0.20000000298023224, 0.5]
    """

    def __init__(self, alpha: float = 0.2, floor: float = -0.4, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("alpha", alpha), ("floor", floor)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"`{arg}` must be a number. Received: {arg}={value!r}")
        self.alpha, self.floor = float(alpha), float(floor)

    def call(self, x):
        return ops.maximum(ops.leaky_relu(x, self.alpha), self.floor)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "floor": self.floor}


def speech_embedding_steps(num_samples: int) -> int:
    """How many embeddings `speech_embedding` gives for `num_samples` of audio.

    Example:

    >>> speech_embedding_steps(16000), speech_embedding_steps(12000)
    (3, 0)
    """
    if isinstance(num_samples, bool) or not isinstance(num_samples, int | np.integer):
        raise TypeError(f"`num_samples` must be an int. Received: num_samples={num_samples!r}")
    frames = (int(num_samples) - FFT_SIZE) // HOP + 1 if num_samples >= FFT_SIZE else 0
    return max(0, (frames - RECEPTIVE_FRAMES) // FRAMES_PER_STEP + 1)


def speech_embedding_step_ends(num_samples: int) -> np.ndarray:
    """The exclusive end sample of the audio each embedding has heard: embedding `j`
    depends on samples `[1280 j, 1280 j + 12512)` only.

    Example:

    >>> speech_embedding_step_ends(16000).tolist()
    [12512, 13792, 15072]
    """
    steps = speech_embedding_steps(num_samples)
    last_frame = np.arange(steps) * FRAMES_PER_STEP + RECEPTIVE_FRAMES - 1
    return (last_frame * HOP + FFT_SIZE).astype(np.int64)


def speech_embedding(
    weights: str | os.PathLike | None = "openwakeword",
    *,
    num_samples: int | None = None,
    top_db: float | None = None,
    name: str = "speech_embedding",
) -> keras.Model:
    """Google's speech embedding: 16 kHz audio -> 96 numbers per 80 ms.

    The network (Lin et al. 2020, as published in `speech_embedding/1`):

    - `SpeechEmbeddingMelSpectrogram`: 32 log-mel bins every 10 ms (512-sample frames),
      without the ONNX file's floor unless `top_db` is given (see there);
    - the mel axis zero-padded by one bin on each side, a 3x3 convolution (24 filters, no
      bias, valid), ReLU, batch norm, `FlooredLeakyReLU` (slope 0.2, floor -0.4);
    - nine stages of a 1x3 convolution across mel bins ("same") and a 3x1 convolution
      across time ("valid"), each followed by `FlooredLeakyReLU` (batch norm folded into
      the convolutions' biases), with 24, 48, 48, 72, 72, 96, 96, 96, 96 filters and max
      pooling after stages 1, 5 and 9 (2x2) and 3 and 7 (1x2);
    - a last 3x1 convolution (96 filters, no bias) over the remaining 3 x 1 cells.

    Time is pooled by 8 in all, so the network runs along a clip of any length at once:
    embedding `j` is that of mel frames `[8 j, 8 j + 76)`, i.e. samples `[1280 j, 1280 j
    + 12512)` (`speech_embedding_step_ends`), the same numbers openWakeWord computes on
    each 76-frame window alone. The network has 328,200 weights and the front end 8,736
    (its window and mel filterbank), 1.3 MB in float32, all frozen: it is a feature
    extractor.

    Args:
        weights: "openwakeword" (read the two ONNX files from the installed
            `openwakeword==0.4.0` package), a folder holding `melspectrogram.onnx` and
            `embedding_model.onnx`, or None (random weights, for tests of the plumbing).
            Nothing is downloaded.
        num_samples: a fixed clip length in samples (>= 12,512, one embedding), or None
            for any length (a fixed length is what TFLite conversion needs).
        top_db: the front end's floor under each clip's loudest value, in dB, or None.
        name: model name.

    Returns:
        A functional `keras.Model` from `(batch, samples)` float audio in [-1, 1] at 16 kHz
        to `(batch, speech_embedding_steps(samples), 96)`.

    Raises:
        ValueError: a `num_samples` too short for one embedding, or weights that do not
            fit the network.
        FileNotFoundError: the weights' files are not there (naming what to install).

    Example:

    >>> import numpy as np
    >>> model = speech_embedding(weights=None, num_samples=16000)
    >>> tuple(model(np.zeros((1, 16000), "float32")).shape)
    (1, 3, 96)

    Reference:
        Lin et al., "Training Keyword Spotters with Limited and Synthesized Speech Data",
        ICASSP 2020.
    """
    if num_samples is not None:
        if speech_embedding_steps(num_samples) < 1:
            raise ValueError(
                f"`num_samples` must be >= {int(speech_embedding_step_ends(20000)[0])} (one "
                f"embedding), or None for any length. Received: num_samples={num_samples}"
            )
    audio = keras.Input((num_samples,), name="audio")
    x = SpeechEmbeddingMelSpectrogram(top_db, name="melspectrogram")(audio)
    x = layers.Reshape((-1, MEL_BINS, 1), name="mel_image")(x)
    x = layers.ZeroPadding2D(((0, 0), (1, 1)), name="pad_mel")(x)
    x = layers.Conv2D(24, 3, use_bias=False, name="conv0")(x)
    x = layers.ReLU(name="relu0")(x)
    x = layers.BatchNormalization(epsilon=1e-3, name="bn0")(x)
    x = FlooredLeakyReLU(name="act0")(x)
    for i, (filters, pool) in enumerate(_BLOCKS, start=1):
        x = layers.Conv2D(filters, (1, 3), padding="same", name=f"conv{i}_mel")(x)
        x = FlooredLeakyReLU(name=f"act{i}_mel")(x)
        x = layers.Conv2D(filters, (3, 1), name=f"conv{i}_time")(x)
        x = FlooredLeakyReLU(name=f"act{i}_time")(x)
        if pool is not None:
            size = (2, 2) if pool == "pool 2x2" else (1, 2)
            x = layers.MaxPooling2D(size, name=f"pool{i}")(x)
    x = layers.Conv2D(EMBEDDING_DIM, (3, 1), use_bias=False, name="embedding")(x)
    x = layers.Reshape((-1, EMBEDDING_DIM), name="steps")(x)
    model = keras.Model(audio, x, name=name)
    model.trainable = False
    if weights is not None:
        load_speech_embedding_weights(model, weights)
    return model


def _weights_folder(weights: str | os.PathLike) -> Path:
    if weights == "openwakeword":
        spec = importlib.util.find_spec("openwakeword")
        locations = (spec.submodule_search_locations or ()) if spec is not None else ()
        folders = [Path(p) / "resources" / "models" for p in locations]
        folders = [f for f in folders if all((f / name).is_file() for name in _FILES)]
        if not folders:
            raise FileNotFoundError(
                "The speech embedding's weights come from openWakeWord 0.4.0's wheel: "
                "`pip install openwakeword==0.4.0` (or `pip install kerasdl[speech]`), or "
                "pass weights=<a folder holding melspectrogram.onnx and "
                "embedding_model.onnx>."
            )
        return folders[0]
    folder = Path(weights).expanduser()
    missing = [name for name in _FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"`weights` must be 'openwakeword', None or a folder holding {' and '.join(_FILES)}"
            f"; {folder} has no {', '.join(missing)}."
        )
    return folder


def _onnx_nodes(path: Path) -> list[tuple[str, list[np.ndarray]]]:
    """(op type, its weight inputs) for each node of an ONNX file, in order."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError as error:
        raise ImportError(
            "Reading the speech embedding's ONNX files needs the `onnx` package: "
            "`pip install onnx` (or `pip install kerasdl[speech]`)."
        ) from error
    graph = onnx.load(str(path)).graph
    arrays = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    return [(n.op_type, [arrays[i] for i in n.input if i in arrays]) for n in graph.node]


def _assign(variable, value: np.ndarray, what: str) -> None:
    if tuple(variable.shape) != value.shape:
        raise ValueError(
            f"The speech embedding's {what} has shape {value.shape} in the file, but the "
            f"network expects {tuple(variable.shape)}: not the file this network reads."
        )
    variable.assign(value.astype(np.float32))


def _dft_window(real: np.ndarray, imag: np.ndarray) -> np.ndarray:
    """The window `w` of a windowed DFT held as matrices: `real[n, k] = w[n] cos(2 pi n k /
    N)` and `imag[n, k] = -+w[n] sin(2 pi n k / N)`, checked to within 1e-6 (of 1)."""
    size = real.shape[0]
    angle = 2 * np.pi * np.outer(np.arange(size), np.arange(real.shape[1])) / size
    window = real[:, 0]
    error = max(
        np.abs(real - window[:, None] * np.cos(angle)).max(),
        min(np.abs(imag - s * window[:, None] * np.sin(angle)).max() for s in (1, -1)),
    )
    if error > 1e-6 * max(1.0, np.abs(window).max()):
        raise ValueError(
            "The speech embedding's front end in the file is not a windowed DFT (off by "
            f"{error:.2g}): not the file this network reads."
        )
    return window


def load_speech_embedding_weights(model: keras.Model, weights: str | os.PathLike) -> None:
    """Reads `melspectrogram.onnx` and `embedding_model.onnx` into a `speech_embedding`
    model: the front end's window (from the file's DFT matrices, checked to be a windowed
    DFT) and mel filterbank, then each convolution and the batch norm in the order the
    file runs them, checking every shape.

    Args:
        model: a model built by `speech_embedding`.
        weights: "openwakeword" or a folder holding the two files (see `speech_embedding`).

    Raises:
        ValueError: a model that is not a speech embedding, or files that do not fit it.
        FileNotFoundError: the files are not there.
    """
    names = {layer.name for layer in model.layers}
    if not {"melspectrogram", "conv0", "bn0", "embedding"} <= names:
        raise ValueError(
            "`model` must be built by `speech_embedding` (its layers are read by name). "
            f"Received a model with layers {sorted(names)[:6]}..."
        )
    folder = _weights_folder(weights)
    mel_weights = [
        w for op, ws in _onnx_nodes(folder / _FILES[0]) for w in ws if op in ("Conv", "MatMul")
    ]
    if len(mel_weights) != 3:
        raise ValueError(f"{folder / _FILES[0]} is not the speech embedding's front end.")
    front = model.get_layer("melspectrogram")
    real, imag = (np.asarray(w, np.float64)[:, 0, :].T for w in mel_weights[:2])
    if real.shape != (FFT_SIZE, FFT_SIZE // 2 + 1) or imag.shape != real.shape:
        raise ValueError(
            f"The speech embedding's DFT has shapes {real.shape} and {imag.shape} in the "
            f"file, but the front end expects ({FFT_SIZE}, {FFT_SIZE // 2 + 1}): not the file "
            "this network reads."
        )
    _assign(front.window, _dft_window(real, imag), "DFT window")
    _assign(front.mel, mel_weights[2], "mel filterbank")
    convolutions = [layer for layer in model.layers if isinstance(layer, layers.Conv2D)]
    nodes = [
        (op, ws)
        for op, ws in _onnx_nodes(folder / _FILES[1])
        if op in ("Conv", "BatchNormalization")
    ]
    if [op for op, _ in nodes].count("Conv") != len(convolutions):
        raise ValueError(f"{folder / _FILES[1]} is not the speech embedding's network.")
    queue = list(convolutions)
    for op, values in nodes:
        if op == "BatchNormalization":
            bn = model.get_layer("bn0")
            gamma, beta, mean, variance = values
            for variable, value, what in zip(
                (bn.gamma, bn.beta, bn.moving_mean, bn.moving_variance),
                (gamma, beta, mean, variance),
                ("batch norm scale", "batch norm offset", "batch norm mean", "batch norm variance"),
                strict=True,
            ):
                _assign(variable, value, what)
            continue
        layer = queue.pop(0)
        _assign(layer.kernel, np.transpose(values[0], (2, 3, 1, 0)), f"{layer.name} kernel")
        if layer.use_bias:
            if len(values) != 2:
                raise ValueError(f"{layer.name} has a bias in the network but none in the file.")
            _assign(layer.bias, values[1], f"{layer.name} bias")
        elif len(values) != 1:
            raise ValueError(f"{layer.name} has no bias in the network but one in the file.")


def speech_embedding_head(
    context_steps: int = 16,
    units: int = 128,
    dropout: float = 0.3,
    name: str = "speech_embedding_head",
) -> keras.Model:
    """A wake-word detector on speech embeddings: `(batch, steps, 96)` -> `(batch, steps)`
    probabilities, one per embedding (80 ms).

    Each step `j` sees embeddings `j - context_steps + 1 .. j` (zeros before the first),
    i.e. the last `0.78 + 0.08 (context_steps - 1)` seconds of audio (1.98 s with 16):
    a convolution over them (`units` filters), layer norm, ReLU, dropout, a dense layer
    (`units`), layer norm, ReLU, and a dense layer to one logit ("logits"), then the
    sigmoid. Train it on `speech_embedding` outputs of labelled mixes
    (`kerasdl.data.trigger_word_dataset` with `step_end_samples=speech_embedding_step_ends(
    samples)`); run it on audio with `speech_embedding_streaming`.

    Args:
        context_steps: embeddings each step sees (16 as in openWakeWord's classifiers).
        units: width of the two hidden layers.
        dropout: dropout after the first, active only in training.
        name: model name.

    Returns:
        A functional `keras.Model`; its layer "logits" gives the logits `(batch, steps, 1)`.

    Example:

    >>> import numpy as np
    >>> head = speech_embedding_head(context_steps=4, units=8)
    >>> tuple(head(np.zeros((2, 10, 96), "float32")).shape)
    (2, 10)
    """
    context_steps = check_positive_int("context_steps", context_steps)
    units = check_positive_int("units", units)
    dropout = check_in_range("dropout", dropout, 0.0, 1.0)
    embeddings = keras.Input((None, EMBEDDING_DIM), name="embeddings")
    x = layers.ZeroPadding1D((context_steps - 1, 0), name="history")(embeddings)
    x = layers.Conv1D(units, context_steps, name="context")(x)
    x = layers.LayerNormalization(name="context_norm")(x)
    x = layers.ReLU(name="context_relu")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Dense(units, name="hidden")(x)
    x = layers.LayerNormalization(name="hidden_norm")(x)
    x = layers.ReLU(name="hidden_relu")(x)
    x = layers.Dense(1, name="logits")(x)
    x = layers.Reshape((-1,), name="steps")(x)
    x = layers.Activation("sigmoid", name="probabilities")(x)
    return keras.Model(embeddings, x, name=name)


def speech_embedding_streaming(
    embedding: keras.Model,
    head: keras.Model,
    output: str = "probability",
    name: str = "speech_embedding_streaming",
) -> keras.Model:
    """The streaming form of `speech_embedding` + `speech_embedding_head`: 80 ms of new
    audio per call.

    Inputs and outputs (dicts keyed by these names):

        inputs:  "audio"   (batch, 1280)                 the new samples
                 "tail"    (batch, 11232)                the samples before them
                 "history" (batch, context_steps - 1, 96) the previous embeddings
        outputs: "probabilities" (batch, 1) (or "logits", with output="logit")
                 "tail", "history"                       the state for the next call

    `[tail, audio]` is the 12,512 samples one embedding hears; the head then sees it with
    the previous `context_steps - 1`. Starting from the first 11,232 samples of a clip and
    zero history, the calls return the full-clip outputs step for step (with `top_db`, the
    floor is taken over each call's window instead of the whole clip). Shares every weight
    with `embedding` and `head`; convert it with `kerasdl.export.tflite`.

    Args:
        embedding: a model built by `speech_embedding` (any `num_samples`).
        head: a model built by `speech_embedding_head`.
        output: "probability" or "logit".
        name: model name.

    Returns:
        A functional `keras.Model` as above.

    Raises:
        ValueError: models not built by these builders, or an unknown `output`.

    Example:

    >>> import numpy as np
    >>> stream = speech_embedding_streaming(
    ...     speech_embedding(weights=None), speech_embedding_head(context_steps=4, units=8))
    >>> out = stream({"audio": np.zeros((1, 1280), "float32"),
    ...               "tail": np.zeros((1, 11232), "float32"),
    ...               "history": np.zeros((1, 3, 96), "float32")})
    >>> {k: tuple(v.shape) for k, v in sorted(out.items())}
    {'history': (1, 3, 96), 'probabilities': (1, 1), 'tail': (1, 11232)}
    """
    check_one_of("output", output, ("probability", "logit"))
    names = {layer.name for layer in head.layers}
    if not {"history", "context", "logits"} <= names:
        raise ValueError(
            "`head` must be built by `speech_embedding_head`. Received a model with layers "
            f"{sorted(names)[:6]}..."
        )
    if "melspectrogram" not in {layer.name for layer in embedding.layers}:
        raise ValueError("`embedding` must be built by `speech_embedding`.")
    context = head.get_layer("context").kernel_size[0]
    window, step = WINDOW_SAMPLES, FRAMES_PER_STEP * HOP
    audio = keras.Input((step,), name="audio")
    tail = keras.Input((window - step,), name="tail")
    history = keras.Input((context - 1, EMBEDDING_DIM), name="history")
    joined = layers.Concatenate(axis=1, name="window")([tail, audio])
    current = embedding(joined)  # (batch, 1, 96)
    sequence = layers.Concatenate(axis=1, name="sequence")([history, current])
    top = "logits" if output == "logit" else "probabilities"
    scorer = keras.Model(head.input, head.get_layer(top).output, name=f"{head.name}_{top}")
    scores = layers.Reshape((context, 1), name="scores")(scorer(sequence))
    last = layers.Cropping1D((context - 1, 0), name="last_step")(scores)
    next_tail = layers.Cropping1D((step, 0), name="drop_oldest")(
        layers.Reshape((window, 1), name="window_column")(joined)
    )
    outputs = {
        f"{top}": layers.Reshape((1,), name="score")(last),
        "tail": layers.Reshape((window - step,), name="next_tail")(next_tail),
        "history": layers.Cropping1D((1, 0), name="next_history")(sequence),
    }
    return keras.Model({"audio": audio, "tail": tail, "history": history}, outputs, name=name)


class SpeechEmbeddingStreamer:
    """Streams clips through a `speech_embedding_streaming` model, 80 ms per call, as a
    device would: the Keras model, its `.tflite` file (a path) or a
    `kerasdl.export.TFLiteModel` of it.

    Args:
        model: the streaming model or file.

    Attributes:
        output: "logit" or "probability", what the model outputs per step.
        tail_samples: samples before the first call's new audio (11,232).
        chunk_samples: new samples per call (1,280).
        step_samples: samples between output steps (1,280, one step per call).
        receptive_field: samples the first output step needs (12,512).

    Raises:
        TypeError: `model` is none of these.
        ValueError: a model without the streaming form's inputs and outputs.

    Example:

    >>> import numpy as np
    >>> stream = speech_embedding_streaming(speech_embedding(weights=None),
    ...                                     speech_embedding_head(units=8))
    >>> scores, times = SpeechEmbeddingStreamer(stream).run(np.zeros(16000, "float32"))
    >>> scores.shape, np.round(times, 3).tolist()
    ((3,), [0.782, 0.862, 0.942])
    """

    def __init__(self, model: Any):
        from kerasdl.export.tflite import TFLiteModel

        if isinstance(model, str | os.PathLike):
            model = TFLiteModel(model)
        if isinstance(model, TFLiteModel):
            shapes = {
                name: tuple(int(d) for d in details["shape"][1:])
                for name, details in zip(model.input_names, model.input_details, strict=True)
            }
            outputs = set(model.output_names)
            self._call = lambda feed: model(feed)
        elif isinstance(model, keras.Model):
            inputs = model.input if isinstance(model.input, dict) else {}
            shapes = {name: tuple(t.shape[1:]) for name, t in inputs.items()}
            outputs = set(model.output) if isinstance(model.output, dict) else set()
            # predict_on_batch runs a traced function: many times faster per call than
            # an eager call (as TriggerWordStreamer does).
            self._call = lambda feed: {
                k: np.asarray(v) for k, v in model.predict_on_batch(feed).items()
            }
        else:
            raise TypeError(
                "`model` must be a keras.Model from speech_embedding_streaming, a .tflite "
                f"path or a TFLiteModel. Received: model={model!r:.80} of type "
                f"{type(model).__name__}"
            )
        kinds = [name for name in ("logits", "probabilities") if name in outputs]
        step = FRAMES_PER_STEP * HOP
        if (
            shapes.get("audio") != (step,)
            or shapes.get("tail") != (WINDOW_SAMPLES - step,)
            or len(shapes.get("history", ())) != 2
            or len(kinds) != 1
        ):
            raise ValueError(
                "`model` must be a speech_embedding_streaming model with inputs 'audio' "
                f"({step} samples), 'tail' ({WINDOW_SAMPLES - step}) and 'history', and one "
                f"output 'logits' or 'probabilities'. Received: inputs {shapes}, outputs "
                f"{sorted(outputs)}"
            )
        self._history = shapes["history"]
        self._scores = kinds[0]
        self.output = "logit" if kinds[0] == "logits" else "probability"
        self.tail_samples, self.chunk_samples = WINDOW_SAMPLES - step, step
        self.step_samples, self.receptive_field = step, WINDOW_SAMPLES

    def threshold(self, probability: float) -> float:
        """A probability threshold on the scale of this model's outputs: `probability`
        itself, or `log(p / (1 - p))` for a logit model (as
        `TriggerWordStreamer.threshold`)."""
        from kerasdl.models.trigger_word import output_threshold

        return output_threshold(probability, self.output)

    def run(self, audio: Any, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Streams one clip (float32 16 kHz mono, at least 12,512 samples) from a fresh
        state: its first 11,232 samples as the tail, zero history.

        Args:
            audio: the clip.
            progress: show a progress bar of the model calls (tqdm, on stderr), for long
                recordings.

        Returns:
            `(scores, step_times)`: the model's output per 80 ms step, and the seconds of
            audio each step has heard (`speech_embedding_step_ends / 16000`).
        """
        audio = np.asarray(audio, np.float32)
        if audio.ndim != 1 or audio.size < WINDOW_SAMPLES:
            raise ValueError(
                f"`audio` must be one clip of at least {WINDOW_SAMPLES} samples (0.782 s at "
                f"16 kHz). Received: audio.shape={audio.shape}"
            )
        state = {
            "tail": audio[None, : self.tail_samples],
            "history": np.zeros((1, *self._history), np.float32),
        }
        from tqdm.auto import tqdm

        starts = range(self.tail_samples, audio.size - self.chunk_samples + 1, self.chunk_samples)
        scores = []
        for start in tqdm(starts, desc="streaming", unit="call", disable=not progress):
            out = self._call({"audio": audio[None, start : start + self.chunk_samples], **state})
            state = {"tail": out["tail"], "history": out["history"]}
            scores.append(float(np.asarray(out[self._scores]).reshape(-1)[0]))
        return np.array(scores), speech_embedding_step_ends(audio.size) / SAMPLE_RATE
