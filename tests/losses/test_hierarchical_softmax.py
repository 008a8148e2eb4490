"""HierarchicalSoftmaxLoss against a numpy walk down the tree (gensim's per-node formula);
the probabilities of all words sum to 1; padding; reductions; gradients; errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.data.huffman import huffman_tree
from kerasdl.losses.hierarchical_softmax import HierarchicalSoftmaxLoss


def numpy_log_probability(codes, points, theta, e):
    """log p(w | c) as gensim's score_sg_pair: sum_j log sigmoid((-1)^d_j theta_{n_j} . e)."""
    total = 0.0
    for d, n in zip(codes, points, strict=True):
        sign = (-1.0) ** d
        total += -np.logaddexp(0.0, -sign * float(np.dot(theta[n], e)))
    return total


def node_logits(tree, theta, e, targets):
    """z_j = theta_{n_j} . e on the targets' padded paths (padding reads node 0)."""
    points = np.maximum(tree.points[targets], 0)
    return np.einsum("bld,bd->bl", theta[points], e).astype("float32")


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(0)
    counts = rng.zipf(1.5, 40)
    tree = huffman_tree(counts)
    theta = rng.normal(scale=0.7, size=(39, 6))
    return tree, theta, rng


def test_against_numpy_path_loss(setup):
    tree, theta, rng = setup
    targets = rng.integers(0, 40, 32)
    e = rng.normal(size=(32, 6))
    logits = node_logits(tree, theta, e, targets)
    got = HierarchicalSoftmaxLoss(reduction=None)(tree.codes[targets], logits).numpy()
    expected = [
        -numpy_log_probability(tree.codes[t, :n], tree.points[t, :n], theta, e[i])
        for i, (t, n) in enumerate(zip(targets, tree.lengths[targets], strict=True))
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_probabilities_of_all_words_sum_to_one(setup, dtype):
    tree, theta, rng = setup
    loss = HierarchicalSoftmaxLoss(reduction=None, dtype=dtype)
    for _ in range(5):
        e = rng.normal(size=6)
        everyone = np.arange(40)
        logits = node_logits(tree, theta, np.tile(e, (40, 1)), everyone).astype(dtype)
        probabilities = np.exp(-loss(tree.codes, logits).numpy().astype("float64"))
        assert probabilities.sum() == pytest.approx(1.0, abs=1e-6)


def test_padding_adds_nothing_even_for_huge_logits():
    codes = np.array([[0, 1, -1, -1], [1, -1, -1, -1]])
    logits = np.array([[0.3, -1.2, 1e30, -1e30], [2.0, np.inf, -np.inf, 5.0]], "float32")
    got = HierarchicalSoftmaxLoss(reduction=None)(codes, logits).numpy()
    expected = [np.logaddexp(0, -0.3) + np.logaddexp(0, -1.2), np.logaddexp(0, 2.0)]
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_confident_logits_keep_small_losses():
    got = HierarchicalSoftmaxLoss(reduction=None)(
        np.array([[0, 1]]), np.float32([[40.0, -40.0]])
    ).numpy()
    np.testing.assert_allclose(got, [2 * np.exp(-40.0)], rtol=1e-5)


def test_reductions_and_sample_weight(setup):
    tree, theta, rng = setup
    targets = rng.integers(0, 40, 8)
    e = rng.normal(size=(8, 6))
    logits = node_logits(tree, theta, e, targets)
    codes = tree.codes[targets]
    per_example = np.array(
        [-numpy_log_probability(tree.codes[t, :n], tree.points[t, :n], theta, e[i])
         for i, (t, n) in enumerate(zip(targets, tree.lengths[targets], strict=True))]
    )  # fmt: skip
    weights = rng.uniform(size=8).astype("float32")
    cases = {
        "sum_over_batch_size": per_example.mean(),
        "sum": per_example.sum(),
        "none": per_example,
    }
    for reduction, expected in cases.items():
        got = HierarchicalSoftmaxLoss(reduction=reduction)(codes, logits)
        np.testing.assert_allclose(got, expected, rtol=1e-5)
    got = HierarchicalSoftmaxLoss(reduction="sum")(codes, logits, sample_weight=weights)
    np.testing.assert_allclose(got, (per_example * weights).sum(), rtol=1e-5)


def test_gradient_is_word2vec_update():
    # d L / d z_j = sigmoid(z_j) - (1 - d_j): word2vec's `g = (1 - code - f)` with the
    # opposite sign (it ascends the log-likelihood); 0 on padding.
    codes = np.array([[0, 1, 1, -1]])
    z = tf.Variable(np.float32([[0.4, -0.7, 1.3, 9.0]]))
    with tf.GradientTape() as tape:
        loss = HierarchicalSoftmaxLoss(reduction="sum")(codes, z)
    grad = tape.gradient(loss, z).numpy()
    f = 1 / (1 + np.exp(-z.numpy()))
    expected = (f - (1 - codes)) * (codes >= 0)
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-7)


def test_config_round_trip():
    loss = HierarchicalSoftmaxLoss(reduction="sum", name="hs", dtype="float64")
    clone = HierarchicalSoftmaxLoss.from_config(loss.get_config())
    assert clone.get_config() == loss.get_config()
    assert keras.saving.get_registered_name(HierarchicalSoftmaxLoss) == (
        "kerasdl>HierarchicalSoftmaxLoss"
    )
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(restored, HierarchicalSoftmaxLoss) and restored.reduction == "sum"


@pytest.mark.parametrize(
    "y_true, y_pred, match",
    [
        ((2, 3), (2, 3, 1), r"`y_pred` must have shape \[B, L\].*y_pred.shape=\(2, 3, 1\)"),
        ((2, 4), (2, 3), r"`y_true` must have the shape of `y_pred`.*y_true.shape=\(2, 4\)"),
        ((2,), (2, 3), r"`y_true` must have the shape of `y_pred`.*y_true.shape=\(2,\)"),
    ],
)
def test_bad_shapes(y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        HierarchicalSoftmaxLoss()(np.zeros(y_true), np.zeros(y_pred, "float32"))
