"""Argument checks shared by every kerasdl component.

Every error follows one template, naming the argument, the rule and the value:
"`margin` must be >= 0. Received: margin=-1.0".
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np


def check_positive_int(name: str, value: Any) -> int:
    """Returns `value` when it is an int > 0, else raises naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"`{name}` must be a positive int. Received: {name}={value!r} "
            f"of type {type(value).__name__}"
        )
    if value <= 0:
        raise ValueError(f"`{name}` must be > 0. Received: {name}={value}")
    return value


def check_int_tuple(name: str, value: Any, length: int) -> tuple[int, ...]:
    """Returns `value` as a tuple of `length` positive ints, else raises naming `name`."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,) * length
    if not isinstance(value, Iterable) or isinstance(value, str):
        raise TypeError(
            f"`{name}` must be an int or a tuple of {length} ints. Received: {name}={value!r}"
        )
    value = tuple(value)
    if len(value) != length:
        raise ValueError(
            f"`{name}` must have {length} entries. Received: {name}={value!r} "
            f"with {len(value)} entries"
        )
    for v in value:
        check_positive_int(name, v)
    return value


def check_one_of(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Returns `value` when it is one of `allowed`, else raises naming `name`."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"`{name}` must be one of {allowed}. Received: {name}={value!r}")
    return value


def check_rank(name: str, shape: Any, rank: int, layout: str) -> None:
    """Raises when `shape` does not have `rank` dimensions (`layout` describes them)."""
    shape = tuple(shape)
    if len(shape) != rank:
        raise ValueError(
            f"`{name}` must have rank {rank} with shape {layout}. Received: {name}.shape={shape}"
        )


def check_in_range(
    name: str, value: Any, low: float, high: float, include_high: bool = False
) -> float:
    """Returns `value` as a float in [low, high) (or [low, high]), else raises. Any real
    number is accepted (numpy scalars such as `np.float32(0.5)` too); bools are not."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number. Received: {name}={value!r}")
    if not (low <= value < high or (include_high and value == high)):
        bracket = "]" if include_high else ")"
        raise ValueError(f"`{name}` must be in [{low}, {high}{bracket}. Received: {name}={value}")
    return float(value)


def check_greater(name: str, value: Any, bound: float) -> float:
    """Returns `value` as a float > bound, else raises naming `name`. Any real number is
    accepted (numpy scalars too); bools are not."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number. Received: {name}={value!r}")
    if not value > bound:
        raise ValueError(f"`{name}` must be > {bound}. Received: {name}={value}")
    return float(value)


def check_count(name: str, value: Any, minimum: int = 1) -> int:
    """Returns a static count as a Python int >= minimum (numpy ints accepted), else raises
    naming `name`."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(
            f"`{name}` must be a Python int >= {minimum}. Received: {name}={value!r} "
            f"of type {type(value).__name__}"
        )
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}. Received: {name}={value}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """Returns `value` when it is a bool (numpy bools accepted), else raises naming `name`."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise TypeError(f"`{name}` must be a bool. Received: {name}={value!r}")


def check_matching_2d(
    y_true: Any, y_pred: Any, layout: str, y_pred_holds: str, y_true_holds: str
) -> None:
    """Checks that `y_pred` is 2-D with shape `layout` and `y_true` has its shape (None
    dimensions match anything); the messages say what each holds."""
    shape, label_shape = tuple(y_pred.shape), tuple(y_true.shape)
    if len(shape) != 2:
        raise ValueError(
            f"`y_pred` must have shape {layout} ({y_pred_holds}). Received: y_pred.shape={shape}"
        )
    if len(label_shape) != 2 or any(
        a is not None and b is not None and a != b for a, b in zip(label_shape, shape, strict=True)
    ):
        raise ValueError(
            f"`y_true` must have the shape of `y_pred`, {layout}={shape}: {y_true_holds}. "
            f"Received: y_true.shape={label_shape}"
        )
