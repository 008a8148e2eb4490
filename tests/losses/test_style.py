"""The style-transfer costs against numpy re-derivations of the notes' formulas (explicit
sums over positions and channels), known answers, batches, broadcasting, gradients, the
Keras loss classes (reductions, sample weights, model.fit with per-layer weights) and
errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.losses.style import (
    ContentCost,
    StyleCost,
    content_cost,
    layer_style_cost,
    style_cost,
    total_cost,
)


def np_content(a_C, a_G):
    """1 / (4 n_H n_W n_C) * sum_ijk (a_C - a_G)^2 for one image, in float64."""
    a_C, a_G = np.asarray(a_C, np.float64), np.asarray(a_G, np.float64)
    n_H, n_W, n_C = a_G.shape
    total = 0.0
    for i in range(n_H):
        for j in range(n_W):
            for k in range(n_C):
                total += (a_C[i, j, k] - a_G[i, j, k]) ** 2
    return total / (4 * n_H * n_W * n_C)


def np_gram(a):
    """G_kk' = sum_ij a_ijk a_ijk' via the unrolled (n_C, n_H n_W) matrix A A^T."""
    a = np.asarray(a, np.float64)
    unrolled = a.reshape(-1, a.shape[-1]).T
    return unrolled @ unrolled.T


def np_layer_style(a_S, a_G):
    """1 / (2 n_H n_W n_C)^2 * sum_kk' (G(S) - G(G))^2 for one image."""
    n_H, n_W, n_C = np.shape(a_G)
    g_S, g_G = np_gram(a_S), np_gram(a_G)
    total = sum((g_S[k, k2] - g_G[k, k2]) ** 2 for k in range(n_C) for k2 in range(n_C))
    return total / (2 * n_H * n_W * n_C) ** 2


def rand(*shape, seed=0, scale=1.0):
    return (np.random.default_rng(seed).normal(size=shape) * scale).astype("float32")


def test_content_known_answer():
    a_C = np.zeros((1, 2, 1, 2), "float32")
    a_G = np.array([[[[1.0, 2.0]], [[0.0, 3.0]]]], "float32")
    # (1 + 4 + 0 + 9) / (4 * 2 * 1 * 2)
    np.testing.assert_allclose(content_cost(a_C, a_G).numpy(), [14 / 16], rtol=1e-6)


def test_style_known_answer():
    # One channel, two positions: G(S) = 1 + 4 = 5, G(G) = 9; (5 - 9)^2 / (2 * 2 * 1 * 1)^2.
    a_S = np.array([[[[1.0]], [[2.0]]]], "float32")
    a_G = np.array([[[[3.0]], [[0.0]]]], "float32")
    np.testing.assert_allclose(layer_style_cost(a_S, a_G).numpy(), [16 / 16], rtol=1e-6)


