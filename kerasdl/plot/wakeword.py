"""A wake-word detector's errors as PNG: recall per trigger name, false activations per
source (`kerasdl.verification.wakeword_errors`)."""

from __future__ import annotations

import os
from typing import Any


def plot_wakeword_errors(
    errors: Any, path: str | os.PathLike, top: int = 15, title: str | None = None
) -> str:
    """Draws a `WakeWordErrors` as two bar charts: the recall of the `top` most missed
    trigger names (groups) with their counts, and the `top` most frequent sources of false
    activations.

    Args:
        errors: a `kerasdl.verification.wakeword.WakeWordErrors`.
        path: where to write the PNG.
        top: bars per chart (>= 1).
        title: optional figure title (the threshold is added).

    Returns:
        The path written.

    Example:

    >>> import os, tempfile
    >>> from kerasdl.verification.wakeword import WakeWordErrors
    >>> errors = WakeWordErrors(0.9, [("activate / rms", 1, 4), ("activate / kal", 4, 4)],
    ...                         [("captivate / slt", 3), ("background", 1)])
    >>> out = os.path.join(tempfile.mkdtemp(), "errors.png")
    >>> plot_wakeword_errors(errors, out) == out
    True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if not all(hasattr(errors, a) for a in ("threshold", "triggers", "false_activations")):
        raise TypeError(
            "`errors` must be a WakeWordErrors (kerasdl.verification.wakeword_errors). "
            f"Received: {errors!r:.80}"
        )
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"`top` must be an integer >= 1. Received: top={top!r}")
    triggers = list(errors.triggers)[:top]
    sources = list(errors.false_activations)[:top]
    rows = max(len(triggers), len(sources), 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 1.2 + 0.32 * rows))
    if triggers:
        names = [name for name, _, _ in triggers][::-1]
        recall = [hit / total for _, hit, total in triggers][::-1]
        bars = left.barh(names, recall, color="tab:blue")
        for bar, (_, hit, total) in zip(bars, triggers[::-1], strict=True):
            left.text(1.01, bar.get_y() + bar.get_height() / 2, f"{hit}/{total}", va="center")
    else:
        left.text(0.5, 0.5, "no triggers", ha="center", va="center")
        left.set_yticks([])
    left.set(xlim=(0, 1.15), xlabel="recall", title="triggers, most missed first")
    if sources:
        names = [name for name, _ in sources][::-1]
        counts = [count for _, count in sources][::-1]
        right.barh(names, counts, color="tab:red")
        right.set_xlim(0, max(counts) * 1.1)
        right.xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        right.text(0.5, 0.5, "no false activations", ha="center", va="center")
        right.set(xticks=[], yticks=[])
    right.set(xlabel="false activations", title="false activations after")
    for axis in (left, right):
        axis.tick_params(axis="y", labelsize=8)
        axis.grid(True, axis="x", alpha=0.3)
    heading = f"threshold {errors.threshold:.6g}"
    fig.suptitle(f"{title}: {heading}" if title else heading)
    fig.tight_layout()
    path = os.fspath(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
