"""kmeans_anchors: planted clusters, determinism, the k trend and bad inputs."""

import numpy as np
import pytest

from kerasdl.ops.anchors import kmeans_anchors


def shape_iou(sizes, anchors):
    """Centre-aligned IoU by a plain double loop, independent of the module's broadcast."""
    out = np.zeros((len(sizes), len(anchors)))
    for i, (w, h) in enumerate(sizes):
        for j, (aw, ah) in enumerate(anchors):
            inter = min(w, aw) * min(h, ah)
            out[i, j] = inter / (w * h + aw * ah - inter)
    return out


def planted_sizes(rng, per_group=200):
    # Tall pedestrians, square faces and wide cars (the notes' motivating shapes), in
    # pixels, each within +-3% of its group's size.
    groups = np.array([[12.0, 36.0], [40.0, 40.0], [120.0, 50.0]])
    sizes = np.concatenate([g * rng.uniform(0.97, 1.03, (per_group, 2)) for g in groups])
    return rng.permutation(sizes), groups


def realistic_sizes(rng, n=600):
    """Log-normal widths and aspect ratios, as detection datasets have."""
    width = np.exp(rng.normal(np.log(0.15), 0.7, n))
    aspect = np.exp(rng.normal(0.0, 0.5, n))
    return np.stack([width, width * aspect], axis=1)


def test_recovers_three_planted_groups():
    rng = np.random.default_rng(0)
    sizes, groups = planted_sizes(rng)
    anchors, mean_iou = kmeans_anchors(sizes, k=3)
    assert anchors.shape == (3, 2) and anchors.dtype == np.float64
    np.testing.assert_allclose(anchors, groups, rtol=0.01)  # sorted by area like groups
    assert mean_iou > 0.95
    # Every box's best anchor is its own group's.
    labels = np.argmin(np.abs(np.log(sizes[:, None, :] / groups[None])).sum(-1), axis=1)
    np.testing.assert_array_equal(shape_iou(sizes, anchors).argmax(1), labels)


def test_anchors_are_means_of_their_boxes_and_mean_iou_is_reported_exactly():
    rng = np.random.default_rng(1)
    sizes = realistic_sizes(rng)
    anchors, mean_iou = kmeans_anchors(sizes, k=5)
    assignment = shape_iou(sizes, anchors).argmax(1)
    for j in range(5):
        # At convergence each anchor is the mean (w, h) of the boxes assigned to it.
        np.testing.assert_allclose(anchors[j], sizes[assignment == j].mean(0), rtol=1e-12)
    np.testing.assert_allclose(mean_iou, shape_iou(sizes, anchors).max(1).mean(), rtol=1e-12)
    areas = anchors[:, 0] * anchors[:, 1]
    assert (np.diff(areas) >= 0).all()


def test_k_equal_one_is_the_mean_size():
    sizes = realistic_sizes(np.random.default_rng(2), 50)
    anchors, mean_iou = kmeans_anchors(sizes, k=1)
    np.testing.assert_allclose(anchors, sizes.mean(0, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(mean_iou, shape_iou(sizes, anchors).mean(), rtol=1e-12)


def test_deterministic_for_a_seed():
    sizes = realistic_sizes(np.random.default_rng(3))
    first = kmeans_anchors(sizes, k=6, seed=7)
    second = kmeans_anchors(sizes.tolist(), k=6, seed=7)
    np.testing.assert_array_equal(first[0], second[0])
    assert first[1] == second[1]
    # Other seeds start elsewhere but land on equally good anchors for this data.
    other = kmeans_anchors(sizes, k=6, seed=8)
    assert abs(other[1] - first[1]) < 0.02


def test_mean_iou_increases_with_k():
    sizes = realistic_sizes(np.random.default_rng(4))
    mean_ious = [kmeans_anchors(sizes, k=k)[1] for k in range(1, 10)]
    assert all(b > a for a, b in zip(mean_ious, mean_ious[1:], strict=False)), mean_ious
    assert mean_ious[0] < 0.5 < mean_ious[4]


def test_k_equal_to_the_distinct_sizes_fits_every_box_exactly():
    sizes = np.array([[1.0, 2.0], [3.0, 1.0], [1.0, 2.0], [2.0, 2.0]])  # 3 distinct
    anchors, mean_iou = kmeans_anchors(sizes, k=3)
    np.testing.assert_allclose(anchors, [[1.0, 2.0], [3.0, 1.0], [2.0, 2.0]])
    assert mean_iou == pytest.approx(1.0)


def test_max_iter_stops_early():
    sizes = realistic_sizes(np.random.default_rng(5))
    one_round, _ = kmeans_anchors(sizes, k=4, max_iter=1)
    converged, _ = kmeans_anchors(sizes, k=4)
    assert not np.allclose(one_round, converged)


def test_bad_inputs():
    sizes = np.array([[1.0, 2.0], [3.0, 1.0], [1.0, 2.0]])
    with pytest.raises(
        ValueError, match=r"`k` must be <= the number of distinct box sizes \(2\)\. Received: k=3"
    ):
        kmeans_anchors(sizes, k=3)
    with pytest.raises(
        ValueError,
        match=r"`box_sizes` must hold finite widths and heights > 0\. "
        r"Received: box_sizes\[1\]=\[0\.0, 1\.0\]",
    ):
        kmeans_anchors([[1, 2], [0, 1]], k=1)
    with pytest.raises(ValueError, match=r"Received: box_sizes\[0\]=\[nan, 1\.0\]"):
        kmeans_anchors([[np.nan, 1], [1, 1]], k=1)
    with pytest.raises(
        ValueError,
        match=r"`box_sizes` must have shape \[N, 2\].*Received: box_sizes\.shape=\(3, 4\)",
    ):
        kmeans_anchors(np.ones((3, 4)), k=1)
    with pytest.raises(ValueError, match=r"Received: box_sizes\.shape=\(0, 2\)"):
        kmeans_anchors(np.ones((0, 2)), k=1)
    with pytest.raises(ValueError, match=r"`k` must be > 0\. Received: k=0"):
        kmeans_anchors(sizes, k=0)
    with pytest.raises(TypeError, match=r"`k` must be a positive int"):
        kmeans_anchors(sizes, k=2.0)
    with pytest.raises(ValueError, match=r"`max_iter` must be > 0"):
        kmeans_anchors(sizes, k=1, max_iter=0)
    with pytest.raises(TypeError, match=r"`seed` must be an int"):
        kmeans_anchors(sizes, k=1, seed=None)
    with pytest.raises(TypeError, match=r"`box_sizes` must be an array of \(w, h\) numbers"):
        kmeans_anchors([["a", "b"]], k=1)
