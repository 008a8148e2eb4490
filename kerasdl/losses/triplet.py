"""Triplet losses for face verification: the notes' explicit `(A, P, N)` form and the
online-mining forms of tensorflow-addons (semi-hard, hard) plus "batch all"."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from kerasdl._validation import check_one_of

DISTANCE_METRICS = ("L2", "squared-L2", "angular")


def _check_margin(value):
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"`margin` must be a number. Received: margin={value!r}")
    if not value >= 0:
        raise ValueError(f"`margin` must be >= 0. Received: margin={value}")
    return float(value)


def _check_distance_metric(value):
    if callable(value):
        return value
    if isinstance(value, dict):
        return keras.saving.deserialize_keras_object(value)
    if not isinstance(value, str):
        raise TypeError(
            f"`distance_metric` must be one of {DISTANCE_METRICS} or a callable. "
            f"Received: distance_metric={value!r}"
        )
    return check_one_of("distance_metric", value, DISTANCE_METRICS)


def _serialize_metric(value):
    if isinstance(value, str):
        return value
    return keras.saving.serialize_keras_object(value)


def _check_labels_embeddings(y_true, y_pred):
    """Returns labels `[B]` and embeddings `[B, D]`, raising on bad shapes."""
    shape = tuple(y_pred.shape)
    if len(shape) != 2:
        raise ValueError(
            "`y_pred` (the embeddings) must have rank 2 with shape [B, D]. "
            f"Received: y_pred.shape={shape}"
        )
    label_shape = tuple(y_true.shape)
    if len(label_shape) not in (1, 2) or (len(label_shape) == 2 and label_shape[1] != 1):
        raise ValueError(
            "`y_true` (the labels) must have shape [B] or [B, 1]. "
            f"Received: y_true.shape={label_shape}"
        )
    if label_shape[0] is not None and shape[0] is not None and label_shape[0] != shape[0]:
        raise ValueError(
            "`y_true` (the labels) must have the batch size B of `y_pred`, "
            f"B={shape[0]}. Received: y_true.shape={label_shape}"
        )
    return ops.reshape(y_true, (-1,)), y_pred


def _gather_replicas(labels, embeddings):
    """The global batch under a multi-replica `tf.distribute` strategy, else the inputs.

    Mining needs every example of the batch: each replica gathers all replicas' labels and
    embeddings (`all_gather` is differentiable and sends each replica the gradient of its
    own rows), so each computes the global batch's loss. Returns the labels, embeddings
    and number of replicas `R`: the caller divides the loss by `R` (Keras leaves a scalar
    loss unscaled, then sums the replicas), so result and gradients equal one device's.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return labels, embeddings, 1
    replicas = context.num_replicas_in_sync
    labels = context.all_gather(labels, axis=0)
    return labels, context.all_gather(embeddings, axis=0), replicas


def pairwise_distances(embeddings, distance_metric="L2"):
    """The `[B, B]` distance matrix of `embeddings` `[B, D]`, with a zero diagonal.

    "L2" is the Euclidean distance `||f(x_i) - f(x_j)||`, "squared-L2" its square, and
    "angular" `1 - cos(f(x_i), f(x_j))`; a callable is called on `embeddings`. The squared
    distances come from `||x||^2 + ||y||^2 - 2 x.y` clipped at 0, and the square root is
    taken only where that is > 0, so the gradient stays finite on identical embeddings
    (tensorflow-addons' `pairwise_distance`/`angular_distance`).
    """
    if callable(distance_metric):
        return distance_metric(embeddings)
    size = ops.shape(embeddings)[0]
    off_diagonal = 1 - ops.eye(size, dtype=embeddings.dtype)
    if distance_metric == "angular":
        sq = ops.sum(ops.square(embeddings), axis=1, keepdims=True)
        unit = embeddings * ops.rsqrt(ops.maximum(sq, 1e-12))
        distances = ops.maximum(1 - ops.matmul(unit, ops.transpose(unit)), 0)
        return distances * off_diagonal
    sq = ops.sum(ops.square(embeddings), axis=1, keepdims=True)
    squared = sq + ops.transpose(sq) - 2 * ops.matmul(embeddings, ops.transpose(embeddings))
    squared = ops.maximum(squared, 0)
    zero = ops.less_equal(squared, 0)
    if distance_metric == "squared-L2":
        distances = squared
    else:
        distances = ops.sqrt(ops.where(zero, ops.ones_like(squared), squared))
    return ops.where(zero, ops.zeros_like(distances), distances) * off_diagonal


