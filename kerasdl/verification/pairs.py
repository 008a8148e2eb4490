"""Labelled pairs for training and measuring verifiers."""

from __future__ import annotations

import numpy as np


def _check_labels(labels) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(
            f"`labels` must be 1-D, one identity per example. Received: labels.shape={labels.shape}"
        )
    return labels


def all_pairs(encodings, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every unordered pair `i < j` of a set of encodings: distance and same/different.

    Args:
        encodings: `(n, D)` encodings `f(x)`.
        labels: `(n,)` identities.

    Returns:
        `(distances, same, index)`: the `n (n - 1) / 2` Euclidean distances
        `||f(x_i) - f(x_j)||` (float64), whether `labels[i] == labels[j]`, and the
        `(n (n - 1) / 2, 2)` pair indices `(i, j)`. Memory grows as `n^2`: a few
        thousand encodings at a time.

    Example:

    >>> distances, same, index = all_pairs([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]], [7, 8, 7])
    >>> distances.tolist(), same.tolist(), index.tolist()
    ([5.0, 1.0, 4.242640687119285], [False, True, False], [[0, 1], [0, 2], [1, 2]])
    """
    encodings = np.asarray(encodings, np.float64)
    labels = _check_labels(labels)
    if encodings.ndim != 2 or len(encodings) != len(labels):
        raise ValueError(
            "`encodings` must have shape (n, D) with n = len(labels) = "
            f"{len(labels)}. Received: encodings.shape={encodings.shape}"
        )
    i, j = np.triu_indices(len(labels), k=1)
    squared = np.sum(encodings**2, axis=1)
    gram = encodings @ encodings.T
    distances = np.sqrt(np.maximum(squared[i] + squared[j] - 2 * gram[i, j], 0))
    return distances, labels[i] == labels[j], np.stack([i, j], axis=1)


def balanced_pairs(
    labels, num_pairs: int, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Random pairs, half of the same identity and half of different ones, to train a
    pair classifier (e.g. `siamese_pair_classifier`) with binary cross-entropy.

    Args:
        labels: `(n,)` identities; at least one identity must have two examples, and
            there must be two identities.
        num_pairs: how many pairs (an odd count gets one more different pair).
        seed: seed of the random choice.

    Returns:
        `(index, same)`: `(num_pairs, 2)` example indices `(i, j)` with `i != j`, and
        `(num_pairs,)` float32 targets, 1 for the same identity and 0 otherwise.

    Example:

    >>> index, same = balanced_pairs([0, 0, 1, 1, 2], num_pairs=6, seed=0)
    >>> index.shape, same.tolist()
    ((6, 2), [1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    """
    labels = _check_labels(labels)
    if isinstance(num_pairs, bool) or not isinstance(num_pairs, int) or num_pairs <= 0:
        raise ValueError(f"`num_pairs` must be an int > 0. Received: num_pairs={num_pairs!r}")
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if len(counts) < 2 or counts.max() < 2:
        raise ValueError(
            "`labels` must have two identities and one with two examples to make same and "
            f"different pairs. Received: {len(counts)} identities, at most {counts.max()} "
            "examples each"
        )
    rng = np.random.default_rng(seed)
    num_same = num_pairs // 2
    num_different = num_pairs - num_same
    # Same pairs: an anchor whose identity has another example, then one of those others.
    by_label = np.argsort(inverse, kind="stable")
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    eligible = np.flatnonzero(counts[inverse] >= 2)
    first = rng.choice(eligible, size=num_same)
    group = inverse[first]
    position = np.argsort(by_label)[first] - starts[group]  # where `first` sits in its group
    offset = rng.integers(1, counts[group])  # any other member: shift by 1..count-1
    second = by_label[starts[group] + (position + offset) % counts[group]]
    # Different pairs: the second uniformly among the examples outside the first's
    # identity, by skipping that identity's block in the examples sorted by identity.
    a = rng.integers(0, len(labels), size=num_different)
    group = inverse[a]
    r = rng.integers(0, len(labels) - counts[group])
    b = by_label[r + (r >= starts[group]) * counts[group]]
    index = np.concatenate([np.stack([first, second], 1), np.stack([a, b], 1)])
    same = np.r_[np.ones(num_same, np.float32), np.zeros(num_different, np.float32)]
    return index.astype(np.int64), same
