"""Hyperparameter dimensions sampled on the scale the notes recommend.

Sampling uniformly at random is right for some hyperparameters (the number of layers,
hidden units), wrong for others. The learning rate `alpha` in [0.0001, 1] sampled
uniformly puts 90% of the trials in [0.1, 1]; on a log scale each decade gets the same
share:

    r ~ Uniform(log10 0.0001, log10 1) = Uniform(-4, 0),    alpha = 10^r

The momentum / exponentially weighted average `beta` in [0.9, 0.999] averages over about
`1 / (1 - beta)` values, 10 to 1000, and its results are most sensitive near 1, so it is
`1 - beta` that is sampled on a log scale:

    r ~ Uniform(log10(1 - 0.999), log10(1 - 0.9)) = Uniform(-3, -1),    beta = 1 - 10^r

Each dimension maps its values to a unit coordinate `u` in [0, 1] on its own scale, where
sampling is uniform and coarse-to-fine zooming draws its boxes.
"""

from __future__ import annotations

import abc
import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"`{name}` must be a number. Received: {name}={value!r}")
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be finite. Received: {name}={value}")
    return float(value)


def _check_range(low: float, high: float, what: str = "") -> None:
    if not low < high:
        raise ValueError(f"`low` must be < `high`{what}. Received: low={low}, high={high}")


class Dimension(abc.ABC):
    """A hyperparameter's range and scale: `from_unit(u)` for `u` in [0, 1] and back."""

    @abc.abstractmethod
    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Values on this scale for unit-interval positions `u`."""

    @abc.abstractmethod
    def to_unit(self, value: Any) -> np.ndarray:
        """Unit-interval positions of `value` (the inverse of `from_unit`)."""

    def narrowed(self, low_unit: float, high_unit: float) -> Dimension:
        """The same scale restricted to the unit interval `[low_unit, high_unit]`."""
        low, high = self.from_unit(np.array([low_unit, high_unit]))
        return dataclasses.replace(self, low=low.item(), high=high.item())

    def sample(self, rng: np.random.Generator | int | None = None, size: int | None = None):
        """Values drawn uniformly on the dimension's scale (`size=None`: one value)."""
        rng = np.random.default_rng(rng)
        values = self.from_unit(rng.random(size if size is not None else 1))
        return values if size is not None else values[0].item()

    def zoom(self, values: Sequence[Any], margin: float = 0.1) -> Dimension:
        """The smallest range (on this scale) holding `values`, widened on each side by
        `margin` times the current range, within the current range."""
        units = self.to_unit(np.asarray(values))
        low = max(0.0, float(np.min(units)) - margin)
        high = min(1.0, float(np.max(units)) + margin)
        return self.narrowed(low, high)


@dataclasses.dataclass(frozen=True)
class Uniform(Dimension):
    """Uniform on `[low, high]`: `value = low + u * (high - low)`.

    Example:

    >>> Uniform(0.0, 0.5).from_unit(np.array([0.0, 0.5, 1.0])).tolist()
    [0.0, 0.25, 0.5]
    """

    low: float
    high: float

    def __post_init__(self):
        object.__setattr__(self, "low", _number("low", self.low))
        object.__setattr__(self, "high", _number("high", self.high))
        _check_range(self.low, self.high)

    def from_unit(self, u):
        return self.low + np.asarray(u, "float64") * (self.high - self.low)

    def to_unit(self, value):
        return (np.asarray(value, "float64") - self.low) / (self.high - self.low)


@dataclasses.dataclass(frozen=True)
class LogUniform(Dimension):
    """Uniform in `log10` on `[low, high]`, `0 < low`: `value = 10^r`, `r` uniform in
    `[log10 low, log10 high]` (the notes' learning-rate scale).

    Example:

    >>> LogUniform(1e-4, 1.0).from_unit(np.array([0.0, 0.25, 0.5, 1.0])).round(6).tolist()
    [0.0001, 0.001, 0.01, 1.0]
    """

    low: float
    high: float

    def __post_init__(self):
        object.__setattr__(self, "low", _number("low", self.low))
        object.__setattr__(self, "high", _number("high", self.high))
        if self.low <= 0:
            raise ValueError(f"`low` must be > 0 on a log scale. Received: low={self.low}")
        _check_range(self.low, self.high)

    def from_unit(self, u):
        a, b = math.log10(self.low), math.log10(self.high)
        return 10.0 ** (a + np.asarray(u, "float64") * (b - a))

    def to_unit(self, value):
        a, b = math.log10(self.low), math.log10(self.high)
        return (np.log10(np.asarray(value, "float64")) - a) / (b - a)


