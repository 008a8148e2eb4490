"""DET curves of wake-word detectors (miss rate against false activations per hour), as PNG."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from kerasdl.plot.roc import mark_operating_points


def _as_curve(label: str, curve: Any) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(curve, "negative_false_activations_per_hour") and hasattr(curve, "miss_rate"):
        curve = (curve.negative_false_activations_per_hour, curve.miss_rate)
    if not isinstance(curve, tuple | list) or len(curve) != 2:
        raise ValueError(
            f"`curves[{label!r}]` must be an OperatingCurve or a (false_activations_per_hour, "
            f"miss_rate) pair. Received: {curve!r:.80}"
        )
    rate, miss = (np.asarray(v, np.float64) for v in curve)
    if rate.ndim != 1 or rate.shape != miss.shape or rate.size == 0:
        raise ValueError(
            f"`curves[{label!r}]` must hold 1-D rates and miss rates of one length. "
            f"Received: shapes {rate.shape} and {miss.shape}"
        )
    return rate, miss


def plot_det(
    curves: Mapping[str, Any] | Any,
    path: str | os.PathLike,
    points: Mapping[str, tuple[float, float]] | None = None,
    target: float | None = None,
    title: str | None = None,
    max_rate: float | None = None,
) -> str:
    """Draws DET curves: miss rate against false activations per hour.

    Each curve joins its operating points in threshold order by steps that take the worse
    of two neighbouring points' miss rate, so no unreachable point is drawn. The rate axis
    is linear up to 1 per hour and logarithmic beyond (matplotlib's "symlog"), so a zero
    rate, the 1-per-hour region and the high rates of low thresholds are all readable.

    Args:
        curves: `{label: curve}` or one curve, where a curve is a
            `kerasdl.verification.wakeword.OperatingCurve` (its rate on negative audio is
            drawn) or a `(false_activations_per_hour, miss_rate)` pair.
        path: where to write the PNG.
        points: optional `{label: (false_activations_per_hour, miss_rate)}` operating
            points to mark (a label that is a curve's label takes its colour).
        target: optional false activations per hour to mark with a vertical line.
        title: optional figure title.
        max_rate: right end of the rate axis; by default the largest finite rate.

    Returns:
        The path written.

    Example:

    >>> import os, tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "det.png")
    >>> plot_det(([50.0, 3.0, 0.5, 0.0], [0.0, 0.05, 0.1, 0.4]), out, target=1.0) == out
    True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not isinstance(curves, Mapping):
        curves = {"DET": curves}
    if not curves:
        raise ValueError("`curves` must not be empty. Received: an empty mapping")
    checked = {label: _as_curve(label, curve) for label, curve in curves.items()}
    fig, ax = plt.subplots(figsize=(6, 4.5))
    colours = {}
    largest = 1.0
    for label, (rate, miss) in checked.items():
        keep = np.isfinite(rate) & np.isfinite(miss)
        # In threshold order, joined by steps on the pessimistic side: between two
        # thresholds only their own points are reachable, not a straight line between them.
        (line,) = ax.plot(rate[keep], miss[keep], drawstyle="steps-pre", label=label, linewidth=1.6)
        colours[label] = line.get_color()
        if keep.any():
            largest = max(largest, float(rate[keep].max()))
    if target is not None:
        ax.axvline(target, color="grey", linestyle=":", linewidth=1, label=f"{target:g} per hour")
    mark_operating_points(
        ax,
        points,
        colours,
        lambda label, rate, miss: f"{label}: miss {miss:.3f} @ {rate:.2g} per hour",
    )
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlim(0, max_rate or largest * 1.1)
    ax.set(xlabel="false activations per hour", ylabel="miss rate (1 - recall)", ylim=(0, 1.02))
    ax.set_title(title or "DET")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=8, ncol=1)
    path = os.fspath(path)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path
