"""Running a `.tflite` file as TensorFlow Lite for Microcontrollers (TFLM) runs it.

A microcontroller runs a TFLite file with TFLM's own reference kernels, not LiteRT's, in a
fixed memory arena, and TFLM has fewer kernels: an int8 model that LiteRT runs may fail on
a device (TFLM's LOG, for one, takes float only). `MicroModel` runs the file with the
`tflite-micro` package's interpreter (`pip install tflite-micro`), the same kernels a device
build links, behind `TFLiteModel`'s interface, so a streaming model can be checked
against LiteRT call by call before it is flashed; `micro_arena_bytes` gives the
arena it needs.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import subprocess
import sys
import tempfile
from typing import Any

import numpy as np

from kerasdl.export.tflite import TFLiteModel

# The arena a model is first set up in: far beyond any microcontroller (untouched pages of
# it cost no memory).
_MEASURING_ARENA = 1 << 28
_ARENA_TOTAL = re.compile(r"Arena allocation total (\d+) bytes")
# Sets a model up in one arena size, in a process of its own: an arena TFLM finds too small
# can crash the process instead of failing (measured with tflite-micro's interpreter).
_PROBE = """
import sys
from tflite_micro import runtime
try:
    runtime.Interpreter.from_file(sys.argv[1], arena_size=int(sys.argv[2]))
except RuntimeError:
    sys.exit(3)
"""


def _tflm():
    try:
        from tflite_micro import runtime
    except ImportError as error:
        raise ImportError(
            "MicroModel needs TensorFlow Lite for Microcontrollers' Python interpreter: "
            "`pip install tflite-micro` (or `pip install 'kerasdl[micro]'`)."
        ) from error
    return runtime


@contextlib.contextmanager
def _native_stderr(sink: list[str]):
    """Collects what native code writes to file descriptor 2 (TFLM reports its errors
    there, not through the Python exception) into `sink`."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            sink.append(capture.read().decode(errors="replace"))


def _explained(text: str) -> str:
    """TFLM's own error lines, with a hint where a kernel wanted float."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    message = "; ".join(lines[-4:]) or "no message"
    node = re.search(r"Node (\w+) \(number (\d+)\) failed", text)
    if node and "FLOAT32" in text:
        message += (
            f". TFLite Micro's {node.group(1)} kernel takes float here: convert with "
            f"`tflite(..., float_ops=({node.group(1)!r},))` to keep that op in float"
        )
    return message


class _MicroInterpreter:
    """The interpreter calls `TFLiteModel` makes, answered by a TFLM interpreter (for
    running) and a LiteRT one (for the tensors' details and signature names)."""

    def __init__(self, path: str, details_from: Any, arena_bytes: int):
        runtime = _tflm()
        self._details = details_from
        self._inputs = {d["index"]: i for i, d in enumerate(details_from.get_input_details())}
        self._outputs = {d["index"]: i for i, d in enumerate(details_from.get_output_details())}
        errors: list[str] = []
        try:
            with _native_stderr(errors):
                self._micro = runtime.Interpreter.from_file(path, arena_size=arena_bytes)
        except RuntimeError:
            raise RuntimeError(
                f"TFLite Micro could not set up {path} in an arena of {arena_bytes} bytes: "
                f"{_explained(errors[0])}"
            ) from None
        self._path = path

    def __getattr__(self, name: str) -> Any:
        return getattr(self._details, name)  # details and signatures

    def set_tensor(self, index: int, value: np.ndarray) -> None:
        self._micro.set_input(value, self._inputs[index])

    def invoke(self) -> None:
        errors: list[str] = []
        try:
            with _native_stderr(errors):
                self._micro.invoke()
        except RuntimeError:
            raise RuntimeError(
                f"TFLite Micro could not run {self._path}: {_explained(errors[0])}"
            ) from None

    def get_tensor(self, index: int) -> np.ndarray:
        return self._micro.get_output(self._outputs[index])

    def resize_tensor_input(self, index: int, shape: Any) -> None:
        raise ValueError("TFLite Micro runs static shapes only: convert with a fixed batch")

    def allocate_tensors(self) -> None:
        pass  # the arena is laid out when the interpreter is made


def _fits(path: str, size: int) -> bool:
    """Whether TFLM sets `path` up in an arena of `size` bytes (tried in a process of its
    own, which a too-small arena may crash)."""
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE, path, str(size)], capture_output=True, check=False
    )
    return probe.returncode == 0


# Measured arenas by the file's contents (sha256): a file is measured once per process.
_ARENAS: dict[str, int] = {}


