"""`kerasdl wakeword`: run a wake-word model over a WAV file, print when it fires and write
the audio with a chime after each detection (as in the notes' trigger-word assignment).

The model is streamed over the audio chunk by chunk, as on a device: a streaming `.tflite`
file (from `kerasdl.export.tflite` of `trigger_word_streaming`, or of
`speech_embedding_streaming`, e.g. with a classifier trained by openWakeWord read by
`kerasdl.models.openwakeword_head`), or a Keras `.keras` file of the full-clip
`trigger_word` model (streamed through `trigger_word_streaming`) or of its streaming form,
or an openWakeWord classifier's `.onnx` file itself (run on the speech embedding in Keras).

`--threshold` is always a probability. A streaming model built with
`trigger_word_streaming(output="logit")` (its output is named "logits", in the `.tflite`
file too) outputs the score before the sigmoid; the detector then compares each step's
logit with `log(p / (1 - p))` of the threshold p, which fires on the same steps as
`sigmoid(logit) >= p` but keeps the int8 file's resolution near p = 1 (its probabilities
are printed as `sigmoid(logit)` with more digits, and the logit beside them).

`--embedding` adds a second detector, a `speech_embedding_streaming` file (80 ms per
call): the two detectors' logits are combined at its steps
(`kerasdl.verification.combine_scores`, `--weight` its share, 0.7 as in the wake-word
tutorial) and `--threshold` p applies to the combined logit as `log(p / (1 - p))`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TextIO

import numpy as np

from kerasdl.data.audio import chime, overlay, read_wav, write_wav
from kerasdl.verification.wakeword import detection_steps

USAGE = (
    "usage: kerasdl wakeword --model=MODEL.tflite|MODEL.keras|CLASSIFIER.onnx INPUT.wav "
    "[--out=chimed.wav] "
    "[--threshold=0.5] [--refractory=1.0] [--embedding=EMBEDDING.tflite [--weight=0.7]] "
    "[--plot=scores.png]"
)
# Chunk of the streaming form built from a full-clip Keras model, in output steps: long
# enough that Python overhead per call stays small, short enough to stay responsive.
KERAS_CHUNK_STEPS = 25
# Recordings longer than this (seconds) get a progress bar when stderr is a terminal.
PROGRESS_SECONDS = 30


class WakeWordDetector:
    """A wake-word model loaded for streaming, with its sample rate.

    Args:
        path: a streaming `.tflite` file (of `trigger_word_streaming` or
            `speech_embedding_streaming`), a `.keras` file of a `trigger_word` model
            (full-clip or streaming), or an openWakeWord classifier `.onnx` file (run on
            the speech embedding in Keras: `openwakeword_head`).
        sample_rate: the rate the model was trained at, in Hz; read from a Keras model's
            spectrogram layer, and needed for a `.tflite` file (default 16000).

    Attributes:
        streamer: the `kerasdl.models.trigger_word.TriggerWordStreamer` that runs it (a
            `SpeechEmbeddingStreamer` for a speech-embedding file).
        embedding: whether the file is a `speech_embedding_streaming` one (16 kHz).
        sample_rate: the model's sample rate.
        output: "probability" or "logit", what the model outputs per step.

    Raises:
        ValueError: when the file is missing or is not such a model (naming the file).
    """

    def __init__(self, path: str | os.PathLike, sample_rate: int | None = None):
        from kerasdl.models.trigger_word import TriggerWordStreamer

        path = os.fspath(path)
        if not os.path.isfile(path):
            raise ValueError(
                f"`--model` must be an existing .tflite, .keras or .onnx file: {path!r}"
            )
        self.sample_rate = sample_rate
        if path.endswith(".keras"):
            model = self._keras_streaming(path)
        elif path.endswith(".onnx"):
            model = self._openwakeword_streaming(path)
        else:
            from kerasdl.export.tflite import TFLiteModel

            with open(path, "rb") as file:
                head = file.read(8)
            # A TFLite flatbuffer carries the file identifier "TFL3" after its root offset.
            if head[4:8] != b"TFL3":
                raise ValueError(
                    f"{path!r} is not a TFLite model: it starts with {head!r}, without the "
                    "'TFL3' identifier (pass a .tflite file, or a .keras file)"
                )
            try:
                model = TFLiteModel(path)
            except (ValueError, RuntimeError) as error:
                raise ValueError(
                    f"{path!r} is not a TFLite model the interpreter can load ({error})"
                ) from None
        self.embedding = path.endswith(".onnx") or (
            not path.endswith(".keras") and {"audio", "tail", "history"} == set(model.input_names)
        )
        try:
            if self.embedding:
                from kerasdl.models.speech_embedding import SpeechEmbeddingStreamer

                self.streamer = SpeechEmbeddingStreamer(model)
            else:
                self.streamer = TriggerWordStreamer(model)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path!r} is not a streaming wake-word model: {error}") from None
        if self.embedding and self.sample_rate not in (None, 16000):
            raise ValueError(
                f"{path!r} is a speech-embedding file, which runs at 16000 Hz; "
                f"{self.sample_rate} Hz given"
            )
        self.sample_rate = self.sample_rate or 16000
        self.output = self.streamer.output

    def _openwakeword_streaming(self, path: str):
        from kerasdl.models import openwakeword_head, speech_embedding, speech_embedding_streaming

        return speech_embedding_streaming(speech_embedding(), openwakeword_head(path))

    def _keras_streaming(self, path: str):
        import keras

        from kerasdl.models.trigger_word import trigger_word_geometry, trigger_word_streaming

        try:
            model = keras.saving.load_model(path)
        except Exception as error:  # Keras raises many kinds for a damaged or foreign file
            raise ValueError(f"{path!r} is not a Keras model file ({error})") from None
        try:
            spectrogram = model.get_layer("spectrogram")
        except ValueError:
            raise ValueError(
                f"{path!r} is not a trigger-word model: it has no 'spectrogram' layer"
            ) from None
        if self.sample_rate is None:
            self.sample_rate = int(spectrogram.sample_rate)
        if isinstance(model.input, dict):
            return model  # already the streaming form
        geometry = trigger_word_geometry(model)
        return trigger_word_streaming(model, KERAS_CHUNK_STEPS * geometry.step_samples)

    def probabilities(self, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Streams `audio` (float32 mono at `sample_rate`) from a fresh state.

        The end is padded with silence to a whole chunk so the last samples are heard too.

        Returns:
            `(probabilities, step_times)`: one per output step (`sigmoid(logit)` in
            float64 for a logit model), and the seconds of audio each step has heard
            (padding included).
        """
        scores, times = self.scores(audio)
        if self.output == "logit":
            scores = _sigmoid(scores)
        return scores, times

    def scores(self, audio: np.ndarray, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """As `probabilities`, but the model's own outputs: probabilities, or logits for a
        logit model (compare them with `streamer.threshold(p)`); `progress` shows a
        progress bar of the model calls on stderr."""
        streamer = self.streamer
        if audio.size < streamer.receptive_field:
            raise ValueError(
                f"the audio lasts {audio.size / self.sample_rate:.3f} s; the model needs at "
                f"least {streamer.receptive_field / self.sample_rate:.3f} s for one decision"
            )
        chunks = -(-(audio.size - streamer.tail_samples) // streamer.chunk_samples)
        padded = np.zeros(streamer.tail_samples + chunks * streamer.chunk_samples, np.float32)
        padded[: audio.size] = audio
        scores = streamer.run(padded, progress=progress)
        if self.embedding:
            scores = scores[0]  # (scores, step times): the times are the ones below
        ends = streamer.receptive_field + streamer.step_samples * np.arange(scores.size)
        return scores, ends / self.sample_rate


def run_wakeword(
    model: str | os.PathLike | WakeWordDetector,
    wav_path: str | os.PathLike,
    out: str | os.PathLike | None = None,
    threshold: float = 0.5,
    refractory: float = 1.0,
    sample_rate: int | None = None,
    stream: TextIO | None = None,
    embedding: str | os.PathLike | None = None,
    weight: float = 0.7,
    plot: str | os.PathLike | None = None,
    progress: bool | None = None,
) -> np.ndarray:
    """Detects the wake word in a WAV file and optionally writes it back with chimes.

    Prints a header line, one line per detection (its time in seconds and the probability
    that fired) and a summary. The WAV file may have any sample rate and any number of
    channels: it is mixed to mono and resampled to the model's rate, and `out` is written
    at that rate.

    Args:
        model: a model file (see `WakeWordDetector`) or a loaded `WakeWordDetector`.
        wav_path: the audio.
        out: where to write the audio with a chime after each detection; None: not written.
        threshold: the probability at or above which the detector fires (for a logit
            model, the logit at or above `log(threshold / (1 - threshold))`), in [0, 1].
        refractory: seconds after a detection during which it does not fire again.
        sample_rate: the model's rate for a `.tflite` file (default 16000).
        stream: where to print (default stdout).
        embedding: a `speech_embedding_streaming` `.tflite` file to combine with `model`
            (16 kHz models only), or None.
        weight: the embedding detector's share of the combined logit, in [0, 1].
        plot: where to write a PNG of the audio, its spectrogram and the probability at
            each step with the threshold and the detections
            (`kerasdl.plot.plot_wakeword_scores`); None: not drawn.
        progress: a progress bar of the model calls on stderr; None: shown for
            recordings longer than `PROGRESS_SECONDS` when stderr is a terminal.

    Returns:
        The detection times in seconds.

    Raises:
        ValueError: when the audio is not a WAV file, or the model is not a trigger-word
            model (both name the file), or the threshold is outside [0, 1].
    """
    stream = stream or sys.stdout
    if not isinstance(model, WakeWordDetector):
        model = WakeWordDetector(model, sample_rate)
    wav_path = os.fspath(wav_path)
    if not os.path.isfile(wav_path):
        raise ValueError(f"the input must be an existing WAV file: {wav_path!r}")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float | np.floating):
        raise TypeError(f"`--threshold` must be a number. Received: --threshold={threshold!r}")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(
            f"`--threshold` must be a probability in [0, 1]. Received: --threshold={threshold}"
        )
    threshold = float(threshold)
    audio = read_wav(wav_path, model.sample_rate)
    if progress is None:
        progress = audio.size > PROGRESS_SECONDS * model.sample_rate and sys.stderr.isatty()
    scores, times = model.scores(audio, progress=progress)
    logit = model.output == "logit"
    # A logit model fires where its logit reaches the threshold's logit (see the module).
    scaled = model.streamer.threshold(threshold)
    if embedding is not None:
        from kerasdl.models.trigger_word import logit_threshold

        scores, times = _combined(model, audio, scores, times, embedding, weight, progress)
        logit, scaled = True, logit_threshold(threshold)
    steps = detection_steps(scores, times, scaled, refractory)
    # A step past the end has heard the last samples and some padding: it fired at the end.
    detections = np.minimum(times[steps], audio.size / model.sample_rate)
    in_logits = f" (logit {scaled:.3f})" if logit else ""
    if embedding is not None:
        in_logits += f" on the logits combined with {os.fspath(embedding)} (weight {weight:g})"
    print(
        f"{wav_path}: {audio.size / model.sample_rate:.2f} s at {model.sample_rate} Hz, "
        f"threshold {threshold:g}{in_logits}, refractory {refractory:g} s",
        file=stream,
    )
    for step, time in zip(steps, detections, strict=True):
        if logit:
            fired = f"p = {_sigmoid(scores[step]):.6f}, logit = {scores[step]:.3f}"
        else:
            fired = f"p = {scores[step]:.3f}"
        print(f"wake word at {time:.2f} s ({fired})", file=stream)
    count = f"{len(detections)} detection{'s' if len(detections) != 1 else ''}"
    summary = count
    if out is not None:
        starts = np.minimum(np.round(detections * model.sample_rate), audio.size - 1)
        chimed = overlay(audio, chime(model.sample_rate), starts.astype(np.int64))
        write_wav(out, chimed, model.sample_rate)
        summary += f"; wrote {os.fspath(out)}"
    if plot is not None:
        from kerasdl.plot import plot_wakeword_scores

        probabilities = _sigmoid(scores) if logit else scores
        name = os.path.basename(wav_path)
        plot_wakeword_scores(
            audio, model.sample_rate, probabilities, times, threshold, plot,
            detections=detections, title=f"{name}: {count}",
        )  # fmt: skip
        summary += f"; plotted {os.fspath(plot)}"
    print(summary, file=stream)
    return detections


def _combined(model, audio, scores, times, embedding, weight, progress=False):
    """The combined logits of `model`'s scores and the embedding file's, at its steps."""
    from kerasdl.models.speech_embedding import SAMPLE_RATE, SpeechEmbeddingStreamer
    from kerasdl.verification.wakeword import combine_scores

    path = os.fspath(embedding)
    if not os.path.isfile(path):
        raise ValueError(f"`--embedding` must be an existing .tflite file: {path!r}")
    if model.sample_rate != SAMPLE_RATE:
        raise ValueError(
            f"`--embedding` needs a {SAMPLE_RATE} Hz wake-word model; {model.sample_rate} Hz given"
        )
    try:
        second = SpeechEmbeddingStreamer(path)
    except (TypeError, ValueError, RuntimeError) as error:
        raise ValueError(f"{path!r} is not a speech-embedding streaming file: {error}") from None
    if audio.size < second.receptive_field:
        raise ValueError(
            f"the audio lasts {audio.size / SAMPLE_RATE:.3f} s; the speech embedding needs at "
            f"least {second.receptive_field / SAMPLE_RATE:.3f} s"
        )
    second_scores, second_times = second.run(audio, progress=progress)
    from_logits = (model.output == "logit", second.output == "logit")
    # The first model's steps past the end (padding) count at the end of the audio.
    times = np.minimum(times, audio.size / SAMPLE_RATE)
    return combine_scores(
        scores, times, second_scores, second_times, weight, from_logits=from_logits
    ), second_times


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    """`1 / (1 + exp(-logit))` in float64 (no overflow warning for large negative logits)."""
    logits = np.asarray(logits, np.float64)
    return np.exp(-np.logaddexp(0.0, -logits))


def command(
    rest: Sequence[str],
    model: str | None,
    out: str | None = None,
    threshold: float = 0.5,
    refractory: float = 1.0,
    stream: TextIO | None = None,
    errors: TextIO | None = None,
    embedding: str | None = None,
    weight: float = 0.7,
    plot: str | None = None,
) -> int:
    """`kerasdl wakeword` from parsed flags: the exit code (0 done, 2 a usage or input
    error, printed as one line)."""
    errors = errors or sys.stderr
    if len(rest) != 1 or not model:
        print(USAGE, file=errors)
        return 2
    try:
        run_wakeword(
            model,
            rest[0],
            out,
            threshold,
            refractory,
            stream=stream,
            embedding=embedding,
            weight=weight,
            plot=plot,
        )
    except (ValueError, TypeError, OSError) as error:
        print(f"kerasdl wakeword: {error}", file=errors)
        return 2
    return 0