def _masks(labels, distances):
    size = ops.shape(distances)[0]
    same = ops.equal(labels[:, None], labels[None, :])
    positives = ops.logical_and(same, ops.logical_not(ops.eye(size, dtype="bool")))
    return positives, ops.logical_not(same)


def _masked_max(distances, mask):
    """Row-wise max over `mask`; the row's minimum where the mask is empty (TFA's rule)."""
    low = ops.cast(float("-inf"), distances.dtype)
    best = ops.max(ops.where(mask, distances, low), axis=1)
    return ops.where(ops.any(mask, axis=1), best, ops.min(distances, axis=1))


def _masked_min(distances, mask):
    """Row-wise min over `mask`; the row's maximum where the mask is empty (TFA's rule)."""
    high = ops.cast(float("inf"), distances.dtype)
    best = ops.min(ops.where(mask, distances, high), axis=1)
    return ops.where(ops.any(mask, axis=1), best, ops.max(distances, axis=1))


def _gather_rows(values, index):
    """`values[i, index[i, j]]`: `tf.gather` with a batch dimension, in graph mode about
    twice as fast as `ops.take_along_axis` (which broadcasts int64 index grids)."""
    return tf.gather(values, index, batch_dims=1)


def _sorted_columns(distances, negatives):
    """Each row's columns in ascending order of distance, and which of them are negatives.

    At equal distances the row's negatives come before its other columns, so for a
    positive at sorted position `k` the negatives at or before `k` are exactly those at a
    distance `<= d(A, P)` (the semi-hard rule's strict "farther" needs the ties right).
    The order is one value-only sort of distinct int64 keys, so it needs no stable sort
    (XLA's is not): a rank of the distance in the high half, and
    `j + B * (j is not a negative)` for column `j` in the low half, so the keys sort by
    distance, then negatives first, and carry their column. Up to float32 the rank is the
    distance's bit pattern, made order-preserving; XLA sorts these keys as fast as the
    floats, faster than an argsort (which sorts value and index pairs). A float64 pattern
    fills the 64 bits, so there the rank is the distance's tie group in a first argsort.
    """
    size = ops.shape(distances)[0]
    columns = ops.arange(size, dtype="int32")[None, :]
    if distances.dtype == "float64":
        order = ops.argsort(distances, axis=1)
        ascending = _gather_rows(distances, order)
        starts = ops.not_equal(ascending[:, 1:], ascending[:, :-1])
        rank = ops.cumsum(ops.cast(starts, "int32"), axis=1)
        rank = ops.concatenate([ops.zeros_like(rank[:, :1]), rank], axis=1)
        columns = order
        negatives = _gather_rows(negatives, order)
    else:
        values = ops.cast(distances, "float32")
        # -0.0 and 0.0 are equal distances but not equal bit patterns.
        values = ops.where(ops.equal(values, 0), ops.zeros_like(values), values)
        rank = tf.bitcast(values, tf.int32)
        # Negative floats: flip the magnitude bits so the signed integers follow the floats.
        rank = ops.where(ops.less(rank, 0), ops.bitwise_xor(rank, 0x7FFFFFFF), rank)
    low = columns + size * ops.cast(ops.logical_not(negatives), "int32")
    # top_k sorts in descending order (`ops.sort` negates around it): negated keys.
    mask = 2**32 - 1
    keys = ops.cast(rank, "int64") * -(2**32) + (mask - ops.cast(low, "int64"))
    low = mask - ops.bitwise_and(tf.math.top_k(keys, k=size).values, mask)
    low = ops.cast(low, "int32")
    is_negative = ops.less(low, size)
    return ops.where(is_negative, low, low - size), is_negative


