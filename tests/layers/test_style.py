"""GramMatrix against a numpy double sum over positions, its normalisations, symbolic
shapes, errors, mixed precision, XLA and .keras round trip."""

import keras
import numpy as np
import pytest

from kerasdl.layers.style import GramMatrix, gram_matrix


def reference_gram(a, normalization=None):
    """G_kk' = sum_i sum_j a_ijk a_ijk' per image, by explicit sums in float64."""
    a = np.asarray(a, np.float64)
    batch, n_H, n_W, n_C = a.shape
    out = np.zeros((batch, n_C, n_C))
    for b in range(batch):
        for k in range(n_C):
            for k2 in range(n_C):
                out[b, k, k2] = sum(
                    a[b, i, j, k] * a[b, i, j, k2] for i in range(n_H) for j in range(n_W)
                )
    if normalization == "spatial":
        out /= n_H * n_W
    elif normalization == "elements":
        out /= n_H * n_W * n_C
    return out


def test_known_answer():
    # One image, 2x1 positions, 2 channels: positions (1, 2) and (3, 4).
    a = np.array([[[[1.0, 2.0]], [[3.0, 4.0]]]], "float32")
    expected = [[1 + 9, 2 + 12], [2 + 12, 4 + 16]]
    np.testing.assert_array_equal(GramMatrix()(a).numpy()[0], expected)
    np.testing.assert_array_equal(
        GramMatrix(normalization="spatial")(a).numpy()[0], np.array(expected) / 2
    )
    np.testing.assert_array_equal(
        GramMatrix(normalization="elements")(a).numpy()[0], np.array(expected) / 4
    )


@pytest.mark.parametrize("normalization", [None, "spatial", "elements"])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (3, 1, 7, 2), (1, 5, 5, 1)])
def test_matches_reference_on_random_inputs(normalization, shape):
    a = np.random.default_rng(sum(shape)).normal(size=shape).astype("float32")
    got = GramMatrix(normalization=normalization)(a).numpy()
    np.testing.assert_allclose(got, reference_gram(a, normalization), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got, np.transpose(got, (0, 2, 1)), rtol=0, atol=1e-6)


def test_channel_correlation_meaning():
    # Channels that always fire together have a large G_kk'; disjoint ones have 0.
    a = np.zeros((1, 4, 4, 3), "float32")
    a[0, :2, :, 0] = 1.0
    a[0, :2, :, 1] = 1.0
    a[0, 2:, :, 2] = 1.0
    g = GramMatrix()(a).numpy()[0]
    assert g[0, 1] == 8 and g[0, 2] == 0 and g[1, 2] == 0


def test_symbolic_and_dynamic_shapes():
    inputs = keras.Input(shape=(None, None, 6))
    outputs = GramMatrix()(inputs)
    assert tuple(outputs.shape) == (None, 6, 6)
    model = keras.Model(inputs, outputs)
    for size in [(3, 5), (8, 2)]:
        x = np.random.default_rng(0).normal(size=(2, *size, 6)).astype("float32")
        np.testing.assert_allclose(model(x).numpy(), reference_gram(x), rtol=1e-5, atol=1e-4)


def test_jit_compile_matches_eager():
    import tensorflow as tf

    x = np.random.default_rng(1).normal(size=(2, 6, 6, 4)).astype("float32")
    layer = GramMatrix(normalization="spatial")
    eager = layer(x).numpy()
    jitted = tf.function(layer, jit_compile=True)(x).numpy()
    np.testing.assert_allclose(jitted, eager, rtol=1e-6, atol=1e-6)


def test_float16_policy():
    x = np.random.default_rng(2).normal(size=(2, 4, 4, 3)).astype("float32")
    layer = GramMatrix(dtype="mixed_float16")
    out = layer(x)
    assert keras.backend.standardize_dtype(out.dtype) == "float16"
    np.testing.assert_allclose(np.asarray(out, "float32"), reference_gram(x), rtol=1e-2, atol=1e-2)


def test_function_and_layer_agree():
    x = np.random.default_rng(3).normal(size=(2, 3, 3, 2)).astype("float32")
    for normalization in (None, "spatial", "elements"):
        np.testing.assert_array_equal(
            gram_matrix(x, normalization).numpy(), GramMatrix(normalization=normalization)(x)
        )


def test_errors():
    with pytest.raises(ValueError, match=r"`normalization` must be one of .*Received: "):
        GramMatrix(normalization="mean")
    with pytest.raises(ValueError, match=r"`inputs` must have rank 4.*shape=\(2, 3, 4\)"):
        GramMatrix()(np.zeros((2, 3, 4), "float32"))
    with pytest.raises(ValueError, match=r"known channel dimension"):
        GramMatrix().build((None, 3, 3, None))


def test_keras_file_round_trip(tmp_path):
    inputs = keras.Input(shape=(4, 4, 3))
    model = keras.Model(inputs, GramMatrix(normalization="elements", name="gram")(inputs))
    x = np.random.default_rng(4).normal(size=(2, 4, 4, 3)).astype("float32")
    path = str(tmp_path / "gram.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_layer("gram").get_config()["normalization"] == "elements"
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
