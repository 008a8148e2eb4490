"""GloVeLoss against a numpy re-derivation of GloVe's weighted least squares: the
weighting f(X) = min(1, (X/x_max)^alpha) at and around x_max, absent pairs, random inputs,
reductions and sample weights, shapes, gradients (analytic and finite differences), XLA,
float64, errors and config."""

import importlib
import importlib.util
import sys
import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.losses.glove import GloVeLoss


def numpy_mittens():
    """mittens' numpy GloVe (`mittens.np_mittens`), or a skip when mittens is missing.

    The `mittens` package's __init__ imports its TensorFlow 1 version, which turns off
    eager execution for the whole process; the numpy modules are loaded under a bare
    package instead, and the package is forgotten again afterwards.
    """
    spec = importlib.util.find_spec("mittens")
    if spec is None:
        pytest.skip("mittens is not installed (pip install mittens)")
    saved = {k: v for k, v in sys.modules.items() if k == "mittens" or k.startswith("mittens.")}
    package = types.ModuleType("mittens")
    package.__path__ = list(spec.submodule_search_locations)
    sys.modules["mittens"] = package
    try:
        return importlib.import_module("mittens.np_mittens")
    finally:
        for name in [k for k in sys.modules if k == "mittens" or k.startswith("mittens.")]:
            del sys.modules[name]
        sys.modules.update(saved)


def np_glove(counts, scores, x_max=100.0, alpha=0.75):
    """f(X) (s - log X)^2 per entry, 0 where X = 0; float64."""
    counts, scores = np.asarray(counts, np.float64), np.asarray(scores, np.float64)
    present = counts > 0
    safe = np.where(present, counts, 1.0)
    weight = np.where(present, np.minimum(1.0, (safe / x_max) ** alpha), 0.0)
    return weight * (scores - np.log(safe)) ** 2


def glove_batch(batch=16, seed=0, zeros=True):
    rng = np.random.default_rng(seed)
    counts = np.exp(rng.uniform(-2, 7, batch))  # 0.14 .. 1100: both sides of x_max
    if zeros:
        counts[rng.random(batch) < 0.25] = 0.0
    scores = rng.normal(2.0, 2.0, batch)
    return counts.astype("float32"), scores.astype("float32")


def test_weighting_function():
    # Scores one off log X isolate f: f(X) = min(1, (X / x_max)^alpha).
    counts = np.array([0.0, 1.0, 10.0, 100.0, 1000.0, 0.5], "float32")
    scores = np.log(np.where(counts > 0, counts, 1.0)) + 1.0
    losses = np.asarray(GloVeLoss(reduction=None)(counts, scores))
    expected = [0.0, 0.01**0.75, 0.1**0.75, 1.0, 1.0, 0.005**0.75]
    np.testing.assert_allclose(losses, expected, rtol=1e-5)
    losses = np.asarray(GloVeLoss(x_max=10.0, alpha=1.0, reduction=None)(counts, scores))
    np.testing.assert_allclose(losses, [0.0, 0.1, 1.0, 1.0, 1.0, 0.05], rtol=1e-5)
    # alpha = 0 weighs every present pair 1 and still skips absent ones.
    losses = np.asarray(GloVeLoss(alpha=0, reduction=None)(counts, scores))
    np.testing.assert_allclose(losses, [0.0, 1, 1, 1, 1, 1], rtol=1e-5)


@pytest.mark.parametrize(("x_max", "alpha"), [(100.0, 0.75), (10.0, 0.5), (1000.0, 1.0)])
def test_matches_numpy_on_random_inputs(x_max, alpha):
    counts, scores = glove_batch(seed=int(x_max))
    loss = GloVeLoss(x_max=x_max, alpha=alpha)
    expected = np_glove(counts, scores, x_max, alpha)
    np.testing.assert_allclose(float(loss(counts, scores)), expected.mean(), rtol=1e-5)
    per_entry = np.asarray(GloVeLoss(x_max=x_max, alpha=alpha, reduction=None)(counts, scores))
    np.testing.assert_allclose(per_entry, expected, rtol=1e-5, atol=1e-7)


def test_absent_pairs_are_ignored_whatever_the_score():
    counts = np.array([0.0, 0.0, 5.0], "float32")
    scores = np.array([1e6, -1e6, np.log(5.0)], "float32")
    z = tf.Variable(scores)
    with tf.GradientTape() as tape:
        loss = GloVeLoss(reduction="sum")(counts, z)
    assert float(loss) == pytest.approx(0.0, abs=1e-10)
    gradient = tape.gradient(loss, z).numpy()
    assert np.all(np.isfinite(gradient)) and np.all(gradient[:2] == 0)


