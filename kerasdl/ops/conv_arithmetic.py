"""Convolution arithmetic: output sizes and multiplication counts of conv and pool layers."""

from __future__ import annotations

import math
import numbers
from typing import Any

from kerasdl._validation import check_positive_int

_PADDINGS = ("valid", "same")


def _as_int(value: Any) -> Any:
    # numpy integers are not Python ints; accept them so shapes read off arrays work.
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    return value


def conv_output_size(n: int, f: int, padding: str | int = "valid", stride: int = 1) -> int:
    """Height (or width) of the output of a convolution or pooling window.

    With an `n x n` input, an `f x f` window, padding `p` and stride `s` (the notes'
    symbols), the output is `n_out x n_out` with

        n_out = floor((n + 2p - f) / s) + 1

    `padding` gives `p`: `"valid"` means `p = 0`; an int is `p` itself (zeros on each
    side); `"same"` follows TensorFlow and Keras, which pad just enough (asymmetrically
    when needed) that `n_out = ceil(n / s)` whatever `f` is.

    Args:
        n: input height or width, an int > 0.
        f: window (filter or pool) size, an int > 0.
        padding: `"valid"`, `"same"` or an int `p >= 0` (case-insensitive strings).
        stride: an int `s > 0`.

    Returns:
        The output height or width, an int >= 1.

    Raises:
        TypeError: when an argument has the wrong type.
        ValueError: when `n`, `f` or `stride` is not positive, `padding` is an unknown
            string or a negative int, or the window does not fit: `f > n + 2p`.

    Example:

    >>> conv_output_size(6, 3)
    4
    >>> conv_output_size(6, 3, padding=1)
    6
    >>> conv_output_size(7, 3, stride=2)
    3
    >>> conv_output_size(7, 3, padding="same", stride=2)
    4
    """
    n = check_positive_int("n", _as_int(n))
    f = check_positive_int("f", _as_int(f))
    stride = check_positive_int("stride", _as_int(stride))
    padding = _as_int(padding)
    if isinstance(padding, str):
        if padding.lower() not in _PADDINGS:
            raise ValueError(
                f"`padding` must be one of {_PADDINGS} or an int >= 0. "
                f"Received: padding={padding!r}"
            )
        if padding.lower() == "same":
            return math.ceil(n / stride)
        p = 0
    elif isinstance(padding, int) and not isinstance(padding, bool):
        if padding < 0:
            raise ValueError(f"`padding` must be >= 0. Received: padding={padding}")
        p = padding
    else:
        raise TypeError(
            f"`padding` must be one of {_PADDINGS} or an int >= 0. Received: padding={padding!r} "
            f"of type {type(padding).__name__}"
        )
    if f > n + 2 * p:
        raise ValueError(
            f"`f` must be <= n + 2p = {n + 2 * p} for the window to fit in the padded input. "
            f"Received: f={f} with n={n}, padding={padding!r}"
        )
    return (n + 2 * p - f) // stride + 1


def conv_multiplications(
    output_size: int | tuple[int, int], f: int, channels_in: int, filters: int
) -> int:
    """Multiplications of one convolution layer, the notes' measure of computational cost.

    Each of the `n_H x n_W x n_C` output numbers is a dot product of an `f x f x n_C_prev`
    window with one filter, so the layer costs

        n_H * n_W * n_C * f * f * n_C_prev

    multiplications. The notes' example: a 5x5 "same" convolution from 28x28x192 to
    28x28x32 costs about 120M; shrinking to 16 channels first with a 1x1 "bottleneck"
    convolution costs 2.4M + 10.0M = 12.4M.

    Args:
        output_size: `n_H`, or `(n_H, n_W)`, of the output.
        f: filter size (`f x f`).
        channels_in: `n_C_prev`, channels of the input.
        filters: `n_C`, number of filters (output channels).

    Returns:
        The number of multiplications, an int.

    Example:

    >>> conv_multiplications(28, 5, 192, 32)
    120422400
    >>> conv_multiplications(28, 1, 192, 16) + conv_multiplications(28, 5, 16, 32)
    12443648
    """
    if isinstance(output_size, tuple | list):
        if len(output_size) != 2:
            raise ValueError(
                "`output_size` must be an int or an (n_H, n_W) pair. "
                f"Received: output_size={output_size!r}"
            )
        height, width = (check_positive_int("output_size", _as_int(v)) for v in output_size)
    else:
        height = width = check_positive_int("output_size", _as_int(output_size))
    f = check_positive_int("f", _as_int(f))
    channels_in = check_positive_int("channels_in", _as_int(channels_in))
    filters = check_positive_int("filters", _as_int(filters))
    return height * width * filters * f * f * channels_in
