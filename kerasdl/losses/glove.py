"""The GloVe weighted least-squares loss."""

from __future__ import annotations

import keras
from keras import ops

from kerasdl._validation import check_greater


@keras.saving.register_keras_serializable(package="kerasdl")
class GloVeLoss(keras.losses.Loss):
    """GloVe's weighted least squares between a model's scores and `log X_ij`.

    GloVe (Pennington et al., 2014) fits, for every pair of words with a co-occurrence
    count `X_ij > 0`, the score `w_i^T w~_j + b_i + b~_j` to `log X_ij` (the notes'
    `theta_i^T e_j + b_i + b'_j`), weighting each pair by

        f(X) = min(1, (X / x_max)^alpha)        (x_max = 100, alpha = 0.75)

    so that rare pairs count less and frequent ones are capped at 1:

        L_ij = f(X_ij) (w_i^T w~_j + b_i + b~_j - log X_ij)^2

    `y_true` holds `X_ij` and `y_pred` the scores (what `kerasdl.models.glove` outputs).
    Entries with `X_ij <= 0` contribute 0 (`f(0) = 0`: GloVe trains on the non-zero
    entries only; their `log 0` never enters the computation, so no NaN appears). The
    per-entry losses are reduced over the batch (default: the mean; `reduction="sum"`
    gives GloVe's objective `J = sum_ij L_ij` over a batch; the GloVe tool and mittens
    minimise `J / 2`).

    Args:
        x_max: the count from which `f` is 1 (GloVe's 100), > 0.
        alpha: the exponent of `f` (GloVe's 3/4), >= 0.
        reduction: Keras loss reduction over the batch; default "sum_over_batch_size".
        name: name of the loss.
        dtype: dtype of the computation; default `keras.backend.floatx()`.

    Call arguments:
        y_true: co-occurrence counts `X_ij`, e.g. `[B]` from
            `kerasdl.data.glove.glove_dataset`.
        y_pred: scores `w_i^T w~_j + b_i + b~_j` of the same shape (a trailing axis of
            size 1 on either is squeezed).
        sample_weight: optional per-entry weights.

    Example:

    >>> import numpy as np
    >>> counts = np.array([1.0, 50.0, 400.0, 0.0])
    >>> scores = np.log(counts[:3]).tolist() + [3.0]
    >>> scores[0] += 1.0  # off by 1 on a pair seen once: f(1) = 0.01^0.75
    >>> round(float(GloVeLoss(reduction="sum")(counts, np.array(scores, "float32"))), 5)
    0.03162

    Reference:
        Pennington, Socher and Manning, "GloVe: Global Vectors for Word
        Representation", EMNLP 2014.
    """

    def __init__(
        self,
        x_max=100.0,
        alpha=0.75,
        reduction="sum_over_batch_size",
        name="glove_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.x_max = check_greater("x_max", x_max, 0.0)
        if isinstance(alpha, bool) or not isinstance(alpha, int | float):
            raise TypeError(f"`alpha` must be a number. Received: alpha={alpha!r}")
        if not alpha >= 0:
            raise ValueError(f"`alpha` must be >= 0. Received: alpha={alpha}")
        self.alpha = float(alpha)

    def call(self, y_true, y_pred):
        label_shape, shape = tuple(y_true.shape), tuple(y_pred.shape)
        if len(shape) == len(label_shape) + 1 and shape[-1] == 1:
            y_pred = ops.squeeze(y_pred, axis=-1)
        elif len(label_shape) == len(shape) + 1 and label_shape[-1] == 1:
            y_true = ops.squeeze(y_true, axis=-1)
        got, want = tuple(y_pred.shape), tuple(y_true.shape)
        if len(got) != len(want) or any(
            a is not None and b is not None and a != b for a, b in zip(got, want, strict=True)
        ):
            raise ValueError(
                "`y_true` (the counts X_ij) must have the shape of `y_pred` (the scores). "
                f"Received: y_true.shape={label_shape}, y_pred.shape={shape}"
            )
        counts = ops.cast(y_true, y_pred.dtype)
        present = ops.greater(counts, 0.0)
        # Absent pairs get a stand-in count of 1 so that log and power stay finite; their
        # weight is then set to 0.
        safe = ops.where(present, counts, ops.ones_like(counts))
        weight = ops.power(ops.minimum(safe / self.x_max, 1.0), self.alpha)
        weight = ops.where(present, weight, ops.zeros_like(weight))
        return weight * ops.square(y_pred - ops.log(safe))

    def get_config(self):
        config = super().get_config()
        config.update(x_max=self.x_max, alpha=self.alpha, dtype=self.dtype)
        return config
