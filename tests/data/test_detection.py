"""YOLO grid targets and the notes' localisation target against an object-by-object
re-derivation of the documented rules, hand cases, round trips and the errors."""

import logging

import numpy as np
import pytest

from kerasdl.data.detection import (
    check_anchors,
    check_grid_size,
    decode_yolo_targets,
    encode_yolo_targets,
    localization_target,
)
from kerasdl.data.shapes import shapes_dataset

ANCHORS = np.array([[0.1, 0.1], [0.3, 0.15], [0.15, 0.3], [0.4, 0.4]])


def reference_encode(boxes, classes, sy, sx, anchors, num_classes):
    """One image, one object at a time, as the module docstring states the rule."""
    targets = np.zeros((sy, sx, len(anchors), 5 + num_classes))
    objects = [j for j in range(len(classes)) if classes[j] >= 0]

    def area(j):
        return (boxes[j][2] - boxes[j][0]) * (boxes[j][3] - boxes[j][1])

    # Python's sort is stable: equal areas keep their index order.
    objects.sort(key=lambda j: -area(j))
    dropped = 0
    for j in objects:
        ymin, xmin, ymax, xmax = boxes[j]
        h, w = ymax - ymin, xmax - xmin
        y, x = (ymin + ymax) / 2, (xmin + xmax) / 2
        row, col = min(int(np.floor(y * sy)), sy - 1), min(int(np.floor(x * sx)), sx - 1)
        ious = []
        for aw, ah in anchors:
            inter = min(w, aw) * min(h, ah)
            ious.append(inter / (w * h + aw * ah - inter))
        for a in sorted(range(len(anchors)), key=lambda a: -ious[a]):
            if targets[row, col, a, 0] == 0:
                targets[row, col, a, :5] = [1, x * sx - col, y * sy - row, h * sy, w * sx]
                targets[row, col, a, 5 + classes[j]] = 1
                break
        else:
            dropped += 1
    return targets, dropped


def random_objects(rng, n, m, padding=0.3):
    """Random boxes in [0, 1] with classes in [0, 3) and about `padding` of them padding."""
    corners = rng.uniform(0, 1, (n, m, 2, 2))
    low, high = corners.min(axis=2), corners.max(axis=2)
    boxes = np.concatenate([low, high], -1)[..., [0, 1, 2, 3]]
    classes = rng.integers(0, 3, (n, m))
    classes[rng.random((n, m)) < padding] = -1
    return boxes, classes


def test_notes_example_one_object():
    # Midpoint (x, y) = (0.3, 0.7) of a 0.4 x 0.2 (h x w) box in a 3x3 grid: cell (2, 0).
    boxes = np.array([[0.5, 0.2, 0.9, 0.4]])
    targets = encode_yolo_targets(boxes, [2], 3, ANCHORS, 3)
    assert targets.shape == (3, 3, 4, 8) and targets.dtype == np.float32
    # (w, h) = (0.2, 0.4): shape IoU 0.045 / 0.08 = 0.5625 with anchor 2 (0.15, 0.3), the
    # best; 0.08 / 0.16 = 0.5 with anchor 3 (0.4, 0.4); less with anchors 0 and 1.
    expected = [1, 0.3 * 3 - 0, 0.7 * 3 - 2, 0.4 * 3, 0.2 * 3, 0, 0, 1]
    np.testing.assert_allclose(targets[2, 0, 2], expected, rtol=1e-6)
    assert targets.sum() == pytest.approx(sum(expected))


@pytest.mark.parametrize("grid", [1, 4, (3, 5)])
def test_matches_object_by_object_reference(grid):
    rng = np.random.default_rng(0)
    boxes, classes = random_objects(rng, 40, 6)
    sy, sx = check_grid_size(grid)
    targets, dropped = encode_yolo_targets(boxes, classes, grid, ANCHORS, 3, True)
    for i in range(len(boxes)):
        expected, expected_dropped = reference_encode(boxes[i], classes[i], sy, sx, ANCHORS, 3)
        np.testing.assert_allclose(targets[i], expected, rtol=1e-6, atol=1e-6, err_msg=str(i))
        assert dropped[i] == expected_dropped
    # One image at a time gives the same as the batch.
    single, single_dropped = encode_yolo_targets(boxes[3], classes[3], grid, ANCHORS, 3, True)
    np.testing.assert_array_equal(single, targets[3])
    assert single_dropped == dropped[3] and single_dropped.shape == ()


