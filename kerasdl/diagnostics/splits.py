"""Train / train-dev / dev / test splits as the ML strategy notes set them up.

- Dev and test come from the same distribution, the one you care about: the target
  data are shuffled together and then divided between them.
- The training-dev set is carved at random out of the training distribution, so it has
  the training set's distribution but is never trained on.
- Sizes follow the notes: 60/20/20 for small data sets, 98/1/1 for about a million
  examples. `split_sizes` interpolates: dev and test each get 20% while that is at most
  10,000 examples, then 10,000 examples, but never less than 1%.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

_ENOUGH_FOR_CONFIDENCE = 10_000


@dataclasses.dataclass(frozen=True)
class Splits:
    """Index arrays (or data) of each split; `train_dev` may be empty.

    `source` says where each split's indices point: "data" for a single data set,
    or ("source", "target") for `mismatched_split` (train and train-dev index the
    training-distribution data; dev and test the target data; `train_from_target`
    holds the target examples moved into training).
    """

    train: np.ndarray
    train_dev: np.ndarray
    dev: np.ndarray
    test: np.ndarray
    train_from_target: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, "int64"))

    def sizes(self) -> dict[str, int]:
        sizes = {name: len(getattr(self, name)) for name in ("train", "train_dev", "dev", "test")}
        if len(self.train_from_target):
            sizes["train_from_target"] = len(self.train_from_target)
        return sizes


def split_sizes(n: int) -> tuple[int, int, int]:
    """`(train, dev, test)` counts for `n` examples from one distribution.

    Dev and test each get `max(1%, min(20%, 10,000 examples))`: 60/20/20 up to 50,000
    examples, 98/1/1 from a million on, in between a fixed 10,000 each (big enough to
    give confidence in the measured error).

    Example:

    >>> split_sizes(1_000)
    (600, 200, 200)
    >>> split_sizes(1_000_000)
    (980000, 10000, 10000)
    >>> split_sizes(200_000)
    (180000, 10000, 10000)
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 3:
        raise ValueError(f"`n` must be an int >= 3. Received: n={n!r}")
    n = int(n)
    held_out = max(int(0.01 * n), min(int(0.2 * n), _ENOUGH_FOR_CONFIDENCE), 1)
    return n - 2 * held_out, held_out, held_out