@dataclasses.dataclass(frozen=True)
class OneMinusLogUniform(Dimension):
    """`beta` in `[low, high]` within (-inf, 1) with `1 - beta` uniform in `log10`:
    `beta = 1 - 10^r`, `r` uniform in `[log10(1 - high), log10(1 - low)]` (the notes' scale
    for momentum and exponentially weighted averages).

    Example:

    >>> OneMinusLogUniform(0.9, 0.999).from_unit(np.array([0.0, 0.5, 1.0])).round(6).tolist()
    [0.9, 0.99, 0.999]
    """

    low: float
    high: float

    def __post_init__(self):
        object.__setattr__(self, "low", _number("low", self.low))
        object.__setattr__(self, "high", _number("high", self.high))
        if self.high >= 1:
            raise ValueError(f"`high` must be < 1 so that 1 - beta > 0. Received: high={self.high}")
        _check_range(self.low, self.high)

    def from_unit(self, u):
        a, b = math.log10(1 - self.low), math.log10(1 - self.high)
        return 1.0 - 10.0 ** (a + np.asarray(u, "float64") * (b - a))

    def to_unit(self, value):
        a, b = math.log10(1 - self.low), math.log10(1 - self.high)
        return (np.log10(1.0 - np.asarray(value, "float64")) - a) / (b - a)


