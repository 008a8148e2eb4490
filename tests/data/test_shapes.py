"""The shapes data set: tight boxes, the drawn shapes, the overlap rule, determinism, and
the tf.data pipeline with flips."""

import numpy as np
import pytest
import tensorflow as tf

from kerasdl.data.detection import encode_yolo_targets
from kerasdl.data.shapes import flip_left_right, shapes_dataset, shapes_tf_dataset

CLASSES = ("circle", "square", "rectangle", "triangle")


@pytest.fixture(scope="module")
def drawn():
    """300 noiseless 48x64 images with their masks, every shape kind."""
    return shapes_dataset(
        300, image_size=(48, 64), classes=CLASSES, noise=0.0, seed=7, return_masks=True
    )


def mask_box(mask):
    """Tight box of a mask in pixel edges, (top, left, bottom + 1, right + 1)."""
    rows, cols = np.nonzero(mask)
    return [rows.min(), cols.min(), rows.max() + 1, cols.max() + 1]


def test_shapes_dtypes_and_ranges():
    images, boxes, classes = shapes_dataset(50, max_objects=5, min_objects=2, seed=1)
    assert images.shape == (50, 64, 64, 3) and images.dtype == np.float32
    assert boxes.shape == (50, 5, 4) and boxes.dtype == np.float32
    assert classes.shape == (50, 5) and classes.dtype == np.int32
    assert images.min() >= 0 and images.max() <= 1
    assert set(np.unique(classes)) <= {-1, 0, 1, 2}
    counts = (classes >= 0).sum(axis=1)
    assert counts.min() >= 1 and counts.max() <= 5
    # Objects first, padding last, and padding boxes are zero.
    assert np.all(np.diff((classes < 0).astype(int), axis=1) >= 0)
    assert np.all(boxes[classes < 0] == 0)


def test_boxes_are_tight_around_the_masks(drawn):
    _, boxes, classes, masks = drawn
    height, width = masks.shape[2:]
    checked = 0
    for i, j in zip(*np.nonzero(classes >= 0), strict=True):
        expected = np.array(mask_box(masks[i, j])) / [height, width, height, width]
        np.testing.assert_allclose(boxes[i, j], expected, atol=1e-6, err_msg=f"{i}, {j}")
        checked += 1
    assert checked > 500
    assert not masks[classes < 0].any()


def test_each_kind_is_the_shape_it_names(drawn):
    _, boxes, classes, masks = drawn
    for i, j in zip(*np.nonzero(classes >= 0), strict=True):
        top, left, bottom, right = mask_box(masks[i, j])
        shape = masks[i, j, top:bottom, left:right]
        h, w = shape.shape
        kind = CLASSES[classes[i, j]]
        if kind in ("square", "rectangle"):
            assert shape.all()  # fills its box
            ratio = w / h
            if kind == "square":
                assert abs(w - h) <= 1
            else:
                assert ratio <= 1 / 1.2 or ratio >= 1.2, (h, w)
        elif kind == "circle":
            assert abs(w - h) <= 1
            assert 0.6 < shape.mean() < 0.95  # pi / 4 of its box, more when small
            assert not shape[[0, 0, -1, -1], [0, -1, 0, -1]].any()  # round: empty corners
            widths = shape.sum(axis=1)
            middle = np.argmax(widths)
            assert np.all(np.diff(widths[: middle + 1]) >= 0)
            assert np.all(np.diff(widths[middle:]) <= 0)
        else:
            # Apex up: rows widen downwards, the bottom row spans the box.
            widths = shape.sum(axis=1)
            assert np.all(np.diff(widths) >= 0) and widths[-1] == w and widths[0] < w
            assert 0.35 < shape.mean() < 0.7


