"""The notes' classification-with-localisation loss over `y = [pc, bx, by, bh, bw, c1..cK]`."""

from __future__ import annotations

import keras
from keras import ops

from kerasdl._validation import check_one_of, check_positive_int

PC_LOSSES = ("squared_error", "logistic")
CLASS_LOSSES = ("squared_error", "softmax")


@keras.saving.register_keras_serializable(package="kerasdl")
class LocalizationLoss(keras.losses.Loss):
    """Classification with localisation (and landmarks): the box counts only if `pc = 1`.

    The target of one image is the notes' vector (see `kerasdl.data.localization_target`)

        y = [pc, bx, by, bh, bw, c1, ..., cK, l1x, l1y, ..., lLx, lLy]

    and `y^` the network's output in the same layout. With squared error everywhere (the
    notes' formula, the default):

        L(y^, y) = (y^1 - y1)^2 + ... + (y^n - yn)^2     if pc = y1 = 1
        L(y^, y) = (y^1 - y1)^2                           if pc = y1 = 0

    (when there is no object the rest of `y` is "don't care"). As the notes suggest for
    practice, the `pc` and class terms can be replaced:

    - `pc_loss="logistic"`: `y^1` is a logit and the `pc` term is the logistic regression
      loss `-pc log sigmoid(y^1) - (1 - pc) log(1 - sigmoid(y^1))`;
    - `class_loss="softmax"`: `y^c1..y^cK` are logits and the class term is the log
      likelihood loss of the softmax, `- sum_k ck log softmax(y^c)_k`.

    The box and landmark terms stay squared errors. The reduction (default
    "sum_over_batch_size") then averages the images' losses.

    Args:
        num_classes: `K`, the number of object classes (background is `pc = 0`).
        num_landmarks: `L`, landmark points `(lx, ly)` after the classes; default 0.
        pc_loss: "squared_error" (default) or "logistic" (`y^1` a logit).
        class_loss: "squared_error" (default) or "softmax" (class entries are logits).
        reduction: Keras loss reduction; default "sum_over_batch_size".
        name: name of the loss.
        dtype: dtype of the loss computation; default `keras.backend.floatx()`.

    Call arguments:
        y_true: float `[B, 5 + K + 2L]` targets.
        y_pred: float `[B, 5 + K + 2L]` outputs.
        sample_weight: optional per-image weights `[B]`.

    Example:

    >>> import numpy as np
    >>> y_true = np.array([[1, 0.5, 0.5, 0.2, 0.4, 0, 1], [0, 0, 0, 0, 0, 0, 0]], "float32")
    >>> y_pred = np.array([[0.9, 0.5, 0.4, 0.2, 0.4, 0, 1], [0.2, 9, 9, 9, 9, 9, 9]], "float32")
    >>> loss = LocalizationLoss(num_classes=2, reduction=None)
    >>> np.round(loss(y_true, y_pred).numpy(), 4).tolist()  # (0.1^2 + 0.1^2), 0.2^2
    [0.02, 0.04]

    Reference:
        Sermanet et al., "OverFeat: Integrated Recognition, Localization and Detection
        using Convolutional Networks", ICLR 2014.
    """

    def __init__(
        self,
        num_classes,
        num_landmarks=0,
        pc_loss="squared_error",
        class_loss="squared_error",
        reduction="sum_over_batch_size",
        name="localization_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.num_classes = check_positive_int("num_classes", num_classes)
        if isinstance(num_landmarks, bool) or not isinstance(num_landmarks, int):
            raise TypeError(
                f"`num_landmarks` must be an int >= 0. Received: num_landmarks={num_landmarks!r}"
            )
        if num_landmarks < 0:
            raise ValueError(
                f"`num_landmarks` must be >= 0. Received: num_landmarks={num_landmarks}"
            )
        self.num_landmarks = num_landmarks
        self.pc_loss = check_one_of("pc_loss", pc_loss, PC_LOSSES)
        self.class_loss = check_one_of("class_loss", class_loss, CLASS_LOSSES)

    def call(self, y_true, y_pred):
        depth = 5 + self.num_classes + 2 * self.num_landmarks
        for name, value in (("y_true", y_true), ("y_pred", y_pred)):
            if len(value.shape) != 2 or value.shape[-1] != depth:
                raise ValueError(
                    f"`{name}` must have shape [B, 5 + K + 2L] = [B, {depth}] for "
                    f"K={self.num_classes} classes and L={self.num_landmarks} landmarks. "
                    f"Received: {name}.shape={tuple(value.shape)}"
                )
        pc, pc_hat = y_true[:, 0], y_pred[:, 0]
        if self.pc_loss == "logistic":
            # -pc log sigmoid(z) - (1 - pc) log(1 - sigmoid(z)), stable in z.
            pc_term = ops.softplus(pc_hat) - pc * pc_hat
        else:
            pc_term = ops.square(pc_hat - pc)

        classes = slice(5, 5 + self.num_classes)
        if self.class_loss == "softmax":
            class_term = -ops.sum(
                y_true[:, classes] * ops.log_softmax(y_pred[:, classes], axis=-1), axis=-1
            )
        else:
            class_term = ops.sum(ops.square(y_pred[:, classes] - y_true[:, classes]), axis=-1)
        box_term = ops.sum(ops.square(y_pred[:, 1:5] - y_true[:, 1:5]), axis=-1)
        landmarks = slice(5 + self.num_classes, depth)
        landmark_term = ops.sum(ops.square(y_pred[:, landmarks] - y_true[:, landmarks]), axis=-1)
        return pc_term + pc * (box_term + class_term + landmark_term)

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "num_landmarks": self.num_landmarks,
            "pc_loss": self.pc_loss,
            "class_loss": self.class_loss,
            "dtype": self.dtype,
        }
