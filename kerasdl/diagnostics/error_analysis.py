"""Error analysis: count the categories of dev-set mistakes and the ceiling of fixing each.

The notes' procedure: take the misclassified dev examples, tag each with the categories
it falls in (an example may have several: "dog", "blurry", "incorrectly labeled", ...),
and count. The fraction of errors in a category is the ceiling on what fixing that
category can bring: even solving it completely removes at most

    ceiling_c = (errors tagged c / errors looked at) * dev error

of the dev error.
"""

from __future__ import annotations

import dataclasses
import io
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class ErrorAnalysis:
    """Counts and ceilings of the error categories, most frequent first.

    Attributes:
        categories: category names, most frequent first.
        counts: errors tagged with each category.
        n_errors: errors looked at (an error may be in several categories or none).
        dev_error: the dev error the errors come from, or None.
        tags: boolean `[n_errors, n_categories]` table, columns in `categories` order.
    """

    categories: tuple[str, ...]
    counts: np.ndarray
    n_errors: int
    dev_error: float | None
    tags: np.ndarray

    @property
    def fractions(self) -> np.ndarray:
        """Share of the errors looked at that fall in each category."""
        return self.counts / max(self.n_errors, 1)

    @property
    def ceilings(self) -> np.ndarray | None:
        """The most each category can take off the dev error: `fraction * dev_error`."""
        return None if self.dev_error is None else self.fractions * self.dev_error

    def rows(self) -> list[dict[str, Any]]:
        """One dict per category: name, count, fraction and (with a dev error) the
        ceiling and the dev error left if the category were fixed entirely."""
        rows = []
        for i, name in enumerate(self.categories):
            row = {
                "category": name,
                "count": int(self.counts[i]),
                "fraction": float(self.fractions[i]),
            }
            if self.dev_error is not None:
                row["ceiling"] = float(self.ceilings[i])
                row["dev_error_if_fixed"] = float(self.dev_error - self.ceilings[i])
            rows.append(row)
        return rows

    def to_markdown(self) -> str:
        """The spreadsheet of the notes as a markdown table.

        Example:

        >>> tags = {"dog": [1, 0, 0, 1], "blurry": [1, 1, 1, 0]}
        >>> print(error_analysis(4, tags, dev_error=0.1).to_markdown())
        | Category | Errors | % of errors | Ceiling (dev error -) | Dev error if fixed |
        |---|---:|---:|---:|---:|
        | blurry | 3 | 75.0% | 7.50% | 2.50% |
        | dog | 2 | 50.0% | 5.00% | 5.00% |
        <BLANKLINE>
        4 errors looked at; dev error 10.00%.
        """
        header = "| Category | Errors | % of errors |"
        rule = "|---|---:|---:|"
        if self.dev_error is not None:
            header += " Ceiling (dev error -) | Dev error if fixed |"
            rule += "---:|---:|"
        lines = [header, rule]
        for row in self.rows():
            line = f"| {row['category']} | {row['count']} | {row['fraction']:.1%} |"
            if self.dev_error is not None:
                line += f" {row['ceiling']:.2%} | {row['dev_error_if_fixed']:.2%} |"
            lines.append(line)
        footer = f"{self.n_errors} errors looked at"
        if self.dev_error is not None:
            footer += f"; dev error {self.dev_error:.2%}"
        return "\n".join(lines) + "\n\n" + footer + "."

    def to_csv(self, path: str | os.PathLike | None = None) -> str:
        """The table as CSV text; also written to `path` when given."""
        import csv

        buffer = io.StringIO()
        rows = self.rows()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["category"])
        writer.writeheader()
        writer.writerows(rows)
        text = buffer.getvalue()
        if path is not None:
            with open(path, "w", newline="") as f:
                f.write(text)
        return text

    def plot(self, path: str | os.PathLike, title: str = "Error analysis") -> str:
        """A horizontal bar chart of each category's share of the errors (and ceiling)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        n = len(self.categories)
        fig, ax = plt.subplots(figsize=(7, 0.5 * n + 1.6))
        positions = np.arange(n)[::-1]
        ax.barh(positions, self.fractions, color="tab:orange")
        for position, i in zip(positions, range(n), strict=True):
            label = f"{self.counts[i]} ({self.fractions[i]:.0%})"
            if self.dev_error is not None:
                label += f"  ceiling -{self.ceilings[i]:.2%}"
            ax.text(self.fractions[i], position, " " + label, va="center", fontsize=9)
        ax.set_yticks(positions, self.categories)
        ax.set_xlim(0, 1.45)  # room for the labels right of the bars
        ax.set_xticks(np.linspace(0, 1, 6))
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        subtitle = f"{self.n_errors} errors"
        if self.dev_error is not None:
            subtitle += f", dev error {self.dev_error:.2%}"
        ax.set(xlabel="share of the errors looked at", title=f"{title} ({subtitle})")
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return os.fspath(path)


def _table_from_callable(errors, tag_fn, categories):
    tagged = [set(_as_names(tag_fn(example))) for example in errors]
    names = list(categories) if categories is not None else sorted(set().union(*tagged))
    unknown = set().union(*tagged) - set(names)
    if unknown:
        raise ValueError(
            f"`tags` returned categories missing from `categories`: {sorted(unknown)}. "
            f"Received: categories={list(categories)}"
        )
    table = np.array([[name in t for name in names] for t in tagged], bool).reshape(
        len(tagged), len(names)
    )
    return names, table


def _as_names(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [str(k) for k, v in value.items() if v]
    return [str(v) for v in value]


def error_analysis(
    errors: int | Sequence[Any],
    tags: Callable[[Any], Any] | Mapping[str, Any] | np.ndarray,
    categories: Sequence[str] | None = None,
    dev_error: float | None = None,
) -> ErrorAnalysis:
    """Counts error categories and the ceiling of fixing each one.

    Args:
        errors: the misclassified examples looked at (any objects, passed to a `tags`
            function), or just their number when `tags` is a table.
        tags: how each error is tagged, one of
            - a function of one error returning its category names (an iterable of
              names, one name, or a dict name -> bool);
            - a table: a mapping category -> sequence of `n_errors` bools (a pandas
              DataFrame of booleans works), or a boolean array `[n_errors, n_categories]`
              with the names in `categories`.
        categories: category names and order for an array table; for a function, the
            allowed names (others raise), so categories with no error still show.
        dev_error: the dev error the errors were sampled from; enables the ceilings.

    Returns:
        `ErrorAnalysis`, categories sorted by count (ties keep their order).

    Example:

    >>> errors = ["dog", "great cat", "dog blurry", "blurry", "cat"]
    >>> result = error_analysis(errors, lambda e: e.split(), dev_error=0.10)
    >>> [(r["category"], r["count"], round(r["ceiling"], 3)) for r in result.rows()]
    [('blurry', 2, 0.04), ('cat', 2, 0.04), ('dog', 2, 0.04), ('great', 1, 0.02)]
    """
    if dev_error is not None and not 0.0 <= float(dev_error) <= 1.0:
        raise ValueError(f"`dev_error` must be in [0, 1]. Received: dev_error={dev_error}")
    if callable(tags) and not isinstance(tags, Mapping):
        if isinstance(errors, int):
            raise TypeError(
                "`errors` must be the examples themselves when `tags` is a function. "
                f"Received: errors={errors}"
            )
        names, table = _table_from_callable(list(errors), tags, categories)
    elif hasattr(tags, "keys"):
        names = [str(k) for k in tags.keys()]
        columns = [np.asarray(tags[k]).astype(bool).reshape(-1) for k in tags.keys()]
        if len({len(c) for c in columns}) > 1:
            raise ValueError(
                "`tags` columns must all have one entry per error. Received lengths "
                + str({name: len(c) for name, c in zip(names, columns, strict=True)})
            )
        table = np.stack(columns, axis=1) if columns else np.zeros((0, 0), bool)
    else:
        table = np.asarray(tags)
        if table.ndim != 2:
            raise ValueError(
                "`tags` as an array must be a boolean table [n_errors, n_categories]. "
                f"Received: tags.shape={table.shape}"
            )
        if categories is None or len(categories) != table.shape[1]:
            raise ValueError(
                f"`categories` must name the {table.shape[1]} columns of `tags`. "
                f"Received: categories={categories}"
            )
        names, table = [str(c) for c in categories], table.astype(bool)
    n_errors = errors if isinstance(errors, int) else len(errors)
    if table.shape[0] != n_errors:
        raise ValueError(
            f"`tags` must tag each of the {n_errors} errors. Received: {table.shape[0]} rows"
        )
    counts = table.sum(axis=0).astype("int64")
    order = np.argsort(-counts, kind="stable")
    return ErrorAnalysis(
        categories=tuple(names[i] for i in order),
        counts=counts[order],
        n_errors=int(n_errors),
        dev_error=None if dev_error is None else float(dev_error),
        tags=table[:, order],
    )