def test_competing_objects_larger_first_then_next_best_anchor(caplog):
    anchors = [[0.3, 0.3], [0.1, 0.1]]
    # Three objects with midpoints in cell (0, 0) of a 2x2 grid:
    #   object 0: 0.20 x 0.20, IoU 0.44 with anchor 0, 0.25 with anchor 1
    #   object 1: 0.35 x 0.35 (largest), best anchor 0
    #   object 2: 0.16 x 0.16, IoU 0.28 with anchor 0, 0.39 with anchor 1
    boxes = np.array(
        [[0.1, 0.1, 0.3, 0.3], [0.05, 0.05, 0.4, 0.4], [0.12, 0.12, 0.28, 0.28]], "float64"
    )
    with caplog.at_level(logging.WARNING):
        targets, dropped = encode_yolo_targets(boxes, [0, 1, 2], 2, anchors, 3, True)
    # Object 1 takes anchor 0; object 0 finds it taken and takes anchor 1; object 2 finds
    # both taken and is dropped, although anchor 1 was its best.
    assert targets[0, 0, :, 5:].argmax(-1).tolist() == [1, 0]
    np.testing.assert_allclose(targets[0, 0, 1, 3:5], [0.4, 0.4], rtol=1e-6)
    assert int(dropped) == 1
    assert "dropped 1 of 3 objects" in caplog.text
    # Listing the objects in another order changes nothing.
    again = encode_yolo_targets(boxes[::-1], [2, 1, 0], 2, anchors, 3)
    np.testing.assert_array_equal(again, targets)


def test_one_anchor_keeps_the_larger_object():
    boxes = np.array([[0.1, 0.1, 0.2, 0.2], [0.0, 0.0, 0.3, 0.3]])
    targets, dropped = encode_yolo_targets(boxes, [0, 1], 1, [[0.2, 0.2]], 2, True)
    assert int(dropped) == 1
    np.testing.assert_allclose(targets[0, 0, 0], [1, 0.15, 0.15, 0.3, 0.3, 0, 1], rtol=1e-6)


def test_equal_areas_keep_the_lower_index():
    boxes = np.array([[0.1, 0.1, 0.3, 0.3], [0.15, 0.15, 0.35, 0.35]])
    targets = encode_yolo_targets(boxes, [0, 1], 1, [[0.2, 0.2]], 2)
    assert targets[0, 0, 0, 5:].tolist() == [1, 0]


def test_midpoints_on_cell_edges():
    # x = 0.5 lies on the edge between columns 0 and 1: it belongs to column 1 (floor).
    # A zero-size box at the image's corner (1, 1) goes to the last cell with bx = by = 1.
    boxes = np.array([[0.4, 0.4, 0.6, 0.6], [1.0, 1.0, 1.0, 1.0]])
    targets = encode_yolo_targets(boxes, [0, 1], 2, [[0.2, 0.2], [0.05, 0.05]], 2)
    np.testing.assert_allclose(targets[1, 1, 0, :5], [1, 0, 0, 0.4, 0.4], atol=1e-6)
    np.testing.assert_allclose(targets[1, 1, 1, :5], [1, 1, 1, 0, 0], atol=1e-6)


def test_padding_is_ignored_whatever_its_box():
    boxes = np.array([[0.1, 0.1, 0.3, 0.3], [5.0, -2.0, -1.0, 9.0]])
    targets = encode_yolo_targets(boxes, [1, -1], 2, ANCHORS, 2)
    assert targets[..., 0].sum() == 1
    empty = encode_yolo_targets(np.zeros((2, 0, 4)), np.zeros((2, 0), int), 2, ANCHORS, 2)
    assert empty.shape == (2, 2, 2, 4, 7) and not empty.any()


