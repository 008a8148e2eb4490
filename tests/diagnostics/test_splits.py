"""Train / train-dev / dev / test splits: the notes' sizes, disjoint and complete index
sets, class shares kept when stratified, dev and test from the target distribution,
train-dev from the training distribution, determinism by seed."""

import numpy as np
import pytest

from kerasdl.diagnostics.splits import mismatched_split, split_sizes, train_dev_test_split


@pytest.mark.parametrize(
    "n, expected",
    [
        (100, (60, 20, 20)),
        (50_000, (30_000, 10_000, 10_000)),
        (100_000, (80_000, 10_000, 10_000)),
        (1_000_000, (980_000, 10_000, 10_000)),
        (10_000_000, (9_800_000, 100_000, 100_000)),
    ],
)
def test_split_sizes_follow_the_notes(n, expected):
    assert split_sizes(n) == expected


def check_partition(splits, n):
    parts = [splits.train, splits.train_dev, splits.dev, splits.test]
    joined = np.concatenate(parts)
    assert len(joined) == n and len(np.unique(joined)) == n


def test_single_distribution_split_is_a_stratified_deterministic_partition():
    rng = np.random.default_rng(0)
    y = rng.choice(3, size=2000, p=[0.6, 0.3, 0.1])
    splits = train_dev_test_split(y, dev_size=0.1, test_size=200, train_dev_size=0.05, seed=1)
    check_partition(splits, 2000)
    assert splits.sizes() == {"train": 1520, "train_dev": 80, "dev": 200, "test": 200}
    overall = np.bincount(y, minlength=3) / len(y)
    for part in (splits.train, splits.train_dev, splits.dev, splits.test):
        share = np.bincount(y[part], minlength=3) / len(part)
        np.testing.assert_allclose(share, overall, atol=1.0 / len(part) + 1e-9)
    again = train_dev_test_split(y, dev_size=0.1, test_size=200, train_dev_size=0.05, seed=1)
    np.testing.assert_array_equal(again.dev, splits.dev)
    other = train_dev_test_split(y, dev_size=0.1, test_size=200, train_dev_size=0.05, seed=2)
    assert not np.array_equal(other.dev, splits.dev)


def test_one_hot_labels_and_counts():
    y = np.eye(4)[np.arange(400) % 4]
    splits = train_dev_test_split(y)
    assert splits.sizes() == {"train": 240, "train_dev": 0, "dev": 80, "test": 80}
    assert np.all(np.bincount(np.argmax(y[splits.dev], 1)) == 20)
    unstratified = train_dev_test_split(400, seed=0)
    check_partition(unstratified, 400)


def test_mismatched_split_dev_test_from_target_train_dev_from_source():
    source_y = np.arange(5000) % 10
    target_y = np.arange(1200) % 10
    splits = mismatched_split(source_y, target_y, target_to_train=200, seed=3)
    assert splits.sizes() == {
        "train": 4500,
        "train_dev": 500,
        "dev": 500,
        "test": 500,
        "train_from_target": 200,
    }
    source = np.concatenate([splits.train, splits.train_dev])
    assert len(np.unique(source)) == 5000 and source.max() < 5000
    target = np.concatenate([splits.dev, splits.test, splits.train_from_target])
    assert len(np.unique(target)) == 1200 and target.max() < 1200
    # dev and test have the same class shares (same distribution).
    np.testing.assert_array_equal(
        np.bincount(target_y[splits.dev], minlength=10),
        np.bincount(target_y[splits.test], minlength=10),
    )
    sized = mismatched_split(5000, 1000, train_dev_size=0.02, dev_size=300)
    assert sized.sizes() == {"train": 4900, "train_dev": 100, "dev": 300, "test": 700}


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: train_dev_test_split(10, dev_size=5, test_size=5), r"must leave examples"),
        (lambda: train_dev_test_split(100, dev_size=1.5), r"`dev_size` as a fraction"),
        (lambda: train_dev_test_split(100, test_size=-3), r"`test_size` must be in \[0, 100\]"),
        (lambda: mismatched_split(100, 10, target_to_train=9), r"`target_to_train` must leave"),
        (lambda: split_sizes(2), r"`n` must be an int >= 3"),
    ],
)
def test_bad_sizes(call, match):
    with pytest.raises(ValueError, match=match):
        call()
