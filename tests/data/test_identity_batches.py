"""P identities x K examples batches, checked property by property against the rule
re-derived here (brute force batch count, counts per batch, coverage, determinism)."""

import itertools

import keras
import numpy as np
import pytest

from kerasdl.data.identity_batches import (
    identity_batch_count,
    identity_batch_order,
    identity_batches,
)
from kerasdl.losses.triplet import TripletSemiHardLoss

# 10 identities of uneven size; with K=4: groups 2, 2, 2, 1, 1, 3, 2, 2, 0, 1 (3 dropped).
COUNTS = [9, 8, 8, 4, 5, 12, 8, 8, 3, 7]
LABELS = np.repeat(np.arange(10), COUNTS)


def brute_force_batches(counts, p, k, replace=False):
    """The largest b with sum_i min(g_i, b) >= b * p, by trying every b."""
    groups = [max(n // k, 1 if replace else 0) for n in counts]
    best = 0
    for b in range(sum(groups) + 1):
        if sum(min(g, b) for g in groups) >= b * p:
            best = b
    return best


def check_batches(labels, order, p, k):
    """Every P*K rows: P distinct identities, each K times as K consecutive rows."""
    assert len(order) % (p * k) == 0
    for batch in order.reshape(-1, p * k):
        blocks = labels[batch].reshape(p, k)
        assert (blocks == blocks[:, :1]).all()
        assert len(set(blocks[:, 0].tolist())) == p


@pytest.mark.parametrize("p,k", [(2, 4), (3, 4), (4, 2), (5, 1), (7, 3)])
def test_every_batch_holds_p_distinct_identities_k_times(p, k):
    order = identity_batch_order(LABELS, p, k, seed=0)
    assert order.dtype == np.int64
    check_batches(LABELS, order, p, k)
    batches = brute_force_batches(COUNTS, p, k)
    assert len(order) == batches * p * k
    assert identity_batch_count(LABELS, p, k) == batches


def test_epoch_uses_each_example_at_most_once_and_all_groups_when_none_surplus():
    # K=4, P=2: 16 groups, no identity above 1/P of them -> all 16 groups, 8 batches.
    order = identity_batch_order(LABELS, 2, 4, seed=3)
    assert len(np.unique(order)) == len(order)
    assert order.min() >= 0 and order.max() < len(LABELS)
    used = np.bincount(LABELS[order], minlength=10)
    np.testing.assert_array_equal(used, np.array(COUNTS) // 4 * 4)


def test_over_epochs_leftovers_rotate_so_every_example_is_used():
    seen = np.zeros(len(LABELS), bool)
    for epoch in range(30):
        seen[identity_batch_order(LABELS, 2, 4, seed=0, epoch=epoch)] = True
    # All examples of identities with >= K examples take turns; identity 8 (3) never.
    np.testing.assert_array_equal(seen, LABELS != 8)


def test_a_dominant_identity_is_capped_at_one_group_per_batch():
    counts = [40, 4, 4, 4, 2, 2]  # K=2: groups 20, 2, 2, 2, 1, 1
    labels = np.repeat(np.arange(6), counts)
    for p in (2, 3):
        order = identity_batch_order(labels, p, 2, seed=1)
        check_batches(labels, order, p, 2)
        batches = brute_force_batches(counts, p, 2)
        assert len(order) == batches * p * 2
        # With groups this uneven identity 0 must be in every batch.
        assert (labels[order].reshape(batches, -1) == 0).any(axis=1).all()
        assert len(np.unique(order)) == len(order)


def test_surplus_groups_are_dropped_so_batches_stay_whole():
    # K=1, P=4, 10 identities of 1..3 examples: 19 groups -> 4 batches, 3 dropped.
    counts = [1, 2, 3, 1, 2, 3, 1, 2, 3, 1]
    labels = np.repeat(np.arange(10), counts)
    order = identity_batch_order(labels, 4, 1, seed=0)
    check_batches(labels, order, 4, 1)
    assert len(order) == brute_force_batches(counts, 4, 1) * 4 == 16


def test_same_seed_and_epoch_give_the_same_order_others_differ():
    a = identity_batch_order(LABELS, 3, 2, seed=5, epoch=2)
    np.testing.assert_array_equal(a, identity_batch_order(LABELS, 3, 2, seed=5, epoch=2))
    assert not np.array_equal(a, identity_batch_order(LABELS, 3, 2, seed=5, epoch=3))
    assert not np.array_equal(a, identity_batch_order(LABELS, 3, 2, seed=6, epoch=2))
    assert len(identity_batch_order(LABELS, 3, 2)) == len(a)  # seed=None: random


def test_batches_mix_identities_across_epochs():
    # 20 identities of 8, P=4, K=2: every pair of identities should meet in some batch
    # within 40 epochs, as with shuffled groups (no fixed neighbours).
    labels = np.repeat(np.arange(20), 8)
    met = set()
    for epoch in range(40):
        order = identity_batch_order(labels, 4, 2, seed=0, epoch=epoch)
        for batch in labels[order].reshape(-1, 8):
            met.update(itertools.combinations(sorted(set(batch.tolist())), 2))
    assert len(met) == 20 * 19 // 2


def test_column_labels_give_the_same_order_as_flat_ones():
    np.testing.assert_array_equal(
        identity_batch_order(LABELS[:, None], 2, 4, seed=0),
        identity_batch_order(LABELS, 2, 4, seed=0),
    )


def test_string_labels():
    labels = np.array(["ann", "bob", "ann", "cid", "bob", "cid"])
    order = identity_batch_order(labels, 3, 2, seed=0)
    check_batches(labels, order, 3, 2)
    assert sorted(order.tolist()) == list(range(6))


def test_replace_tops_up_small_identities_with_their_own_examples():
    counts = [1, 2, 3, 6]
    labels = np.repeat(np.arange(4), counts)
    with pytest.raises(ValueError, match="identities_per_batch"):
        identity_batch_order(labels, 3, 3, seed=0)  # only identities 2 and 3 have 3
    order = identity_batch_order(labels, 3, 3, seed=0, replace=True)
    check_batches(labels, order, 3, 3)
    # groups 1, 1, 1, 2 -> 1 batch of 3 (brute force), whatever identities it holds.
    assert len(order) == brute_force_batches(counts, 3, 3, replace=True) * 9 == 9
    for identity in np.unique(labels[order]):
        rows = order[labels[order] == identity]
        if counts[identity] < 3:
            # All its examples, then repeats of them.
            assert set(rows.tolist()) == set(np.flatnonzero(labels == identity).tolist())
        else:
            assert len(set(rows.tolist())) == 3  # no repeats for identities with >= K
    # Every identity can be drawn; identity 0 (1 example) comes as 3 copies of it.
    orders = [identity_batch_order(labels, 3, 3, seed=0, epoch=e, replace=True) for e in range(20)]
    with_zero = [o for o in orders if (labels[o] == 0).any()]
    assert with_zero
    np.testing.assert_array_equal(with_zero[0][labels[with_zero[0]] == 0], [0, 0, 0])


def test_dataset_batches_follow_the_rule_and_each_epoch_is_new():
    x = np.arange(len(LABELS), dtype="float32")[:, None] * np.ones((1, 3), "float32")
    ds = identity_batches(x, LABELS, 2, 4, seed=0, epochs=3)
    steps = brute_force_batches(COUNTS, 2, 4)
    assert int(ds.cardinality()) == 3 * steps
    batches = [(xb.numpy(), yb.numpy()) for xb, yb in ds]
    assert len(batches) == 3 * steps
    epochs = []
    for start in range(0, 3 * steps, steps):
        rows = np.concatenate([xb[:, 0] for xb, _ in batches[start : start + steps]])
        rows = rows.astype(np.int64)
        for xb, yb in batches[start : start + steps]:
            assert xb.shape == (8, 3) and yb.shape == (8,)
            np.testing.assert_array_equal(LABELS[xb[:, 0].astype(int)], yb)  # rows align
        check_batches(LABELS, rows, 2, 4)
        assert len(np.unique(rows)) == len(rows)
        np.testing.assert_array_equal(
            rows, identity_batch_order(LABELS, 2, 4, seed=0, epoch=len(epochs))
        )
        epochs.append(rows)
    assert not np.array_equal(epochs[0], epochs[1])
    assert not np.array_equal(epochs[1], epochs[2])
    # The same seed gives the same stream; the endless one starts with the same epochs.
    again = np.concatenate([xb[:, 0].numpy() for xb, _ in identity_batches(x, LABELS, 2, 4, 0, 3)])
    np.testing.assert_array_equal(again, np.concatenate(epochs))
    endless = identity_batches(x, LABELS, 2, 4, seed=0)
    assert endless.cardinality() == -1  # tf.data.INFINITE_CARDINALITY
    head = np.concatenate([xb[:, 0].numpy() for xb, _ in endless.take(2 * steps)])
    np.testing.assert_array_equal(head, np.concatenate(epochs[:2]))


def test_dataset_keeps_column_labels():
    x = np.zeros((len(LABELS), 2), "float32")
    _, yb = next(iter(identity_batches(x, LABELS[:, None], 2, 4, seed=0, epochs=1)))
    assert yb.shape == (8, 1)
    assert sorted(np.bincount(yb.numpy()[:, 0]).tolist())[-2:] == [4, 4]


def test_dataset_feeds_fit_with_the_triplet_loss():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(len(LABELS), 5)).astype("float32")
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4)])
    loss = TripletSemiHardLoss(margin=0.5)
    # lr=0: the weights stay, so the step's loss is the loss of the first batch.
    model.compile(keras.optimizers.SGD(0.0), loss)
    steps = identity_batch_count(LABELS, 2, 4)
    history = model.fit(
        identity_batches(x, LABELS, 2, 4, seed=1),
        epochs=1,
        steps_per_epoch=1,
        shuffle=False,
        verbose=0,
    )
    first = identity_batch_order(LABELS, 2, 4, seed=1)[:8]
    expected = float(loss(LABELS[first], model(x[first])))
    assert steps == 8
    assert np.isfinite(history.history["loss"][0])
    np.testing.assert_allclose(history.history["loss"][0], expected, rtol=1e-5)
    assert expected > 0


