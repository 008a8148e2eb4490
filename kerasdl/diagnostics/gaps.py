"""Bias, variance and data mismatch from the errors on each split (ML strategy).

With human-level error as the proxy for Bayes error, the notes read the gaps between
consecutive errors:

    avoidable bias   = training error     - human-level error
    variance         = training-dev error - training error
    data mismatch    = dev error          - training-dev error
    overfitting dev  = test error         - dev error

Without a training-dev set (train and dev from one distribution), variance is
`dev - training` as in the notes' first form, and data mismatch cannot be told apart.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

import numpy as np

GAPS = ("avoidable_bias", "variance", "data_mismatch", "dev_overfitting")

GAP_TITLES = {
    "avoidable_bias": "avoidable bias",
    "variance": "variance",
    "data_mismatch": "data mismatch",
    "dev_overfitting": "overfitting to the dev set",
}

# The tactics the notes list for each gap ("Reducing (avoidable) bias and variance",
# "Addressing data mismatch"); a gap between dev and test means the dev set was overfit
# by tuning on it, which a bigger dev set fixes.
REMEDIES = {
    "avoidable_bias": (
        "Train a bigger model",
        "Train longer / better optimization algorithms (momentum, RMSprop, Adam)",
        "NN architecture / hyperparameters search",
    ),
    "variance": (
        "More data",
        "Regularization (L2, dropout, data augmentation)",
        "NN architecture / hyperparameters search",
    ),
    "data_mismatch": (
        "Carry out manual error analysis to understand the differences between the "
        "training set and the dev/test sets",
        "Make training data more similar (artificial data synthesis), or collect more "
        "data similar to the dev/test sets",
    ),
    "dev_overfitting": ("Get a bigger dev set",),
}

SPLITS = (
    ("human_level_error", "Human-level (Bayes proxy)"),
    ("train_error", "Training"),
    ("train_dev_error", "Training-dev"),
    ("dev_error", "Dev"),
    ("test_error", "Test"),
)


def _check_error(name: str, value, optional: bool = True):
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise TypeError(f"`{name}` must be a number in [0, 1]. Received: {name}={value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"`{name}` must be in [0, 1]. Received: {name}={value}")
    return float(value)


@dataclasses.dataclass(frozen=True)
class ErrorGaps:
    """The errors on each split and the gaps between them.

    Args:
        human_level_error: human-level error, the proxy for Bayes error, in [0, 1].
        train_error: error on the training set.
        train_dev_error: error on the training-dev set (training distribution, not
            trained on), or None.
        dev_error: error on the dev set, or None.
        test_error: error on the test set, or None.

    Example:

    >>> gaps = ErrorGaps(0.01, train_error=0.02, train_dev_error=0.03, dev_error=0.10)
    >>> {k: round(v, 4) for k, v in gaps.gaps().items()}
    {'avoidable_bias': 0.01, 'variance': 0.01, 'data_mismatch': 0.07}
    >>> gaps.largest
    'data_mismatch'
    """

    human_level_error: float
    train_error: float
    train_dev_error: float | None = None
    dev_error: float | None = None
    test_error: float | None = None

    def __post_init__(self):
        for field in dataclasses.fields(self):
            optional = field.name not in ("human_level_error", "train_error")
            value = _check_error(field.name, getattr(self, field.name), optional)
            object.__setattr__(self, field.name, value)

    @property
    def avoidable_bias(self) -> float:
        """Training error - human-level error."""
        return self.train_error - self.human_level_error

    @property
    def variance(self) -> float | None:
        """Training-dev - training error; dev - training error without a training-dev set."""
        if self.train_dev_error is not None:
            return self.train_dev_error - self.train_error
        if self.dev_error is not None:
            return self.dev_error - self.train_error
        return None

    @property
    def data_mismatch(self) -> float | None:
        """Dev error - training-dev error (None unless both are known)."""
        if self.train_dev_error is None or self.dev_error is None:
            return None
        return self.dev_error - self.train_dev_error

    @property
    def dev_overfitting(self) -> float | None:
        """Test error - dev error, the degree of overfitting to the dev set."""
        if self.test_error is None or self.dev_error is None:
            return None
        return self.test_error - self.dev_error

    def gaps(self) -> dict[str, float]:
        """Every gap that the given errors determine, in the notes' order."""
        values = {name: getattr(self, name) for name in GAPS}
        return {name: value for name, value in values.items() if value is not None}

    @property
    def largest(self) -> str:
        """The name of the largest gap: the problem to work on first."""
        gaps = self.gaps()
        return max(gaps, key=gaps.get)

    @property
    def remedies(self) -> tuple[str, ...]:
        """The notes' tactics for the largest gap."""
        return REMEDIES[self.largest]

    def errors(self) -> dict[str, float]:
        """The known errors by split name, human level first."""
        return {name: getattr(self, name) for name, _ in SPLITS if getattr(self, name) is not None}

    def to_dict(self) -> dict[str, float]:
        """Errors and gaps in one flat dict (the keys the callbacks log)."""
        return {**self.errors(), **self.gaps()}

    def summary(self) -> str:
        """One paragraph: the errors, the gaps, the largest one and what to try."""
        errors = ", ".join(f"{title} {getattr(self, n):.2%}" for n, title in self._rows())
        gaps = ", ".join(f"{GAP_TITLES[n]} {v:+.2%}" for n, v in self.gaps().items())
        lines = [f"Errors: {errors}.", f"Gaps: {gaps}."]
        lines.append(f"Largest gap: {GAP_TITLES[self.largest]}. Try:")
        lines += [f"  - {remedy}" for remedy in self.remedies]
        if self.avoidable_bias < 0:
            lines.append(
                "  (training error is below the human-level estimate: by this measure no "
                "avoidable bias is left, and past human level its guidance on bias ends)"
            )
        return "\n".join(lines)

    def _rows(self):
        return [(name, title) for name, title in SPLITS if getattr(self, name) is not None]

    def to_markdown(self) -> str:
        """The notes' human-level comparison table: each error and the gap it opens.

        Example:

        >>> print(ErrorGaps(0.01, 0.07, dev_error=0.10).to_markdown())
        | Split | Error | Gap to the row above |
        |---|---:|---|
        | Human-level (Bayes proxy) | 1.00% |  |
        | Training | 7.00% | avoidable bias 6.00% |
        | Dev | 10.00% | variance 3.00% |
        """
        gap_of_row = {
            "train_error": "avoidable_bias",
            "train_dev_error": "variance",
            "dev_error": "data_mismatch" if self.train_dev_error is not None else "variance",
            "test_error": "dev_overfitting",
        }
        lines = ["| Split | Error | Gap to the row above |", "|---|---:|---|"]
        for name, title in self._rows():
            gap = gap_of_row.get(name)
            value = getattr(self, gap) if gap else None
            text = f"{GAP_TITLES[gap]} {value:.2%}" if value is not None else ""
            lines.append(f"| {title} | {getattr(self, name):.2%} | {text} |")
        return "\n".join(lines)