def test_overlap_rule_keeps_every_object_visible(drawn):
    images, boxes, classes, masks = drawn
    height, width = masks.shape[2:]
    pixels = boxes * [height, width, height, width]
    for i in range(len(images)):
        valid = np.nonzero(classes[i] >= 0)[0]
        for j in valid:
            # Share of box j covered by the other boxes (pixel boxes: within half a pixel
            # of the exact extents the rule is applied to).
            covered = 0.0
            for k in valid[valid != j]:
                dy = min(pixels[i, j, 2], pixels[i, k, 2]) - max(pixels[i, j, 0], pixels[i, k, 0])
                dx = min(pixels[i, j, 3], pixels[i, k, 3]) - max(pixels[i, j, 1], pixels[i, k, 1])
                covered += max(dy, 0) * max(dx, 0)
            area = (pixels[i, j, 2] - pixels[i, j, 0]) * (pixels[i, j, 3] - pixels[i, j, 1])
            assert covered / area <= 0.25 + 0.06
            # The shape's visible pixels (not under a later shape) all carry its colour.
            visible = masks[i, j] & ~masks[i, j + 1 :].any(axis=0)
            assert visible.sum() >= 0.5 * masks[i, j].sum()
            colours = images[i][visible]
            np.testing.assert_array_equal(colours, np.broadcast_to(colours[0], colours.shape))


def test_zero_overlap_gives_disjoint_boxes():
    _, boxes, classes = shapes_dataset(100, max_objects=4, max_overlap=0.0, seed=3)
    for i in range(100):
        b = boxes[i][classes[i] >= 0]
        dy = np.minimum(b[:, None, 2], b[None, :, 2]) - np.maximum(b[:, None, 0], b[None, :, 0])
        dx = np.minimum(b[:, None, 3], b[None, :, 3]) - np.maximum(b[:, None, 1], b[None, :, 1])
        overlap = np.maximum(dy, 0) * np.maximum(dx, 0)
        np.fill_diagonal(overlap, 0)
        assert overlap.max() <= (1 / 64) ** 2  # at most half a pixel each way


def test_sizes_and_classes_follow_the_arguments():
    _, boxes, classes = shapes_dataset(
        400, max_objects=1, min_size=0.2, max_size=0.3, classes=("square", "circle"), seed=4
    )
    assert np.all(classes[:, 0] >= 0) and set(classes[:, 0]) == {0, 1}
    sides = boxes[:, 0, 2:] - boxes[:, 0, :2]
    assert sides.min() >= 0.2 - 1.5 / 64 and sides.max() <= 0.3 + 1.5 / 64
    assert 0.4 < np.mean(classes[:, 0]) < 0.6


def test_colour_does_not_give_the_class_away(drawn):
    images, boxes, classes, masks = drawn
    hues = {k: [] for k in range(len(CLASSES))}
    for i, j in zip(*np.nonzero(classes >= 0), strict=True):
        r, g, b = images[i][masks[i, j] & ~masks[i, j + 1 :].any(axis=0)][0]
        hues[classes[i, j]].append(np.arctan2(np.sqrt(3) * (g - b), 2 * r - g - b))
    for k, values in hues.items():
        counts, _ = np.histogram(values, bins=4, range=(-np.pi, np.pi))
        assert counts.min() >= 0.1 * len(values), (CLASSES[k], counts)


def test_same_seed_same_images_other_seed_other_images():
    first = shapes_dataset(20, seed=11)
    again = shapes_dataset(20, seed=11)
    other = shapes_dataset(20, seed=12)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


