"""The notes' weighted misclassification error, streamed over batches."""

from __future__ import annotations

import keras
from keras import ops

from kerasdl._validation import check_in_range


@keras.saving.register_keras_serializable(package="kerasdl")
class WeightedError(keras.metrics.Metric):
    """Weighted misclassification error, the notes' metric for mistakes of unequal cost.

    When some mistakes matter more (letting through a pornographic image in a cat app),
    give each dev example a weight `w(i)` (e.g. 10 for those images, 1 for the others):

        Error = 1 / (sum_i w(i)) * sum_i w(i) * I{y_pred(i) != y(i)}

    so it stays between 0 and 1. With all weights 1 it is the plain misclassification
    error `1 - accuracy`. `y_pred(i)` is the arg max of a `[B, K]` output (K > 1), or
    `y_pred > threshold` for one sigmoid output `[B]` / `[B, 1]`. The numerator and the
    denominator are summed over batches and, under `tf.distribute`, over replicas
    (sum-aggregated variables), so the result is the whole data set's error.

    Pass the weights as `sample_weight` (in `fit`/`evaluate`, list the metric under
    `compile(weighted_metrics=[...])` so Keras hands it the data's sample weights).

    Args:
        threshold: decision threshold in [0, 1] for a single sigmoid output
            (default 0.5; use 0.0 for a logit).
        name: name of the metric.
        dtype: dtype of the accumulators (default float32).

    Call arguments:
        y_true: class ids `[B]` / `[B, 1]`, or one-hot `[B, K]` shaped like `y_pred`.
        y_pred: `[B, K]` scores, or `[B]` / `[B, 1]` probabilities for binary tasks.
        sample_weight: optional `[B]` weights `w(i)` >= 0.

    Example:

    >>> import numpy as np
    >>> metric = WeightedError()
    >>> y_true = np.array([0, 1, 1, 0])
    >>> y_pred = np.array([0.2, 0.3, 0.8, 0.9])   # examples 1 and 3 are wrong
    >>> metric.update_state(y_true, y_pred, sample_weight=np.array([1, 10, 1, 1]))
    >>> round(float(metric.result()), 4)  # (10 + 1) / 13
    0.8462

    Reference:
        Structuring Machine Learning Projects, "When to change dev/test sets and metrics".
    """

    def __init__(self, threshold: float = 0.5, name: str = "weighted_error", dtype=None):
        super().__init__(name=name, dtype=dtype or "float32")
        self.threshold = check_in_range("threshold", threshold, 0.0, 1.0, include_high=True)
        self.weighted_errors = self.add_variable(
            shape=(), initializer="zeros", name="weighted_errors", aggregation="sum"
        )
        self.total_weight = self.add_variable(
            shape=(), initializer="zeros", name="total_weight", aggregation="sum"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.convert_to_tensor(y_true)
        pred_shape, true_shape = tuple(y_pred.shape), tuple(y_true.shape)
        if len(pred_shape) not in (1, 2):
            raise ValueError(
                "`y_pred` must have shape [B, K] or [B] / [B, 1]. "
                f"Received: y_pred.shape={pred_shape}"
            )
        one_hot = len(true_shape) == 2 and true_shape[-1] not in (None, 1)
        if one_hot and true_shape != pred_shape:
            raise ValueError(
                f"`y_true` must be class ids [B] / [B, 1] or one-hot like `y_pred` "
                f"{pred_shape}. Received: y_true.shape={true_shape}"
            )
        if len(true_shape) not in (1, 2):
            raise ValueError(
                f"`y_true` must be class ids [B] / [B, 1] or one-hot [B, K]. "
                f"Received: y_true.shape={true_shape}"
            )
        if len(pred_shape) == 2 and pred_shape[-1] != 1:
            predicted = ops.argmax(y_pred, axis=-1)
        else:
            predicted = ops.cast(ops.greater(ops.reshape(y_pred, (-1,)), self.threshold), "int64")
        labels = ops.argmax(y_true, axis=-1) if one_hot else ops.reshape(y_true, (-1,))
        wrong = ops.cast(
            ops.not_equal(ops.cast(predicted, "int64"), ops.cast(labels, "int64")), self.dtype
        )
        if sample_weight is None:
            weights = ops.ones_like(wrong)
        else:
            weights = ops.cast(sample_weight, self.dtype)
            if len(weights.shape) == 0:
                weights = weights * ops.ones_like(wrong)
            weights = ops.reshape(weights, (-1,))
        self.weighted_errors.assign_add(ops.sum(weights * wrong))
        self.total_weight.assign_add(ops.sum(weights))

    def result(self):
        return ops.divide_no_nan(self.weighted_errors, self.total_weight)

    def reset_state(self):
        self.weighted_errors.assign(0.0)
        self.total_weight.assign(0.0)

    def get_config(self):
        return {"threshold": self.threshold, "name": self.name, "dtype": self.dtype}