def comparison_table(reports: Mapping[str, ErrorGaps]) -> str:
    """A markdown table with one column per named report (e.g. before / after a change).

    Example:

    >>> before = ErrorGaps(0.01, 0.08, 0.09, 0.10)
    >>> after = ErrorGaps(0.01, 0.02, 0.03, 0.10)
    >>> print(comparison_table({"small net": before, "big net": after}))
    | | small net | big net |
    |---|---:|---:|
    | Human-level (Bayes proxy) | 1.00% | 1.00% |
    | Training | 8.00% | 2.00% |
    | Training-dev | 9.00% | 3.00% |
    | Dev | 10.00% | 10.00% |
    | avoidable bias | 7.00% | 1.00% |
    | variance | 1.00% | 1.00% |
    | data mismatch | 1.00% | 7.00% |
    | **largest gap** | avoidable bias | data mismatch |
    """
    if not reports:
        raise ValueError("`reports` must name at least one ErrorGaps. Received: reports={}")
    names = list(reports)
    lines = ["| | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]

    def cell(value):
        return "" if value is None else f"{value:.2%}"

    for attribute, title in SPLITS:
        values = [getattr(reports[n], attribute) for n in names]
        if any(v is not None for v in values):
            lines.append(f"| {title} | " + " | ".join(cell(v) for v in values) + " |")
    for gap in GAPS:
        values = [getattr(reports[n], gap) for n in names]
        if any(v is not None for v in values):
            lines.append(f"| {GAP_TITLES[gap]} | " + " | ".join(cell(v) for v in values) + " |")
    largest = [GAP_TITLES[reports[n].largest] for n in names]
    lines.append("| **largest gap** | " + " | ".join(largest) + " |")
    return "\n".join(lines)


def plot_error_gaps(
    reports: ErrorGaps | Mapping[str, ErrorGaps], path: str | os.PathLike, title: str = ""
) -> str:
    """Saves the error "staircase" of each report as a PNG: one bar per split, the gap to
    the split before annotated, and the largest gap highlighted.

    Returns:
        The path written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if isinstance(reports, ErrorGaps):
        reports = {"": reports}
    fig, axes = plt.subplots(
        1, len(reports), figsize=(4.6 * len(reports), 3.8), squeeze=False, sharey=True
    )
    gap_after = {
        "train_error": "avoidable_bias",
        "train_dev_error": "variance",
        "dev_error": "data_mismatch",
        "test_error": "dev_overfitting",
    }
    for ax, (name, report) in zip(axes[0], reports.items(), strict=True):
        rows = report._rows()
        values = [getattr(report, key) for key, _ in rows]
        colors = []
        for key, _ in rows:
            gap = gap_after.get(key)
            if gap == "data_mismatch" and report.train_dev_error is None:
                gap = None
            if key == "dev_error" and report.train_dev_error is None:
                gap = "variance"
            colors.append("tab:red" if gap == report.largest else "tab:blue")
        colors[0] = "tab:gray"
        positions = np.arange(len(rows))
        ax.bar(positions, values, color=colors)
        for i in range(1, len(rows)):
            delta = values[i] - values[i - 1]
            ax.annotate(
                f"{delta:+.1%}",
                (positions[i], values[i]),
                ha="center",
                va="bottom",
                fontsize=9,
            )
        ax.set_xticks(positions, [title.split(" (")[0] for _, title in rows], rotation=20)
        ax.set_title(f"{name}\nlargest: {GAP_TITLES[report.largest]}".strip(), fontsize=10)
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    axes[0, 0].set_ylabel("error")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return os.fspath(path)