def micro_arena_bytes(path: str | os.PathLike) -> int:
    """The smallest tensor arena (bytes, to 16) in which TFLite Micro sets `path` up: what
    a device build must reserve for it (`tensor_arena`).

    TFLM's recording allocator totals the arena a model keeps after set-up; set-up also
    takes temporary memory (measured: up to 0.5 KiB more on small models), so the
    smallest arena is searched from that total upwards, each size tried in a process of
    its own (a few seconds in all; a file with the same contents is measured once per
    process).

    Args:
        path: a `.tflite` file.

    Raises:
        ValueError: when `path` is not a file.
        ImportError: without the `tflite-micro` package.
        RuntimeError: when TFLite Micro cannot set up the file (with TFLM's reason).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"`path` must be an existing .tflite file. Received: path={path!r}")
    runtime = _tflm()
    with open(path, "rb") as file:
        digest = hashlib.sha256(file.read()).hexdigest()
    if digest not in _ARENAS:
        _ARENAS[digest] = _smallest_arena(runtime, path)
    return _ARENAS[digest]


def _smallest_arena(runtime: Any, path: str) -> int:
    """`micro_arena_bytes`' search: from the recording allocator's total upwards."""
    said: list[str] = []
    try:
        with _native_stderr(said):
            interpreter = runtime.Interpreter.from_file(path, arena_size=_MEASURING_ARENA)
    except RuntimeError:
        raise RuntimeError(f"TFLite Micro cannot set up {path}: {_explained(said[0])}") from None
    with _native_stderr(said):
        interpreter.print_allocations()
    total = _ARENA_TOTAL.search(said[-1])
    if total is None:
        raise RuntimeError(f"TFLite Micro reported no arena total for {path}: {said[-1]!r}")

    low = int(total.group(1)) - 16  # what the model keeps cannot fit in less
    high = low + 16 + 1024
    while not _fits(path, high):
        low, high = high, high * 2
        if high > _MEASURING_ARENA:
            raise RuntimeError(f"TFLite Micro sets {path} up only in its measuring arena")
    while high - low > 16:
        middle = (low + high) // 32 * 16
        if middle <= low:
            break
        if _fits(path, middle):
            high = middle
        else:
            low = middle
    return high


class MicroModel(TFLiteModel):
    """Runs a `.tflite` file with TensorFlow Lite for Microcontrollers' kernels.

    The same interface as `TFLiteModel` (float inputs quantised and outputs dequantised
    for an int8-I/O file, dicts keyed by the signature's names, batches fed one example
    at a time), so `TriggerWordStreamer(MicroModel(path))` streams a file as a device
    would. A file TFLM cannot run fails when the model is made (one call on zeros), with
    TFLM's reason and, where a kernel wanted float, the `float_ops` to convert with.

    Args:
        path: a `.tflite` file with static shapes.
        arena_bytes: the tensor arena, at least `micro_arena_bytes(path)` (the default,
            measured when the model is made: a few seconds). A given arena is tried first
            (one set-up in a process of its own) and refused if TFLM cannot use it.

    Attributes:
        arena_bytes: the arena in use.

    Raises:
        ImportError: without the `tflite-micro` package (`pip install tflite-micro`).
        ValueError: an arena smaller than the file needs.
        RuntimeError: when TFLM cannot set up or run the file.

    Example:

    >>> import tempfile
    >>> import keras
    >>> from kerasdl.export import tflite
    >>> inputs = keras.Input((4,))
    >>> model = keras.Model(inputs, keras.layers.Dense(2, activation="relu")(inputs))
    >>> path = os.path.join(tempfile.mkdtemp(), "model.tflite")
    >>> data = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    >>> _ = tflite(model, path, quantization="int8", representative_data=data)
    >>> micro = MicroModel(path)
    >>> bool(np.allclose(micro(data[:5]), TFLiteModel(path)(data[:5]), atol=0.05))
    True
    """

    def __init__(self, path: str | os.PathLike, arena_bytes: int | None = None):
        super().__init__(path)
        if arena_bytes is not None and (
            isinstance(arena_bytes, bool) or not isinstance(arena_bytes, int) or arena_bytes < 1
        ):
            raise ValueError(
                f"`arena_bytes` must be a positive int. Received: arena_bytes={arena_bytes!r}"
            )
        if arena_bytes is None:
            arena_bytes = micro_arena_bytes(self.path)
        elif not _fits(self.path, arena_bytes):
            needed = micro_arena_bytes(self.path)
            raise ValueError(
                f"`arena_bytes` must be at least the {needed} bytes TFLite Micro needs for "
                f"{self.path}. Received: arena_bytes={arena_bytes}"
            )
        if self._dynamic_batch:
            raise ValueError(
                f"{self.path} has a dynamic batch dimension; TFLite Micro runs static "
                "shapes only (convert with a fixed batch, as `tflite` does)"
            )
        self.arena_bytes = arena_bytes
        self._interpreter = _MicroInterpreter(self.path, self._interpreter, arena_bytes)
        # One call on zeros: a kernel TFLM lacks fails here, not in the middle of a stream.
        for details in self.input_details:
            self._interpreter.set_tensor(
                details["index"], np.zeros(details["shape"], details["dtype"])
            )
        self._interpreter.invoke()
