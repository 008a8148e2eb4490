"""A synthetic detection set: coloured shapes on textured backgrounds, with tight boxes.

Nothing is downloaded: every image is drawn with numpy from a seed. Boxes follow the
detection conventions of `kerasdl.data.detection` (yxyx normalised to [0, 1], class -1 for
padding).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.colors import hsv_to_rgb

from kerasdl.data.detection import check_anchors, check_grid_size, encode_yolo_targets

SHAPES = ("circle", "square", "rectangle", "triangle")
# Candidate placements tried per object slot before the slot is left empty.
_PLACEMENT_TRIES = 32
# Images drawn at once: bounds the memory of the [chunk, H, W] coordinate masks.
_CHUNK = 512


def _check_size_fraction(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"`{name}` must be a number. Received: {name}={value!r}")
    if not 0 < value <= 1:
        raise ValueError(
            f"`{name}` must be a fraction of the image side in (0, 1]. Received: {name}={value}"
        )
    return float(value)


def _check_count(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an int. Received: {name}={value!r}")
    if value < low:
        raise ValueError(f"`{name}` must be >= {low}. Received: {name}={value}")
    return int(value)


def _check_classes(classes: Any) -> tuple[str, ...]:
    if isinstance(classes, str) or not isinstance(classes, Sequence) or not classes:
        raise ValueError(
            f"`classes` must be a non-empty sequence of shape names from {SHAPES}. "
            f"Received: classes={classes!r}"
        )
    unknown = [c for c in classes if c not in SHAPES]
    if unknown or len(set(classes)) != len(classes):
        raise ValueError(
            f"`classes` must be distinct shape names from {SHAPES}. Received: classes={classes!r}"
        )
    return tuple(classes)


def _shape_masks(kind, cy, cx, h, w, py, px):
    """`[n, H, W]` masks of one shape per image; sizes and centres in pixels `[n]`."""
    cy, cx, h, w = (v[:, None, None] for v in (cy, cx, h, w))
    dy, dx = py - cy, px - cx
    if kind == "circle":
        return (dy / (h / 2)) ** 2 + (dx / (w / 2)) ** 2 <= 1
    if kind in ("square", "rectangle"):
        return (np.abs(dy) <= h / 2) & (np.abs(dx) <= w / 2)
    # Triangle: apex at the top centre, base along the bottom edge.
    depth = (dy + h / 2) / h
    return (depth >= 0) & (depth <= 1) & (np.abs(dx) <= depth * w / 2)


def _sizes(kind_ids, names, side, min_size, max_size, rng):
    """Height and width in pixels `[..., 2]` for shapes of the given kinds."""
    s = rng.uniform(min_size, max_size, kind_ids.shape) * side
    # Rectangles are clearly not square: aspect w/h in [1/2.5, 1/1.3] or [1.3, 2.5].
    aspect = np.exp(rng.uniform(np.log(1.3), np.log(2.5), kind_ids.shape))
    aspect = np.where(rng.random(kind_ids.shape) < 0.5, aspect, 1 / aspect)
    stretch = rng.uniform(0.8, 1.25, kind_ids.shape)
    names = np.asarray(names)[kind_ids]
    h = np.select(
        [names == "rectangle", names == "triangle"], [s / np.sqrt(aspect), s * stretch], s
    )
    w = np.select([names == "rectangle"], [s * np.sqrt(aspect)], s)
    return np.stack([h, w], -1)


def _backgrounds(n, height, width, py, px, rng):
    """Low-saturation colours with sinusoidal texture and a gradient, in [0, 1]."""
    hsv = np.stack([rng.random(n), rng.uniform(0, 0.35, n), rng.uniform(0.15, 0.45, n)], -1)
    base = hsv_to_rgb(hsv)[:, None, None, :]
    texture = np.zeros((n, height, width), "float32")
    for _ in range(3):
        fy, fx = (rng.uniform(-0.6, 0.6, (2, n, 1, 1))).astype("float32")
        phase = rng.uniform(0, 2 * np.pi, (n, 1, 1)).astype("float32")
        texture += np.sin(fy * py + fx * px + phase)
    gy, gx = rng.uniform(-0.15, 0.15, (2, n, 1, 1)).astype("float32")
    texture = 0.03 * texture + gy * (py / height - 0.5) + gx * (px / width - 0.5)
    tint = rng.uniform(0.5, 1.0, (n, 1, 1, 3)).astype("float32")
    return np.clip(base + texture[..., None] * tint, 0, 1).astype("float32")


def _place(sizes, active, height, width, max_overlap, rng):
    """Centres `[n, m, 2]` (pixels) and whether each slot was placed `[n, m]`.

    Slot by slot, `_PLACEMENT_TRIES` random centres are drawn per image and the first that
    keeps every box's covered share (sum of its intersections with the other boxes over
    its area) <= `max_overlap` is kept; a slot with no such centre stays empty.
    """
    n, m, _ = sizes.shape
    centres = np.zeros((n, m, 2))
    placed = np.zeros((n, m), bool)
    covered = np.zeros((n, m))
    images = np.arange(n)
    for k in range(m):
        h, w = sizes[:, k, 0:1], sizes[:, k, 1:2]
        cy = rng.uniform(h / 2, height - h / 2, (n, _PLACEMENT_TRIES))
        cx = rng.uniform(w / 2, width - w / 2, (n, _PLACEMENT_TRIES))
        # Intersections of each try [n, 1, T] with each earlier box [n, k, 1].
        lo = (centres[:, :k] - sizes[:, :k] / 2)[..., None]
        hi = (centres[:, :k] + sizes[:, :k] / 2)[..., None]
        oh = np.minimum(cy[:, None] + h[:, None] / 2, hi[:, :, 0])
        oh -= np.maximum(cy[:, None] - h[:, None] / 2, lo[:, :, 0])
        ow = np.minimum(cx[:, None] + w[:, None] / 2, hi[:, :, 1])
        ow -= np.maximum(cx[:, None] - w[:, None] / 2, lo[:, :, 1])
        inter = np.maximum(oh, 0) * np.maximum(ow, 0) * placed[:, :k, None]
        areas = (sizes[:, :k, 0] * sizes[:, :k, 1])[..., None]
        old_ok = np.all(covered[:, :k, None] + inter / areas <= max_overlap, axis=1)
        new_ok = inter.sum(axis=1) / (h * w) <= max_overlap
        ok = old_ok & new_ok & active[:, k : k + 1]
        found = ok.any(axis=1)
        choice = np.argmax(ok, axis=1)
        centres[:, k] = np.stack([cy[images, choice], cx[images, choice]], -1)
        placed[:, k] = found
        chosen = inter[images, :, choice] * found[:, None]
        covered[:, :k] += chosen / areas[..., 0]
        covered[:, k] = chosen.sum(axis=1) / (h[:, 0] * w[:, 0])
    return centres, placed


def shapes_dataset(
    num_images: int,
    image_size: int | tuple[int, int] = 64,
    max_objects: int = 4,
    min_objects: int = 1,
    min_size: float = 0.15,
    max_size: float = 0.5,
    classes: Sequence[str] = ("circle", "square", "triangle"),
    max_overlap: float = 0.25,
    noise: float = 0.03,
    seed: int = 0,
    return_masks: bool = False,
):
    """Images of coloured shapes with their tight boxes and class ids.

    Each image gets between `min_objects` and `max_objects` shapes (uniformly), each a
    filled circle, square, rectangle (aspect between 1.3 and 2.5, either way) or triangle
    (apex up), of a random hue (saturation >= 0.55, value >= 0.7, so colour never gives the
    class away), on a dim, low-saturation background with a sinusoidal texture and a
    gradient. Gaussian pixel noise of standard deviation `noise` is then added to the whole
    image, which is clipped to [0, 1].

    Sizes: the side (circle diameter; square side; the geometric mean of a rectangle's
    sides; a triangle's base, its height varying by 0.8 to 1.25 of it) is uniform in
    `[min_size, max_size]` times the shorter image side. Every shape lies inside the image.

    Overlap rule: later shapes are drawn over earlier ones, and a placement is accepted only
    if, for every object, the sum of its box's intersections with the other boxes is at most
    `max_overlap` of its own box's area (on the shapes' exact extents, which the pixel boxes
    below match to within half a pixel a side). So at least `1 - max_overlap` of every box
    is covered by no other box and every object stays visible: with the default 0.25, at
    least half of every shape's pixels show. A slot for which 32 random placements all
    break the rule stays empty (padding), so crowded settings give fewer objects than
    asked.

    Boxes are tight around the drawn pixels: a pixel `(i, j)` belongs to a shape when its
    centre `(i + 0.5, j + 0.5)` lies inside the shape, and the box is `(ymin, xmin, ymax,
    xmax) = (top row, left column, bottom row + 1, right column + 1)` of those pixels divided
    by the image height and width (the full shape, including parts hidden by later shapes).

    Args:
        num_images: number of images.
        image_size: `S` for `S x S` images, or `(H, W)`.
        max_objects: most shapes per image, and the padded length of `boxes`/`classes`.
        min_objects: fewest shapes asked per image (>= 1).
        min_size: smallest shape side as a fraction of the shorter image side; at least
            3 pixels.
        max_size: largest shape side as a fraction of the shorter image side.
        classes: the shape names, from "circle", "square", "rectangle", "triangle"; class
            ids are positions in this tuple.
        max_overlap: largest share of a box that other boxes may cover, in [0, 1).
        noise: standard deviation of the Gaussian pixel noise.
        seed: the seed; the same arguments and seed give the same images.
        return_masks: also return each object's full mask.

    Returns:
        `(images, boxes, classes)`: float32 `[n, H, W, 3]` in [0, 1]; float32
        `[n, max_objects, 4]` yxyx normalised boxes (zeros for padding); int32
        `[n, max_objects]` class ids (-1 for padding). Objects are listed in drawing order,
        padding last. With `return_masks`, a fourth bool array `[n, max_objects, H, W]`.

    Example:

    >>> images, boxes, classes = shapes_dataset(8, image_size=32, max_objects=3, seed=1)
    >>> images.shape, boxes.shape, classes.shape
    ((8, 32, 32, 3), (8, 3, 4), (8, 3))
    >>> bool(np.all((classes >= -1) & (classes < 3))), bool(np.all(classes[:, 0] >= 0))
    (True, True)
    """
    num_images = _check_count("num_images", num_images, 1)
    height, width = check_grid_size(image_size, "image_size")
    max_objects = _check_count("max_objects", max_objects, 1)
    min_objects = _check_count("min_objects", min_objects, 1)
    if min_objects > max_objects:
        raise ValueError(
            f"`min_objects` must be <= max_objects={max_objects}. Received: "
            f"min_objects={min_objects}"
        )
    min_size = _check_size_fraction("min_size", min_size)
    max_size = _check_size_fraction("max_size", max_size)
    if min_size > max_size:
        raise ValueError(
            f"`min_size` must be <= max_size={max_size}. Received: min_size={min_size}"
        )
    side = min(height, width)
    if min_size * side < 3:
        raise ValueError(
            f"`min_size` must give shapes of at least 3 pixels ({3 / side:.3g} of a "
            f"{height}x{width} image). Received: min_size={min_size}"
        )
    names = _check_classes(classes)
    if isinstance(max_overlap, bool) or not isinstance(max_overlap, (int, float)):
        raise TypeError(f"`max_overlap` must be a number. Received: max_overlap={max_overlap!r}")
    if not 0 <= max_overlap < 1:
        raise ValueError(f"`max_overlap` must be in [0, 1). Received: max_overlap={max_overlap}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or noise < 0:
        raise ValueError(f"`noise` must be a number >= 0. Received: noise={noise!r}")

    rng = np.random.default_rng(seed)
    n, m = num_images, max_objects
    counts = rng.integers(min_objects, max_objects + 1, n)
    active = np.arange(m) < counts[:, None]
    kinds = rng.integers(0, len(names), (n, m))
    sizes = _sizes(kinds, names, side, min_size, max_size, rng)
    centres, placed = _place(sizes, active, height, width, max_overlap, rng)
    colours = hsv_to_rgb(
        np.stack(
            [rng.random((n, m)), rng.uniform(0.55, 1.0, (n, m)), rng.uniform(0.7, 1.0, (n, m))],
            -1,
        )
    ).astype("float32")
    # Keep the drawn objects first, padding last, in drawing order.
    order = np.argsort(~placed, axis=1, kind="stable")
    take = np.take_along_axis
    placed, kinds = take(placed, order, 1), take(kinds, order, 1)
    sizes, centres = take(sizes, order[..., None], 1), take(centres, order[..., None], 1)
    colours = take(colours, order[..., None], 1)

    py = (np.arange(height, dtype="float32") + 0.5)[None, :, None]
    px = (np.arange(width, dtype="float32") + 0.5)[None, None, :]
    images = np.empty((n, height, width, 3), "float32")
    boxes = np.zeros((n, m, 4), "float32")
    masks = np.zeros((n, m, height, width), bool) if return_masks else None
    for start in range(0, n, _CHUNK):
        part = slice(start, min(start + _CHUNK, n))
        chunk = _backgrounds(part.stop - part.start, height, width, py, px, rng)
        for k in range(m):
            cy, cx = centres[part, k, 0], centres[part, k, 1]
            h, w = sizes[part, k, 0], sizes[part, k, 1]
            mask = np.zeros(chunk.shape[:3], bool)
            for kind_id, kind in enumerate(names):
                chosen = kinds[part, k] == kind_id
                if np.any(chosen):
                    mask[chosen] = _shape_masks(
                        kind, cy[chosen], cx[chosen], h[chosen], w[chosen], py, px
                    )
            mask &= placed[part, k, None, None]
            chunk = np.where(mask[..., None], colours[part, k, None, None, :], chunk)
            rows, cols = mask.any(axis=2), mask.any(axis=1)
            boxes[part, k] = (
                np.stack(
                    [
                        np.argmax(rows, axis=1) / height,
                        np.argmax(cols, axis=1) / width,
                        (height - np.argmax(rows[:, ::-1], axis=1)) / height,
                        (width - np.argmax(cols[:, ::-1], axis=1)) / width,
                    ],
                    -1,
                )
                * placed[part, k, None]
            )
            if masks is not None:
                masks[part, k] = mask
        if noise > 0:
            chunk = chunk + rng.normal(0, noise, chunk.shape).astype("float32")
        images[part] = np.clip(chunk, 0, 1)
    class_ids = np.where(placed, kinds, -1).astype("int32")
    if return_masks:
        return images, boxes, class_ids, masks
    return images, boxes, class_ids


def flip_left_right(images, boxes, classes):
    """Mirrors images `[..., H, W, C]` and their yxyx boxes; padding (class -1) stays zero.

    A box `(ymin, xmin, ymax, xmax)` becomes `(ymin, 1 - xmax, ymax, 1 - xmin)`, exactly the
    pixels of the mirrored shape. Works on numpy arrays and tensors (TensorFlow ops).

    >>> import tensorflow as tf
    >>> _, boxes, classes = flip_left_right(
    ...     tf.zeros((4, 4, 3)), tf.constant([[0.1, 0.2, 0.5, 0.25], [0, 0, 0, 0]]), [0, -1]
    ... )
    >>> boxes.numpy().round(3).tolist()
    [[0.1, 0.75, 0.5, 0.8], [0.0, 0.0, 0.0, 0.0]]
    """
    import tensorflow as tf

    boxes = tf.convert_to_tensor(boxes, tf.float32)
    ymin, xmin, ymax, xmax = tf.unstack(boxes, axis=-1)
    flipped = tf.stack([ymin, 1 - xmax, ymax, 1 - xmin], -1)
    valid = tf.convert_to_tensor(classes)[..., None] >= 0
    return (
        tf.reverse(images, axis=[-2]),
        tf.where(valid, flipped, boxes),
        tf.convert_to_tensor(classes),
    )


def flip_up_down(images, boxes, classes):
    """Flips images `[..., H, W, C]` upside down with their yxyx boxes (see
    `flip_left_right`): `(ymin, xmin, ymax, xmax)` becomes `(1 - ymax, xmin, 1 - ymin, xmax)`.
    """
    import tensorflow as tf

    boxes = tf.convert_to_tensor(boxes, tf.float32)
    ymin, xmin, ymax, xmax = tf.unstack(boxes, axis=-1)
    flipped = tf.stack([1 - ymax, xmin, 1 - ymin, xmax], -1)
    valid = tf.convert_to_tensor(classes)[..., None] >= 0
    return (
        tf.reverse(images, axis=[-3]),
        tf.where(valid, flipped, boxes),
        tf.convert_to_tensor(classes),
    )


def shapes_tf_dataset(
    num_images: int,
    batch_size: int = 32,
    grid_size: int | tuple[int, int] | None = None,
    anchors: Any = None,
    random_flip_left_right: bool = False,
    random_flip_up_down: bool = False,
    shuffle: bool = True,
    seed: int = 0,
    **shape_options: Any,
):
    """A `tf.data` pipeline over `shapes_dataset`, optionally with YOLO targets.

    Draws `num_images` images once with `shapes_dataset(num_images, seed=seed,
    **shape_options)`, then shuffles (reshuffled every epoch), applies the random flips
    (each image flipped with probability 1/2, boxes flipped with it; a new draw every
    epoch), batches, and, when `grid_size` and `anchors` are given, encodes the flipped
    boxes with `encode_yolo_targets` (through `tf.numpy_function`, one call per batch).

    Args:
        num_images: number of images.
        batch_size: batch size; the last batch may be smaller.
        grid_size: `S` or `(Sy, Sx)`: with `anchors`, yield YOLO targets.
        anchors: `[A, 2]` anchor `(w, h)` pairs, fractions of the image size.
        random_flip_left_right: mirror images and boxes at random.
        random_flip_up_down: flip images and boxes upside down at random.
        shuffle: shuffle the images (with `seed`) every epoch.
        seed: seed of the images, the shuffle and the flips.
        **shape_options: other `shapes_dataset` arguments (`image_size`, `max_objects`,
            `classes`, ...).

    Returns:
        A `tf.data.Dataset` of `(images, targets)` with float32 targets `[b, Sy, Sx, A,
        5 + K]` when `grid_size` and `anchors` are given, else of `(images, {"boxes":
        [b, max_objects, 4], "classes": [b, max_objects]})`.

    Example:

    >>> ds = shapes_tf_dataset(8, batch_size=4, grid_size=4, anchors=[[0.3, 0.3]],
    ...                        image_size=32, random_flip_left_right=True)
    >>> images, targets = next(iter(ds))
    >>> images.shape, targets.shape
    (TensorShape([4, 32, 32, 3]), TensorShape([4, 4, 4, 1, 8]))
    """
    import tensorflow as tf

    batch_size = _check_count("batch_size", batch_size, 1)
    if (grid_size is None) != (anchors is None):
        raise ValueError(
            "`grid_size` and `anchors` must be given together (for YOLO targets) or not at "
            f"all. Received: grid_size={grid_size!r}, anchors={anchors!r}"
        )
    if grid_size is not None:
        grid = check_grid_size(grid_size)
        anchor_pairs = check_anchors(anchors)
    images, boxes, classes = shapes_dataset(num_images, seed=seed, **shape_options)
    num_classes = len(shape_options.get("classes", ("circle", "square", "triangle")))

    ds = tf.data.Dataset.from_tensor_slices((images, boxes, classes))
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    flips = [
        f
        for f, on in (
            (flip_left_right, random_flip_left_right),
            (flip_up_down, random_flip_up_down),
        )
        if on
    ]
    if flips:
        coins = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)

        def flip(element, coin):
            image, box, cls = element
            for bit, f in enumerate(flips):
                image, box, cls = tf.cond(
                    tf.bitwise.bitwise_and(coin, 1 << bit) > 0,
                    lambda i=image, b=box, c=cls, f=f: f(i, b, c),
                    lambda i=image, b=box, c=cls: (i, b, c),
                )
            return image, box, cls

        ds = tf.data.Dataset.zip((ds, coins)).map(flip, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch_size)
    if grid_size is None:
        ds = ds.map(lambda i, b, c: (i, {"boxes": b, "classes": c}))
    else:
        depth = (*grid, len(anchor_pairs), 5 + num_classes)

        def encode(image, box, cls):
            targets = tf.numpy_function(
                lambda b, c: encode_yolo_targets(b, c, grid, anchor_pairs, num_classes),
                [box, cls],
                tf.float32,
                stateful=False,
            )
            return image, tf.ensure_shape(targets, (None, *depth))

        ds = ds.map(encode, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)
