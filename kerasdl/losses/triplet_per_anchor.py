"""Per-anchor semi-hard triplet loss, the mining rule of TensorFlow Similarity."""

from __future__ import annotations

import keras
from keras import ops

from kerasdl.losses.triplet import _masked_max, _masked_min, _PerAnchorTripletLoss


@keras.saving.register_keras_serializable(package="kerasdl")
class TripletPerAnchorSemiHardLoss(_PerAnchorTripletLoss):
    """Semi-hard triplet loss with one triplet per anchor (TensorFlow Similarity's rule).

    For each anchor `A` of the batch, with `d` the distance matrix of the embeddings `f(x)`:

        d+(A) = max over positives P != A of d(A, P)     (the hardest positive)
        d-(A) = min over negatives N with d(A, N) > d+(A) of d(A, N)
                (the closest negative farther than the hardest positive); when no
                negative is that far, max over negatives N of d(A, N) (the farthest)
        L = mean over all anchors A of max(d+(A) - d-(A) + alpha, 0)
        L = mean over all anchors A of log(1 + exp(d+(A) - d-(A)))   (soft=True; no margin)

    An anchor without a positive uses `d+(A) = 0` (the row minimum, `d(A, A)`), so its
    nearest negative is pushed past the margin; an anchor without a negative uses the row
    maximum for `d-(A)`. The margin `alpha` does not enter the choice.

    How it differs from `TripletSemiHardLoss` (tensorflow-addons' rule): there, every
    ordered positive pair `(A, P)` is a triplet and gets its own negative, the closest one
    farther than that `d(A, P)`, and the loss averages over the positive pairs (anchors
    with many positives weigh more, anchors without one do not count). Here each anchor
    makes exactly one triplet, built on its hardest positive, and the loss averages over
    anchors. The two agree when every anchor has exactly one positive.

    This is `tensorflow_similarity.losses.TripletLoss` with `positive_mining_strategy=
    "hard"` and `negative_mining_strategy="semi-hard"` (its defaults); its `distance=
    "cosine"` is `distance_metric="angular"` here, and its `margin=None` (soft margin) is
    `soft=True`. TF Similarity computes `d+` of an anchor without a positive as the row
    minimum less `1e-6`, so duplicates of the anchor at distance 0 count as "farther";
    here they do not. Under a multi-replica `tf.distribute` strategy the replicas gather
    the global batch and mine in it, as the other kerasdl triplet losses do.

    Args:
        margin: `alpha >= 0`, the margin (default 1.0); unused when `soft=True`.
        soft: use the soft-margin `log(1 + exp(.))` form instead of the hinge.
        distance_metric: "L2" (Euclidean; default), "squared-L2", "angular"
            (`1 - cosine similarity`), or a callable mapping embeddings `[B, D]` to a
            `[B, B]` distance matrix.
        reduction: Keras loss reduction; the loss is already one number for the batch.
        name: name of the loss.
        dtype: dtype of the computation; default `keras.backend.floatx()`.

    Call arguments:
        y_true: labels `[B]` or `[B, 1]`, int or float.
        y_pred: embeddings `[B, D]`, typically L2-normalised.

    Example:

    >>> import numpy as np
    >>> labels = np.array([0, 0, 0, 1])
    >>> embeddings = np.array([[0.0], [1.0], [3.0], [2.0]], "float32")
    >>> # per anchor: d+ = 3, 2, 3, 0 and d- = 2, 1, 1, 1 -> 2, 2, 3, 0 (TFA: 10 / 6)
    >>> float(TripletPerAnchorSemiHardLoss()(labels, embeddings))  # (2 + 2 + 3 + 0) / 4
    1.75

    Reference:
        Schroff et al., "FaceNet: A Unified Embedding for Face Recognition and
        Clustering", CVPR 2015; `tensorflow_similarity.losses.TripletLoss`.
    """

    def __init__(
        self,
        margin=1.0,
        soft=False,
        distance_metric="L2",
        reduction="sum_over_batch_size",
        name="triplet_per_anchor_semihard_loss",
        dtype=None,
    ):
        super().__init__(margin, soft, distance_metric, reduction, name, dtype)

    def _anchor_gaps(self, distances, positives, negatives):
        hardest_positive = _masked_max(distances, positives)
        beyond = ops.logical_and(negatives, ops.greater(distances, hardest_positive[:, None]))
        # No negative beyond: the farthest negative; no negative at all: the row maximum.
        low = ops.cast(float("-inf"), distances.dtype)
        farthest = ops.max(ops.where(negatives, distances, low), axis=1)
        fallback = ops.where(ops.any(negatives, axis=1), farthest, ops.max(distances, axis=1))
        closest_beyond = _masked_min(distances, beyond)
        return hardest_positive - ops.where(ops.any(beyond, axis=1), closest_beyond, fallback)