def test_reductions_sample_weight_and_rank_2():
    counts, scores = glove_batch(batch=8, seed=5)
    per_entry = np_glove(counts, scores)
    weights = np.linspace(0.0, 2.0, 8)
    total = GloVeLoss(reduction="sum")(counts, scores, sample_weight=weights)
    np.testing.assert_allclose(float(total), np.sum(weights * per_entry), rtol=1e-5)
    mean = GloVeLoss()(counts, scores, sample_weight=weights)
    np.testing.assert_allclose(float(mean), np.sum(weights * per_entry) / 8, rtol=1e-5)
    # [B, 1] scores against [B] counts (a Dense head) and [B, 2] blocks of pairs.
    np.testing.assert_allclose(
        float(GloVeLoss()(counts, scores[:, None])), per_entry.mean(), rtol=1e-5
    )
    np.testing.assert_allclose(
        float(GloVeLoss()(counts[:, None], scores)), per_entry.mean(), rtol=1e-5
    )
    blocks = GloVeLoss(reduction=None)(counts.reshape(4, 2), scores.reshape(4, 2))
    np.testing.assert_allclose(np.asarray(blocks), per_entry.reshape(4, 2), rtol=1e-5, atol=1e-7)


def test_gradient_matches_the_formula_and_finite_differences():
    counts, scores = glove_batch(batch=10, seed=6)
    counts, scores = counts.astype(np.float64), scores.astype(np.float64)
    z = tf.Variable(scores)
    with tf.GradientTape() as tape:
        loss = GloVeLoss(reduction="sum", dtype="float64")(counts, z)
    # dL/ds = 2 f(X) (s - log X).
    present = counts > 0
    safe = np.where(present, counts, 1.0)
    f = np.where(present, np.minimum(1.0, (safe / 100.0) ** 0.75), 0.0)
    np.testing.assert_allclose(tape.gradient(loss, z).numpy(), 2 * f * (scores - np.log(safe)))
    theoretical, numerical = tf.test.compute_gradient(
        lambda s: GloVeLoss(reduction="sum", dtype="float64")(counts, s), [scores]
    )
    np.testing.assert_allclose(theoretical[0], numerical[0], rtol=1e-6, atol=1e-8)


def test_jit_equals_eager_and_float64():
    counts, scores = glove_batch(seed=7)
    loss = GloVeLoss()
    jit = tf.function(loss, jit_compile=True)
    np.testing.assert_allclose(float(jit(counts, scores)), float(loss(counts, scores)), rtol=1e-6)
    got = GloVeLoss(dtype="float64")(counts.astype(np.float64), scores.astype(np.float64))
    np.testing.assert_allclose(float(got), np_glove(counts, scores).mean(), rtol=1e-12)


def test_equals_mittens_objective():
    """mittens' numpy GloVe minimises J / 2 over the full matrix, absent pairs weighted 0."""
    mittens = numpy_mittens()
    rng = np.random.default_rng(8)
    counts = np.floor(np.exp(rng.uniform(-1, 6, (12, 12))) * (rng.random((12, 12)) < 0.6))
    scores = rng.normal(1.0, 2.0, (12, 12))
    model = mittens.GloVe(n=4, xmax=50, alpha=0.6)
    weights, log_counts = model._initialize(counts)
    mittens_error = (0.5 * weights * (scores - log_counts) ** 2).sum()
    ours = GloVeLoss(x_max=50, alpha=0.6, reduction="sum", dtype="float64")(counts, scores)
    np.testing.assert_allclose(float(ours) / 2, mittens_error, rtol=1e-12)


def test_eager_execution_survives_the_mittens_import():
    numpy_mittens()
    assert tf.executing_eagerly()
    assert "mittens" not in sys.modules


def test_errors():
    with pytest.raises(ValueError, match=r"`x_max` must be > 0.0. Received: x_max=0"):
        GloVeLoss(x_max=0)
    with pytest.raises(TypeError, match=r"`x_max` must be a number. Received: x_max='100'"):
        GloVeLoss(x_max="100")
    with pytest.raises(ValueError, match=r"`alpha` must be >= 0. Received: alpha=-0.5"):
        GloVeLoss(alpha=-0.5)
    with pytest.raises(TypeError, match=r"`alpha` must be a number. Received: alpha=None"):
        GloVeLoss(alpha=None)
    with pytest.raises(
        ValueError,
        match=r"`y_true` \(the counts X_ij\) must have the shape of `y_pred`.*"
        r"y_true.shape=\(4,\), y_pred.shape=\(4, 3\)",
    ):
        GloVeLoss()(np.ones(4, "float32"), np.ones((4, 3), "float32"))


def test_config_round_trip():
    loss = GloVeLoss(x_max=10.0, alpha=0.5, reduction="sum", name="g", dtype="float64")
    config = loss.get_config()
    assert config["x_max"] == 10.0 and config["alpha"] == 0.5 and config["dtype"] == "float64"
    clone = GloVeLoss.from_config(config)
    assert clone.get_config() == config
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(restored, GloVeLoss) and restored.get_config() == config
