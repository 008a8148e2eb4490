"""EmbeddingDifference against numpy: both forms, list and stacked inputs, symmetry,
gradients at equal encodings, shapes, errors and config."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.layers.embedding_difference import EmbeddingDifference


def reference(a, b, form, epsilon=1e-7):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if form == "absolute":
        return np.abs(a - b)
    return (a - b) ** 2 / (np.abs(a) + np.abs(b) + epsilon)


@pytest.mark.parametrize("form", ["absolute", "chi-square"])
def test_matches_numpy_and_is_symmetric(form):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 6, 8)).astype("float32")
    layer = EmbeddingDifference(form)
    listed = layer([a, b]).numpy()
    np.testing.assert_allclose(listed, reference(a, b, form), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(layer(np.stack([a, b], axis=1)).numpy(), listed, rtol=1e-6)
    np.testing.assert_allclose(layer([b, a]).numpy(), listed, rtol=1e-6)


def test_chi_square_on_non_negative_encodings_is_deepface_form():
    """For f >= 0, |f_i| + |f_j| is f_i + f_j: (f_i - f_j)^2 / (f_i + f_j)."""
    rng = np.random.default_rng(1)
    a, b = rng.random((2, 4, 5)).astype("float32")
    got = EmbeddingDifference("chi-square", epsilon=1e-9)([a, b]).numpy()
    np.testing.assert_allclose(got, (a - b) ** 2 / (a + b), rtol=1e-5)


def test_equal_and_zero_encodings_give_zero_and_finite_gradients():
    a = tf.Variable(np.array([[0.0, 0.5, -0.3]], "float32"))
    for form in ("absolute", "chi-square"):
        with tf.GradientTape() as tape:
            out = EmbeddingDifference(form)([a, 2 * a - a])
            total = tf.reduce_sum(out)
        assert np.all(out.numpy() == 0)
        grad = tape.gradient(total, a).numpy()
        assert np.all(np.isfinite(grad))


def test_symbolic_shapes_in_a_model():
    first, second = keras.Input((16,)), keras.Input((16,))
    out = EmbeddingDifference()([first, second])
    assert tuple(out.shape) == (None, 16)
    stacked = EmbeddingDifference("chi-square")(keras.Input((2, 7)))
    assert tuple(stacked.shape) == (None, 7)


def test_jit():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 2, 3)).astype("float32")
    layer = EmbeddingDifference("chi-square")
    jitted = tf.function(layer, jit_compile=True)
    np.testing.assert_allclose(jitted(x).numpy(), layer(x).numpy(), rtol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match=r"`form` must be one of .*Received: form='cosine'"):
        EmbeddingDifference("cosine")
    with pytest.raises(TypeError, match=r"`form` must be one of .*Received: form=1"):
        EmbeddingDifference(1)
    with pytest.raises(ValueError, match=r"`epsilon` must be > 0.0. Received: epsilon=0"):
        EmbeddingDifference(epsilon=0)
    layer = EmbeddingDifference()
    with pytest.raises(
        ValueError, match=r"one \[B, 2, D\] tensor. Received: inputs.shape=\(4, 3, 5\)"
    ):
        layer(np.zeros((4, 3, 5), "float32"))
    with pytest.raises(ValueError, match=r"two encodings of the same size D.*\(4, 5\), \(4, 6\)"):
        EmbeddingDifference()([np.zeros((4, 5), "float32"), np.zeros((4, 6), "float32")])
    with pytest.raises(ValueError, match=r"a list of two \[B, D\] tensors"):
        EmbeddingDifference()([np.zeros((4, 5), "float32")] * 3)


def test_config_round_trip():
    layer = EmbeddingDifference("chi-square", epsilon=1e-4, name="diff")
    config = layer.get_config()
    assert config["form"] == "chi-square" and config["epsilon"] == 1e-4
    clone = EmbeddingDifference.from_config(config)
    assert clone.get_config() == config
