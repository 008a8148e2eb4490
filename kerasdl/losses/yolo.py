"""The YOLO loss over grid targets `[pc, bx, by, bh, bw, c1..cK]` and raw head outputs."""

from __future__ import annotations

import math

import keras
from keras import ops

from kerasdl._validation import check_one_of, check_positive_int
from kerasdl.data.detection import check_anchors
from kerasdl.layers.detection import (
    _check_yolo_grid_shape,
    decode_yolo_output,
    reshape_yolo_output,
)

OBJECTNESS_LOSSES = ("binary_crossentropy", "squared_error")


def _check_weight(name, value):
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"`{name}` must be a number. Received: {name}={value!r}")
    if value < 0:
        raise ValueError(f"`{name}` must be >= 0. Received: {name}={value}")
    return float(value)


def _box_iou(a, b):
    """IoU of every yxyx box in `a` `[B, N, 4]` with every box in `b` `[B, M, 4]`: `[B, N, M]`."""
    a, b = a[:, :, None, :], b[:, None, :, :]
    inter_h = ops.maximum(ops.minimum(a[..., 2], b[..., 2]) - ops.maximum(a[..., 0], b[..., 0]), 0)
    inter_w = ops.maximum(ops.minimum(a[..., 3], b[..., 3]) - ops.maximum(a[..., 1], b[..., 1]), 0)
    inter = inter_h * inter_w
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / ops.maximum(area_a + area_b - inter, 1e-12)