class _MinedTripletLoss(keras.losses.Loss):
    """Shared arguments and checks of the online-mining triplet losses."""

    def __init__(self, margin, distance_metric, reduction, name, dtype):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.margin = _check_margin(margin)
        self.distance_metric = _check_distance_metric(distance_metric)

    def call(self, y_true, y_pred):
        labels, embeddings, replicas = _gather_replicas(*_check_labels_embeddings(y_true, y_pred))
        distances = pairwise_distances(embeddings, self.distance_metric)
        loss = self._batch_loss(labels, distances)
        return loss if replicas == 1 else loss / replicas

    def get_config(self):
        config = super().get_config()
        config.update(
            margin=self.margin,
            distance_metric=_serialize_metric(self.distance_metric),
            dtype=self.dtype,
        )
        return config


class _PerAnchorTripletLoss(_MinedTripletLoss):
    """The losses with one triplet per anchor and the `soft` argument: a subclass gives
    each anchor's `d+(A) - d-(A)`, averaged over all anchors through the hinge
    `max(. + alpha, 0)` or, with `soft=True`, the softplus `log(1 + exp(.))`, which does
    not overflow for large gaps (TFA's `log1p(exp(.))` does)."""

    def __init__(self, margin, soft, distance_metric, reduction, name, dtype):
        super().__init__(margin, distance_metric, reduction, name, dtype)
        if not isinstance(soft, bool):
            raise TypeError(f"`soft` must be a bool. Received: soft={soft!r}")
        self.soft = soft

    def _batch_loss(self, labels, distances):
        gap = self._anchor_gaps(distances, *_masks(labels, distances))
        if self.soft:
            return ops.mean(ops.softplus(gap))
        return ops.mean(ops.maximum(gap + self.margin, 0))

    def get_config(self):
        config = super().get_config()
        config["soft"] = self.soft
        return config


