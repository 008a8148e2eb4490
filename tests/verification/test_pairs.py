"""Labelled pairs: every pair against a double loop; balanced random pairs' properties."""

import numpy as np
import pytest

from kerasdl.verification.pairs import all_pairs, balanced_pairs


def test_all_pairs_matches_double_loop():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(9, 4))
    labels = rng.integers(0, 3, size=9)
    distances, same, index = all_pairs(x, labels)
    expected = [
        (i, j, np.linalg.norm(x[i] - x[j]), labels[i] == labels[j])
        for i in range(9)
        for j in range(i + 1, 9)
    ]
    assert index.tolist() == [[i, j] for i, j, _, _ in expected]
    np.testing.assert_allclose(distances, [d for _, _, d, _ in expected], rtol=1e-12)
    assert same.tolist() == [s for _, _, _, s in expected]


def test_all_pairs_identical_encodings_are_at_zero():
    distances, same, _ = all_pairs(np.ones((3, 5)), ["a", "a", "b"])
    assert distances.tolist() == [0.0, 0.0, 0.0] and same.tolist() == [True, False, False]


@pytest.mark.parametrize("seed", [0, 1])
def test_balanced_pairs(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 6, size=50)
    labels[labels == 5] = 7  # gaps in the label values
    labels[0] = 9  # an identity with a single example: never a same pair's member
    index, same = balanced_pairs(labels, num_pairs=1001, seed=seed)
    assert index.shape == (1001, 2) and same.shape == (1001,) and same.dtype == np.float32
    assert same.sum() == 500
    assert np.all(index[:, 0] != index[:, 1])
    np.testing.assert_array_equal(labels[index[:, 0]] == labels[index[:, 1]], same == 1)
    assert not np.any(index[same == 1] == 0)
    # Every example of an identity with >= 2 examples can be drawn in a same pair.
    assert len(np.unique(index[same == 1])) > 40
    # Different pairs reach every identity as the second member.
    assert set(labels[index[same == 0, 1]]) == set(labels)
    again, _ = balanced_pairs(labels, num_pairs=1001, seed=seed)
    np.testing.assert_array_equal(again, index)


def test_balanced_pairs_errors():
    with pytest.raises(ValueError, match=r"two identities and one with two examples.*1 identities"):
        balanced_pairs([3, 3, 3], num_pairs=4)
    with pytest.raises(ValueError, match=r"at most 1 examples each"):
        balanced_pairs([1, 2, 3], num_pairs=4)
    with pytest.raises(ValueError, match=r"`num_pairs` must be an int > 0. Received: num_pairs=0"):
        balanced_pairs([1, 1, 2], num_pairs=0)
    with pytest.raises(ValueError, match=r"`labels` must be 1-D"):
        balanced_pairs([[1, 1, 2]], num_pairs=2)
    with pytest.raises(ValueError, match=r"`encodings` must have shape \(n, D\) with n = len"):
        all_pairs(np.zeros((3, 2)), [0, 1])
