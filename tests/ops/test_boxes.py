"""Box formats and IoU against hand-worked cases and a numpy double loop."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.ops.boxes import convert_boxes, elementwise_iou, iou


def numpy_iou(a, b):
    """IoU of two yxyx boxes straight from the definition, corners in any order."""
    ya0, ya1 = sorted((a[0], a[2]))
    xa0, xa1 = sorted((a[1], a[3]))
    yb0, yb1 = sorted((b[0], b[2]))
    xb0, xb1 = sorted((b[1], b[3]))
    area_a = (ya1 - ya0) * (xa1 - xa0)
    area_b = (yb1 - yb0) * (xb1 - xb0)
    if area_a <= 0 or area_b <= 0:
        return 0.0
    inter = max(min(ya1, yb1) - max(ya0, yb0), 0) * max(min(xa1, xb1) - max(xa0, xb0), 0)
    return inter / (area_a + area_b - inter)


def numpy_pairwise(boxes1, boxes2):
    return np.array([[numpy_iou(a, b) for b in boxes2] for a in boxes1])


def random_boxes(rng, n, flip=False, degenerate=False):
    centre = rng.uniform(0, 1, (n, 2))
    size = rng.uniform(0, 0.5, (n, 2))
    if degenerate:
        size[rng.random(n) < 0.2, 0] = 0
        size[rng.random(n) < 0.2, 1] = 0
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
    if flip:
        swap = rng.random(n) < 0.5
        boxes[swap] = boxes[swap][:, [2, 1, 0, 3]]
        swap = rng.random(n) < 0.5
        boxes[swap] = boxes[swap][:, [0, 3, 2, 1]]
    return boxes


def as_numpy(x):
    return keras.ops.convert_to_numpy(x)


def dtype(x):
    return keras.backend.standardize_dtype(x.dtype)


@pytest.mark.parametrize(
    "box1, box2, expected",
    [
        # Two 2x2 squares overlapping in a 1x1 square: 1 / (4 + 4 - 1).
        ([1, 2, 3, 4], [2, 1, 4, 3], 1 / 7),
        # The notes' "correct if IoU >= 0.5" boundary: a box and its upper half.
        ([0, 0, 2, 1], [0, 0, 1, 1], 0.5),
        ([0, 0, 4, 4], [1, 1, 3, 3], 4 / 16),  # nested: inner area / outer area
        ([0, 0, 1, 1], [0, 0, 1, 1], 1.0),
        ([1, 2, 3, 4], [5, 6, 7, 8], 0.0),  # disjoint
        ([1, 1, 2, 2], [2, 2, 3, 3], 0.0),  # touching at a corner
        ([1, 1, 3, 3], [3, 2, 4, 3], 0.0),  # touching along an edge
        ([0, 0, 3, 1], [1, 0, 4, 1], 2 / 4),  # 1-wide strips shifted by 1
        ([3, 4, 1, 2], [2, 1, 4, 3], 1 / 7),  # corners given max-first
    ],
)
def test_hand_worked_cases(box1, box2, expected):
    got = as_numpy(iou([box1], [box2]))
    assert got.shape == (1, 1)
    np.testing.assert_allclose(got[0, 0], expected, rtol=1e-6)
    np.testing.assert_allclose(as_numpy(elementwise_iou(box1, box2)), expected, rtol=1e-6)


def test_random_boxes_match_numpy_double_loop():
    rng = np.random.default_rng(0)
    for trial in range(20):
        n, m = rng.integers(1, 30, size=2)
        boxes1 = random_boxes(rng, n, flip=trial % 2 == 1, degenerate=trial % 3 == 0)
        boxes2 = random_boxes(rng, m, flip=trial % 2 == 0, degenerate=trial % 3 == 1)
        got = as_numpy(iou(boxes1.astype("float32"), boxes2.astype("float32")))
        np.testing.assert_allclose(got, numpy_pairwise(boxes1, boxes2), atol=2e-6)


def test_float64_is_kept_and_exact():
    rng = np.random.default_rng(1)
    boxes1, boxes2 = random_boxes(rng, 15, flip=True), random_boxes(rng, 9)
    got = iou(boxes1, boxes2)
    assert dtype(got) == "float64"
    np.testing.assert_allclose(as_numpy(got), numpy_pairwise(boxes1, boxes2), rtol=1e-12)
    assert dtype(elementwise_iou(boxes1, boxes1)) == "float64"
    # A float32 operand meets a float64 one in float64.
    assert dtype(iou(boxes1.astype("float32"), boxes2)) == "float64"


def test_symmetric_and_self_iou_is_one():
    rng = np.random.default_rng(2)
    boxes1 = random_boxes(rng, 12, flip=True).astype("float32")
    boxes2 = random_boxes(rng, 7).astype("float32")
    np.testing.assert_array_equal(as_numpy(iou(boxes1, boxes2)), as_numpy(iou(boxes2, boxes1)).T)
    self_iou = as_numpy(iou(boxes1, boxes1))
    np.testing.assert_allclose(np.diag(self_iou), 1.0, rtol=1e-6)
    assert ((self_iou >= 0) & (self_iou <= 1 + 1e-6)).all()


def test_flipped_corners_are_the_same_box():
    rng = np.random.default_rng(3)
    boxes = random_boxes(rng, 10).astype("float32")
    flipped = boxes[:, [2, 3, 0, 1]]
    np.testing.assert_allclose(as_numpy(iou(flipped, boxes)), as_numpy(iou(boxes, boxes)))


def test_zero_area_boxes_give_zero_without_nan():
    boxes = np.array(
        [
            [0, 0, 0, 0],  # a point
            [0, 0, 0, 1],  # a horizontal segment
            [0.5, 0.5, 0.5, 0.5],  # a point inside the next box
            [0, 0, 1, 1],
        ],
        "float32",
    )
    got = as_numpy(iou(boxes, boxes))
    assert not np.isnan(got).any()
    expected = np.zeros((4, 4))
    expected[3, 3] = 1.0  # a zero-area box has IoU 0 even with itself, as in tf.image
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(as_numpy(elementwise_iou(boxes, boxes)), [0, 0, 0, 1])


def test_gradient_is_finite_for_degenerate_and_disjoint_boxes():
    # Losses differentiate IoU: the discarded 0/0 branch must not leak NaN gradients.
    pred = tf.Variable([[0.2, 0.2, 0.2, 0.2], [0.0, 0.0, 0.5, 0.5], [0.1, 0.1, 0.4, 0.6]])
    true = tf.constant([[0.2, 0.2, 0.2, 0.2], [0.6, 0.6, 0.9, 0.9], [0.2, 0.1, 0.5, 0.5]])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(1.0 - elementwise_iou(pred, true))
    grad = tape.gradient(loss, pred).numpy()
    assert np.isfinite(grad).all()
    assert np.abs(grad[2]).sum() > 0  # the overlapping pair does get a gradient


def test_batched_and_broadcast_leading_dimensions():
    rng = np.random.default_rng(4)
    boxes1 = np.stack([random_boxes(rng, 5) for _ in range(3)]).astype("float32")  # [3, 5, 4]
    boxes2 = np.stack([random_boxes(rng, 6) for _ in range(3)]).astype("float32")  # [3, 6, 4]
    got = as_numpy(iou(boxes1, boxes2))
    assert got.shape == (3, 5, 6)
    for b in range(3):
        np.testing.assert_allclose(got[b], numpy_pairwise(boxes1[b], boxes2[b]), atol=2e-6)
    shared = as_numpy(iou(boxes1, boxes2[0]))  # one [6, 4] set against each batch entry
    for b in range(3):
        np.testing.assert_allclose(shared[b], numpy_pairwise(boxes1[b], boxes2[0]), atol=2e-6)
    aligned = as_numpy(elementwise_iou(boxes1, boxes2[:, :5]))
    assert aligned.shape == (3, 5)
    for b in range(3):
        np.testing.assert_allclose(
            aligned[b], np.diag(numpy_pairwise(boxes1[b], boxes2[b, :5])), atol=2e-6
        )


@pytest.mark.parametrize("fmt", ["xyxy", "cxcywh"])
def test_formats_give_the_same_iou(fmt):
    rng = np.random.default_rng(5)
    boxes1, boxes2 = random_boxes(rng, 8), random_boxes(rng, 4)
    expected = numpy_pairwise(boxes1, boxes2)
    converted1 = convert_boxes(boxes1, "yxyx", fmt)
    converted2 = convert_boxes(boxes2, "yxyx", fmt)
    np.testing.assert_allclose(as_numpy(iou(converted1, converted2, format=fmt)), expected, 1e-9)
    np.testing.assert_allclose(
        as_numpy(elementwise_iou(converted1, converted1, format=fmt)), np.ones(8), 1e-9
    )


def test_convert_boxes_known_values():
    yxyx = np.array([[0.2, 0.1, 0.6, 0.5], [10.0, 20.0, 30.0, 60.0]])
    np.testing.assert_allclose(
        as_numpy(convert_boxes(yxyx, "yxyx", "xyxy")), [[0.1, 0.2, 0.5, 0.6], [20, 10, 60, 30]]
    )
    np.testing.assert_allclose(
        as_numpy(convert_boxes(yxyx, "yxyx", "cxcywh")),
        [[0.3, 0.4, 0.4, 0.4], [40, 20, 40, 20]],
        atol=1e-12,
    )
    # A cxcywh box with a negative size becomes a flipped corner box, not an error.
    np.testing.assert_allclose(
        as_numpy(convert_boxes([[0.5, 0.5, -0.2, 0.4]], "cxcywh", "yxyx")),
        [[0.3, 0.6, 0.7, 0.4]],
        atol=1e-7,
    )


@pytest.mark.parametrize("source", ["yxyx", "xyxy", "cxcywh"])
@pytest.mark.parametrize("target", ["yxyx", "xyxy", "cxcywh"])
def test_convert_boxes_round_trips_any_leading_shape(source, target):
    boxes = np.random.default_rng(6).uniform(0.1, 1, (2, 3, 5, 4))
    there = convert_boxes(boxes, source, target)
    assert tuple(there.shape) == boxes.shape
    back = as_numpy(convert_boxes(there, target, source))
    np.testing.assert_allclose(back, boxes, atol=1e-12)


def test_convert_boxes_composes_through_yxyx():
    boxes = np.random.default_rng(7).uniform(0.1, 1, (6, 4))
    direct = as_numpy(convert_boxes(boxes, "xyxy", "cxcywh"))
    via = as_numpy(convert_boxes(convert_boxes(boxes, "xyxy", "yxyx"), "yxyx", "cxcywh"))
    np.testing.assert_allclose(direct, via, atol=1e-12)


def test_integer_boxes_become_floats():
    got = iou([[0, 0, 2, 2]], [[1, 1, 3, 3]])
    assert dtype(got) == keras.backend.floatx()
    np.testing.assert_allclose(as_numpy(got), [[1 / 7]], rtol=1e-6)


def test_runs_under_xla():
    rng = np.random.default_rng(8)
    boxes1 = random_boxes(rng, 20, flip=True, degenerate=True).astype("float32")
    boxes2 = random_boxes(rng, 11).astype("float32")
    compiled = tf.function(lambda a, b: iou(a, b, format="yxyx"), jit_compile=True)
    np.testing.assert_allclose(compiled(boxes1, boxes2).numpy(), as_numpy(iou(boxes1, boxes2)))


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"`boxes1` must have shape \[\.\.\., 4\]\. "):
        iou(np.zeros((3, 5)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"Received: boxes2.shape=\(2, 3\)"):
        elementwise_iou(np.zeros((2, 4)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"`boxes2` must have shape \[\.\.\., N, 4\]"):
        iou(np.zeros((2, 4)), np.zeros((4,)))
    with pytest.raises(ValueError, match=r"`format` must be one of .*Received: format='xywh'"):
        iou(np.zeros((2, 4)), np.zeros((2, 4)), format="xywh")
    with pytest.raises(ValueError, match=r"`target` must be one of .*Received: target='yxhw'"):
        convert_boxes(np.zeros((2, 4)), "yxyx", "yxhw")
    with pytest.raises(ValueError, match=r"`boxes` must have shape \[\.\.\., 4\]"):
        convert_boxes(np.zeros((3, 5)), "yxyx", "xyxy")
