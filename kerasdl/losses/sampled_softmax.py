"""The sampled-softmax loss (Jean et al., 2015), as `tf.nn.sampled_softmax_loss`."""

from __future__ import annotations

import keras
from keras import ops

from kerasdl._validation import check_matching_2d


@keras.saving.register_keras_serializable(package="kerasdl")
class SampledSoftmaxLoss(keras.losses.Loss):
    """Softmax cross-entropy over the true target and `s` sampled classes, with the
    sampler's log expected counts subtracted: `tf.nn.sampled_softmax_loss` on logits.

    The notes' softmax `p(t | c) = e^{z_t} / sum_{j=1..V} e^{z_j}` (`z_j = theta_j^T e_c`)
    needs every word's logit. Sampled softmax draws `s` classes `w_1..w_s` from a
    proposal `Q` (log-uniform, `f(w)^(3/4)`, ...), and normalises over the target and
    the sample only, each logit corrected by the log of its expected count `Q(w)` under
    the sampler (how often it is drawn: `s Q(w)`, or `1 - (1 - Q(w))^tries` for a sample
    without repeats), and a sampled class equal to the target (an "accidental hit")
    removed:

        z'_j = z_j - log Q(w_j),    z'_j = -inf for an accidental hit
        L = -log( e^{z'_0} / sum_{j=0..s} e^{z'_j} )

    with the target at `j = 0`. This is TensorFlow's `sampled_softmax_loss` with
    `remove_accidental_hits=True` (its default) and one true class, computed from the
    candidates' logits, so the sampler lives in the data pipeline
    (`kerasdl.data.candidate_sampling.sampled_softmax_dataset`), as TF's
    `sampled_values`. As `s` grows the candidates cover the vocabulary, `Q -> 1`, and
    `L` tends to the full softmax cross-entropy; with a uniform sampler and `s = V` the
    two are equal.

    Args:
        reduction: Keras loss reduction over the batch; default "sum_over_batch_size".
        name: name of the loss.
        dtype: dtype of the computation; default `keras.backend.floatx()`.

    Call arguments:
        y_true: `[B, 1 + s]` floats, the correction `log Q(w_j)` of each candidate's
            logit (the target's first), `+inf` for a candidate to remove (an accidental
            hit). `sampled_softmax_targets` builds it from a sampler's expected counts.
            The target's entry must be finite.
        y_pred: logits `[B, 1 + s]` of the target and the sampled classes, in the same
            order (`theta_w^T e_c`, plus a bias if the model has one).
        sample_weight: optional per-example weights `[B]`.

    Example:

    >>> import numpy as np
    >>> log_q = np.log([[0.5, 0.25, 0.25]])
    >>> logits = np.array([[1.0, 2.0, 0.0]], "float32")
    >>> # z' = [1.693, 3.386, 1.386]: -log softmax(z')[0]
    >>> round(float(SampledSoftmaxLoss()(log_q, logits)), 4)
    1.9702
    >>> log_q[0, 1] = np.inf  # the second candidate is the target again: removed
    >>> round(float(SampledSoftmaxLoss()(log_q, logits)), 4)
    0.5514

    Reference:
        Jean et al., "On Using Very Large Target Vocabulary for Neural Machine
        Translation", ACL 2015. `tf.nn.sampled_softmax_loss`.
    """

    def __init__(
        self,
        reduction="sum_over_batch_size",
        name="sampled_softmax_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        check_matching_2d(
            y_true,
            y_pred,
            "[B, 1 + s]",
            "the target's and the s sampled classes' logits",
            "each candidate's log Q, +inf to remove it",
        )
        log_q = ops.cast(y_true, y_pred.dtype)
        removed = ops.isposinf(log_q)
        # -inf takes the candidate out of the sum (e^-inf = 0, and its gradient 0); the
        # unselected branch never subtracts the inf itself.
        adjusted = ops.where(removed, float("-inf"), y_pred - ops.where(removed, 0.0, log_q))
        return ops.logsumexp(adjusted, axis=-1) - adjusted[:, 0]

    def get_config(self):
        config = super().get_config()
        config.update(dtype=self.dtype)
        return config
