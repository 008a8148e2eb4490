"""Detection targets: the notes' localisation vector and YOLO grid targets, in numpy.

Conventions shared by the whole detection stack (data, `kerasdl.losses.YoloLoss`,
`kerasdl.losses.LocalizationLoss`, `kerasdl.layers.YoloDecoder`):

- Boxes in images are "yxyx": `(ymin, xmin, ymax, xmax)` normalised to [0, 1] by the image
  height and width, as in `tf.image`. A box covers the pixels `[ymin * H, ymax * H) x
  [xmin * W, xmax * W)`. Lists of objects are padded to a fixed length; padded entries have
  class `-1` (their boxes are ignored).
- Landmarks are `(x, y)` points normalised to [0, 1], in the order the notes write them
  in the target (`l1x, l1y, l2x, l2y, ...`).
- A YOLO grid has `Sy x Sx` cells (`grid_size=S` means `S x S`); cell `(row, col)` covers
  `[row / Sy, (row + 1) / Sy) x [col / Sx, (col + 1) / Sx)` of the image.
- Anchors are `A` pairs `(w, h)`: width and height as fractions of the image size (what
  k-means on normalised box sizes gives).
- The target of one image is `[Sy, Sx, A, 5 + K]`, the notes' vector per cell and anchor:
  `[pc, bx, by, bh, bw, c1, ..., cK]`. `pc` is 1 where an object is assigned and 0
  elsewhere (the other entries are then 0); `bx, by` are the object's midpoint offset inside
  its cell, in [0, 1) (1 only for a midpoint on the image's right or bottom edge); `bh, bw`
  are its height and width in cell units, `bh = h * Sy`, `bw = w * Sx` (can be > 1); the
  classes are one-hot.
- A model's raw head output is `[B, Sy, Sx, A, 5 + K]` (or `[B, Sy, Sx, A * (5 + K)]`):
  `[t_o, t_x, t_y, t_h, t_w, class logits]`, decoded YOLOv2-style as `pc = sigmoid(t_o)`,
  `bx = sigmoid(t_x)`, `by = sigmoid(t_y)`, `bh = anchor_h * Sy * exp(t_h)`,
  `bw = anchor_w * Sx * exp(t_w)` and class probabilities `softmax(logits)`.

Assignment (`encode_yolo_targets`): each object goes to the cell holding its midpoint and,
in that cell, to the anchor whose shape has the highest IoU with the object's shape (both
placed at the same centre, `IoU = min(w, aw) min(h, ah) / (w h + aw ah - min(w, aw)
min(h, ah))`). When objects compete for a cell, they are placed from the largest area to
the smallest (ties: lower object index first); an object whose best anchor is already taken
gets the free anchor of its cell with the next-highest IoU, and an object that finds all `A`
anchors of its cell taken is dropped and counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from absl import logging


def check_anchors(anchors: Any, name: str = "anchors") -> tuple[tuple[float, float], ...]:
    """Returns `anchors` as a tuple of `(w, h)` float pairs, each in (0, 1].

    >>> check_anchors([[0.2, 0.4], [0.5, 0.25]])
    ((0.2, 0.4), (0.5, 0.25))
    """
    try:
        array = np.asarray(anchors, dtype="float64")
    except (TypeError, ValueError):
        raise TypeError(
            f"`{name}` must be numbers of shape [A, 2] (w, h pairs). Received: {name}={anchors!r}"
        ) from None
    if array.ndim != 2 or array.shape[1] != 2 or array.shape[0] == 0:
        raise ValueError(
            f"`{name}` must have shape [A, 2] with A >= 1 (w, h pairs as fractions of the image "
            f"size). Received: {name}.shape={array.shape}"
        )
    if not np.all((array > 0) & (array <= 1)):
        raise ValueError(
            f"`{name}` must be (w, h) fractions of the image size in (0, 1]. "
            f"Received: {name}={array.tolist()}"
        )
    return tuple((float(w), float(h)) for w, h in array)


def check_grid_size(grid_size: Any, name: str = "grid_size") -> tuple[int, int]:
    """Returns `grid_size` as `(Sy, Sx)`; an int `S` means `(S, S)`.

    >>> check_grid_size(7), check_grid_size((3, 5))
    ((7, 7), (3, 5))
    """
    if isinstance(grid_size, (int, np.integer)) and not isinstance(grid_size, bool):
        grid_size = (int(grid_size), int(grid_size))
    if (
        not isinstance(grid_size, Sequence)
        or len(grid_size) != 2
        or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0
            for s in grid_size
        )
    ):
        raise ValueError(
            f"`{name}` must be a positive int S or a pair (Sy, Sx) of positive ints. "
            f"Received: {name}={grid_size!r}"
        )
    return int(grid_size[0]), int(grid_size[1])


def _check_num_classes(num_classes: Any) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(
            f"`num_classes` must be a positive int. Received: num_classes={num_classes!r}"
        )
    if num_classes <= 0:
        raise ValueError(f"`num_classes` must be > 0. Received: num_classes={num_classes}")
    return int(num_classes)


def _where(index: tuple[int, int], single: bool) -> tuple[str, str]:
    """`"[2, 1]", "image 2, object 1"` for an index into `[n, m]` objects; `"[1]",
    "object 1"` when the caller passed one image (`single`)."""
    image, obj = (int(i) for i in index)
    if single:
        return f"[{obj}]", f"object {obj}"
    return f"[{image}, {obj}]", f"image {image}, object {obj}"


def _raise_at_first(
    bad: np.ndarray, single: bool, name: str, rule: str, value_of: Callable[[tuple], Any]
) -> None:
    """Raises "`name` must `rule`" naming the first object flagged in `bad` `[n, m]`."""
    if np.any(bad):
        index = tuple(np.argwhere(bad)[0])
        text, place = _where(index, single)
        raise ValueError(
            f"`{name}` must {rule}. Received: {name}{text}={value_of(index)} ({place})"
        )


def _check_boxes(boxes: np.ndarray, valid: np.ndarray, single: bool, name: str = "boxes") -> None:
    """Raises for the first valid box `[n, m, 4]` outside [0, 1] or with min > max."""
    inside = np.all((boxes >= 0) & (boxes <= 1), axis=-1)
    ordered = (boxes[..., 0] <= boxes[..., 2]) & (boxes[..., 1] <= boxes[..., 3])
    for ok, rule in (
        (inside, "be normalised (ymin, xmin, ymax, xmax) in [0, 1]"),
        (ordered, "have ymin <= ymax and xmin <= xmax"),
    ):
        _raise_at_first(valid & ~ok, single, name, rule, lambda i: boxes[i].tolist())


def _check_classes(classes: np.ndarray, num_classes: int, single: bool) -> None:
    _raise_at_first(
        (classes < -1) | (classes >= num_classes),
        single,
        "classes",
        f"be class ids in [0, {num_classes}) or -1 for padding",
        lambda i: int(classes[i]),
    )


def _shape_iou(sizes: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """IoU of boxes `(w, h)` `[..., 2]` with anchors `[A, 2]` sharing their centre: `[..., A]`."""
    w, h = sizes[..., 0:1], sizes[..., 1:2]
    inter = np.minimum(w, anchors[:, 0]) * np.minimum(h, anchors[:, 1])
    union = w * h + anchors[:, 0] * anchors[:, 1] - inter
    return inter / union


def encode_yolo_targets(
    boxes: Any,
    classes: Any,
    grid_size: int | tuple[int, int],
    anchors: Any,
    num_classes: int,
    return_num_dropped: bool = False,
):
    """YOLO grid targets `[pc, bx, by, bh, bw, c1..cK]` per cell and anchor.

    Each object is assigned to the cell that contains its midpoint and to the anchor of that
    cell with the highest shape IoU (see the module docstring for the rule when objects
    compete for a cell: largest first, next-best free anchor, else dropped). With the
    object's midpoint `(x, y)`, size `(w, h)` (fractions of the image) and cell
    `(row, col) = (floor(y Sy), floor(x Sx))`:

        pc = 1    bx = x Sx - col    by = y Sy - row    bh = h Sy    bw = w Sx

    and `c` one-hot on the object's class. Every other entry is 0.

    Args:
        boxes: `[m, 4]` for one image or `[n, m, 4]` for `n` images: yxyx boxes normalised
            to [0, 1].
        classes: `[m]` or `[n, m]` int class ids in [0, num_classes); -1 marks padding.
        grid_size: `S` for an `S x S` grid, or `(Sy, Sx)`.
        anchors: `[A, 2]` anchor `(w, h)` pairs, fractions of the image size.
        num_classes: `K`, the number of classes.
        return_num_dropped: also return how many objects of each image were dropped
            because every anchor of their cell was taken.

    Returns:
        float32 targets `[Sy, Sx, A, 5 + K]` (or `[n, Sy, Sx, A, 5 + K]`); with
        `return_num_dropped`, `(targets, num_dropped)` where `num_dropped` is an int32
        scalar (or `[n]`). A warning is logged whenever objects are dropped.

    Raises:
        ValueError: for a non-padding box outside [0, 1] or with ymin > ymax (or
            xmin > xmax), or a class id outside [-1, num_classes), naming the image and
            object index; for shapes that do not match.

    Example:

    >>> boxes = np.array([[0.1, 0.1, 0.3, 0.5], [0, 0, 0, 0]])  # one object, one padding
    >>> targets = encode_yolo_targets(boxes, [1, -1], 2, [[0.4, 0.2], [0.2, 0.4]], 2)
    >>> targets.shape
    (2, 2, 2, 7)
    >>> targets[0, 0, 0]  # midpoint (x, y) = (0.3, 0.2) lies in cell (0, 0); wide anchor
    array([1. , 0.6, 0.4, 0.4, 0.8, 0. , 1. ], dtype=float32)
    """
    sy, sx = check_grid_size(grid_size)
    anchor_array = np.asarray(check_anchors(anchors), dtype="float64")
    num_anchors = len(anchor_array)
    num_classes = _check_num_classes(num_classes)
    boxes = np.asarray(boxes, dtype="float64")
    classes = np.asarray(classes)
    if boxes.ndim not in (2, 3) or boxes.shape[-1] != 4:
        raise ValueError(
            "`boxes` must have shape [m, 4] or [n, m, 4] (yxyx). "
            f"Received: boxes.shape={boxes.shape}"
        )
    if classes.shape != boxes.shape[:-1]:
        raise ValueError(
            f"`classes` must have shape {boxes.shape[:-1]} (one id per box). "
            f"Received: classes.shape={classes.shape}"
        )
    if classes.size and not np.issubdtype(classes.dtype, np.integer):
        raise TypeError(
            f"`classes` must hold integer class ids. Received: classes.dtype={classes.dtype}"
        )
    single = boxes.ndim == 2
    if single:
        boxes, classes = boxes[np.newaxis], classes[np.newaxis]
    classes = classes.astype("int64")
    _check_classes(classes, num_classes, single)
    valid = classes >= 0
    _check_boxes(boxes, valid, single)

    n, m = classes.shape
    ymin, xmin, ymax, xmax = np.moveaxis(boxes, -1, 0)
    h, w = ymax - ymin, xmax - xmin
    y, x = (ymin + ymax) / 2, (xmin + xmax) / 2
    row = np.minimum(np.floor(y * sy), sy - 1).astype("int64")
    col = np.minimum(np.floor(x * sx), sx - 1).astype("int64")
    # Anchors in each object's order of preference, best shape IoU first.
    preference = np.argsort(-_shape_iou(np.stack([w, h], -1), anchor_array), axis=-1, kind="stable")
    # Objects from the largest to the smallest; padding last.
    order = np.argsort(np.where(valid, -(h * w), np.inf), axis=-1, kind="stable")

    images = np.arange(n)
    taken = np.zeros((n, sy, sx, num_anchors), bool)
    assigned = np.full((n, m), -1, "int64")
    for k in range(m):
        obj = order[:, k]
        r, c = row[images, obj], col[images, obj]
        prefs = preference[images, obj]  # [n, A]
        free = ~taken[images[:, None], r[:, None], c[:, None], prefs]
        placed = valid[images, obj] & free.any(axis=-1)
        anchor = prefs[images, np.argmax(free, axis=-1)]
        i = images[placed]
        taken[i, r[placed], c[placed], anchor[placed]] = True
        assigned[i, obj[placed]] = anchor[placed]

    targets = np.zeros((n, sy, sx, num_anchors, 5 + num_classes), "float32")
    i, j = np.nonzero(assigned >= 0)
    r, c, a = row[i, j], col[i, j], assigned[i, j]
    targets[i, r, c, a, 0] = 1.0
    targets[i, r, c, a, 1] = x[i, j] * sx - c
    targets[i, r, c, a, 2] = y[i, j] * sy - r
    targets[i, r, c, a, 3] = h[i, j] * sy
    targets[i, r, c, a, 4] = w[i, j] * sx
    targets[i, r, c, a, 5 + classes[i, j]] = 1.0

    num_dropped = np.sum(valid & (assigned < 0), axis=-1).astype("int32")
    if num_dropped.any():
        logging.warning(
            "encode_yolo_targets dropped %d of %d objects (every anchor of their cell was "
            "taken by larger objects; grid %dx%d, %d anchors)",
            int(num_dropped.sum()),
            int(valid.sum()),
            sy,
            sx,
            num_anchors,
        )
    if single:
        targets, num_dropped = targets[0], num_dropped[0]
    if return_num_dropped:
        return targets, num_dropped
    return targets


def decode_yolo_targets(targets: Any, max_objects: int | None = None):
    """The boxes and classes a YOLO target holds: the inverse of `encode_yolo_targets`.

    For every cell `(row, col)` and anchor with `pc > 0.5`:

        x = (col + bx) / Sx    y = (row + by) / Sy    h = bh / Sy    w = bw / Sx

    and the box is `(y - h/2, x - w/2, y + h/2, x + w/2)`, its class `argmax(c)`. Anchors
    are not needed: the target stores sizes in cell units, not relative to anchors.

    Args:
        targets: `[Sy, Sx, A, 5 + K]` or `[n, Sy, Sx, A, 5 + K]`.
        max_objects: pad (or cut) every image's list to this length; defaults to the
            largest number of objects in one image.

    Returns:
        `(boxes, classes)`: float32 yxyx `[m, 4]` (or `[n, m, 4]`) and int32 `[m]` (or
        `[n, m]`) padded with zero boxes and class -1. Objects are listed in grid order
        (row, then column, then anchor).

    Example:

    >>> anchors = [[0.4, 0.2], [0.2, 0.4]]
    >>> targets = encode_yolo_targets([[0.1, 0.1, 0.3, 0.5]], [1], 2, anchors, 2)
    >>> boxes, classes = decode_yolo_targets(targets)
    >>> boxes.round(6).tolist(), classes.tolist()
    ([[0.1, 0.1, 0.3, 0.5]], [1])
    """
    targets = np.asarray(targets, dtype="float64")
    if targets.ndim not in (4, 5) or targets.shape[-1] < 6:
        raise ValueError(
            "`targets` must have shape [Sy, Sx, A, 5 + K] or [n, Sy, Sx, A, 5 + K] with "
            f"K >= 1. Received: targets.shape={targets.shape}"
        )
    single = targets.ndim == 4
    if single:
        targets = targets[np.newaxis]
    n, sy, sx, num_anchors, _ = targets.shape
    present = targets[..., 0] > 0.5
    counts = present.reshape(n, -1).sum(axis=-1)
    if max_objects is None:
        max_objects = int(counts.max(initial=0))
    elif isinstance(max_objects, bool) or not isinstance(max_objects, (int, np.integer)):
        raise TypeError(f"`max_objects` must be an int. Received: max_objects={max_objects!r}")
    elif max_objects < 0:
        raise ValueError(f"`max_objects` must be >= 0. Received: max_objects={max_objects}")

    i, r, c, _ = np.nonzero(present)
    found = targets[present]
    x = (c + found[:, 1]) / sx
    y = (r + found[:, 2]) / sy
    h = found[:, 3] / sy
    w = found[:, 4] / sx
    found_boxes = np.stack([y - h / 2, x - w / 2, y + h / 2, x + w / 2], -1)
    found_classes = np.argmax(found[:, 5:], axis=-1)
    # Position of each object in its image's list (np.nonzero lists images in order).
    slot = np.arange(len(i)) - np.concatenate([[0], np.cumsum(counts)[:-1]])[i]
    keep = slot < max_objects

    boxes = np.zeros((n, max_objects, 4), "float32")
    classes = np.full((n, max_objects), -1, "int32")
    boxes[i[keep], slot[keep]] = found_boxes[keep]
    classes[i[keep], slot[keep]] = found_classes[keep]
    if single:
        return boxes[0], classes[0]
    return boxes, classes


def localization_target(
    box: Any, class_id: Any, num_classes: int, landmarks: Any = None
) -> np.ndarray:
    """The notes' classification-with-localisation target `y`.

        y = [pc, bx, by, bh, bw, c1, ..., cK, l1x, l1y, ..., lLx, lLy]

    For an object (`class_id >= 0`): `pc = 1`, `(bx, by)` the box's midpoint and `(bh, bw)`
    its height and width, all relative to the image; `c` one-hot; `(lix, liy)` the
    landmarks. For background (`class_id = -1`) `pc = 0` and every other entry is 0 (the
    loss ignores them: "don't care").

    Args:
        box: yxyx `[4]` normalised to [0, 1], or `[n, 4]` for `n` images. Ignored where
            `class_id` is -1.
        class_id: int class id in [0, num_classes), or -1 for background; `[n]` with `[n, 4]`
            boxes.
        num_classes: `K`, the number of object classes (background excluded).
        landmarks: optional `[L, 2]` (or `[n, L, 2]`) landmark points `(x, y)` normalised
            to [0, 1].

    Returns:
        float32 `[5 + K + 2L]` (or `[n, 5 + K + 2L]`).

    Raises:
        ValueError: for a box outside [0, 1] or with ymin > ymax, a landmark outside
            [0, 1], a class id outside [-1, num_classes), or shapes that do not match.

    Example:

    >>> localization_target([0.2, 0.1, 0.6, 0.5], 2, num_classes=3)
    array([1. , 0.3, 0.4, 0.4, 0.4, 0. , 0. , 1. ], dtype=float32)
    >>> localization_target([0, 0, 0, 0], -1, num_classes=3)
    array([0., 0., 0., 0., 0., 0., 0., 0.], dtype=float32)
    >>> localization_target([0.2, 0.1, 0.6, 0.5], 0, 1, landmarks=[[0.25, 0.3]])
    array([1.  , 0.3 , 0.4 , 0.4 , 0.4 , 1.  , 0.25, 0.3 ], dtype=float32)
    """
    num_classes = _check_num_classes(num_classes)
    box = np.asarray(box, dtype="float64")
    class_id = np.asarray(class_id)
    if box.ndim not in (1, 2) or box.shape[-1] != 4:
        raise ValueError(
            f"`box` must have shape [4] or [n, 4] (yxyx). Received: box.shape={box.shape}"
        )
    if class_id.shape != box.shape[:-1]:
        raise ValueError(
            f"`class_id` must have shape {box.shape[:-1]} (one id per box). "
            f"Received: class_id.shape={class_id.shape}"
        )
    if not np.issubdtype(class_id.dtype, np.integer):
        raise TypeError(
            f"`class_id` must be an integer class id. Received: class_id.dtype={class_id.dtype}"
        )
    single = box.ndim == 1
    box = box.reshape(-1, 4)
    class_id = class_id.reshape(-1).astype("int64")
    n = len(box)

    def received(name, k, value):
        where = f"{name}={value}" if single else f"{name}[{k}]={value} (image {k})"
        return f"Received: {where}"

    bad = (class_id < -1) | (class_id >= num_classes)
    if np.any(bad):
        k = int(np.argmax(bad))
        raise ValueError(
            f"`class_id` must be in [0, {num_classes}) or -1 for background. "
            + received("class_id", k, int(class_id[k]))
        )
    valid = class_id >= 0
    bad = valid & ~np.all((box >= 0) & (box <= 1), axis=-1)
    if np.any(bad):
        k = int(np.argmax(bad))
        raise ValueError(
            "`box` must be normalised (ymin, xmin, ymax, xmax) in [0, 1]. "
            + received("box", k, box[k].tolist())
        )
    bad = valid & ((box[:, 0] > box[:, 2]) | (box[:, 1] > box[:, 3]))
    if np.any(bad):
        k = int(np.argmax(bad))
        raise ValueError(
            "`box` must have ymin <= ymax and xmin <= xmax. " + received("box", k, box[k].tolist())
        )

    if landmarks is None:
        points = np.zeros((n, 0, 2))
    else:
        points = np.asarray(landmarks, dtype="float64")
        if single:
            points = points[np.newaxis]
        if points.ndim != 3 or points.shape[0] != n or points.shape[-1] != 2:
            raise ValueError(
                "`landmarks` must have shape "
                + ("[L, 2]" if single else f"[{n}, L, 2]")
                + " ((x, y) points). Received: landmarks.shape="
                + str(np.shape(landmarks))
            )
        bad = valid & ~np.all((points >= 0) & (points <= 1), axis=(-2, -1))
        if np.any(bad):
            k = int(np.argmax(bad))
            raise ValueError(
                "`landmarks` must be (x, y) points normalised to [0, 1]. "
                + received("landmarks", k, points[k].tolist())
            )

    ymin, xmin, ymax, xmax = box.T
    geometry = np.stack([(xmin + xmax) / 2, (ymin + ymax) / 2, ymax - ymin, xmax - xmin], -1)
    one_hot = np.eye(num_classes)[np.maximum(class_id, 0)]
    target = np.concatenate([np.ones((n, 1)), geometry, one_hot, points.reshape(n, -1)], -1)
    target = np.where(valid[:, None], target, 0.0).astype("float32")
    return target[0] if single else target
