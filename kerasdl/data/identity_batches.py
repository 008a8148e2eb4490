"""FaceNet's "P identities x K examples" batches for triplet-loss training.

A triplet loss learns only from batches that hold anchor-positive pairs; with many
identities, random batches hold almost none. FaceNet therefore fills each batch with
`P` identities and `K` examples of each (TF Similarity's `MultiShotMemorySampler` with
`classes_per_batch=P`, `examples_per_class=K`). Here, for one epoch:

1. Each identity's `n_i` examples are shuffled and cut into `g_i = floor(n_i / K)`
   groups of `K`; its `n_i mod K` leftover examples sit this epoch out (a different
   subset each epoch). An identity with `n_i < K` is dropped, or, with `replace=True`,
   gives one group: all its examples, topped up to `K` with examples drawn again from
   them at random (with `n_i = 1`, `K` copies of one example).
2. No identity appears twice in a batch, so a batch holds exactly `P` distinct
   identities with exactly `K` examples each. The epoch has

       B = max { b : sum_i min(g_i, b) >= b * P }

   batches (`identity_batch_count`; it is `floor(sum_i g_i / P)` unless one identity
   holds more than a `1/P` share of the groups). An identity with `g_i > B` keeps `B`
   random groups, and the `sum_i min(g_i, B) - B * P < P` groups that do not fill a
   whole batch are dropped at random.
3. Batch by batch, the identities that have as many groups left as there are batches
   left go in (otherwise a later batch would need one identity twice); the rest of the
   batch is drawn without replacement with probability proportional to the groups each
   identity has left, so the batches are as random as a shuffle of the groups allows.

A batch is `P * K` consecutive rows of the order, `K` consecutive rows per identity.
Without replacement an epoch uses each example at most once. The order is a function of
`(seed, epoch)`, so `identity_batches` gives every epoch a new one, reproducibly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from kerasdl._validation import check_bool, check_count


def _check_labels(labels: Any) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(
            f"`labels` must have shape [B] or [B, 1] (one identity per example). "
            f"Received: labels.shape={labels.shape}"
        )
    return labels


def _check_seed(seed: Any) -> int | None:
    return None if seed is None else check_count("seed", seed, minimum=0)


def _group_counts(
    counts: np.ndarray, identities_per_batch: int, examples_per_identity: int, replace: bool
) -> np.ndarray:
    """`g_i` for identity counts `n_i`, after checking that `P` identities qualify."""
    groups = counts // examples_per_identity
    if replace:
        groups = np.maximum(groups, 1)
    usable = int(np.count_nonzero(groups))
    if usable < identities_per_batch:
        rule = (
            "the number of identities (replace=True)"
            if replace
            else f"the number of identities with >= examples_per_identity="
            f"{examples_per_identity} examples (use replace=True to keep smaller ones)"
        )
        raise ValueError(
            f"`identities_per_batch` must be <= {rule}, which is {usable}. "
            f"Received: identities_per_batch={identities_per_batch}"
        )
    return groups


def _batch_count(groups: np.ndarray, identities_per_batch: int) -> int:
    """The largest `b` with `sum_i min(g_i, b) >= b * P` (vectorised over all `b`)."""
    g = np.sort(groups)
    candidates = np.arange(g.sum() // identities_per_batch + 1)
    below = np.searchsorted(g, candidates, side="left")  # identities with g_i < b
    prefix = np.concatenate([[0], np.cumsum(g)])
    filled = prefix[below] + candidates * (len(g) - below)
    return int(candidates[filled >= candidates * identities_per_batch].max())


def identity_batch_count(
    labels: Any,
    identities_per_batch: int,
    examples_per_identity: int,
    replace: bool = False,
) -> int:
    """Batches in one epoch of `identity_batch_order`: `steps_per_epoch` for `fit`.

    `B = max { b : sum_i min(g_i, b) >= b * P }` with `g_i = floor(n_i / K)` groups of
    identity `i` (at least 1 with `replace=True`); the same for every epoch.

    Args:
        labels: `[N]` or `[N, 1]` identity of each example (any comparable values).
        identities_per_batch: `P`, distinct identities per batch.
        examples_per_identity: `K`, examples of each identity per batch.
        replace: keep identities with fewer than `K` examples (see the module rule).

    Returns:
        The number of batches `B` (an int >= 0).

    Raises:
        ValueError/TypeError: for labels not `[N]`/`[N, 1]`, a non-positive size, or
            fewer than `P` identities that can fill a group.

    Example:

    >>> labels = np.repeat([0, 1, 2, 3], [8, 4, 4, 3])  # groups of 2: 4, 2, 2, 1
    >>> identity_batch_count(labels, identities_per_batch=2, examples_per_identity=2)
    4
    >>> # 3 batches of 3 would need 9 groups, but identity 0 can give only 3 of its 4
    >>> identity_batch_count(labels, identities_per_batch=3, examples_per_identity=2)
    2
    """
    labels = _check_labels(labels)
    identities_per_batch = check_count("identities_per_batch", identities_per_batch)
    examples_per_identity = check_count("examples_per_identity", examples_per_identity)
    replace = check_bool("replace", replace)
    _, counts = np.unique(labels, return_counts=True)
    groups = _group_counts(counts, identities_per_batch, examples_per_identity, replace)
    return _batch_count(groups, identities_per_batch)


def identity_batch_order(
    labels: Any,
    identities_per_batch: int,
    examples_per_identity: int,
    seed: int | None = None,
    epoch: int = 0,
    replace: bool = False,
) -> np.ndarray:
    """One epoch's order of examples in batches of `P` identities x `K` examples.

    Every consecutive `P * K` rows of the result are one batch: `P` distinct identities,
    each as `K` consecutive rows. The rules (leftovers, small identities, how many
    batches) are in the module docstring; `len(order) = identity_batch_count(...) * P * K`.

    Args:
        labels: `[N]` or `[N, 1]` identity of each example (any comparable values).
        identities_per_batch: `P`, distinct identities per batch.
        examples_per_identity: `K`, examples of each identity per batch.
        seed: int >= 0 for a reproducible order, or None for a fresh random one.
        epoch: int >= 0; each epoch of one seed gets its own order (the generator is
            seeded with `[seed, epoch]`).
        replace: keep identities with fewer than `K` examples, topping their group up
            with repeats drawn at random; otherwise they are dropped.

    Returns:
        int64 `[B * P * K]` indices into `labels`. Without `replace` no index repeats.

    Raises:
        ValueError/TypeError: for labels not `[N]`/`[N, 1]`, a non-positive size, a bad
            seed or epoch, or fewer than `P` identities that can fill a group.

    Example:

    >>> labels = np.array([0, 0, 1, 1, 1, 2, 2, 3])  # identity 3 has 1 example: dropped
    >>> order = identity_batch_order(labels, identities_per_batch=2, examples_per_identity=2,
    ...                              seed=0)
    >>> batches = labels[order].reshape(-1, 2, 2)  # [batch, identity, example]
    >>> len(batches), bool((batches == batches[:, :, :1]).all())
    (1, True)
    >>> bool(batches[0, 0, 0] != batches[0, 1, 0])  # two distinct identities
    True
    """
    labels = _check_labels(labels)
    p = check_count("identities_per_batch", identities_per_batch)
    k = check_count("examples_per_identity", examples_per_identity)
    seed = _check_seed(seed)
    epoch = check_count("epoch", epoch, minimum=0)
    replace = check_bool("replace", replace)
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    groups = _group_counts(counts, p, k, replace)
    batches = _batch_count(groups, p)
    rng = np.random.default_rng(None if seed is None else [seed, epoch])

    # Rows of each identity in a random order: identity by identity, shuffled within.
    shuffled = rng.permutation(len(labels))
    rows = shuffled[np.argsort(inverse[shuffled], kind="stable")]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])

    # Groups per identity this epoch: capped at B, then the surplus over B * P dropped.
    kept = np.minimum(groups, batches)
    surplus = int(kept.sum()) - batches * p
    if surplus:
        owners = np.repeat(np.arange(len(kept)), kept)
        dropped = rng.choice(len(owners), size=surplus, replace=False)
        kept = kept - np.bincount(owners[dropped], minlength=len(kept))

    # Fill the batches. Identities with as many groups left as batches left must go in.
    left = kept.astype(np.int64)
    chosen = np.empty((batches, p), np.int64)
    for b in range(batches):
        forced = left == batches - b
        # Gumbel top-k = drawing without replacement with probability ~ groups left.
        keys = np.log(np.maximum(left, 1)) + rng.gumbel(size=len(left))
        keys[left == 0] = -np.inf
        keys[forced] = np.inf
        chosen[b] = rng.permutation(np.argpartition(-keys, p - 1)[:p])
        left[chosen[b]] -= 1

    # The j-th time identity i is chosen it takes its j-th group of K shuffled rows.
    flat = chosen.ravel()
    occurrence = np.zeros_like(flat)
    by_identity = np.argsort(flat, kind="stable")
    first = np.searchsorted(flat[by_identity], flat[by_identity])
    occurrence[by_identity] = np.arange(len(flat)) - first
    offsets = occurrence[:, None] * k + np.arange(k)  # [B * P, K] rank within identity
    short = counts[flat] < k  # only with replace=True: the rows again, then repeats
    if short.any():
        n = counts[flat][short, None]
        repeat = rng.integers(0, n, size=(int(short.sum()), k))
        offsets[short] = np.where(np.arange(k) < n, np.arange(k), repeat)
    return rows[starts[flat][:, None] + offsets].ravel().astype(np.int64)


def identity_batches(
    x: Any,
    labels: Any,
    identities_per_batch: int,
    examples_per_identity: int,
    seed: int | None = None,
    epochs: int | None = None,
    replace: bool = False,
) -> tf.data.Dataset:
    """A `tf.data.Dataset` of `(x_batch, label_batch)` in P identities x K examples.

    Epoch `e` (from 0) is `identity_batch_order(labels, P, K, seed, epoch=e, replace)`,
    so every epoch has a new order and the same seed gives the same stream. Each epoch
    has `identity_batch_count(labels, P, K, replace)` batches of `P * K` rows, which is
    the `steps_per_epoch` to give `model.fit` (with it, Keras keeps one iterator across
    its epochs, so its epochs are this stream's). The labels keep their shape per row.

    Args:
        x: `[N, ...]` inputs (an array or tensor).
        labels: `[N]` or `[N, 1]` identity of each example (numbers, for the loss).
        identities_per_batch: `P`, distinct identities per batch.
        examples_per_identity: `K`, examples of each identity per batch.
        seed: int >= 0 for a reproducible stream, or None (a random one, drawn once).
        epochs: number of epochs before the dataset ends, or None to repeat forever.
        replace: keep identities with fewer than `K` examples (see the module rule).

    Returns:
        A dataset of `(x[rows], labels[rows])` with `P * K` rows per batch; its
        cardinality is `epochs * B`, or infinite.

    Raises:
        ValueError/TypeError: for `x` and `labels` of different lengths, and the
            errors of `identity_batch_order`.

    Example:

    >>> x = np.arange(12, dtype="float32")[:, None]
    >>> labels = np.repeat([0, 1, 2], 4)
    >>> ds = identity_batches(x, labels, identities_per_batch=2, examples_per_identity=2,
    ...                       seed=0, epochs=2)
    >>> int(ds.cardinality())  # 6 groups of 2 -> 3 batches of 2 identities, 2 epochs
    6
    >>> x_batch, label_batch = next(iter(ds))
    >>> tuple(x_batch.shape), np.unique(label_batch.numpy(), return_counts=True)[1]
    ((4, 1), array([2, 2]))
    """
    labels_array = np.asarray(labels)
    per_row = _check_labels(labels_array)
    if len(x) != len(per_row):
        raise ValueError(
            f"`labels` must have one entry per row of `x`, len(x)={len(x)}. "
            f"Received: len(labels)={len(per_row)}"
        )
    p = check_count("identities_per_batch", identities_per_batch)
    k = check_count("examples_per_identity", examples_per_identity)
    seed = _check_seed(seed)
    if epochs is not None:
        epochs = check_count("epochs", epochs)
    replace = check_bool("replace", replace)
    steps = identity_batch_count(per_row, p, k, replace)  # also checks P against labels
    if seed is None:
        # One random seed for the whole stream, so that its epochs still differ.
        seed = int(np.random.SeedSequence().generate_state(1)[0])

    def order(epoch: np.ndarray) -> np.ndarray:
        index = identity_batch_order(per_row, p, k, seed, int(epoch), replace)
        return index.reshape(steps, p * k)

    epoch_ids = tf.data.Dataset.range(epochs) if epochs else tf.data.Dataset.counter()
    x_tensor, label_tensor = tf.convert_to_tensor(x), tf.convert_to_tensor(labels_array)
    dataset = (
        epoch_ids.map(
            lambda e: tf.ensure_shape(tf.numpy_function(order, [e], tf.int64), [steps, p * k])
        )
        .unbatch()
        .map(lambda rows: (tf.gather(x_tensor, rows), tf.gather(label_tensor, rows)))
    )
    if epochs:
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(epochs * steps))
    return dataset.prefetch(tf.data.AUTOTUNE)