@keras.saving.register_keras_serializable(package="kerasdl")
class TripletSemiHardLoss(_MinedTripletLoss):
    """Triplet loss with semi-hard negatives mined in the batch (FaceNet; `tfa.losses`).

    With `d` the distance matrix of the batch's embeddings `f(x)`, every ordered positive
    pair `(A, P)` (same label, `A != P`) takes as its negative the semi-hard `N`: the
    negative of `A` (different label) with the smallest `d(A, N)` strictly greater than
    `d(A, P)`. When there is none, `N` is `A`'s farthest negative; when `A` has no negative
    at all, the distance used is the minimum of `A`'s row (0 for the built-in metrics).
    The margin `alpha` does not enter the choice. Then

        L = mean over positive pairs (A, P) of max(d(A, P) - d(A, N) + alpha, 0)

    This is tensorflow-addons' `TripletSemiHardLoss` with the same arguments and numbers,
    except that a batch without any positive pair gives 0 (TFA: NaN), float64 works, and
    under a multi-replica `tf.distribute` strategy the replicas gather the global batch
    and mine in it, so training matches one device (TFA mines each replica's share).
    It sorts each anchor's row of distances once (negatives first at equal distances) and
    takes, for every positive, the next negative in that order, so it costs `O(B^2 log B)`
    time and `O(B^2)` memory, in graph mode and under XLA (TFA builds a `[B^2, B]` tensor).

    Args:
        margin: `alpha >= 0`, the margin (default 1.0, as TFA).
        distance_metric: "L2" (Euclidean, not squared; default), "squared-L2", "angular"
            (`1 - cosine similarity`), or a callable mapping embeddings `[B, D]` to a
            `[B, B]` distance matrix.
        reduction: Keras loss reduction; the loss is already one number for the batch.
        name: name of the loss.
        dtype: dtype of the computation; default `keras.backend.floatx()`. Use "float64"
            for float64 embeddings. Labels are cast to it too, so integer labels must be
            exactly representable (`< 2^24` in float32).

    Call arguments:
        y_true: labels `[B]` or `[B, 1]`, int or float.
        y_pred: embeddings `[B, D]`, typically L2-normalised.

    Example:

    >>> import numpy as np
    >>> labels = np.array([0, 0, 1, 1])
    >>> embeddings = np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 2.0], [0.0, 4.0]], "float32")
    >>> # (A, P) = (0, 1): N at 2 -> 1 - 2 + 1; (1, 0): N at 3 -> 1 - 3 + 1;
    >>> # (2, 3): no negative beyond 2, the farthest is at 2 -> 2 - 2 + 1; (3, 2): 2 - 3 + 1
    >>> float(TripletSemiHardLoss()(labels, embeddings))  # (0 + 0 + 1 + 0) / 4
    0.25

    Reference:
        Schroff et al., "FaceNet: A Unified Embedding for Face Recognition and
        Clustering", CVPR 2015; `tfa.losses.TripletSemiHardLoss`.
    """

    def __init__(
        self,
        margin=1.0,
        distance_metric="L2",
        reduction="sum_over_batch_size",
        name="triplet_semihard_loss",
        dtype=None,
    ):
        super().__init__(margin, distance_metric, reduction, name, dtype)

    def _batch_loss(self, labels, distances):
        positives, negatives = _masks(labels, distances)
        size = ops.shape(distances)[0]
        columns, is_negative = _sorted_columns(distances, negatives)
        sorted_distances = _gather_rows(distances, columns)
        rows = ops.arange(size, dtype="int32")[:, None]
        is_positive = ops.logical_and(ops.logical_not(is_negative), ops.not_equal(columns, rows))
        # Negatives at or before each sorted position: for a positive, those at <= d(A, P).
        seen = ops.cumsum(ops.cast(is_negative, "int32"), axis=1)
        # Position of each row's m-th negative (m = 1, 2, ...) in slot m of its row; the
        # other columns go to slot 0, never read.
        slots = rows * (size + 1) + ops.where(is_negative, seen, 0)
        positions = ops.broadcast_to(ops.arange(size, dtype="int32")[None, :], (size, size))
        negative_at = ops.segment_max(
            ops.reshape(positions, (-1,)), ops.reshape(slots, (-1,)), size * (size + 1)
        )
        negative_at = ops.reshape(negative_at, (size, size + 1))
        # The semi-hard negative of a positive is the next negative after it: the first
        # one strictly farther, since equal ones sort before it.
        num_negatives = ops.sum(ops.cast(negatives, "int32"), axis=1, keepdims=True)
        found = ops.less(seen, num_negatives)
        next_at = _gather_rows(negative_at, ops.minimum(seen + 1, size))
        outside = _gather_rows(sorted_distances, ops.clip(next_at, 0, size - 1))
        inside = _masked_max(distances, negatives)[:, None]
        semi_hard = ops.where(found, outside, ops.broadcast_to(inside, ops.shape(outside)))
        losses = ops.maximum(sorted_distances - semi_hard + self.margin, 0)
        losses = ops.where(is_positive, losses, ops.zeros_like(losses))
        num_positives = ops.sum(ops.cast(positives, losses.dtype))
        return ops.sum(losses) / ops.maximum(num_positives, 1)