def test_noise_and_background_texture():
    clean, boxes, classes, masks = shapes_dataset(
        10, noise=0.0, seed=2, max_objects=1, return_masks=True
    )
    noisy, *_ = shapes_dataset(10, noise=0.05, seed=2, max_objects=1)
    background = ~masks[:, 0]
    # The background is textured, not flat; noise is added everywhere.
    assert np.all(clean[background.nonzero()[0], ...].std() > 0.005)
    diff = (noisy - clean)[background]
    assert 0.03 < diff.std() < 0.06


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"classes": ("circle", "hexagon")}, ValueError, r"`classes` must be distinct shape"),
        ({"classes": "circle"}, ValueError, r"`classes` must be a non-empty sequence"),
        ({"min_size": 0.6, "max_size": 0.5}, ValueError, r"`min_size` must be <= max_size"),
        ({"min_size": 0.01}, ValueError, r"`min_size` must give shapes of at least 3 pixels"),
        ({"max_size": 1.5}, ValueError, r"`max_size` must be a fraction.*in \(0, 1\]"),
        ({"min_objects": 5}, ValueError, r"`min_objects` must be <= max_objects=4"),
        ({"max_overlap": 1.0}, ValueError, r"`max_overlap` must be in \[0, 1\)"),
        ({"image_size": (0, 8)}, ValueError, r"`image_size` must be a positive int S or a pair"),
        ({"num_images": 2.0}, TypeError, r"`num_images` must be an int"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    kwargs = {"num_images": 2, **kwargs}
    with pytest.raises(error, match=match):
        shapes_dataset(**kwargs)


def test_flip_maps_boxes_onto_the_mirrored_pixels(drawn):
    images, boxes, classes, masks = drawn
    flipped_masks, flipped_boxes, _ = flip_left_right(
        masks[:20, ..., None], boxes[:20], classes[:20]
    )
    height, width = masks.shape[2:]
    for i, j in zip(*np.nonzero(classes[:20] >= 0), strict=True):
        expected = np.array(mask_box(flipped_masks.numpy()[i, j, ..., 0])) / [
            height,
            width,
            height,
            width,
        ]
        np.testing.assert_allclose(flipped_boxes.numpy()[i, j], expected, atol=1e-6)
    assert np.all(flipped_boxes.numpy()[classes[:20] < 0] == 0)


def find_source(image, images):
    """The index of the image `image` was made from, and how it was flipped."""
    for name, flipped in {
        "none": images,
        "lr": images[:, :, ::-1],
        "ud": images[:, ::-1],
        "both": images[:, ::-1, ::-1],
    }.items():
        match = np.nonzero(np.all(flipped == image, axis=(1, 2, 3)))[0]
        if len(match) == 1:
            return match[0], name
    raise AssertionError("image not found among the sources")


def test_tf_dataset_targets_and_flips():
    options = dict(image_size=32, max_objects=3, seed=9)
    images, boxes, classes = shapes_dataset(12, **options)
    anchors = [[0.2, 0.2], [0.4, 0.3]]
    ds = shapes_tf_dataset(
        12,
        batch_size=5,
        grid_size=4,
        anchors=anchors,
        random_flip_left_right=True,
        random_flip_up_down=True,
        shuffle=True,
        **options,
    )
    assert ds.element_spec[1].shape.as_list() == [None, 4, 4, 2, 8]
    seen = {"none": 0, "lr": 0, "ud": 0, "both": 0}
    for _ in range(2):  # two epochs: new shuffles and flips
        got_images, got_targets = (np.concatenate(parts) for parts in zip(*ds, strict=True))
        assert len(got_images) == 12
        for image, target in zip(got_images, got_targets, strict=True):
            i, name = find_source(image, images)
            b = boxes[i].copy()
            if name in ("lr", "both"):
                b[:, [1, 3]] = 1 - b[:, [3, 1]]
            if name in ("ud", "both"):
                b[:, [0, 2]] = 1 - b[:, [2, 0]]
            b[classes[i] < 0] = 0
            expected = encode_yolo_targets(b, classes[i], 4, anchors, 3)
            np.testing.assert_allclose(target, expected, atol=1e-6)
            seen[name] += 1
    assert min(seen.values()) > 0, seen


def test_tf_dataset_without_grid_yields_boxes():
    ds = shapes_tf_dataset(6, batch_size=4, shuffle=False, image_size=16, min_size=0.25)
    images, labels = next(iter(ds))
    expected_images, expected_boxes, expected_classes = shapes_dataset(
        6, image_size=16, min_size=0.25, seed=0
    )
    np.testing.assert_array_equal(images.numpy(), expected_images[:4])
    np.testing.assert_array_equal(labels["boxes"].numpy(), expected_boxes[:4])
    np.testing.assert_array_equal(labels["classes"].numpy(), expected_classes[:4])
    with pytest.raises(ValueError, match=r"`grid_size` and `anchors` must be given together"):
        shapes_tf_dataset(4, grid_size=4)
    assert isinstance(ds, tf.data.Dataset)