@keras.saving.register_keras_serializable(package="kerasdl")
class YoloLoss(keras.losses.Loss):
    """The YOLO detection loss: coordinates, objectness, no-object and class terms.

    `y_true` holds the notes' target per cell `i` (of a `Sy x Sx` grid) and anchor `j`,
    `[pc, bx, by, bh, bw, c1..cK]` (see `kerasdl.data.encode_yolo_targets`), and `y_pred`
    the raw head output `[t_o, t_x, t_y, t_h, t_w, class logits]`, decoded YOLOv2-style with
    anchor `(aw_j, ah_j)`:

        p^c = sigmoid(t_o)   b^x = sigmoid(t_x)   b^y = sigmoid(t_y)
        b^h = ah_j Sy exp(t_h)   b^w = aw_j Sx exp(t_w)   c^ = softmax(logits)

    With `1obj_ij = pc_ij` (anchor `j` of cell `i` is responsible for an object) and
    `1noobj_ij = (1 - pc_ij)` (times `1 - ignore_ij`, see `ignore_thresh`), the loss of one
    image is the YOLOv1 sum-squared form over cells and anchors:

        L = lambda_coord sum_ij 1obj_ij [(b^x - bx)^2 + (b^y - by)^2
                                          + (sqrt(b^h) - sqrt(bh))^2 + (sqrt(b^w) - sqrt(bw))^2]
          + lambda_obj   sum_ij 1obj_ij   l(p^c, 1)
          + lambda_noobj sum_ij 1noobj_ij l(p^c, 0)
          + lambda_class sum_ij 1obj_ij   (- sum_k c_k log c^_k)

    where `l(p, y) = -y log p - (1 - y) log(1 - p)` ("binary_crossentropy", computed from
    `t_o` as `softplus(-t_o)` and `softplus(t_o)`) or `(p - y)^2` ("squared_error"). The
    square roots make an error matter more on a small box than on a large one. The
    reduction (default "sum_over_batch_size") then averages the images' losses.

    Args:
        anchors: `[A, 2]` anchor `(w, h)` pairs, fractions of the image size.
        num_classes: `K`, the number of classes.
        lambda_coord: weight of the coordinate term (YOLOv1: 5).
        lambda_noobj: weight of the no-object term (YOLOv1: 0.5): most anchors hold no
            object, so their objectness errors would swamp the rest.
        lambda_obj: weight of the objectness term of responsible anchors.
        lambda_class: weight of the class term.
        objectness_loss: "binary_crossentropy" (default) or "squared_error" (YOLOv1).
        ignore_thresh: optional IoU in (0, 1]: an anchor without an object whose decoded
            box has IoU > `ignore_thresh` with any ground-truth box of its image adds no
            no-object loss (YOLOv2/v3), since it found an object, just not as the
            responsible anchor. `None` (default) disables it. It compares every anchor with
            every anchor, so it costs `O((Sy Sx A)^2)` per image.
        reduction: Keras loss reduction; default "sum_over_batch_size".
        name: name of the loss.
        dtype: dtype of the loss computation; default `keras.backend.floatx()`.

    Call arguments:
        y_true: float `[B, Sy, Sx, A, 5 + K]` targets.
        y_pred: float raw head output, `[B, Sy, Sx, A, 5 + K]` or `[B, Sy, Sx, A * (5 + K)]`.
        sample_weight: optional per-image weights `[B]`.

    Example:

    >>> import numpy as np
    >>> from kerasdl.data.detection import encode_yolo_targets
    >>> anchors = [[0.3, 0.3], [0.6, 0.2]]
    >>> y_true = encode_yolo_targets([[[0.1, 0.2, 0.4, 0.5]]], [[1]], 3, anchors, 2)
    >>> y_pred = np.zeros((1, 3, 3, 2 * 7), "float32")
    >>> loss = YoloLoss(anchors, num_classes=2)
    >>> # 5 (0.45^2 + 0.25^2) + log 2 + 0.5 * 17 log 2 + log 2: the box is anchor 0's shape
    >>> round(float(loss(y_true, y_pred)), 4)
    8.603

    Reference:
        Redmon et al., "You Only Look Once: Unified, Real-Time Object Detection",
        CVPR 2016 (the sum-squared loss); Redmon and Farhadi, "YOLO9000: Better, Faster,
        Stronger", CVPR 2017 (anchors, decoding, ignored predictions).
    """

    def __init__(
        self,
        anchors,
        num_classes,
        lambda_coord=5.0,
        lambda_noobj=0.5,
        lambda_obj=1.0,
        lambda_class=1.0,
        objectness_loss="binary_crossentropy",
        ignore_thresh=None,
        reduction="sum_over_batch_size",
        name="yolo_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.anchors = check_anchors(anchors)
        self.num_classes = check_positive_int("num_classes", num_classes)
        self.lambda_coord = _check_weight("lambda_coord", lambda_coord)
        self.lambda_noobj = _check_weight("lambda_noobj", lambda_noobj)
        self.lambda_obj = _check_weight("lambda_obj", lambda_obj)
        self.lambda_class = _check_weight("lambda_class", lambda_class)
        self.objectness_loss = check_one_of("objectness_loss", objectness_loss, OBJECTNESS_LOSSES)
        if ignore_thresh is not None:
            if isinstance(ignore_thresh, bool) or not isinstance(ignore_thresh, int | float):
                raise TypeError(
                    "`ignore_thresh` must be None or a number. "
                    f"Received: ignore_thresh={ignore_thresh!r}"
                )
            if not 0 < ignore_thresh <= 1:
                raise ValueError(
                    f"`ignore_thresh` must be in (0, 1]. Received: ignore_thresh={ignore_thresh}"
                )
            ignore_thresh = float(ignore_thresh)
        self.ignore_thresh = ignore_thresh

    def call(self, y_true, y_pred):
        _check_yolo_grid_shape(
            y_true.shape, len(self.anchors), self.num_classes, "y_true", allow_flat=False
        )
        raw = reshape_yolo_output(y_pred, len(self.anchors), self.num_classes, "y_pred")
        if tuple(raw.shape[1:3]) != tuple(y_true.shape[1:3]):
            raise ValueError(
                f"`y_pred` must have the grid of `y_true`, {tuple(y_true.shape[1:3])}. "
                f"Received: y_pred.shape={tuple(y_pred.shape)}"
            )
        sy, sx = y_true.shape[1], y_true.shape[2]
        obj = y_true[..., 0]
        noobj = 1.0 - obj

        # sqrt(b^h) = sqrt(ah Sy) exp(t_h / 2): no square root of a prediction to differentiate.
        sqrt_scale_h = ops.convert_to_tensor(
            [math.sqrt(a[1] * sy) for a in self.anchors], raw.dtype
        )
        sqrt_scale_w = ops.convert_to_tensor(
            [math.sqrt(a[0] * sx) for a in self.anchors], raw.dtype
        )
        coord = (
            ops.square(ops.sigmoid(raw[..., 1]) - y_true[..., 1])
            + ops.square(ops.sigmoid(raw[..., 2]) - y_true[..., 2])
            + ops.square(
                sqrt_scale_h * ops.exp(raw[..., 3] / 2) - ops.sqrt(ops.maximum(y_true[..., 3], 0))
            )
            + ops.square(
                sqrt_scale_w * ops.exp(raw[..., 4] / 2) - ops.sqrt(ops.maximum(y_true[..., 4], 0))
            )
        )

        t_o = raw[..., 0]
        if self.objectness_loss == "binary_crossentropy":
            obj_error, noobj_error = ops.softplus(-t_o), ops.softplus(t_o)
        else:
            pc = ops.sigmoid(t_o)
            obj_error, noobj_error = ops.square(1.0 - pc), ops.square(pc)

        if self.ignore_thresh is not None:
            noobj = noobj * (1.0 - self._ignored(y_true, raw))

        if self.num_classes > 1:
            log_probs = ops.log_softmax(raw[..., 5:], axis=-1)
            class_error = -ops.sum(y_true[..., 5:] * log_probs, axis=-1)
        else:
            class_error = ops.zeros_like(t_o)  # one class: log softmax is 0

        per_anchor = (
            self.lambda_coord * obj * coord
            + self.lambda_obj * obj * obj_error
            + self.lambda_noobj * noobj * noobj_error
            + self.lambda_class * obj * class_error
        )
        return ops.sum(per_anchor, axis=(1, 2, 3))

    def _ignored(self, y_true, raw):
        """1 where an anchor's decoded box overlaps a ground-truth box by IoU > ignore_thresh."""
        sy, sx, num_anchors = y_true.shape[1], y_true.shape[2], y_true.shape[3]
        n = sy * sx * num_anchors
        predicted = decode_yolo_output(
            ops.stop_gradient(raw), self.anchors, self.num_classes, "y_pred"
        )["boxes"]
        col = ops.reshape(ops.arange(sx, dtype=raw.dtype), (1, 1, sx, 1))
        row = ops.reshape(ops.arange(sy, dtype=raw.dtype), (1, sy, 1, 1))
        x = (col + y_true[..., 1]) / sx
        y = (row + y_true[..., 2]) / sy
        h = y_true[..., 3] / sy
        w = y_true[..., 4] / sx
        truth = ops.stack([y - h / 2, x - w / 2, y + h / 2, x + w / 2], axis=-1)
        iou = _box_iou(ops.reshape(predicted, (-1, n, 4)), ops.reshape(truth, (-1, n, 4)))
        iou = iou * ops.reshape(y_true[..., 0], (-1, 1, n))  # only real objects count
        best = ops.max(iou, axis=-1)
        return ops.reshape(
            ops.cast(best > self.ignore_thresh, raw.dtype), (-1, sy, sx, num_anchors)
        )

    def get_config(self):
        return {
            **super().get_config(),
            "anchors": [list(a) for a in self.anchors],
            "num_classes": self.num_classes,
            "lambda_coord": self.lambda_coord,
            "lambda_noobj": self.lambda_noobj,
            "lambda_obj": self.lambda_obj,
            "lambda_class": self.lambda_class,
            "objectness_loss": self.objectness_loss,
            "ignore_thresh": self.ignore_thresh,
            "dtype": self.dtype,
        }