@keras.saving.register_keras_serializable(package="kerasdl")
class TripletHardLoss(_PerAnchorTripletLoss):
    """Triplet loss with the hardest positive and negative of each anchor ("batch hard").

    For each anchor `A` of the batch, with `d` the distance matrix of the embeddings:

        d+(A) = max over positives P != A of d(A, P)   (row minimum, 0, if there is none)
        d-(A) = min over negatives N of d(A, N)        (row maximum if there is none)
        L = mean over all anchors A of max(d+(A) - d-(A) + alpha, 0)
        L = mean over all anchors A of log(1 + exp(d+(A) - d-(A)))   (soft=True; no margin)

    The mean runs over every anchor, including those without a positive (TFA's rule).
    This is tensorflow-addons' `TripletHardLoss` with the same arguments and numbers; the
    soft form is computed as a softplus, which does not overflow (TFA's `log1p(exp(.))`
    gives inf for large gaps), float64 works, and under a multi-replica `tf.distribute`
    strategy it mines in the replicas' gathered global batch (as `TripletSemiHardLoss`).

    Args:
        margin: `alpha >= 0`, the margin (default 1.0); unused when `soft=True`.
        soft: use the soft-margin `log(1 + exp(.))` form instead of the hinge.
        distance_metric: "L2" (default), "squared-L2", "angular" or a callable mapping
            embeddings `[B, D]` to a `[B, B]` distance matrix.
        reduction: Keras loss reduction; the loss is already one number for the batch.
        name: name of the loss.
        dtype: dtype of the computation; default `keras.backend.floatx()`.

    Call arguments:
        y_true: labels `[B]` or `[B, 1]`, int or float.
        y_pred: embeddings `[B, D]`.

    Example:

    >>> import numpy as np
    >>> labels = np.array([0, 0, 1, 1])
    >>> embeddings = np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 2.0], [0.0, 4.0]], "float32")
    >>> # anchors 0..3: 1 - 2 + 1, 1 - 1 + 1, 2 - 1 + 1, 2 - 3 + 1
    >>> float(TripletHardLoss()(labels, embeddings))  # (0 + 1 + 2 + 0) / 4
    0.75

    Reference:
        Hermans et al., "In Defense of the Triplet Loss for Person Re-Identification",
        2017; `tfa.losses.TripletHardLoss`.
    """

    def __init__(
        self,
        margin=1.0,
        soft=False,
        distance_metric="L2",
        reduction="sum_over_batch_size",
        name="triplet_hard_loss",
        dtype=None,
    ):
        super().__init__(margin, soft, distance_metric, reduction, name, dtype)

    def _anchor_gaps(self, distances, positives, negatives):
        return _masked_max(distances, positives) - _masked_min(distances, negatives)


@keras.saving.register_keras_serializable(package="kerasdl")
class TripletBatchAllLoss(_MinedTripletLoss):
    """Triplet loss averaged over every valid triplet of the batch that is not yet
    satisfied ("batch all").

    A valid triplet `(A, P, N)` has `label(A) == label(P)`, `A != P` and
    `label(N) != label(A)`. With `l(A, P, N) = max(d(A, P) - d(A, N) + alpha, 0)`:

        L = sum l(A, P, N) / #{valid (A, P, N) with l(A, P, N) > 0}

    and 0 when no valid triplet has a positive loss (easy triplets do not dilute the
    average). It looks at all `B^3` triplets, so it costs `O(B^3)` time and memory. Under a
    multi-replica `tf.distribute` strategy it uses the replicas' gathered global batch.

    Args:
        margin: `alpha >= 0`, the margin (default 1.0).
        distance_metric: "L2" (default), "squared-L2", "angular" or a callable mapping
            embeddings `[B, D]` to a `[B, B]` distance matrix.
        reduction: Keras loss reduction; the loss is already one number for the batch.
        name: name of the loss.
        dtype: dtype of the computation; default `keras.backend.floatx()`.

    Call arguments:
        y_true: labels `[B]` or `[B, 1]`, int or float.
        y_pred: embeddings `[B, D]`.

    Example:

    >>> import numpy as np
    >>> labels = np.array([0, 0, 1, 1])
    >>> embeddings = np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 2.0], [0.0, 4.0]], "float32")
    >>> # triplets with a positive loss: (1, 0, 2): 1, (2, 3, 0): 1, (2, 3, 1): 2
    >>> round(float(TripletBatchAllLoss()(labels, embeddings)), 4)  # 4 / 3
    1.3333

    Reference:
        Hermans et al., "In Defense of the Triplet Loss for Person Re-Identification",
        2017 (the "batch all" strategy).
    """

    def __init__(
        self,
        margin=1.0,
        distance_metric="L2",
        reduction="sum_over_batch_size",
        name="triplet_batch_all_loss",
        dtype=None,
    ):
        super().__init__(margin, distance_metric, reduction, name, dtype)

    def _batch_loss(self, labels, distances):
        positives, negatives = _masks(labels, distances)
        valid = ops.logical_and(positives[:, :, None], negatives[:, None, :])
        losses = ops.maximum(distances[:, :, None] - distances[:, None, :] + self.margin, 0)
        losses = ops.where(valid, losses, ops.zeros_like(losses))
        num_active = ops.sum(ops.cast(ops.greater(losses, 0), losses.dtype))
        return ops.sum(losses) / ops.maximum(num_active, 1)


