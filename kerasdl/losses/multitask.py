"""Multi-task learning loss: one logistic loss per task, summed, with unknown labels."""

from __future__ import annotations

import math

import keras
from keras import ops

from kerasdl._validation import check_matching_2d


def _check_mask_value(value):
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"`mask_value` must be a number or NaN. Received: mask_value={value!r}")
    if 0.0 <= value <= 1.0:
        raise ValueError(
            "`mask_value` must lie outside the label range [0, 1] (e.g. -1 or NaN). "
            f"Received: mask_value={value}"
        )
    return float(value)


def _check_label_smoothing(value):
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"`label_smoothing` must be a number. Received: label_smoothing={value!r}")
    if not 0.0 <= value < 1.0:
        raise ValueError(f"`label_smoothing` must be in [0, 1). Received: label_smoothing={value}")
    return float(value)


@keras.saving.register_keras_serializable(package="kerasdl")
class MaskedMultiLabelLoss(keras.losses.Loss):
    """Multi-task learning loss: the sum over tasks of the logistic loss, with "?" labels.

    One image can have many labels at once (pedestrian, car, stop sign, traffic light),
    so unlike softmax each of the `T` tasks is a separate logistic unit. With `m` examples

        J = 1/m * sum_i sum_{j : y_j(i) != ?} L(yhat_j(i), y_j(i))
        L(yhat, y) = -(y log(yhat) + (1 - y) log(1 - yhat))

    A label the annotators did not give ("?", encoded as `mask_value`, -1 by default, or
    NaN) contributes nothing, so partially labelled examples still train the tasks they
    do label. The per-example loss is the sum over known tasks (not their mean): an
    example with more known labels weighs more, as in the notes' formula. Keras'
    reduction then averages over examples (`1/m`), and `sample_weight` weighs examples.

    Args:
        mask_value: the code of an unknown label, outside [0, 1] (default -1.0; NaN works).
        from_logits: whether `y_pred` are logits (numerically safer) rather than
            sigmoid probabilities.
        label_smoothing: in [0, 1); known labels become `y (1 - s) + s / 2`.
        reduction: Keras loss reduction (default "sum_over_batch_size", the `1/m` average).
        name: name of the loss.
        dtype: dtype of the computation; default `keras.backend.floatx()`.

    Call arguments:
        y_true: `[m, T]` labels in {0, 1} or `mask_value`.
        y_pred: `[m, T]` probabilities (or logits with `from_logits=True`).

    Example:

    >>> import numpy as np
    >>> y_true = np.array([[1, 0, -1], [-1, 1, 0]], "float32")
    >>> y_pred = np.array([[0.9, 0.2, 0.5], [0.3, 0.6, 0.1]], "float32")
    >>> # example 1: -log .9 - log .8; example 2: -log .6 - log .9; then the mean
    >>> round(float(MaskedMultiLabelLoss()(y_true, y_pred)), 4)
    0.4723

    Reference:
        Structuring Machine Learning Projects, "Multi-task learning" (course notes).
    """

    def __init__(
        self,
        mask_value: float = -1.0,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        reduction: str = "sum_over_batch_size",
        name: str = "masked_multi_label_loss",
        dtype: str | None = None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.mask_value = _check_mask_value(mask_value)
        if not isinstance(from_logits, bool):
            raise TypeError(f"`from_logits` must be a bool. Received: from_logits={from_logits!r}")
        self.from_logits = from_logits
        self.label_smoothing = _check_label_smoothing(label_smoothing)

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred, dtype=self.dtype)
        y_true = ops.cast(y_true, y_pred.dtype)
        check_matching_2d(y_true, y_pred, "[m, T]", "examples, tasks", "the tasks' labels")
        if math.isnan(self.mask_value):
            known = ops.logical_not(ops.isnan(y_true))
        else:
            known = ops.not_equal(y_true, self.mask_value)
        # Unknown entries get a harmless target before the loss so that neither the loss
        # nor its gradient sees the mask code (a NaN would poison both through 0 * NaN).
        target = ops.where(known, y_true, ops.zeros_like(y_true))
        if self.label_smoothing:
            target = target * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        per_entry = ops.binary_crossentropy(target, y_pred, from_logits=self.from_logits)
        return ops.sum(ops.where(known, per_entry, ops.zeros_like(per_entry)), axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(
            mask_value=self.mask_value,
            from_logits=self.from_logits,
            label_smoothing=self.label_smoothing,
            dtype=self.dtype,
        )
        return config
