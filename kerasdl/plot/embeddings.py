"""Word embeddings mapped to 2-D with t-SNE, drawn as a labelled scatter plot (PNG)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

TSNE_METRICS = ("euclidean", "cosine")
TSNE_METHODS = ("barnes_hut", "exact")
OTHER_COLOUR = "#9e9e9e"


def _check_groups(groups, colors, words):
    """`{group: sorted point indices}` and `{group: colour}`; errors name the bad entry."""
    if groups is None:
        if colors is not None:
            raise ValueError("`colors` needs `groups`: it maps group names to colours.")
        return {}, {}
    if not isinstance(groups, Mapping):
        raise TypeError(
            "`groups` must map a group name to its words, e.g. {'female': ['queen', 'her']}. "
            f"Received: groups of type {type(groups).__name__}"
        )
    where: dict[str, list[int]] = {}
    for index, word in enumerate(words):
        where.setdefault(word, []).append(index)
    members: dict[str, list[int]] = {}
    taken: dict[int, str] = {}
    for name, group_words in groups.items():
        if isinstance(group_words, str):
            raise TypeError(
                f"`groups[{name!r}]` must be a list of words, not one string. "
                f"Received: {group_words!r}"
            )
        indices = []
        for word in group_words:
            if word not in where:
                raise ValueError(
                    f"`groups[{name!r}]` must list words of `words`. Received: {word!r}, "
                    "which is not among them"
                )
            for index in where[word]:
                if index in taken and taken[index] != name:
                    raise ValueError(
                        f"`groups` must not share words. Received: {word!r} in both "
                        f"{taken[index]!r} and {name!r}"
                    )
                taken[index] = name
                indices.append(index)
        members[name] = sorted(set(indices))
    colours = dict(colors or {})
    unknown = sorted(set(colours) - set(members), key=str)
    if unknown:
        raise ValueError(
            f"`colors` must name groups of `groups` {list(members)}. Received: {unknown}"
        )
    return members, colours


def embeddings_tsne(
    vectors: Any,
    words: Sequence[str],
    path: str | os.PathLike,
    groups: Mapping[str, Sequence[str]] | None = None,
    colors: Mapping[str, Any] | None = None,
    perplexity: float = 30.0,
    seed: int = 0,
    metric: str = "euclidean",
    method: str = "barnes_hut",
    title: str | None = None,
) -> np.ndarray:
    """Maps word vectors to 2-D with t-SNE and saves a labelled scatter plot as PNG.

    The notes: "to visualize [300-dimensional embeddings], algorithms like t-SNE map
    this to a much lower dimensional space". The map is scikit-learn's
    `TSNE(n_components=2, perplexity=perplexity, metric=metric, method=method,
    init="pca", learning_rate="auto", random_state=seed)`, so the same arguments give the
    same picture.
    Each point carries its word; `groups` colours sets of words (e.g. male and female
    words, or words of one topic) and leaves the rest grey.

    Args:
        vectors: `[N, d]` word vectors (rows of an embedding matrix), N >= 2.
        words: the N words, one per row (the point labels).
        path: where to write the PNG.
        groups: optional `{name: [word, ...]}` highlight groups (disjoint), in the legend.
        colors: optional `{name: colour}` for some or all groups (any matplotlib colour);
            the others take the "tab10" colours in order.
        perplexity: t-SNE's effective number of neighbours (scikit-learn's 30), > 0 and
            < N; small sets of words need a small value (5-10 for a few dozen words).
        seed: the random seed of t-SNE.
        metric: "euclidean" (default) or "cosine" distances between the vectors.
        method: "barnes_hut" (default, O(N log N)) or "exact" (O(N^2), for a few hundred
            words; it runs no OpenMP threads, which spin on a busy CPU).
        title: optional figure title.

    Returns:
        The 2-D coordinates `[N, 2]` (float64), in the order of `words`.

    Raises:
        ValueError/TypeError: when `vectors` is not `[N, d]` with `N = len(words)` >= 2
            finite rows, `perplexity` is not in (0, N), a group names a word that is not
            in `words` or shares one with another group, or `colors` names an unknown group.

    Example:

    >>> import os, tempfile
    >>> vectors = np.random.default_rng(0).normal(size=(12, 5))
    >>> words = [f"w{i}" for i in range(12)]
    >>> out = os.path.join(tempfile.mkdtemp(), "tsne.png")
    >>> xy = embeddings_tsne(vectors, words, out, groups={"even": words[::2]}, perplexity=4,
    ...                      method="exact")
    >>> xy.shape, os.path.isfile(out)
    ((12, 2), True)
    """
    from sklearn.manifold import TSNE

    matrix = np.asarray(vectors, dtype=np.float64)
    words = [str(word) for word in words]
    if matrix.ndim != 2 or matrix.shape[0] != len(words) or matrix.shape[0] < 2:
        raise ValueError(
            f"`vectors` must have shape [N, d] with N = len(words) = {len(words)} >= 2. "
            f"Received: vectors.shape={matrix.shape}"
        )
    if not np.all(np.isfinite(matrix)):
        raise ValueError("`vectors` must be finite. Received: a matrix with NaN or inf")
    count = matrix.shape[0]
    if isinstance(perplexity, bool) or not isinstance(perplexity, int | float):
        raise TypeError(f"`perplexity` must be a number. Received: perplexity={perplexity!r}")
    if not 0 < perplexity < count:
        raise ValueError(
            f"`perplexity` must be > 0 and < the number of points N={count} (it is t-SNE's "
            f"effective number of neighbours). Received: perplexity={perplexity}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"`seed` must be an int. Received: seed={seed!r}")
    if metric not in TSNE_METRICS:
        raise ValueError(f"`metric` must be one of {TSNE_METRICS}. Received: metric={metric!r}")
    if method not in TSNE_METHODS:
        raise ValueError(f"`method` must be one of {TSNE_METHODS}. Received: method={method!r}")
    members, colours = _check_groups(groups, colors, words)

    points = TSNE(
        n_components=2,
        perplexity=float(perplexity),
        metric=metric,
        method=method,
        init="pca",
        learning_rate="auto",
        random_state=int(seed),
    ).fit_transform(matrix)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    palette = plt.get_cmap("tab10").colors
    free = iter(palette)
    fig, ax = plt.subplots(figsize=(8, 6.5))
    grouped = np.zeros(count, bool)
    for indices in members.values():
        grouped[indices] = True
    others = np.flatnonzero(~grouped)
    if others.size:
        label = "other words" if members else None
        ax.scatter(*points[others].T, s=18, color=OTHER_COLOUR, label=label, zorder=2)
    text_colour: list[Any] = ["#424242"] * count
    for name, indices in members.items():
        colour = colours[name] if name in colours else next(free, OTHER_COLOUR)
        ax.scatter(*points[indices].T, s=30, color=colour, label=str(name), zorder=3)
        for index in indices:
            text_colour[index] = colour
    # Offsets in points keep each label beside its dot whatever the axis scale.
    for (x, y), word, colour in zip(points, words, text_colour, strict=True):
        ax.annotate(
            word, (x, y), xytext=(3, 3), textcoords="offset points", fontsize=8, color=colour
        )
    ax.set_title(title or f"t-SNE of {count} word vectors (perplexity {perplexity:g})")
    ax.margins(0.08)  # room for the labels of the outermost points
    ax.set_xticks([])
    ax.set_yticks([])
    if members:
        ax.legend(loc="best", fontsize=8)
    path = os.fspath(path)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return points.astype(np.float64)