@keras.saving.register_keras_serializable(package="kerasdl")
class TripletLoss(keras.losses.Loss):
    """The notes' triplet loss of explicit `(anchor, positive, negative)` embeddings.

    For each example of the batch, with `f(A)`, `f(P)`, `f(N)` its three embeddings:

        L(A, P, N) = max(||f(A) - f(P)||^2 - ||f(A) - f(N)||^2 + alpha, 0)

    and the reduction (default "sum_over_batch_size") averages it over the batch.

    Args:
        margin: `alpha >= 0`, the margin (default 0.2, as in the notes' exercise).
        reduction: Keras loss reduction; default "sum_over_batch_size".
        name: name of the loss.
        dtype: dtype of the computation; default `keras.backend.floatx()`.

    Call arguments:
        y_true: ignored (the triplets carry their own roles); pass anything with a batch
            dimension, e.g. `np.zeros(B)`.
        y_pred: `[B, 3, D]`: anchor, positive and negative embeddings stacked on axis 1.
        sample_weight: optional per-triplet weights `[B]`.

    Example:

    >>> import numpy as np
    >>> triplets = np.array([[[0.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
    ...                      [[0.0, 0.0], [0.0, 1.0], [3.0, 0.0]]], "float32")
    >>> # max(1 - 2 + 0.2, 0) = 0 and max(1 - 9 + 0.2, 0) = 0; with alpha=1.5: 0.5 and 0
    >>> float(TripletLoss()(np.zeros(2), triplets))
    0.0
    >>> float(TripletLoss(margin=1.5)(np.zeros(2), triplets))
    0.25

    Reference:
        Schroff et al., "FaceNet: A Unified Embedding for Face Recognition and
        Clustering", CVPR 2015.
    """

    def __init__(
        self, margin=0.2, reduction="sum_over_batch_size", name="triplet_loss", dtype=None
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.margin = _check_margin(margin)

    def call(self, y_true, y_pred):
        shape = tuple(y_pred.shape)
        if len(shape) != 3 or shape[1] != 3:
            raise ValueError(
                "`y_pred` must have shape [B, 3, D] (anchor, positive, negative). "
                f"Received: y_pred.shape={shape}"
            )
        anchor, positive, negative = y_pred[:, 0], y_pred[:, 1], y_pred[:, 2]
        pos = ops.sum(ops.square(anchor - positive), axis=-1)
        neg = ops.sum(ops.square(anchor - negative), axis=-1)
        return ops.maximum(pos - neg + self.margin, 0)

    def get_config(self):
        config = super().get_config()
        config.update(margin=self.margin, dtype=self.dtype)
        return config