def _count(name: str, value: Any, n: int) -> int:
    """A size given as a count (int) or a fraction of `n` (float in [0, 1))."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(
            f"`{name}` must be an int count or a float fraction. Received: {name}={value!r}"
        )
    if isinstance(value, float | np.floating):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"`{name}` as a fraction must be in [0, 1). Received: {name}={value}")
        return int(round(value * n))
    if value < 0 or value > n:
        raise ValueError(f"`{name}` must be in [0, {n}]. Received: {name}={value}")
    return int(value)


def _labels(y: Any, n: int, stratify: bool) -> np.ndarray | None:
    if y is None or not stratify:
        return None
    y = np.asarray(y)
    if len(y) != n:
        raise ValueError(f"`y` must have one label per example ({n}). Received: {len(y)} labels")
    if y.ndim > 1 and y.shape[-1] > 1:
        y = np.argmax(y, axis=-1)
    return y.reshape(n)


def _take(indices: np.ndarray, count: int, labels: np.ndarray | None, rng) -> tuple:
    """Splits shuffled `indices` into `count` picked and the rest, keeping each class's
    share in the picked part when `labels` are given (largest remainders get the extra)."""
    if count == 0:
        return indices[:0], indices
    if count >= len(indices):
        return indices, indices[:0]
    if labels is None:
        return indices[:count], indices[count:]
    classes, inverse = np.unique(labels[indices], return_inverse=True)
    members = [indices[inverse == c] for c in range(len(classes))]
    share = np.array([len(m) for m in members]) * count / len(indices)
    quota = np.floor(share).astype(int)
    order = np.argsort(-(share - quota), kind="stable")
    quota[order[: count - quota.sum()]] += 1
    picked = np.concatenate([m[:q] for m, q in zip(members, quota, strict=True)])
    rest = np.concatenate([m[q:] for m, q in zip(members, quota, strict=True)])
    # Interleave classes again so a prefix of a split is not one class.
    return rng.permutation(picked), rng.permutation(rest)


def train_dev_test_split(
    n_or_y: int | Any,
    *,
    dev_size: int | float | None = None,
    test_size: int | float | None = None,
    train_dev_size: int | float = 0,
    stratify: bool = True,
    seed: int = 0,
) -> Splits:
    """Shuffled index splits of one data set: train, train-dev, dev and test.

    Args:
        n_or_y: the number of examples, or their labels (class ids `[n]` or one-hot
            `[n, K]`), which makes the splits stratified by class.
        dev_size: dev set size, a count or a fraction of all examples; default from
            `split_sizes`.
        test_size: test set size, likewise (equal to dev by default: same distribution).
        train_dev_size: size of the training-dev set carved from what is left for
            training, a count or a fraction of the training part; default 0.
        stratify: keep each class's share in every split when labels are given.
        seed: the shuffle's seed; the same seed gives the same splits.

    Returns:
        `Splits` of index arrays.

    Example:

    >>> splits = train_dev_test_split(1000, train_dev_size=0.1, seed=0)
    >>> splits.sizes()
    {'train': 540, 'train_dev': 60, 'dev': 200, 'test': 200}
    """
    if isinstance(n_or_y, int | np.integer) and not isinstance(n_or_y, bool):
        n, y = int(n_or_y), None
    else:
        y = np.asarray(n_or_y)
        n = len(y)
    _, default_dev, default_test = split_sizes(n)
    dev = default_dev if dev_size is None else _count("dev_size", dev_size, n)
    test = default_test if test_size is None else _count("test_size", test_size, n)
    if dev + test >= n:
        raise ValueError(
            f"`dev_size` + `test_size` must leave examples for training ({n} in all). "
            f"Received: dev_size={dev_size}, test_size={test_size}"
        )
    labels = _labels(y, n, stratify)
    rng = np.random.default_rng(seed)
    indices = rng.permutation(n)
    held, train = _take(indices, dev + test, labels, rng)
    dev_indices, test_indices = _take(held, dev, labels, rng)
    train_dev = _count("train_dev_size", train_dev_size, len(train))
    train_dev_indices, train = _take(train, train_dev, labels, rng)
    return Splits(train, train_dev_indices, dev_indices, test_indices)


def mismatched_split(
    n_source_or_y: int | Any,
    n_target_or_y: int | Any,
    *,
    train_dev_size: int | float | None = None,
    target_to_train: int | float = 0,
    dev_size: int | float | None = None,
    stratify: bool = True,
    seed: int = 0,
) -> Splits:
    """Splits for training and target data from different distributions.

    The notes' recipe: dev and test are both drawn from the target distribution (what
    you care about); training uses the training-distribution ("source") data plus, if
    asked, a share of the target data; the training-dev set is carved at random from the
    source data and never trained on.

    Args:
        n_source_or_y: number of source (training-distribution) examples, or their labels.
        n_target_or_y: number of target-distribution examples, or their labels.
        train_dev_size: size of the training-dev set (count, or fraction of the source
            data); default: the dev set's size.
        target_to_train: target examples moved into training (count or fraction of the
            target data); default 0.
        dev_size: dev set size (count or fraction of the target data); default half of
            what is left of the target data, the other half being the test set.
        stratify: keep class shares in each split when labels are given.
        seed: seed of the shuffles.

    Returns:
        `Splits` whose `train` and `train_dev` index the source data and whose `dev`,
        `test` and `train_from_target` index the target data.

    Example:

    >>> splits = mismatched_split(10_000, 2_000, target_to_train=0.5)
    >>> splits.sizes()
    {'train': 9500, 'train_dev': 500, 'dev': 500, 'test': 500, 'train_from_target': 1000}
    """

    def size_and_labels(value):
        if isinstance(value, int | np.integer) and not isinstance(value, bool):
            return int(value), None
        value = np.asarray(value)
        return len(value), value

    n_source, y_source = size_and_labels(n_source_or_y)
    n_target, y_target = size_and_labels(n_target_or_y)
    rng = np.random.default_rng(seed)
    source_labels = _labels(y_source, n_source, stratify)
    target_labels = _labels(y_target, n_target, stratify)

    target = rng.permutation(n_target)
    moved = _count("target_to_train", target_to_train, n_target)
    train_from_target, held = _take(target, moved, target_labels, rng)
    if len(held) < 2:
        raise ValueError(
            "`target_to_train` must leave at least 2 target examples for dev and test. "
            f"Received: target_to_train={target_to_train} of {n_target}"
        )
    dev = len(held) // 2 if dev_size is None else _count("dev_size", dev_size, n_target)
    if not 0 < dev < len(held):
        raise ValueError(
            f"`dev_size` must leave test examples among the {len(held)} held-out target "
            f"examples. Received: dev_size={dev_size}"
        )
    dev_indices, test_indices = _take(held, dev, target_labels, rng)

    source = rng.permutation(n_source)
    if train_dev_size is None:
        train_dev = min(dev, n_source - 1)
    else:
        train_dev = _count("train_dev_size", train_dev_size, n_source)
    train_dev_indices, train = _take(source, train_dev, source_labels, rng)
    return Splits(train, train_dev_indices, dev_indices, test_indices, train_from_target)
