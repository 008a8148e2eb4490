"""The registry of component examples the conformance suite runs.

A component joins the suite by adding one `Example` to `EXAMPLES` in examples.py: the
constructor arguments, a function that makes example inputs, and the bad arguments and
bad inputs its docstring promises to reject. No new test code is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np


@dataclass(frozen=True)
class Bad:
    """One documented bad use and the error it must raise.

    `kwargs` replaces constructor arguments; `inputs` (a function returning call
    arguments) replaces the call inputs. `match` is a regex the message must contain:
    it should name the argument and what was expected.
    """

    error: type[Exception]
    match: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    inputs: Callable[[], tuple] | None = None


@dataclass(frozen=True)
class Example:
    """A tiny, fast example of one public component.

    Attributes:
        cls: the component class.
        kind: "layer", "loss" or "metric".
        kwargs: constructor arguments.
        inputs: returns the call arguments: `(x,)` for a layer, `(y_true, y_pred)` for a
            loss or metric. The leading dimension is the batch and must be even (the
            distributed check splits it over two replicas).
        bad: documented bad uses (arguments or inputs) and the errors they raise.
        device_ready: layers meant for devices also convert to TFLite (builtin ops).
        tflite_atol: float TFLite vs Keras tolerance.
        batch_statistics: the layer normalises with batch statistics in training (batch
            norm), so a replica's training step sees only its share of the batch, as
            Keras' BatchNormalization does unless `synchronized=True`: the distributed
            check then compares inference and evaluation rather than the updated weights.
        atol: tolerance for eager vs jit vs distributed comparisons.
    """

    cls: type
    kind: Literal["layer", "loss", "metric"]
    kwargs: dict[str, Any]
    inputs: Callable[[], tuple]
    bad: tuple[Bad, ...] = ()
    device_ready: bool = False
    tflite_atol: float = 1e-5
    batch_statistics: bool = False
    atol: float = 1e-5
    id: str = ""

    @property
    def name(self) -> str:
        return self.id or self.cls.__name__

    def make(self, **overrides):
        return self.cls(**{**self.kwargs, **overrides})


def random_floats(*shape: int, seed: int = 0) -> np.ndarray:
    """Deterministic float32 inputs for examples."""
    return np.random.default_rng(seed).normal(size=shape).astype("float32")
