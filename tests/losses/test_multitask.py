"""MaskedMultiLabelLoss against a loop-based numpy re-derivation of the notes' formula:
the sum over known tasks of the logistic loss, averaged over examples; unknown labels
("?") contribute neither loss nor gradient; logits, NaN masks, smoothing, sample weights."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.losses.multitask import MaskedMultiLabelLoss


def reference(y, p, mask_value=-1.0, sample_weight=None, smoothing=0.0):
    """J = 1/m sum_i w_i sum_{j: y_ij != ?} -(y log p + (1 - y) log(1 - p)), by loops."""
    m, tasks = y.shape
    total = 0.0
    for i in range(m):
        per_example = 0.0
        for j in range(tasks):
            unknown = np.isnan(y[i, j]) if np.isnan(mask_value) else y[i, j] == mask_value
            if unknown:
                continue
            t = y[i, j] * (1 - smoothing) + smoothing / 2
            per_example -= t * np.log(p[i, j]) + (1 - t) * np.log(1 - p[i, j])
        total += per_example * (1.0 if sample_weight is None else sample_weight[i])
    return total / m


def random_case(seed, m=16, tasks=4, mask_value=-1.0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=(m, tasks)).astype("float64")
    y[rng.random((m, tasks)) < 0.3] = mask_value
    logits = rng.normal(scale=2.0, size=(m, tasks))
    return y, logits, 1 / (1 + np.exp(-logits))


def test_hand_computed_case():
    y = np.array([[1, 0, -1], [-1, 1, 0]], "float32")
    p = np.array([[0.9, 0.2, 0.5], [0.3, 0.6, 0.1]], "float32")
    expected = (-np.log(0.9) - np.log(0.8) - np.log(0.6) - np.log(0.9)) / 2
    np.testing.assert_allclose(float(MaskedMultiLabelLoss()(y, p)), expected, rtol=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_probabilities_and_logits_match_reference(seed):
    y, logits, p = random_case(seed)
    expected = reference(y, p)
    got = MaskedMultiLabelLoss(dtype="float64")(y, p)
    np.testing.assert_allclose(float(got), expected, rtol=1e-6)
    got = MaskedMultiLabelLoss(from_logits=True, dtype="float64")(y, logits)
    np.testing.assert_allclose(float(got), expected, rtol=1e-9)


def test_nan_mask_smoothing_and_sample_weight():
    y, logits, p = random_case(7, mask_value=np.nan)
    weights = np.random.default_rng(1).uniform(0, 2, size=len(y))
    loss = MaskedMultiLabelLoss(mask_value=float("nan"), label_smoothing=0.2, dtype="float64")
    expected = reference(y, p, np.nan, weights, smoothing=0.2)
    np.testing.assert_allclose(float(loss(y, p, sample_weight=weights)), expected, rtol=1e-6)


def test_unknown_labels_contribute_no_loss_and_no_gradient():
    y, logits, _ = random_case(3)
    unknown = y == -1
    loss = MaskedMultiLabelLoss(from_logits=True)
    changed = np.where(unknown, logits + 50.0, logits)
    np.testing.assert_allclose(float(loss(y, logits)), float(loss(y, changed)), rtol=1e-6)
    variable = tf.Variable(logits.astype("float32"))
    with tf.GradientTape() as tape:
        value = loss(y, variable)
    gradient = tape.gradient(value, variable).numpy()
    assert np.all(gradient[unknown] == 0)
    assert np.all(gradient[~unknown] != 0)


def test_all_unknown_is_zero_and_finite():
    y = -np.ones((4, 3), "float32")
    assert float(MaskedMultiLabelLoss()(y, np.full((4, 3), 0.5, "float32"))) == 0.0


def test_fit_learns_tasks_from_partial_labels():
    """A linear multi-task model learns the known labels although 40% are missing."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 5)).astype("float32")
    truth = (x @ rng.normal(size=(5, 3)) > 0).astype("float32")
    y = np.where(rng.random(truth.shape) < 0.4, -1.0, truth).astype("float32")
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3)])
    model.compile(keras.optimizers.Adam(0.05), MaskedMultiLabelLoss(from_logits=True))
    model.fit(x, y, epochs=30, batch_size=64, verbose=0)
    accuracy = np.mean((model.predict(x, verbose=0) > 0) == truth)
    assert accuracy > 0.93, accuracy


def test_config_round_trip():
    loss = MaskedMultiLabelLoss(mask_value=-2.0, from_logits=True, label_smoothing=0.1)
    clone = MaskedMultiLabelLoss.from_config(loss.get_config())
    assert clone.get_config() == loss.get_config()
    assert keras.saving.get_registered_name(MaskedMultiLabelLoss) == (
        "kerasdl>MaskedMultiLabelLoss"
    )


def test_shape_errors():
    with pytest.raises(ValueError, match=r"`y_pred` must have shape \[m, T\] \(examples, tasks\)"):
        MaskedMultiLabelLoss()(np.zeros((2, 3, 1)), np.zeros((2, 3, 1)))
    with pytest.raises(ValueError, match=r"`y_true` must have the shape of `y_pred`.*\(2, 3\)"):
        MaskedMultiLabelLoss()(np.zeros((2, 4)), np.zeros((2, 3)))
