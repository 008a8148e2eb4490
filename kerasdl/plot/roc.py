"""ROC curves of verifiers (TAR against FAR), saved as PNG."""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np


def plot_roc(
    curves: Mapping[str, tuple] | tuple,
    path: str | os.PathLike,
    points: Mapping[str, tuple[float, float]] | None = None,
    log_far: bool = True,
    title: str | None = None,
) -> str:
    """Draws ROC curves, TAR against FAR, with the equal-error line and operating points.

    Args:
        curves: `{label: (far, tar)}` (e.g. the first two outputs of
            `kerasdl.verification.roc_curve`), or one `(far, tar)` pair.
        path: where to write the PNG.
        points: optional `{label: (far, tar)}` operating points to mark, e.g. the TAR at
            the threshold chosen for a target FAR; a point whose label is a curve's label
            takes that curve's colour.
        log_far: FAR on a log axis (default), where low-FAR operating points are readable;
            points with FAR = 0 are then left out.
        title: optional figure title.

    Returns:
        The path written.

    Example:

    >>> import os, tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "roc.png")
    >>> plot_roc(([0.0, 0.1, 0.5, 1.0], [0.0, 0.6, 0.9, 1.0]), out) == out
    True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if isinstance(curves, tuple):
        curves = {"ROC": curves}
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError(
            "`curves` must be a non-empty {label: (far, tar)} mapping or one (far, tar) pair. "
            f"Received: curves of type {type(curves).__name__}"
        )
    checked = {}
    for label, curve in curves.items():
        if len(curve) < 2:
            raise ValueError(f"`curves[{label!r}]` must be (far, tar). Received: {curve!r}")
        far, tar = (np.asarray(v, np.float64) for v in curve[:2])
        if far.ndim != 1 or far.shape != tar.shape:
            raise ValueError(
                f"`curves[{label!r}]` must hold 1-D far and tar of one length. "
                f"Received: far.shape={far.shape}, tar.shape={tar.shape}"
            )
        checked[label] = (far, tar)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    smallest = 1.0
    colours = {}
    for label, (far, tar) in checked.items():
        keep = far > 0 if log_far else np.ones_like(far, bool)
        (line,) = ax.plot(far[keep], tar[keep], label=label, linewidth=1.6)
        colours[label] = line.get_color()
        if keep.any():
            smallest = min(smallest, far[keep].min())
    grid = np.geomspace(smallest, 1, 200) if log_far else np.linspace(0, 1, 200)
    ax.plot(grid, 1 - grid, ":", color="grey", linewidth=1, label="FAR = FRR (EER)")
    if not log_far:
        ax.plot([0, 1], [0, 1], "--", color="lightgrey", linewidth=1, label="chance")
    mark_operating_points(
        ax, points, colours, lambda label, far, tar: f"{label}: TAR {tar:.3f} @ FAR {far:.2g}"
    )
    if log_far:
        ax.set_xscale("log")
    ax.set(xlabel="false accept rate (FAR)", ylabel="true accept rate (TAR)", ylim=(0, 1.02))
    ax.set_title(title or "ROC")
    ax.grid(True, which="both", alpha=0.3)
    # Below the axes: inside, it would hide the curves of weak and strong verifiers alike.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=8, ncol=1)
    path = os.fspath(path)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def mark_operating_points(ax, points, colours, describe) -> None:
    """One black-edged dot per `{label: (x, y)}` in its curve's colour, with the legend
    text `describe(label, x, y)`."""
    for label, (x, y) in (points or {}).items():
        ax.plot(
            [x],
            [y],
            "o",
            markersize=7,
            markeredgecolor="black",
            color=colours.get(label),
            label=describe(label, x, y),
        )
