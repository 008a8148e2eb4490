"""Learning curves: errors per epoch, and errors against the training set size.

The training-size curve is how the notes' "more data" remedy is judged before paying
for data: when dev error still falls as the training set grows while training error
stays near human level, the gap is variance and more data helps; when both flatten
far above human level, the gap is bias and more data will not close it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from kerasdl.diagnostics.errors import model_error
from kerasdl.diagnostics.gaps import GAP_TITLES, GAPS

ERROR_KEYS = (
    ("train_error", "training"),
    ("train_dev_error", "training-dev"),
    ("dev_error", "dev"),
    ("test_error", "test"),
)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return matplotlib, plt


def plot_learning_curves(
    history: Mapping[str, Sequence[float]] | Any,
    path: str | os.PathLike,
    human_level_error: float | None = None,
    title: str = "",
) -> str:
    """Saves per-epoch errors (and the gaps between them, when logged) as a PNG.

    Args:
        history: a dict of per-epoch lists with keys among "train_error",
            "train_dev_error", "dev_error", "test_error" and the gap names (what
            `BiasVarianceMonitor` logs), or a `keras.callbacks.History`.
        path: the PNG to write.
        human_level_error: drawn as the Bayes-error proxy line.
        title: figure title.

    Returns:
        The path written.
    """
    history = getattr(history, "history", history)
    errors = [(key, label) for key, label in ERROR_KEYS if key in history]
    if not errors:
        raise ValueError(
            "`history` must hold at least one of "
            f"{[key for key, _ in ERROR_KEYS]}. Received keys: {sorted(history)}"
        )
    gaps = [name for name in GAPS if name in history]
    matplotlib, plt = _pyplot()
    fig, axes = plt.subplots(1, 2 if gaps else 1, figsize=(11 if gaps else 6, 4), squeeze=False)
    ax = axes[0, 0]
    for key, label in errors:
        values = np.asarray(history[key], float)
        ax.plot(np.arange(1, len(values) + 1), values, marker="o", markersize=3, label=label)
    if human_level_error is not None:
        ax.axhline(human_level_error, color="k", linestyle="--", label="human level")
    ax.set(xlabel="epoch", ylabel="error", title=title or "Errors per epoch")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.legend()
    if gaps:
        ax = axes[0, 1]
        for name in gaps:
            values = np.asarray(history[name], float)
            ax.plot(
                np.arange(1, len(values) + 1),
                values,
                marker="o",
                markersize=3,
                label=GAP_TITLES[name],
            )
        ax.axhline(0, color="k", linewidth=0.6)
        ax.set(xlabel="epoch", ylabel="gap", title="Gaps per epoch")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return os.fspath(path)


@dataclasses.dataclass(frozen=True)
class LearningCurve:
    """Training and dev error of fresh models trained on growing training subsets."""

    sizes: np.ndarray
    train_errors: np.ndarray
    dev_errors: np.ndarray

    def plot(
        self,
        path: str | os.PathLike,
        human_level_error: float | None = None,
        title: str = "Learning curve",
    ) -> str:
        """Saves error against training set size (log x axis) as a PNG."""
        matplotlib, plt = _pyplot()
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(self.sizes, self.train_errors, marker="o", label="training")
        ax.plot(self.sizes, self.dev_errors, marker="o", label="dev")
        if human_level_error is not None:
            ax.axhline(human_level_error, color="k", linestyle="--", label="human level")
        ax.set(xscale="log", xlabel="training examples", ylabel="error", title=title)
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return os.fspath(path)


def learning_curve(
    make_model: Callable[[], Any],
    train: tuple[Any, Any],
    dev: tuple[Any, Any],
    sizes: Sequence[int],
    fit_kwargs: Mapping[str, Any] | None = None,
    threshold: float = 0.5,
    seed: int = 0,
) -> LearningCurve:
    """Trains `make_model()` afresh on the first `size` shuffled training examples for each
    size and measures its misclassification error on that subset and on `dev`.

    Args:
        make_model: returns a new compiled Keras model.
        train: `(x, y)` arrays of the training set.
        dev: `(x, y)` arrays of the dev set.
        sizes: increasing training subset sizes, each <= the training set size.
        fit_kwargs: arguments for `model.fit` (epochs, batch_size, ...).
        threshold: decision threshold for single-output (sigmoid) models.
        seed: seed of the shuffle that orders the training examples (subsets are nested).

    Returns:
        `LearningCurve`.
    """
    x, y = train
    sizes = np.asarray(sizes, "int64")
    if sizes.ndim != 1 or len(sizes) == 0 or np.any(sizes <= 0) or np.any(sizes > len(x)):
        raise ValueError(
            f"`sizes` must be positive counts <= {len(x)} (the training set size). "
            f"Received: sizes={sizes.tolist()}"
        )
    order = np.random.default_rng(seed).permutation(len(x))
    fit_kwargs = {"verbose": 0, **(fit_kwargs or {})}
    train_errors, dev_errors = [], []
    for size in sizes:
        subset = order[:size]
        model = make_model()
        model.fit(x[subset], y[subset], **fit_kwargs)
        train_errors.append(model_error(model, (x[subset], y[subset]), threshold))
        dev_errors.append(model_error(model, dev, threshold))
    return LearningCurve(sizes, np.array(train_errors), np.array(dev_errors))
