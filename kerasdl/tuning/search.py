"""Random search and coarse-to-fine search, as the notes organise hyperparameter tuning.

Grid search wastes trials when one hyperparameter barely matters (a 5 x 5 grid tries 5
learning rates; 25 random points try 25). Coarse to fine: sample the whole space at
random, find the region where the best points lie, zoom into it and sample more
densely there, and repeat.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from kerasdl._validation import check_one_of, check_positive_int
from kerasdl.tuning.space import (
    Choice,
    Dimension,
    LogUniform,
    OneMinusLogUniform,
    check_space,
)


def random_search(
    space: Mapping[str, Dimension], n: int, seed: int | None = None
) -> list[dict[str, Any]]:
    """`n` points drawn independently, each dimension on its own scale.

    Example:

    >>> from kerasdl.tuning.space import LogUniform, OneMinusLogUniform
    >>> points = random_search({"lr": LogUniform(1e-4, 1), "beta": OneMinusLogUniform(0.9, 0.999)},
    ...                        n=3, seed=0)
    >>> [sorted(p) for p in points]
    [['beta', 'lr'], ['beta', 'lr'], ['beta', 'lr']]
    """
    space = check_space(space)
    check_positive_int("n", n)
    rng = np.random.default_rng(seed)
    columns = {name: dim.sample(rng, n) for name, dim in space.items()}
    return [{name: _python(columns[name][i]) for name in space} for i in range(n)]


def _python(value):
    return value.item() if isinstance(value, np.generic) else value


def best_trials(
    trials: Sequence[Mapping[str, Any]], scores: Sequence[float], top_k: int, direction: str
) -> list[Mapping[str, Any]]:
    """The `top_k` trials with the best scores (ties keep their order; NaN scores last)."""
    check_one_of("direction", direction, ("min", "max"))
    scores = np.asarray(scores, "float64")
    if len(scores) != len(trials):
        raise ValueError(
            f"`scores` must have one score per trial ({len(trials)}). Received: {len(scores)}"
        )
    keyed = np.where(np.isnan(scores), np.inf, scores if direction == "min" else -scores)
    order = np.argsort(keyed, kind="stable")
    return [trials[i] for i in order[:top_k]]


def zoom(
    space: Mapping[str, Dimension],
    trials: Sequence[Mapping[str, Any]],
    scores: Sequence[float],
    top_k: int = 3,
    margin: float = 0.1,
    direction: str = "min",
) -> dict[str, Dimension]:
    """The region around the best trials: for each dimension, the range of the `top_k`
    best trials' values on that dimension's scale, widened by `margin` (a fraction of
    the current range) on each side and kept inside the current range.

    Example:

    >>> from kerasdl.tuning.space import LogUniform
    >>> space = {"lr": LogUniform(1e-4, 1.0)}
    >>> trials = [{"lr": 1e-4}, {"lr": 1e-3}, {"lr": 1e-2}, {"lr": 0.5}]
    >>> narrowed = zoom(space, trials, scores=[0.9, 0.2, 0.3, 0.8], top_k=2, margin=0.0)
    >>> round(narrowed["lr"].low, 6), round(narrowed["lr"].high, 6)
    (0.001, 0.01)
    """
    space = check_space(space)
    check_positive_int("top_k", top_k)
    if not 0.0 <= margin <= 1.0:
        raise ValueError(f"`margin` must be in [0, 1]. Received: margin={margin}")
    best = best_trials(trials, scores, top_k, direction)
    return {name: dim.zoom([t[name] for t in best], margin) for name, dim in space.items()}


@dataclasses.dataclass
class SearchResult:
    """All trials of a search, the space of each round, and the best trial.

    Attributes:
        trials: each trial's hyperparameter values, in the order run.
        scores: each trial's objective value.
        rounds: the round of each trial (0 = the coarse pass).
        spaces: the space sampled in each round.
        direction: "min" or "max".
    """

    trials: list[dict[str, Any]]
    scores: list[float]
    rounds: list[int]
    spaces: list[dict[str, Dimension]]
    direction: str

    @property
    def best_index(self) -> int:
        scores = np.asarray(self.scores, "float64")
        keyed = np.where(np.isnan(scores), np.inf, scores if self.direction == "min" else -scores)
        return int(np.argmin(keyed))

    @property
    def best(self) -> dict[str, Any]:
        """The best trial's values."""
        return self.trials[self.best_index]

    @property
    def best_score(self) -> float:
        return self.scores[self.best_index]

    def plot(
        self,
        path: str | os.PathLike,
        x: str | None = None,
        y: str | None = None,
        title: str = "Coarse to fine search",
    ) -> str:
        """Saves a scatter of the trials over two dimensions (each on its own scale: log
        for LogUniform, log of `1 - beta` for OneMinusLogUniform), coloured by round,
        with each round's region drawn as a box and the best trial starred."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Rectangle

        names = [n for n, d in self.spaces[0].items() if not isinstance(d, Choice)]
        x = x or names[0]
        y = y or (names[1] if len(names) > 1 else None)
        fig, ax = plt.subplots(figsize=(6.4, 4.8))
        cmap = plt.get_cmap("viridis", max(self.rounds) + 1)

        def coordinate(name, values):
            values = np.asarray(values, "float64")
            return 1 - values if isinstance(self.spaces[0][name], OneMinusLogUniform) else values

        xs = coordinate(x, [t[x] for t in self.trials])
        ys = coordinate(y, [t[y] for t in self.trials]) if y else np.asarray(self.scores)
        for r in sorted(set(self.rounds)):
            mask = np.asarray(self.rounds) == r
            ax.scatter(xs[mask], ys[mask], s=18, color=cmap(r), label=f"round {r + 1}")
            if y and r > 0:
                dx, dy = self.spaces[r][x], self.spaces[r][y]
                x0, x1 = sorted(coordinate(x, [dx.low, dx.high]))
                y0, y1 = sorted(coordinate(y, [dy.low, dy.high]))
                ax.add_patch(
                    Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, color=cmap(r), lw=1.5)
                )
        best = self.best_index
        ax.scatter(xs[best], ys[best], marker="*", s=220, color="tab:red", label="best")

        def label(name):
            dim = self.spaces[0][name]
            if isinstance(dim, OneMinusLogUniform):
                return f"1 - {name} (log scale)"
            return f"{name} (log scale)" if isinstance(dim, LogUniform) else name

        ax.set_xlabel(label(x))
        if isinstance(self.spaces[0][x], LogUniform | OneMinusLogUniform):
            ax.set_xscale("log")
        if y:
            ax.set_ylabel(label(y))
            if isinstance(self.spaces[0][y], LogUniform | OneMinusLogUniform):
                ax.set_yscale("log")
        else:
            ax.set_ylabel("objective")
        ax.set_title(f"{title}: best {self.best_score:.4g}")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return os.fspath(path)


def coarse_to_fine(
    objective: Callable[[dict[str, Any]], float],
    space: Mapping[str, Dimension],
    rounds: int = 3,
    trials_per_round: int = 10,
    top_k: int = 3,
    margin: float = 0.1,
    direction: str = "min",
    seed: int | None = None,
) -> SearchResult:
    """Random search over `space`, then `rounds - 1` times: zoom into the region of the
    `top_k` best trials so far (`zoom`) and sample `trials_per_round` more points there.

    Args:
        objective: maps a dict of hyperparameter values to the number to optimise
            (e.g. the dev error after a short training run). NaN counts as worst.
        space: dict name -> Dimension.
        rounds: number of rounds, the first one coarse.
        trials_per_round: points sampled per round.
        top_k: best trials (over all rounds so far) that define the next region.
        margin: widening of each region, a fraction of the current range per side.
        direction: "min" or "max" (what counts as better for `objective`).
        seed: seed of the sampling.

    Returns:
        `SearchResult`.

    Example:

    >>> import math
    >>> from kerasdl.tuning.space import LogUniform
    >>> result = coarse_to_fine(lambda p: (math.log10(p["lr"]) + 2.5) ** 2,
    ...                         {"lr": LogUniform(1e-5, 1.0)}, rounds=3, seed=0)
    >>> abs(math.log10(result.best["lr"]) + 2.5) < 0.1, len(result.trials)
    (True, 30)
    """
    space = check_space(space)
    check_positive_int("rounds", rounds)
    check_positive_int("trials_per_round", trials_per_round)
    check_positive_int("top_k", top_k)
    check_one_of("direction", direction, ("min", "max"))
    rng = np.random.default_rng(seed)
    trials, scores, round_of, spaces = [], [], [], []
    current = space
    for r in range(rounds):
        if r > 0:
            current = zoom(current, trials, scores, top_k, margin, direction)
        spaces.append(current)
        for point in random_search(current, trials_per_round, seed=rng.integers(2**31)):
            trials.append(point)
            scores.append(float(objective(point)))
            round_of.append(r)
    return SearchResult(trials, scores, round_of, spaces, direction)