def test_round_trip_on_shapes():
    _, boxes, classes = shapes_dataset(64, max_objects=4, seed=5)
    targets, dropped = encode_yolo_targets(boxes, classes, 8, ANCHORS, 3, True)
    assert dropped.sum() == 0  # shapes overlap little: no cell holds five objects
    decoded, decoded_classes = decode_yolo_targets(targets, max_objects=4)
    for i in range(len(boxes)):
        valid = classes[i] >= 0
        expected = sorted(zip(classes[i][valid].tolist(), boxes[i][valid].tolist(), strict=True))
        found = decoded_classes[i] >= 0
        got = sorted(
            zip(decoded_classes[i][found].tolist(), decoded[i][found].tolist(), strict=True)
        )
        assert [c for c, _ in got] == [c for c, _ in expected]
        np.testing.assert_allclose([b for _, b in got], [b for _, b in expected], atol=1e-6)
        assert np.all(decoded[i][~found] == 0)


def test_decode_pads_and_cuts():
    boxes = np.array(
        [[[0.1, 0.1, 0.3, 0.3], [0.6, 0.6, 0.9, 0.8]], [[0.5, 0.5, 0.7, 0.7], [0] * 4]]
    )
    targets = encode_yolo_targets(boxes, np.array([[0, 1], [2, -1]]), 2, ANCHORS, 3)
    decoded, classes = decode_yolo_targets(targets)
    assert decoded.shape == (2, 2, 4) and classes.tolist() == [[0, 1], [2, -1]]
    decoded, classes = decode_yolo_targets(targets, max_objects=1)
    assert classes.tolist() == [[0], [2]]
    single, single_classes = decode_yolo_targets(targets[1], max_objects=3)
    assert single.shape == (3, 4) and single_classes.tolist() == [2, -1, -1]
    np.testing.assert_allclose(single[0], [0.5, 0.5, 0.7, 0.7], atol=1e-6)


@pytest.mark.parametrize(
    "boxes, classes, match",
    [
        (
            [[[0.1, 0.1, 0.3, 0.3], [0.1, 0.2, 1.2, 0.4]]],
            [[0, 1]],
            r"`boxes` must be normalised \(ymin, xmin, ymax, xmax\) in \[0, 1\]\. "
            r"Received: boxes\[0, 1\]=\[0\.1, 0\.2, 1\.2, 0\.4\] \(image 0, object 1\)",
        ),
        (
            [[[0.1, 0.1, 0.3, 0.3]], [[0.5, 0.1, 0.3, 0.3]]],
            [[0], [2]],
            r"`boxes` must have ymin <= ymax and xmin <= xmax\. "
            r"Received: boxes\[1, 0\]=\[0\.5, 0\.1, 0\.3, 0\.3\] \(image 1, object 0\)",
        ),
        (
            [[0.1, 0.1, 0.3, 0.3], [0.1, 0.4, 0.3, 0.3]],
            [0, 0],
            r"xmin <= xmax\. Received: boxes\[1\]=\[0\.1, 0\.4, 0\.3, 0\.3\] \(object 1\)",
        ),
        (
            [[0.1, 0.1, 0.3, np.nan]],
            [0],
            r"in \[0, 1\]\. Received: boxes\[0\]=\[0\.1, 0\.1, 0\.3, nan\] \(object 0\)",
        ),
        (
            [[0.1, 0.1, 0.3, 0.3], [0.1, 0.1, 0.3, 0.3]],
            [0, 3],
            r"`classes` must be class ids in \[0, 3\) or -1 for padding\. "
            r"Received: classes\[1\]=3 \(object 1\)",
        ),
        (
            [[0.1, 0.1, 0.3, 0.3]],
            [0, 1],
            r"`classes` must have shape \(1,\).*Received: classes.shape=\(2,\)",
        ),
        ([0.1, 0.1, 0.3, 0.3], [0], r"`boxes` must have shape \[m, 4\] or \[n, m, 4\]"),
    ],
)
def test_bad_boxes_and_classes_are_named(boxes, classes, match):
    with pytest.raises(ValueError, match=match):
        encode_yolo_targets(np.array(boxes), np.array(classes), 2, ANCHORS, 3)


