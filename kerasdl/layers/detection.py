"""YOLO output decoding and non-max suppression: raw head output to padded detections."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops

from kerasdl._validation import check_in_range, check_positive_int
from kerasdl.data.detection import check_anchors
from kerasdl.ops.nms import batched_non_max_suppression

# A static batch up to this size runs NMS in an unrolled loop (no WHILE op in TFLite);
# larger or unknown batches use tf.map_fn.
_MAX_UNROLLED_BATCH = 16


def reshape_yolo_output(raw, num_anchors: int, num_classes: int, name: str = "inputs"):
    """Returns the head output as `[B, Sy, Sx, A, 5 + K]`.

    Accepts `[B, Sy, Sx, A, 5 + K]` as is, or `[B, Sy, Sx, A * (5 + K)]` (a convolution's
    channels, anchor-major: the channels of anchor `a` are `a * (5 + K) ... a * (5 + K) +
    4 + K`). Raises a ValueError naming `name` for any other static shape.
    """
    shape = tuple(raw.shape)
    check_yolo_output_shape(shape, num_anchors, num_classes, name)
    if len(shape) == 5:
        return raw
    return ops.reshape(raw, (-1, shape[1], shape[2], num_anchors, 5 + num_classes))


def check_yolo_output_shape(shape, num_anchors: int, num_classes: int, name: str) -> None:
    """Raises a ValueError naming `name` unless `shape` is a YOLO head output shape
    `[B, Sy, Sx, A, 5 + K]` or `[B, Sy, Sx, A * (5 + K)]` with a static grid."""
    _check_yolo_grid_shape(shape, num_anchors, num_classes, name, allow_flat=True)


def _check_yolo_grid_shape(
    shape, num_anchors: int, num_classes: int, name: str, allow_flat: bool
) -> None:
    """The head output check; YOLO targets (`allow_flat=False`) must be 5-D."""
    shape = tuple(shape)
    depth = 5 + num_classes
    ok = (len(shape) == 5 and shape[3:] == (num_anchors, depth)) or (
        allow_flat and len(shape) == 4 and shape[3] == num_anchors * depth
    )
    if not ok:
        flat = (
            f" or [B, Sy, Sx, A * (5 + K)] = [B, Sy, Sx, {num_anchors * depth}]"
            if allow_flat
            else ""
        )
        raise ValueError(
            f"`{name}` must have shape [B, Sy, Sx, A, 5 + K] = [B, Sy, Sx, {num_anchors}, "
            f"{depth}]{flat} for A={num_anchors} anchors and K={num_classes} classes. "
            f"Received: {name}.shape={shape}"
        )
    if shape[1] is None or shape[2] is None:
        raise ValueError(
            f"`{name}` must have a static grid size (Sy, Sx). Received: {name}.shape={shape}"
        )


def decode_yolo_output(raw, anchors, num_classes: int, name: str = "inputs") -> dict:
    """Decodes a YOLO head output, YOLOv2-style, into probabilities and image boxes.

    With `t = [t_o, t_x, t_y, t_h, t_w, class logits]` at cell `(row, col)` and anchor
    `(aw, ah)` of a `Sy x Sx` grid:

        pc = sigmoid(t_o)      bx = sigmoid(t_x)       by = sigmoid(t_y)
        bh = ah Sy exp(t_h)    bw = aw Sx exp(t_w)     (cell units, as the targets)
        x = (col + bx) / Sx    y = (row + by) / Sy     h = bh / Sy    w = bw / Sx

    and the box is `(y - h/2, x - w/2, y + h/2, x + w/2)` (not clipped).

    Args:
        raw: `[B, Sy, Sx, A, 5 + K]` or `[B, Sy, Sx, A * (5 + K)]` head output.
        anchors: `[A, 2]` anchor `(w, h)` pairs, fractions of the image size.
        num_classes: `K`.
        name: the argument name used in errors.

    Returns:
        A dict: "objectness" `pc` `[B, Sy, Sx, A]`, "boxes" yxyx `[B, Sy, Sx, A, 4]`,
        "class_probs" `softmax(logits)` `[B, Sy, Sx, A, K]`.

    Example:

    >>> import numpy as np
    >>> raw = np.zeros((1, 2, 2, 1, 6), "float32")  # t = 0: centred, anchor-sized boxes
    >>> out = decode_yolo_output(raw, [[0.5, 0.25]], 1)
    >>> np.round(ops.convert_to_numpy(out["boxes"][0, 1, 0, 0]), 4).tolist()
    [0.625, 0.0, 0.875, 0.5]
    """
    anchors = check_anchors(anchors)
    raw = reshape_yolo_output(raw, len(anchors), num_classes, name)
    sy, sx = raw.shape[1], raw.shape[2]
    dtype = raw.dtype
    anchor_w = ops.convert_to_tensor([a[0] for a in anchors], dtype)
    anchor_h = ops.convert_to_tensor([a[1] for a in anchors], dtype)
    col = ops.reshape(ops.arange(sx, dtype=dtype), (1, 1, sx, 1))
    row = ops.reshape(ops.arange(sy, dtype=dtype), (1, sy, 1, 1))
    x = (col + ops.sigmoid(raw[..., 1])) / sx
    y = (row + ops.sigmoid(raw[..., 2])) / sy
    h = anchor_h * ops.exp(raw[..., 3])
    w = anchor_w * ops.exp(raw[..., 4])
    boxes = ops.stack([y - h / 2, x - w / 2, y + h / 2, x + w / 2], axis=-1)
    logits = raw[..., 5:]
    # One class: its probability is 1 (Keras warns about a softmax over one entry).
    class_probs = ops.softmax(logits, axis=-1) if num_classes > 1 else ops.ones_like(logits)
    return {"objectness": ops.sigmoid(raw[..., 0]), "boxes": boxes, "class_probs": class_probs}


@keras.saving.register_keras_serializable(package="kerasdl")
class YoloDecoder(layers.Layer):
    """Turns a YOLO head's raw output into padded detections, with non-max suppression.

    Every cell and anchor gives a box (decoded as in `decode_yolo_output`, then clipped to
    the image, [0, 1]) with the score and class

        score = pc * max_k softmax(logits)_k        class = argmax_k softmax(logits)_k

    Non-max suppression then keeps, greedily by score, boxes with `score > score_threshold`
    whose IoU with every box kept before is `<= iou_threshold`, up to `max_detections` per
    image (the notes' algorithm; `tf.image.non_max_suppression` gives the same boxes).

    - `class_agnostic=True` (default): one NMS over all classes per image
      (`NonMaxSuppressionV4`, a TFLite builtin op, run per image: in an unrolled loop for a
      static batch of at most 16, e.g. the batch-1 signature of a TFLite export, else with
      `tf.map_fn`), so the model converts to TFLite with builtin ops only and compiles
      with XLA.
    - `class_agnostic=False`: NMS within each class (`kerasdl.ops.batched_non_max_suppression`,
      the same detections as `tf.image.combined_non_max_suppression`, scores `pc * p_k` for
      every class `k`): boxes of different classes never suppress each other. It compiles
      with XLA and, with the static shapes of a TFLite export, converts to builtin ops (a
      WHILE loop; `tf.image.combined_non_max_suppression` would need the Flex delegate).

    Outputs are padded to `max_detections` so shapes are fixed (exportable): detections come
    first, sorted by decreasing score; padding has zero boxes and scores and class -1.

    Args:
        anchors: `[A, 2]` anchor `(w, h)` pairs, fractions of the image size.
        num_classes: `K`, the number of classes.
        max_detections: detections kept per image (the padded length).
        iou_threshold: IoU above which a lower-scored box is suppressed, in [0, 1].
        score_threshold: boxes need a score above this to be kept, in [0, 1).
        class_agnostic: one NMS over all classes (True) or one per class (False).
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: raw head output `[B, Sy, Sx, A, 5 + K]` or `[B, Sy, Sx, A * (5 + K)]`:
            `[t_o, t_x, t_y, t_h, t_w, class logits]` per cell and anchor.

    Input shape:
        `(batch, Sy, Sx, A, 5 + K)` or `(batch, Sy, Sx, A * (5 + K))`.

    Output shape:
        A dict (TF Object Detection API names): "detection_boxes" float32
        `(batch, max_detections, 4)` yxyx normalised; "detection_scores" float32
        `(batch, max_detections)`; "detection_classes" int32 `(batch, max_detections)`;
        "num_detections" int32 `(batch,)`.

    Example:

    >>> import numpy as np
    >>> raw = np.full((1, 2, 2, 1, 7), -8.0, "float32")  # nothing anywhere...
    >>> raw[0, 1, 0, 0, :5] = [8.0, 0.0, 0.0, 0.0, 0.0]  # ...but one object in cell (1, 0)
    >>> raw[0, 1, 0, 0, 5:] = [0.0, 9.0]                  # of class 1
    >>> decoder = YoloDecoder([[0.5, 0.25]], num_classes=2, max_detections=3)
    >>> out = decoder(raw)
    >>> int(out["num_detections"][0]), out["detection_classes"][0].numpy().tolist()
    (1, [1, -1, -1])
    >>> out["detection_boxes"][0, 0].numpy().round(4).tolist()
    [0.625, 0.0, 0.875, 0.5]

    Reference:
        Redmon and Farhadi, "YOLO9000: Better, Faster, Stronger", CVPR 2017 (decoding);
        Huang et al., "Speed/accuracy trade-offs for modern convolutional object
        detectors", CVPR 2017 (the TF Object Detection API output format).
    """

    def __init__(
        self,
        anchors,
        num_classes,
        max_detections=100,
        iou_threshold=0.5,
        score_threshold=0.05,
        class_agnostic=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.anchors = check_anchors(anchors)
        self.num_classes = check_positive_int("num_classes", num_classes)
        self.max_detections = check_positive_int("max_detections", max_detections)
        self.iou_threshold = check_in_range("iou_threshold", iou_threshold, 0, 1, True)
        self.score_threshold = check_in_range("score_threshold", score_threshold, 0, 1)
        if not isinstance(class_agnostic, bool):
            raise TypeError(
                f"`class_agnostic` must be a bool. Received: class_agnostic={class_agnostic!r}"
            )
        self.class_agnostic = class_agnostic

    def build(self, input_shape):
        check_yolo_output_shape(input_shape, len(self.anchors), self.num_classes, "inputs")
        self.built = True

    def compute_output_spec(self, inputs):
        batch, m = inputs.shape[0], self.max_detections
        return {
            "detection_boxes": keras.KerasTensor((batch, m, 4), "float32"),
            "detection_scores": keras.KerasTensor((batch, m), "float32"),
            "detection_classes": keras.KerasTensor((batch, m), "int32"),
            "num_detections": keras.KerasTensor((batch,), "int32"),
        }

    def call(self, inputs):
        decoded = decode_yolo_output(
            ops.cast(inputs, "float32"), self.anchors, self.num_classes, "inputs"
        )
        boxes = ops.clip(decoded["boxes"], 0.0, 1.0)
        num_boxes = boxes.shape[1] * boxes.shape[2] * boxes.shape[3]
        boxes = ops.reshape(boxes, (-1, num_boxes, 4))
        objectness = ops.reshape(decoded["objectness"], (-1, num_boxes, 1))
        class_probs = ops.reshape(decoded["class_probs"], (-1, num_boxes, self.num_classes))
        if self.class_agnostic:
            return self._class_agnostic_nms(boxes, objectness, class_probs)
        return self._per_class_nms(boxes, objectness * class_probs)

    def _class_agnostic_nms(self, boxes, objectness, class_probs):
        scores = objectness[..., 0] * ops.max(class_probs, axis=-1)
        # tf.argmax: keras.ops.argmax adds a BitwiseAnd (for -0.0) that TFLite lacks.
        classes = tf.argmax(class_probs, axis=-1, output_type=tf.int32)

        def select(image_boxes, image_scores):
            return tuple(
                tf.raw_ops.NonMaxSuppressionV4(
                    boxes=image_boxes,
                    scores=image_scores,
                    max_output_size=self.max_detections,
                    iou_threshold=self.iou_threshold,
                    score_threshold=self.score_threshold,
                    pad_to_max_output_size=True,
                )
            )

        batch = boxes.shape[0]
        if batch is not None and batch <= _MAX_UNROLLED_BATCH:
            picked = [select(boxes[i], scores[i]) for i in range(batch)]
            indices = tf.stack([p[0] for p in picked])
            count = tf.stack([p[1] for p in picked])
        else:
            indices, count = tf.map_fn(
                lambda args: select(*args),
                (boxes, scores),
                fn_output_signature=(
                    tf.TensorSpec((self.max_detections,), tf.int32),
                    tf.TensorSpec((), tf.int32),
                ),
            )
        valid = ops.arange(self.max_detections, dtype="int32")[None, :] < count[:, None]
        return {
            "detection_boxes": ops.where(
                valid[..., None], tf.gather(boxes, indices, batch_dims=1), 0.0
            ),
            "detection_scores": ops.where(valid, tf.gather(scores, indices, batch_dims=1), 0.0),
            "detection_classes": ops.where(valid, tf.gather(classes, indices, batch_dims=1), -1),
            "num_detections": count,
        }

    def _per_class_nms(self, boxes, class_scores):
        out_boxes, scores, classes, count = batched_non_max_suppression(
            boxes,
            class_scores,
            max_output_size_per_class=self.max_detections,
            max_total_size=self.max_detections,
            iou_threshold=self.iou_threshold,
            score_threshold=self.score_threshold,
        )
        valid = ops.arange(self.max_detections, dtype="int32")[None, :] < count[:, None]
        return {
            "detection_boxes": out_boxes,
            "detection_scores": scores,
            "detection_classes": ops.where(valid, classes, -1),
            "num_detections": count,
        }

    def get_config(self):
        return {
            **super().get_config(),
            "anchors": [list(a) for a in self.anchors],
            "num_classes": self.num_classes,
            "max_detections": self.max_detections,
            "iou_threshold": self.iou_threshold,
            "score_threshold": self.score_threshold,
            "class_agnostic": self.class_agnostic,
        }
