"""Bounding-box formats and intersection over union (IoU).

Box conventions (every kerasdl detection component codes against these):

- A box is the last axis of a tensor of shape `[..., 4]`, in one of three formats:

  - `"yxyx"`: `(ymin, xmin, ymax, xmax)`, the order of `tf.image` (NMS, crop_and_resize,
    draw_bounding_boxes). This is the default everywhere in kerasdl.
  - `"xyxy"`: `(xmin, ymin, xmax, ymax)`, the order of COCO-style tools and PyTorch.
  - `"cxcywh"`: `(cx, cy, w, h)`, the centre and size, i.e. the notes' `(b_x, b_y, b_w,
    b_h)` of a YOLO output.

- Coordinates are either normalised (the image spans [0, 1] on each axis, as `tf.image`
  expects for `crop_and_resize`) or in pixels; IoU, NMS and format conversion do not care
  which, as long as both operands use the same one. y grows downwards (image rows).
- A box is the continuous region between its corners: its area is
  `(ymax - ymin) * (xmax - xmin)`, with no "+1" pixel convention.
- Corners may come in either order: as `tf.image.non_max_suppression` does, IoU takes the
  min and max of each coordinate pair, so `(1, 1, 0, 0)` is the same box as
  `(0, 0, 1, 1)`. `convert_boxes` converts coordinates as given and does not reorder
  them; a `"cxcywh"` box with a negative width or height becomes a flipped corner box.
- A box of zero area (a point or a segment) has IoU 0 with every box, itself included,
  exactly as in `tf.image.non_max_suppression`; IoU is never NaN for finite inputs.

IoU is `|A ∩ B| / |A ∪ B|` (the notes' "size of the intersection over the size of the
union"), computed as `intersection / (area_A + area_B - intersection)` in the same order of
float operations as TensorFlow's NMS kernel, so thresholds cut at the same place.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kerasdl._validation import check_one_of

BOX_FORMATS = ("yxyx", "xyxy", "cxcywh")


def _as_float_boxes(name: str, boxes: Any) -> Any:
    boxes = ops.convert_to_tensor(boxes)
    if "float" not in keras.backend.standardize_dtype(boxes.dtype):
        boxes = ops.cast(boxes, keras.backend.floatx())
    shape = tuple(boxes.shape)
    if len(shape) < 1 or (shape[-1] is not None and shape[-1] != 4):
        raise ValueError(f"`{name}` must have shape [..., 4]. Received: {name}.shape={shape}")
    return boxes


def _unstack4(boxes: Any) -> tuple[Any, Any, Any, Any]:
    return boxes[..., 0], boxes[..., 1], boxes[..., 2], boxes[..., 3]


def _to_yxyx(boxes: Any, fmt: str) -> Any:
    a, b, c, d = _unstack4(boxes)
    if fmt == "yxyx":
        return boxes
    if fmt == "xyxy":
        return ops.stack([b, a, d, c], axis=-1)
    half_w, half_h = c / 2, d / 2
    return ops.stack([b - half_h, a - half_w, b + half_h, a + half_w], axis=-1)


def _from_yxyx(boxes: Any, fmt: str) -> Any:
    ymin, xmin, ymax, xmax = _unstack4(boxes)
    if fmt == "yxyx":
        return boxes
    if fmt == "xyxy":
        return ops.stack([xmin, ymin, xmax, ymax], axis=-1)
    return ops.stack(
        [(xmin + xmax) / 2, (ymin + ymax) / 2, xmax - xmin, ymax - ymin],
        axis=-1,
    )


def convert_boxes(boxes: Any, source: str, target: str) -> Any:
    """Converts boxes between the `"yxyx"`, `"xyxy"` and `"cxcywh"` formats.

    With corners `(ymin, xmin, ymax, xmax)` and centre format `(cx, cy, w, h)`:

        cx = (xmin + xmax) / 2,  cy = (ymin + ymax) / 2,  w = xmax - xmin,  h = ymax - ymin
        xmin = cx - w / 2,  xmax = cx + w / 2,  ymin = cy - h / 2,  ymax = cy + h / 2

    Args:
        boxes: a tensor or array of shape `[..., 4]` (any leading shape). Integer inputs
            are cast to Keras' float type; float inputs keep their dtype.
        source: the format of `boxes`: `"yxyx"`, `"xyxy"` or `"cxcywh"`.
        target: the format to return.

    Returns:
        A tensor of the same shape as `boxes` in the `target` format.

    Raises:
        ValueError: when a format is unknown or the last axis of `boxes` is not 4.

    Example:

    >>> boxes = [[0.2, 0.1, 0.6, 0.5]]  # (ymin, xmin, ymax, xmax)
    >>> keras.ops.convert_to_numpy(convert_boxes(boxes, "yxyx", "cxcywh")).round(3)
    array([[0.3, 0.4, 0.4, 0.4]], dtype=float32)
    >>> keras.ops.convert_to_numpy(convert_boxes(boxes, "yxyx", "xyxy"))
    array([[0.1, 0.2, 0.5, 0.6]], dtype=float32)
    """
    check_one_of("source", source, BOX_FORMATS)
    check_one_of("target", target, BOX_FORMATS)
    boxes = _as_float_boxes("boxes", boxes)
    if source == target:
        return boxes
    if "yxyx" in (source, target):
        return _from_yxyx(_to_yxyx(boxes, source), target)
    if source == "xyxy":  # xyxy -> cxcywh without a detour through yxyx
        xmin, ymin, xmax, ymax = _unstack4(boxes)
        return ops.stack([(xmin + xmax) / 2, (ymin + ymax) / 2, xmax - xmin, ymax - ymin], -1)
    cx, cy, w, h = _unstack4(boxes)
    return ops.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)


def _canonical_corners(boxes: Any, fmt: str) -> tuple[Any, Any, Any, Any, Any]:
    """(ymin, xmin, ymax, xmax, area) with corners sorted, as the TF NMS kernel does."""
    y1, x1, y2, x2 = _unstack4(_to_yxyx(boxes, fmt))
    ymin, ymax = ops.minimum(y1, y2), ops.maximum(y1, y2)
    xmin, xmax = ops.minimum(x1, x2), ops.maximum(x1, x2)
    return ymin, xmin, ymax, xmax, (ymax - ymin) * (xmax - xmin)


def _iou_from_corners(a: tuple[Any, ...], b: tuple[Any, ...]) -> Any:
    ymin_a, xmin_a, ymax_a, xmax_a, area_a = a
    ymin_b, xmin_b, ymax_b, xmax_b, area_b = b
    zero = ops.zeros((), dtype=area_a.dtype)
    inter_h = ops.maximum(ops.minimum(ymax_a, ymax_b) - ops.maximum(ymin_a, ymin_b), zero)
    inter_w = ops.maximum(ops.minimum(xmax_a, xmax_b) - ops.maximum(xmin_a, xmin_b), zero)
    intersection = inter_h * inter_w
    union = area_a + area_b - intersection
    # Both areas > 0 implies union >= max(area) > 0, so the division is safe where kept;
    # the inner where keeps a 0/0 out of the gradient of the discarded branch.
    positive = ops.logical_and(area_a > zero, area_b > zero)
    return ops.where(positive, intersection / ops.where(positive, union, ops.ones_like(union)), 0)


def _check_formats_and_boxes(boxes1: Any, boxes2: Any, format: str) -> tuple[Any, Any]:
    check_one_of("format", format, BOX_FORMATS)
    boxes1 = _as_float_boxes("boxes1", boxes1)
    boxes2 = _as_float_boxes("boxes2", boxes2)
    dtypes = {keras.backend.standardize_dtype(b.dtype) for b in (boxes1, boxes2)}
    if len(dtypes) > 1:
        dtype = "float64" if "float64" in dtypes else "float32"
        boxes1, boxes2 = ops.cast(boxes1, dtype), ops.cast(boxes2, dtype)
    return boxes1, boxes2


def iou(boxes1: Any, boxes2: Any, format: str = "yxyx") -> Any:
    """Pairwise intersection over union of two sets of boxes.

    For boxes A and B (corners in either order, see the module docstring):

        IoU(A, B) = |A ∩ B| / |A ∪ B| = I / (area_A + area_B - I)

    where I is the area of the intersection rectangle (0 when they do not overlap). IoU is
    0 when either box has zero area, so degenerate boxes never produce NaN. The notes'
    convention judges a detection correct when IoU >= 0.5.

    Args:
        boxes1: boxes of shape `[..., N, 4]`.
        boxes2: boxes of shape `[..., M, 4]`; the leading dimensions `...` broadcast
            against those of `boxes1` (e.g. a batch of `[B, N, 4]` against `[B, M, 4]` or
            against one shared `[M, 4]`).
        format: `"yxyx"` (default), `"xyxy"` or `"cxcywh"`, for both inputs.

    Returns:
        IoU of every pair, shape `[..., N, M]`, in [0, 1]; float64 when either input is
        float64, else the float type of the inputs.

    Raises:
        ValueError: when `format` is unknown, an input has rank 0 or its last axis is not
            4.

    Example:

    >>> a = [[0.0, 0.0, 2.0, 2.0]]
    >>> b = [[1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 2.0, 2.0], [5.0, 5.0, 6.0, 6.0]]
    >>> keras.ops.convert_to_numpy(iou(a, b)).round(4)  # 1 / (4 + 4 - 1) = 1/7
    array([[0.1429, 1.    , 0.    ]], dtype=float32)
    """
    boxes1, boxes2 = _check_formats_and_boxes(boxes1, boxes2, format)
    for name, boxes in (("boxes1", boxes1), ("boxes2", boxes2)):
        if len(boxes.shape) < 2:
            raise ValueError(
                f"`{name}` must have shape [..., N, 4]. Received: {name}.shape={tuple(boxes.shape)}"
            )
    a = tuple(ops.expand_dims(t, -1) for t in _canonical_corners(boxes1, format))
    b = tuple(ops.expand_dims(t, -2) for t in _canonical_corners(boxes2, format))
    return _iou_from_corners(a, b)


def elementwise_iou(boxes1: Any, boxes2: Any, format: str = "yxyx") -> Any:
    """IoU of aligned pairs of boxes: `boxes1[..., i, :]` with `boxes2[..., i, :]`.

    The same formula as `iou`, without the `N x M` cross product: what a localization loss
    (predicted box vs its target) or anchor assignment (a box vs its anchor) needs.

    Args:
        boxes1: boxes of shape `[..., 4]`.
        boxes2: boxes whose shape broadcasts against `boxes1`'s.
        format: `"yxyx"` (default), `"xyxy"` or `"cxcywh"`, for both inputs.

    Returns:
        IoU of each pair, shape `[...]` (the broadcast leading shape).

    Raises:
        ValueError: when `format` is unknown or the last axis of an input is not 4.

    Example:

    >>> pred = [[0.5, 0.5, 1.0, 1.0], [0.5, 0.5, 0.2, 0.2]]  # (cx, cy, w, h)
    >>> true = [[0.5, 0.5, 0.5, 1.0], [0.9, 0.9, 0.2, 0.2]]
    >>> keras.ops.convert_to_numpy(elementwise_iou(pred, true, format="cxcywh"))
    array([0.5, 0. ], dtype=float32)
    """
    boxes1, boxes2 = _check_formats_and_boxes(boxes1, boxes2, format)
    return _iou_from_corners(_canonical_corners(boxes1, format), _canonical_corners(boxes2, format))
