"""Trigger-word loss: the notes' per-step logistic loss plus each clip's worst negative step."""

from __future__ import annotations

import math

import keras
from keras import ops

from kerasdl._validation import check_bool, check_count, check_in_range, check_matching_2d


@keras.saving.register_keras_serializable(package="kerasdl")
class TriggerWordLoss(keras.losses.Loss):
    """Per-step binary cross-entropy plus a penalty on each clip's highest negative step.

    The notes train the trigger-word model with the logistic loss of every output step,
    averaged over the clip. A false activation, though, is a single step above the
    threshold: averaged over a clip's ~150 steps it costs almost nothing, and the
    detector's false-activation rate is set by the few highest scores on negative audio.
    This loss adds, for each clip, `peak_weight` times the largest per-step negative loss
    `-log(1 - p_t)` over the steps far from any trigger:

        J = 1/T sum_t L(p_t, y_t) + peak_weight * max_{t far} -log(1 - p_t)

    (the negative half of the max-pooling loss of Sun et al., 2016). A step is near a
    trigger when a label one lies at most `guard_before` steps after it (the end of the
    word, where a detector may fire a little early) or at most `guard_after` steps before
    it (the tail after the labelled window); only the other steps are "far". The
    defaults fit the trigger-word model's 40 ms steps with 12 label ones: the guard spans
    0.32 s before to about 1 s after the trigger's end, about the window where a detection
    counts as a hit. With `peak_weight=0` this is Keras' binary cross-entropy averaged
    over the steps.

    Args:
        peak_weight: weight of the peak term, >= 0 (default 0.2).
        guard_before: steps before each label one that are not negatives (default 8:
            0.32 s at the trigger-word model's 40 ms steps).
        guard_after: steps after each label one that are not negatives (default 13).
        from_logits: whether `y_pred` are logits rather than probabilities.
        reduction: Keras loss reduction (default "sum_over_batch_size": the mean over clips).
        name: name of the loss.
        dtype: dtype of the computation; default `keras.backend.floatx()`.

    Call arguments:
        y_true: `(clips, steps)` labels in [0, 1] (`trigger_word_labels`).
        y_pred: `(clips, steps)` probabilities (or logits with `from_logits=True`).

    Example:

    >>> import numpy as np
    >>> y_true = np.array([[0, 0, 0, 0, 1, 1, 0, 0]], "float32")
    >>> y_pred = np.array([[0.1, 0.5, 0.2, 0.1, 0.9, 0.8, 0.3, 0.1]], "float32")
    >>> loss = TriggerWordLoss(peak_weight=1.0, guard_before=2, guard_after=1)
    >>> # the far steps are 0, 1 and 7; the worst is step 1: -log(1 - 0.5)
    >>> bce = float(keras.losses.BinaryCrossentropy()(y_true, y_pred))
    >>> round(float(loss(y_true, y_pred)) - bce, 4)
    0.6931

    Reference:
        Sequence Models, "Trigger word detection" (course notes); M. Sun et al., "Max-pooling
        loss training of long short-term memory networks for small-footprint keyword
        spotting", SLT 2016.
    """

    def __init__(
        self,
        peak_weight: float = 0.2,
        guard_before: int = 8,
        guard_after: int = 13,
        from_logits: bool = False,
        reduction: str = "sum_over_batch_size",
        name: str = "trigger_word_loss",
        dtype: str | None = None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.peak_weight = check_in_range("peak_weight", peak_weight, 0, math.inf)
        self.guard_before = check_count("guard_before", guard_before, 0)
        self.guard_after = check_count("guard_after", guard_after, 0)
        self.from_logits = check_bool("from_logits", from_logits)

    def near_triggers(self, y_true):
        """`(clips, steps)` bool: the steps within the guards of a label one."""
        y_true = ops.convert_to_tensor(y_true, dtype=self.dtype)
        ones = ops.cast(ops.greater(y_true, 0), self.dtype)[..., None]
        # near[t] = max(ones[t - guard_after], ..., ones[t + guard_before])
        padded = ops.pad(ones, [[0, 0], [self.guard_after, self.guard_before], [0, 0]])
        window = self.guard_before + self.guard_after + 1
        return ops.greater(ops.max_pool(padded, window, strides=1, padding="valid")[..., 0], 0)

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred, dtype=self.dtype)
        y_true = ops.cast(y_true, y_pred.dtype)
        check_matching_2d(y_true, y_pred, "(clips, steps)", "a score per step", "labels per step")
        per_step = ops.binary_crossentropy(y_true, y_pred, from_logits=self.from_logits)
        loss = ops.mean(per_step, axis=-1)
        if not self.peak_weight:
            return loss
        # Far steps carry no label one, so their per-step loss is already -log(1 - p_t).
        far = ops.logical_not(self.near_triggers(y_true))
        peak = ops.max(ops.where(far, per_step, ops.zeros_like(per_step)), axis=-1)
        return loss + self.peak_weight * peak

    def get_config(self):
        config = super().get_config()
        config.update(
            peak_weight=self.peak_weight,
            guard_before=self.guard_before,
            guard_after=self.guard_after,
            from_logits=self.from_logits,
            dtype=self.dtype,
        )
        return config
