"""TriggerWordLoss against a plain-loop reference, Keras' cross-entropy, its gradient, its
serialization and its errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.data.trigger_word import trigger_word_labels
from kerasdl.losses import TriggerWordLoss


def reference(labels, scores, peak_weight, before, after, from_logits=False):
    """Loops: the mean per-step log loss, plus the largest -log(1 - p) over the steps that
    no label one lies within `before` steps after or `after` steps before."""
    out = []
    for y, s in zip(labels.astype(np.float64), scores.astype(np.float64), strict=True):
        p = 1 / (1 + np.exp(-s)) if from_logits else s
        p = np.clip(p, 1e-7, 1 - 1e-7)
        per_step = -(y * np.log(p) + (1 - y) * np.log(1 - p))
        ones = [i for i, v in enumerate(y) if v > 0]
        worst = 0.0
        for t in range(len(y)):
            if not any(t - after <= i <= t + before for i in ones):
                worst = max(worst, -np.log(1 - p[t]))
        out.append(per_step.mean() + peak_weight * worst)
    return np.mean(out)


def random_clips(seed, clips=6, steps=60):
    rng = np.random.default_rng(seed)
    ends = np.arange(steps) * 640 + 2640  # the trigger-word model's step ends in samples
    labels = np.stack(
        [
            trigger_word_labels(
                np.sort(rng.choice(steps * 640, rng.integers(0, 3), replace=False)), ends, 5
            )
            for _ in range(clips)
        ]
    ).astype("float32")
    return labels, rng.uniform(0.001, 0.999, labels.shape).astype("float32")


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("peak_weight,before,after", [(0.2, 8, 13), (1.0, 0, 0), (0.5, 3, 20)])
def test_equals_the_loop_reference(seed, peak_weight, before, after):
    labels, p = random_clips(seed)
    loss = TriggerWordLoss(peak_weight, guard_before=before, guard_after=after)
    expected = reference(labels, p, peak_weight, before, after)
    np.testing.assert_allclose(float(loss(labels, p)), expected, rtol=1e-5)
    logits = np.log(p / (1 - p))
    with_logits = TriggerWordLoss(peak_weight, before, after, from_logits=True)
    np.testing.assert_allclose(
        float(with_logits(labels, logits)),
        reference(labels, logits, peak_weight, before, after, from_logits=True),
        rtol=1e-4,
    )


def test_zero_peak_weight_is_keras_cross_entropy():
    labels, p = random_clips(7)
    np.testing.assert_allclose(
        float(TriggerWordLoss(peak_weight=0.0)(labels, p)),
        float(keras.losses.BinaryCrossentropy()(labels, p)),
        rtol=1e-6,
    )


def test_near_steps():
    y = np.zeros((1, 12), "float32")
    y[0, 5:7] = 1
    near = TriggerWordLoss(guard_before=2, guard_after=3).near_triggers(y)
    assert np.flatnonzero(np.asarray(near)[0]).tolist() == list(range(3, 10))
    assert not np.asarray(TriggerWordLoss().near_triggers(np.zeros((2, 5)))).any()


def test_the_peak_term_pushes_only_the_worst_far_step():
    labels, p = random_clips(3, clips=4)
    p = tf.constant(p)
    grads = []
    for weight in (0.0, 0.7):
        with tf.GradientTape() as tape:
            tape.watch(p)
            value = TriggerWordLoss(weight)(labels, p)
        grads.append(tape.gradient(value, p).numpy())
    extra = grads[1] - grads[0]
    far = ~np.asarray(TriggerWordLoss().near_triggers(labels))
    for row, g, f, q in zip(range(4), extra, far, p.numpy(), strict=True):
        changed = np.flatnonzero(np.abs(g) > 1e-9)
        assert changed.tolist() == [np.flatnonzero(f)[q[f].argmax()]], row
        assert g[changed[0]] > 0  # the gradient lowers that step's score


def test_serialization_and_fit():
    loss = TriggerWordLoss(0.3, guard_before=4, guard_after=9, from_logits=True)
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(again, TriggerWordLoss)
    assert (again.peak_weight, again.guard_before, again.guard_after, again.from_logits) == (
        0.3,
        4,
        9,
        True,
    )
    labels, _ = random_clips(1, clips=8, steps=20)
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(20, activation="sigmoid")])
    model.compile("adam", TriggerWordLoss())
    history = model.fit(np.random.default_rng(0).normal(size=(8, 20)), labels, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_errors():
    with pytest.raises(ValueError, match="`peak_weight` must be in"):
        TriggerWordLoss(peak_weight=-0.1)
    with pytest.raises(ValueError, match="`guard_before` must be >= 0"):
        TriggerWordLoss(guard_before=-1)
    with pytest.raises(TypeError, match="`guard_after` must be a Python int >= 0"):
        TriggerWordLoss(guard_after=2.5)
    with pytest.raises(TypeError, match="`from_logits` must be a bool"):
        TriggerWordLoss(from_logits="yes")
    with pytest.raises(
        ValueError, match=r"`y_pred` must have shape \(clips, steps\) \(a score per step\)"
    ):
        TriggerWordLoss()(np.zeros((2, 3, 1)), np.zeros((2, 3, 1)))
    with pytest.raises(ValueError, match="`y_true` must have the shape of `y_pred`"):
        TriggerWordLoss()(np.zeros((2, 4)), np.zeros((2, 3)))