@pytest.mark.parametrize("shape", [(3, 4, 5, 6), (2, 7, 3, 1), (1, 2, 9, 4)])
def test_content_random(shape):
    a_C, a_G = rand(*shape, seed=1), rand(*shape, seed=2)
    expected = [np_content(a_C[b], a_G[b]) for b in range(shape[0])]
    np.testing.assert_allclose(content_cost(a_C, a_G).numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("shape", [(3, 4, 5, 6), (2, 7, 3, 1), (1, 2, 9, 4)])
def test_layer_style_random(shape):
    # VGG-like magnitudes (activations in the hundreds) keep float32 precision.
    a_S, a_G = rand(*shape, seed=3, scale=100), rand(*shape, seed=4, scale=100)
    expected = [np_layer_style(a_S[b], a_G[b]) for b in range(shape[0])]
    np.testing.assert_allclose(layer_style_cost(a_S, a_G).numpy(), expected, rtol=1e-4)


def test_batch_of_one_target_broadcasts():
    a_C, a_G = rand(1, 3, 3, 2, seed=5), rand(4, 3, 3, 2, seed=6)
    np.testing.assert_allclose(
        content_cost(a_C, a_G).numpy(), [np_content(a_C[0], g) for g in a_G], rtol=1e-5
    )
    np.testing.assert_allclose(
        layer_style_cost(a_C, a_G).numpy(), [np_layer_style(a_C[0], g) for g in a_G], rtol=1e-4
    )


def test_style_cost_weights_layers():
    shapes = [(2, 8, 8, 3), (2, 4, 4, 6), (2, 2, 2, 12)]
    a_S = [rand(*s, seed=10 + i) for i, s in enumerate(shapes)]
    a_G = [rand(*s, seed=20 + i) for i, s in enumerate(shapes)]
    lambdas = [0.5, 0.3, 0.2]
    expected = [
        sum(w * np_layer_style(s[b], g[b]) for w, s, g in zip(lambdas, a_S, a_G, strict=True))
        for b in range(2)
    ]
    np.testing.assert_allclose(style_cost(a_S, a_G, lambdas).numpy(), expected, rtol=1e-5)
    equal = [
        sum(np_layer_style(s[b], g[b]) / 3 for s, g in zip(a_S, a_G, strict=True)) for b in range(2)
    ]
    np.testing.assert_allclose(style_cost(a_S, a_G).numpy(), equal, rtol=1e-5)


def test_total_cost_defaults_are_the_exercise():
    assert float(total_cost(2.0, 3.0)) == 10 * 2 + 40 * 3
    assert float(total_cost(2.0, 3.0, alpha=1.0, beta=0.5)) == 3.5


def test_zero_cost_for_identical_and_invariant_style():
    a = rand(1, 6, 6, 4, seed=7)
    assert float(content_cost(a, a)[0]) == 0
    # Style ignores where features are: a spatial permutation keeps the Gram matrix.
    flipped = a[:, ::-1, ::-1, :]
    assert float(layer_style_cost(a, flipped)[0]) < 1e-10
    assert float(content_cost(a, flipped)[0]) > 0.1


def test_gradient_matches_numpy_derivative():
    a_C, a_G = rand(1, 3, 3, 2, seed=8), rand(1, 3, 3, 2, seed=9)
    variable = tf.Variable(a_G)
    with tf.GradientTape() as tape:
        cost = content_cost(a_C, variable)[0] + layer_style_cost(a_C, variable)[0]
    got = tape.gradient(cost, variable).numpy()[0]
    # dJ_content/da_G = -(a_C - a_G) / (2 n); dJ_style/da_G = 4 a_G (G_G - G_S) / (2 n)^2 / ...
    n = 3 * 3 * 2
    g_S, g_G = np_gram(a_C[0]), np_gram(a_G[0])
    d_content = (a_G[0] - a_C[0]) / (2 * n)
    d_style = 4 * a_G[0].astype(np.float64) @ (g_G - g_S) / (2 * n) ** 2
    np.testing.assert_allclose(got, d_content + d_style, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("cls,reference", [(ContentCost, np_content), (StyleCost, np_layer_style)])
def test_loss_classes_reductions_and_sample_weight(cls, reference):
    y_true, y_pred = rand(4, 3, 3, 2, seed=11), rand(4, 3, 3, 2, seed=12)
    per_image = np.array([reference(y_true[b], y_pred[b]) for b in range(4)])
    np.testing.assert_allclose(float(cls()(y_true, y_pred)), per_image.mean(), rtol=1e-5)
    np.testing.assert_allclose(
        float(cls(reduction="sum")(y_true, y_pred)), per_image.sum(), rtol=1e-5
    )
    np.testing.assert_allclose(cls(reduction=None)(y_true, y_pred).numpy(), per_image, rtol=1e-5)
    weights = np.array([1.0, 0.0, 2.0, 0.5], "float32")
    np.testing.assert_allclose(
        float(cls()(y_true, y_pred, sample_weight=weights)),
        (per_image * weights).sum() / 4,
        rtol=1e-5,
    )


def test_loss_classes_config_round_trip():
    for cls in (ContentCost, StyleCost):
        loss = cls(reduction="sum", name="custom")
        clone = keras.losses.deserialize(keras.losses.serialize(loss))
        assert type(clone) is cls and clone.get_config() == loss.get_config()


def test_model_fit_with_per_layer_style_weights():
    """A feature model trained with ContentCost and two StyleCosts weighted alpha and
    beta * lambda[l] lowers the combined cost, which equals the functions' total."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(6, 6, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="c1")(inputs)
    y = keras.layers.Conv2D(5, 3, padding="same", activation="relu", name="c2")(x)
    model = keras.Model(inputs, [y, x, y])
    images = rand(4, 6, 6, 3, seed=13)
    a_C = rand(4, 6, 6, 5, seed=14)
    a_S1, a_S2 = rand(4, 6, 6, 4, seed=15), rand(4, 6, 6, 5, seed=16)
    alpha, beta, lambdas = 10.0, 40.0, [0.5, 0.5]
    model.compile(
        optimizer=keras.optimizers.Adam(0.05),
        loss=[ContentCost(), StyleCost(), StyleCost()],
        loss_weights=[alpha, beta * lambdas[0], beta * lambdas[1]],
    )
    before = model.evaluate(images, [a_C, a_S1, a_S2], verbose=0, return_dict=True)["loss"]
    features = model.predict(images, verbose=0)
    expected = total_cost(
        content_cost(a_C, features[0]), style_cost([a_S1, a_S2], features[1:], lambdas)
    )
    np.testing.assert_allclose(before, float(np.mean(expected)), rtol=1e-4)
    model.fit(images, [a_C, a_S1, a_S2], epochs=12, batch_size=4, verbose=0)
    after = model.evaluate(images, [a_C, a_S1, a_S2], verbose=0, return_dict=True)["loss"]
    assert after < 0.75 * before, (before, after)


def test_errors():
    good = rand(2, 3, 3, 2)
    with pytest.raises(ValueError, match=r"`a_C` must have rank 4.*a_C.shape=\(3, 3, 2\)"):
        content_cost(good[0], good)
    with pytest.raises(ValueError, match=r"`a_S` and `a_G` must come from the same layer"):
        layer_style_cost(rand(2, 3, 3, 4), good)
    with pytest.raises(ValueError, match=r"`a_C` and `a_G`.*a_C.shape=\(3, 3, 3, 2\)"):
        content_cost(rand(3, 3, 3, 2), good)
    with pytest.raises(ValueError, match=r"`layer_weights` must have one weight per style"):
        style_cost([good, good], [good, good], [1.0])
    with pytest.raises(ValueError, match=r"`layer_weights` must be numbers >= 0"):
        style_cost([good], [good], [-1.0])
    with pytest.raises(TypeError, match=r"`layer_weights` must be a sequence"):
        style_cost([good], [good], 0.5)
    with pytest.raises(ValueError, match=r"must hold the same layers"):
        style_cost([good, good], [good])
    with pytest.raises(TypeError, match=r"must be lists of activations"):
        style_cost(good, good)
    with pytest.raises(ValueError, match=r"`a_S` and `a_G`"):
        StyleCost()(rand(2, 3, 3, 2), rand(2, 4, 3, 2))
