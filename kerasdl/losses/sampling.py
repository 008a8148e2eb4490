"""The word2vec negative-sampling loss."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerasdl")
class NegativeSamplingLoss(keras.losses.Loss):
    """Negative sampling (Mikolov et al., 2013): one true target and `k` negatives per
    example, each a logistic regression on a dot product.

    The notes turn the softmax over the whole vocabulary into `k + 1` binary problems:
    "given a pair of words like orange and juice, predict: is this a context-target
    pair?". For an input word `c` with embedding `e_c`, candidate targets `t_j` with
    parameters `theta_{t_j}`, logits `z_j = theta_{t_j}^T e_c` and labels `y_j` (1 for the
    true target, 0 for the `k` negatives drawn from `f(w)^(3/4)`):

        L = - sum_{j=0..k} [ y_j log sigmoid(z_j) + (1 - y_j) log sigmoid(-z_j) ]
          = - log sigmoid(theta_t^T e_c) - sum_{negatives n} log sigmoid(-theta_n^T e_c)

    summed over the `k + 1` candidates (word2vec's objective; Keras' binary
    cross-entropy would average them, i.e. divide by `k + 1`), then reduced over the
    batch (default: the mean). `k` comes from the shapes, so one loss serves any number
    of negatives. Each term is computed as `softplus(-z)` or `softplus(z)`
    (`-log sigmoid(z) = softplus(-z)`), which neither overflows nor rounds the small
    losses of confident logits to 0.

    Args:
        from_logits: `y_pred` holds logits `z` (default, what `kerasdl.models.word2vec`
            outputs); with False it holds probabilities `sigmoid(z)`, clipped to
            `[epsilon, 1 - epsilon]`.
        reduction: Keras loss reduction over the batch; default "sum_over_batch_size".
        name: name of the loss.
        dtype: dtype of the computation; default `keras.backend.floatx()`.

    Call arguments:
        y_true: labels `[B, 1 + k]`, 1 for true targets and 0 for negatives; the layout of
            `kerasdl.data.skipgrams.skipgram_dataset` is `[1, 0, ..., 0]` (true target
            first). Any 0/1 pattern works, e.g. several true targets.
        y_pred: logits (or probabilities) `[B, 1 + k]`, in the same order.
        sample_weight: optional per-example weights `[B]`.

    Example:

    >>> import numpy as np
    >>> labels = np.array([[1.0, 0.0, 0.0]])
    >>> logits = np.array([[2.0, -1.0, 0.5]], "float32")
    >>> # -log s(2) - log s(1) - log s(-0.5) = 0.1269 + 0.3133 + 0.9741
    >>> round(float(NegativeSamplingLoss()(labels, logits)), 4)
    1.4143

    Reference:
        Mikolov et al., "Distributed Representations of Words and Phrases and their
        Compositionality", NeurIPS 2013.
    """

    def __init__(
        self,
        from_logits=True,
        reduction="sum_over_batch_size",
        name="negative_sampling_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not isinstance(from_logits, bool):
            raise TypeError(f"`from_logits` must be a bool. Received: from_logits={from_logits!r}")
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        shape, label_shape = tuple(y_pred.shape), tuple(y_true.shape)
        if len(shape) != 2:
            raise ValueError(
                "`y_pred` must have shape [B, 1 + k] (the true target's and the k negatives' "
                f"logits). Received: y_pred.shape={shape}"
            )
        if len(label_shape) != 2 or any(
            a is not None and b is not None and a != b
            for a, b in zip(label_shape, shape, strict=True)
        ):
            raise ValueError(
                f"`y_true` must have the shape of `y_pred`, [B, 1 + k]={shape}, 1 for true "
                f"targets and 0 for negatives. Received: y_true.shape={label_shape}"
            )
        y_true = ops.cast(y_true, y_pred.dtype)
        if self.from_logits:
            logits = y_pred
        else:
            epsilon = keras.backend.epsilon()
            p = ops.clip(y_pred, epsilon, 1.0 - epsilon)
            logits = ops.log(p) - ops.log1p(-p)
        # -log s(z) = softplus(-z): each term stays accurate where it is tiny, which
        # softplus(z) - y z would round to 0 for confident logits.
        losses = y_true * ops.softplus(-logits) + (1.0 - y_true) * ops.softplus(logits)
        return ops.sum(losses, axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(from_logits=self.from_logits, dtype=self.dtype)
        return config
