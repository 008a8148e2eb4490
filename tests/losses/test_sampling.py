"""NegativeSamplingLoss against a numpy re-derivation of the word2vec objective: random
and known logits, probabilities, reductions and sample weights, extreme logits, several
true targets, gradients, XLA, errors and config."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.losses.sampling import NegativeSamplingLoss


def np_negative_sampling(labels, logits):
    """-log sigmoid(z_true) - sum over negatives of log sigmoid(-z), per example, float64."""
    labels, logits = np.asarray(labels, np.float64), np.asarray(logits, np.float64)
    log_sig = -np.logaddexp(0.0, -logits)
    log_sig_neg = -np.logaddexp(0.0, logits)
    return -np.sum(labels * log_sig + (1 - labels) * log_sig_neg, axis=-1)


def word2vec_batch(batch=6, k=5, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.zeros((batch, 1 + k), "float32")
    labels[:, 0] = 1
    return labels, rng.normal(scale=2.0, size=(batch, 1 + k)).astype("float32")


@pytest.mark.parametrize("k", [1, 5, 20])
def test_matches_numpy_for_any_k(k):
    labels, logits = word2vec_batch(k=k, seed=k)
    got = float(NegativeSamplingLoss()(labels, logits))
    np.testing.assert_allclose(got, np_negative_sampling(labels, logits).mean(), rtol=1e-6)


def test_known_value_and_keras_binary_crossentropy():
    labels = np.array([[1.0, 0.0, 0.0]])
    logits = np.array([[0.0, 0.0, 0.0]], "float32")
    # Three terms of log 2 each: the sum over candidates, not their mean.
    np.testing.assert_allclose(float(NegativeSamplingLoss()(labels, logits)), 3 * np.log(2))
    labels, logits = word2vec_batch(seed=3)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)(labels, logits)
    np.testing.assert_allclose(
        float(NegativeSamplingLoss()(labels, logits)), 6 * float(bce), rtol=1e-6
    )


def test_reductions_and_sample_weight():
    labels, logits = word2vec_batch(batch=4, seed=1)
    per_example = np_negative_sampling(labels, logits)
    weights = np.array([1.0, 0.0, 2.0, 0.5])
    none = NegativeSamplingLoss(reduction=None)(labels, logits)
    np.testing.assert_allclose(np.asarray(none), per_example, rtol=1e-6)
    total = NegativeSamplingLoss(reduction="sum")(labels, logits, sample_weight=weights)
    np.testing.assert_allclose(float(total), np.sum(weights * per_example), rtol=1e-6)
    mean = NegativeSamplingLoss()(labels, logits, sample_weight=weights)
    np.testing.assert_allclose(float(mean), np.sum(weights * per_example) / 4, rtol=1e-6)


def test_probabilities_and_several_true_targets():
    rng = np.random.default_rng(2)
    labels = (rng.uniform(size=(5, 4)) < 0.5).astype("float32")
    logits = rng.normal(size=(5, 4)).astype("float32")
    expected = np_negative_sampling(labels, logits).mean()
    probabilities = 1 / (1 + np.exp(-logits.astype(np.float64)))
    got = NegativeSamplingLoss(from_logits=False)(labels, probabilities.astype("float32"))
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)
    np.testing.assert_allclose(float(NegativeSamplingLoss()(labels, logits)), expected, rtol=1e-6)


def test_extreme_logits_finite_and_accurate():
    labels = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    logits = np.array([[40.0, -40.0, -30.0], [-100.0, 100.0, 0.0]], "float32")
    got = np.asarray(NegativeSamplingLoss(reduction=None)(labels, logits))
    expected = np_negative_sampling(labels, logits)
    assert np.all(np.isfinite(got))
    # The confident row's loss is ~1e-13: it must not round to 0.
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert got[0] > 0


def test_gradient_matches_numpy():
    labels, logits = word2vec_batch(batch=3, k=4, seed=4)
    z = tf.Variable(logits)
    with tf.GradientTape() as tape:
        loss = NegativeSamplingLoss(reduction="sum")(labels, z)
    # d/dz of softplus(-z) y + softplus(z) (1 - y) is sigmoid(z) - y.
    expected = 1 / (1 + np.exp(-logits.astype(np.float64))) - labels
    np.testing.assert_allclose(tape.gradient(loss, z).numpy(), expected, atol=1e-6)


def test_jit_equals_eager_and_float64():
    labels, logits = word2vec_batch(seed=5)
    loss = NegativeSamplingLoss()
    jit = tf.function(loss, jit_compile=True)
    np.testing.assert_allclose(float(jit(labels, logits)), float(loss(labels, logits)), rtol=1e-6)
    got = NegativeSamplingLoss(dtype="float64")(labels, logits.astype(np.float64))
    np.testing.assert_allclose(float(got), np_negative_sampling(labels, logits).mean(), rtol=1e-12)


def test_errors():
    labels, logits = word2vec_batch(batch=2, k=3)
    with pytest.raises(
        ValueError,
        match=r"`y_pred` must have shape \[B, 1 \+ k\].*"
        r"Received: y_pred.shape=\(2, 4, 1\)",
    ):
        NegativeSamplingLoss()(labels, logits[..., None])
    with pytest.raises(
        ValueError,
        match=r"`y_true` must have the shape of `y_pred`.*"
        r"Received: y_true.shape=\(2, 3\)",
    ):
        NegativeSamplingLoss()(labels[:, :3], logits)
    with pytest.raises(TypeError, match=r"`from_logits` must be a bool. Received: from_logits=1"):
        NegativeSamplingLoss(from_logits=1)


def test_config_round_trip():
    loss = NegativeSamplingLoss(from_logits=False, reduction="sum", name="ns", dtype="float64")
    config = loss.get_config()
    assert config["from_logits"] is False and config["dtype"] == "float64"
    clone = NegativeSamplingLoss.from_config(config)
    assert clone.get_config() == config
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(restored, NegativeSamplingLoss) and restored.get_config() == config