@pytest.mark.parametrize(
    "kwargs,error,message",
    [
        ({"labels": np.zeros((4, 2))}, ValueError, r"`labels` must have shape \[B\] or \[B, 1\]"),
        ({"identities_per_batch": 0}, ValueError, "`identities_per_batch` must be >= 1"),
        ({"examples_per_identity": -2}, ValueError, "`examples_per_identity` must be >= 1"),
        ({"identities_per_batch": 2.0}, TypeError, "`identities_per_batch` must be a Python int"),
        ({"identities_per_batch": 10}, ValueError, "which is 9. Received: identities_per_batch=10"),
        ({"seed": -1}, ValueError, "`seed` must be >= 0. Received: seed=-1"),
        ({"epoch": -1}, ValueError, "`epoch` must be >= 0"),
        ({"replace": "yes"}, TypeError, "`replace` must be a bool"),
    ],
)
def test_order_errors_name_the_argument(kwargs, error, message):
    args = {"labels": LABELS, "identities_per_batch": 2, "examples_per_identity": 4}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        identity_batch_order(**args)


def test_too_few_identities_message_states_the_rule():
    with pytest.raises(ValueError, match=r"identities with >= examples_per_identity=4 examples"):
        identity_batch_count(LABELS, 10, 4)
    with pytest.raises(ValueError, match=r"replace=True\), which is 10"):
        identity_batch_count(LABELS, 11, 4, replace=True)


def test_dataset_errors():
    x = np.zeros((len(LABELS) - 1, 2))
    with pytest.raises(
        ValueError, match=r"one entry per row of `x`, len\(x\)=71. Received: len\(labels\)=72"
    ):
        identity_batches(x, LABELS, 2, 4)
    x = np.zeros((len(LABELS), 2))
    with pytest.raises(ValueError, match="`epochs` must be >= 1. Received: epochs=0"):
        identity_batches(x, LABELS, 2, 4, epochs=0)
    with pytest.raises(ValueError, match=r"`labels` must have shape \[B\] or \[B, 1\]"):
        identity_batches(x, np.zeros((len(LABELS), 1, 1)), 2, 4)
    with pytest.raises(ValueError, match="`identities_per_batch` must be <="):
        identity_batches(x, LABELS, 10, 4)