def test_bad_arguments_are_named():
    boxes, classes = np.array([[0.1, 0.1, 0.3, 0.3]]), [0]
    with pytest.raises(
        ValueError, match=r"`anchors` must have shape \[A, 2\].*anchors.shape=\(3,\)"
    ):
        encode_yolo_targets(boxes, classes, 2, [0.1, 0.2, 0.3], 3)
    with pytest.raises(ValueError, match=r"`anchors` must be \(w, h\) fractions.*in \(0, 1\]"):
        encode_yolo_targets(boxes, classes, 2, [[0.1, 0.0]], 3)
    with pytest.raises(ValueError, match=r"`grid_size` must be a positive int S or a pair"):
        encode_yolo_targets(boxes, classes, (2, 0), ANCHORS, 3)
    with pytest.raises(ValueError, match=r"`num_classes` must be > 0"):
        encode_yolo_targets(boxes, classes, 2, ANCHORS, 0)
    with pytest.raises(TypeError, match=r"`classes` must hold integer class ids"):
        encode_yolo_targets(boxes, [0.0], 2, ANCHORS, 3)
    with pytest.raises(ValueError, match=r"`targets` must have shape \[Sy, Sx, A, 5 \+ K\]"):
        decode_yolo_targets(np.zeros((2, 2, 5)))
    assert check_anchors(np.array([[1, 0.5]])) == ((1.0, 0.5),)


def test_localization_target_is_the_notes_vector():
    # A box from (ymin, xmin) = (0.2, 0.1) to (0.6, 0.5): midpoint (bx, by) = (0.3, 0.4).
    y = localization_target([0.2, 0.1, 0.6, 0.5], 1, num_classes=3)
    np.testing.assert_allclose(y, [1, 0.3, 0.4, 0.4, 0.4, 0, 1, 0], rtol=1e-6)
    assert y.dtype == np.float32
    background = localization_target([0.9, 0.9, 0.1, 0.1], -1, num_classes=3)
    assert background.tolist() == [0] * 8  # a background box is never checked


def test_localization_target_batch_with_landmarks():
    boxes = np.array([[0.0, 0.0, 1.0, 0.5], [0, 0, 0, 0], [0.25, 0.5, 0.75, 1.0]])
    landmarks = np.array([[[0.1, 0.2], [0.3, 0.4]], [[0, 0], [0, 0]], [[0.6, 0.5], [0.9, 0.7]]])
    y = localization_target(boxes, np.array([0, -1, 1]), 2, landmarks=landmarks)
    np.testing.assert_allclose(
        y,
        [
            [1, 0.25, 0.5, 1.0, 0.5, 1, 0, 0.1, 0.2, 0.3, 0.4],
            [0] * 11,
            [1, 0.75, 0.5, 0.5, 0.5, 0, 1, 0.6, 0.5, 0.9, 0.7],
        ],
        rtol=1e-6,
    )


@pytest.mark.parametrize(
    "args, match",
    [
        (([0.2, 0.1, 0.6, 1.5], 0), r"`box` must be normalised.*Received: box=\[0\.2, 0\.1"),
        (
            ([[0.1, 0.1, 0.2, 0.2], [0.6, 0.1, 0.2, 0.5]], [0, 1]),
            r"`box` must have ymin <= ymax.*Received: box\[1\]=\[0\.6.*\(image 1\)",
        ),
        (([0.2, 0.1, 0.6, 0.5], 3), r"`class_id` must be in \[0, 3\).*Received: class_id=3"),
        (([0.2, 0.1, 0.6, 0.5], [0]), r"`class_id` must have shape \(\)"),
        (([0.2, 0.1, 0.6], 0), r"`box` must have shape \[4\] or \[n, 4\]"),
    ],
)
def test_localization_target_errors(args, match):
    with pytest.raises(ValueError, match=match):
        localization_target(*args, num_classes=3)


def test_landmark_errors():
    with pytest.raises(ValueError, match=r"`landmarks` must be \(x, y\) points normalised"):
        localization_target([0.2, 0.1, 0.6, 0.5], 0, 3, landmarks=[[0.5, 1.2]])
    with pytest.raises(ValueError, match=r"`landmarks` must have shape \[L, 2\]"):
        localization_target([0.2, 0.1, 0.6, 0.5], 0, 3, landmarks=[0.5, 0.2])
    with pytest.raises(ValueError, match=r"`landmarks` must have shape \[2, L, 2\]"):
        localization_target(np.zeros((2, 4)), np.array([-1, -1]), 3, landmarks=np.zeros((3, 1, 2)))