@dataclasses.dataclass(frozen=True)
class IntUniform(Dimension):
    """Integers `low..high` (inclusive), each equally likely (layers, hidden units).

    Example:

    >>> IntUniform(1, 4).from_unit(np.array([0.0, 0.3, 0.99, 1.0])).tolist()
    [1, 2, 4, 4]
    """

    low: int
    high: int

    def __post_init__(self):
        for name in ("low", "high"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise TypeError(f"`{name}` must be an int. Received: {name}={value!r}")
            object.__setattr__(self, name, int(value))
        _check_range(self.low, self.high)

    def from_unit(self, u):
        count = self.high - self.low + 1
        index = np.floor(np.asarray(u, "float64") * count).astype("int64")
        return self.low + np.clip(index, 0, count - 1)

    def to_unit(self, value):
        return (np.asarray(value, "float64") - self.low + 0.5) / (self.high - self.low + 1)

    def narrowed(self, low_unit, high_unit):
        low, high = (int(v) for v in self.from_unit(np.array([low_unit, high_unit])))
        if low == high:
            # Keep a range: a dimension with one value has no scale to sample on.
            high = min(low + 1, self.high)
            low = high - 1
        return IntUniform(low, high)


@dataclasses.dataclass(frozen=True)
class Choice(Dimension):
    """One of `values`, each equally likely (activations, optimizers).

    Zooming keeps the values that the given (best) trials used.

    Example:

    >>> Choice(("relu", "tanh")).from_unit(np.array([0.2, 0.7])).tolist()
    ['relu', 'tanh']
    """

    values: tuple

    def __post_init__(self):
        values = tuple(self.values)
        if not values:
            raise ValueError("`values` must hold at least one value. Received: values=()")
        object.__setattr__(self, "values", values)

    def from_unit(self, u):
        index = np.clip(
            np.floor(np.asarray(u, "float64") * len(self.values)).astype("int64"),
            0,
            len(self.values) - 1,
        )
        return np.array(self.values, dtype=object)[index]

    def to_unit(self, value):
        positions = [self.values.index(v) for v in np.atleast_1d(np.asarray(value, dtype=object))]
        return (np.array(positions, "float64") + 0.5) / len(self.values)

    def sample(self, rng=None, size=None):
        values = super().sample(rng, size)
        return values.tolist() if size is not None else values

    def zoom(self, values, margin=0.1):
        kept = tuple(v for v in self.values if v in set(values))
        return Choice(kept)


def check_space(space: Any) -> dict[str, Dimension]:
    """Returns `space` as a dict name -> Dimension, raising on anything else."""
    if not hasattr(space, "items") or not space:
        raise TypeError(
            "`space` must be a non-empty dict of name -> Dimension (Uniform, LogUniform, "
            f"OneMinusLogUniform, IntUniform, Choice). Received: space={space!r}"
        )
    for name, dimension in space.items():
        if not isinstance(dimension, Dimension):
            raise TypeError(
                f"`space[{name!r}]` must be a Dimension. Received: {dimension!r} of type "
                f"{type(dimension).__name__}"
            )
    return dict(space)


def declare(hp, space: dict[str, Dimension]) -> dict[str, Any]:
    """Declares `space` on KerasTuner `HyperParameters` and returns this trial's values.

    Call it inside a KerasTuner `build_model(hp)`: Uniform and LogUniform become
    `hp.Float` with linear / log sampling, IntUniform `hp.Int`, Choice `hp.Choice`. A
    OneMinusLogUniform `beta` becomes `hp.Float("one_minus_<name>", 1 - high, 1 - low,
    sampling="log")` and the value returned is `1 - that`: KerasTuner's own
    `sampling="reverse_log"` is log-uniform in `high + low - beta`, which is not
    `1 - beta` unless `low + high = 1`, so on [0.9, 0.999] it samples beta nearly
    uniformly.

    Example:

    >>> import keras_tuner
    >>> hp = keras_tuner.HyperParameters()
    >>> values = declare(hp, {"lr": LogUniform(1e-4, 1.0), "beta": OneMinusLogUniform(0.9, 0.999)})
    >>> sorted(hp.values), round(values["beta"], 4)
    (['lr', 'one_minus_beta'], 0.9)
    """
    values = {}
    for name, dim in check_space(space).items():
        if isinstance(dim, OneMinusLogUniform):
            values[name] = 1.0 - hp.Float(
                f"one_minus_{name}", 1.0 - dim.high, 1.0 - dim.low, sampling="log"
            )
        elif isinstance(dim, LogUniform):
            values[name] = hp.Float(name, dim.low, dim.high, sampling="log")
        elif isinstance(dim, Uniform):
            values[name] = hp.Float(name, dim.low, dim.high)
        elif isinstance(dim, IntUniform):
            values[name] = hp.Int(name, dim.low, dim.high)
        else:
            values[name] = hp.Choice(name, list(dim.values))
    return values


def from_keras_tuner(hyperparameters) -> dict[str, Dimension]:
    """The dimensions of a KerasTuner `HyperParameters` space (Float, Int, Choice, Boolean).

    `sampling="reverse_log"` raises: KerasTuner's reverse log is not the notes'
    `1 - beta` log scale (see `declare`); use a OneMinusLogUniform instead.
    """
    space = {}
    for hp in hyperparameters.space:
        kind = type(hp).__name__
        sampling = getattr(hp, "sampling", "linear")
        if kind in ("Float", "Int") and sampling == "reverse_log":
            raise ValueError(
                f"`hyperparameters` entry {hp.name!r} uses sampling='reverse_log', which is "
                "log-uniform in (max + min - value), not in (1 - value); declare it as "
                "OneMinusLogUniform(low, high) instead"
            )
        if kind == "Float":
            cls = LogUniform if sampling == "log" else Uniform
            space[hp.name] = cls(hp.min_value, hp.max_value)
        elif kind == "Int":
            if sampling == "log":
                raise ValueError(
                    f"`hyperparameters` entry {hp.name!r}: Int with sampling='log' has no "
                    "kerasdl dimension; use a LogUniform and round it"
                )
            space[hp.name] = IntUniform(hp.min_value, hp.max_value)
        elif kind == "Choice":
            space[hp.name] = Choice(tuple(hp.values))
        elif kind == "Boolean":
            space[hp.name] = Choice((False, True))
        elif kind != "Fixed":
            raise ValueError(
                f"`hyperparameters` entry {hp.name!r} of type {kind} has no kerasdl dimension"
            )
    return space
