"""PCAColorAugmentation and RandomColorShift against numpy re-derivations of AlexNet's
formula, their statistics, reproducibility, saving and export."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert import interpreter as litert
from sklearn.datasets import load_sample_images

from kerasdl.layers.augmentation import PCAColorAugmentation, RandomColorShift
from tests.strategies import two_cpu_strategy


@pytest.fixture(scope="module")
def photos():
    """scikit-learn's two sample photos (china, flower), RGB in [0, 1]."""
    return (np.stack(load_sample_images().images) / 255.0).astype("float32")


def numpy_pca(images):
    """Eigenvalues (largest first) and eigenvectors (columns) of the RGB covariance."""
    values, vectors = np.linalg.eigh(np.cov(images.reshape(-1, 3).astype("float64"), rowvar=False))
    order = np.argsort(values)[::-1]
    return values[order], vectors[:, order]


def alphas(seed, batch, stddev):
    """The alphas a fresh layer with `seed` draws for its first training batch."""
    draw = keras.random.normal((batch, 3), stddev=stddev, seed=keras.random.SeedGenerator(seed))
    return keras.ops.convert_to_numpy(draw).astype("float64")


def shifts(layer, images, **kwargs):
    """Per-image offsets of a training call, checking they are the same at every pixel."""
    out = keras.ops.convert_to_numpy(layer(images, training=True, **kwargs))
    shift = out - images
    np.testing.assert_allclose(shift, np.broadcast_to(shift[:, :1, :1], shift.shape), atol=1e-6)
    return shift[:, 0, 0].astype("float64")


@pytest.fixture(scope="module")
def adapted(photos):
    layer = PCAColorAugmentation(stddev=0.1, seed=3)
    layer.adapt(photos)
    return layer


# PCAColorAugmentation -------------------------------------------------------------------


def test_adapt_matches_numpy_eigendecomposition(photos, adapted):
    values, vectors = numpy_pca(photos)
    np.testing.assert_allclose(adapted.lambdas.numpy(), values, rtol=1e-4)
    components = adapted.components.numpy()
    for i in range(3):
        # Eigenvectors are defined up to sign.
        sign = np.sign(components[:, i] @ vectors[:, i])
        np.testing.assert_allclose(components[:, i] * sign, vectors[:, i], atol=1e-4)
    assert values[0] > 10 * values[2]  # real photos: one dominant brightness direction


def test_adapt_on_dataset_equals_adapt_on_array(photos):
    small = photos[:, ::8, ::8]
    from_array = PCAColorAugmentation()
    from_array.adapt(small)
    labelled = tf.data.Dataset.from_tensor_slices((small, np.arange(2))).batch(1)
    from_dataset = PCAColorAugmentation()
    from_dataset.adapt(labelled)
    np.testing.assert_allclose(from_dataset.lambdas.numpy(), from_array.lambdas.numpy(), rtol=1e-5)
    np.testing.assert_allclose(
        from_dataset.components.numpy(), from_array.components.numpy(), atol=1e-5
    )


def test_training_offset_is_the_alexnet_formula(photos):
    # I'_xy = I_xy + [p1 p2 p3][a1 l1, a2 l2, a3 l3]^T with one alpha per image.
    images = np.concatenate([photos, photos[:, ::-1]])[:, ::8, ::8]
    layer = PCAColorAugmentation(stddev=0.5, seed=11)
    layer.adapt(images)
    values, vectors = numpy_pca(images)
    # The layer's eigenvector signs may differ from numpy's; the formula is
    # sign-invariant only jointly with alpha, so express numpy's in the layer's signs.
    vectors *= np.sign(np.sum(vectors * layer.components.numpy(), axis=0))
    expected = (alphas(11, len(images), 0.5) * values) @ vectors.T
    np.testing.assert_allclose(shifts(layer, images), expected, rtol=1e-4, atol=1e-7)


def test_alpha_statistics(adapted):
    n, stddev = 4000, 0.1
    images = np.full((n, 1, 1, 3), 0.5, "float32")
    values, vectors = adapted.lambdas.numpy(), adapted.components.numpy()
    # Coefficients of the offset along each p_i, divided by lambda_i, are the alphas.
    drawn = np.concatenate([shifts(adapted, images) @ vectors / values for _ in range(2)])
    assert np.all(np.abs(drawn.mean(axis=0)) < 4 * stddev / np.sqrt(len(drawn)))
    np.testing.assert_allclose(drawn.std(axis=0), stddev, rtol=0.05)
    correlation = np.corrcoef(drawn, rowvar=False)
    assert np.all(np.abs(correlation - np.eye(3)) < 0.05), correlation


def test_identity_at_inference(photos, adapted):
    images = photos[:, ::4, ::4]
    assert np.array_equal(adapted(images), images)
    assert np.array_equal(adapted(images, training=False), images)
    model = keras.Sequential([keras.Input(images.shape[1:]), adapted])
    assert np.array_equal(model.predict(images, verbose=0), images)
    unadapted = PCAColorAugmentation()
    assert np.array_equal(unadapted(images), images)


def test_reproducible_with_a_seed(photos):
    images = photos[:, ::16, ::16]

    def first_two(seed):
        layer = PCAColorAugmentation(stddev=0.1, seed=seed)
        layer.adapt(photos)
        return shifts(layer, images), shifts(layer, images)

    a1, a2 = first_two(5)
    b1, b2 = first_two(5)
    np.testing.assert_array_equal(a1, b1)
    np.testing.assert_array_equal(a2, b2)
    assert not np.allclose(a1, a2)  # a new draw every step
    assert not np.allclose(first_two(6)[0], a1)


def test_jit_compiled_training_call(adapted):
    images = np.random.default_rng(0).uniform(size=(6, 5, 5, 3)).astype("float32")
    step = tf.function(lambda x: adapted(x, training=True), jit_compile=True)
    shift = shifts(lambda x, training: step(x), images)
    alpha = shift @ adapted.components.numpy() / adapted.lambdas.numpy()
    assert np.all(np.abs(alpha) < 1.0) and np.any(alpha != 0)


def test_known_decomposition_needs_no_adapt():
    # The ImageNet decomposition for [0, 1] pixels used by fb.resnet.torch.
    values = [0.2175, 0.0188, 0.0045]
    vectors = [
        [-0.5675, 0.7192, 0.4009],
        [-0.5808, -0.0045, -0.8140],
        [-0.5836, -0.6948, 0.4203],
    ]
    layer = PCAColorAugmentation(eigenvalues=values, eigenvectors=vectors, seed=0)
    assert layer.is_adapted
    images = np.full((3, 2, 2, 3), 0.5, "float32")
    expected = (alphas(0, 3, 0.1) * values) @ np.array(vectors).T
    np.testing.assert_allclose(shifts(layer, images), expected, rtol=1e-4, atol=1e-7)


def test_training_before_adapt_raises():
    layer = PCAColorAugmentation()
    with pytest.raises(ValueError, match=r"no eigen-decomposition .* call `adapt\(images\)`"):
        layer(np.zeros((2, 4, 4, 3), "float32"), training=True)


def test_value_range_clips_only_in_training(adapted):
    images = np.array([[[[0.0, 0.5, 1.0]]]] * 64, "float32")
    layer = PCAColorAugmentation.from_config({**adapted.get_config(), "value_range": (0, 1)})
    layer.build(images.shape)
    layer.set_weights(adapted.get_weights())
    out = keras.ops.convert_to_numpy(layer(images, training=True))
    assert out.min() >= 0.0 and out.max() <= 1.0 and not np.array_equal(out, images)


def test_keras_file_keeps_eigendecomposition(tmp_path, photos):
    images = photos[:, ::32, ::32]
    layer = PCAColorAugmentation(stddev=0.2, seed=9)
    layer.adapt(photos)
    model = keras.Sequential([keras.Input(images.shape[1:]), layer])
    path = os.fspath(tmp_path / "pca.keras")
    model.save(path)
    loaded = keras.saving.load_model(path).layers[0]
    assert isinstance(loaded, PCAColorAugmentation) and loaded.is_adapted
    np.testing.assert_array_equal(loaded.lambdas.numpy(), layer.lambdas.numpy())
    np.testing.assert_array_equal(loaded.components.numpy(), layer.components.numpy())
    # The loaded layer starts the same seeded stream of alphas as the saved one.
    np.testing.assert_allclose(shifts(loaded, images), shifts(layer, images), atol=1e-7)


def test_unadapted_layer_stays_unadapted_after_load(tmp_path):
    model = keras.Sequential([keras.Input((4, 4, 3)), PCAColorAugmentation()])
    path = os.fspath(tmp_path / "raw.keras")
    model.save(path)
    assert not keras.saving.load_model(path).layers[0].is_adapted


# RandomColorShift -----------------------------------------------------------------------


def test_color_shift_offsets_per_image_and_channel():
    n = 3000
    images = np.full((n, 2, 2, 3), 0.5, "float32")
    max_delta = np.array([0.1, 0.0, 0.3])
    layer = RandomColorShift(max_delta=tuple(max_delta), seed=1)
    offsets = shifts(layer, images)
    assert np.all(np.abs(offsets) <= max_delta + 1e-7)
    assert np.all(offsets[:, 1] == 0)
    # U[-d, d] has mean 0 and standard deviation d / sqrt(3).
    for c in (0, 2):
        assert abs(offsets[:, c].mean()) < 4 * max_delta[c] / np.sqrt(3 * n)
        np.testing.assert_allclose(offsets[:, c].std(), max_delta[c] / np.sqrt(3), rtol=0.05)
    expected = keras.random.uniform((n, 3), -1.0, 1.0, seed=keras.random.SeedGenerator(1))
    np.testing.assert_allclose(offsets, keras.ops.convert_to_numpy(expected) * max_delta, atol=1e-6)


def test_color_shift_any_channel_count_clipping_and_identity():
    gray = np.linspace(0, 1, 2 * 3 * 3, dtype="float32").reshape(2, 3, 3, 1)
    layer = RandomColorShift(max_delta=0.5, value_range=(0.0, 1.0), seed=2)
    out = keras.ops.convert_to_numpy(layer(gray, training=True))
    assert out.shape == gray.shape and out.min() >= 0 and out.max() <= 1
    assert not np.array_equal(out, gray)
    assert np.array_equal(layer(gray), gray)
    single = keras.ops.convert_to_numpy(layer(gray[0], training=True))
    assert single.shape == gray[0].shape


def test_color_shift_in_a_tf_data_pipeline():
    # The notes' augmentation on the input-pipeline threads, apart from training.
    images = np.zeros((8, 4, 4, 3), "float32")
    layer = RandomColorShift(max_delta=0.2, seed=4)
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(4)
    batches = [b.numpy() for b in dataset.map(lambda x: layer(x, training=True))]
    offsets = np.concatenate(batches)[:, 0, 0]
    assert np.all(np.abs(offsets) <= 0.2) and len(np.unique(offsets[:, 0])) == 8


# Both layers ----------------------------------------------------------------------------


def test_replicas_draw_what_one_device_draws(adapted):
    # Keras' SeedGenerator gives every replica the same seed: without care, image i of
    # each replica would get the same offset.
    images = np.random.default_rng(1).uniform(size=(4, 3, 3, 3)).astype("float32")
    config = {**adapted.get_config(), "seed": 21}
    strategy = two_cpu_strategy()
    for make in (
        lambda: PCAColorAugmentation.from_config(config),
        lambda: RandomColorShift(max_delta=0.3, seed=21),
    ):
        single = make()
        single.build(images.shape)
        single.set_weights(adapted.get_weights() if single.weights else [])
        expected = keras.ops.convert_to_numpy(single(images, training=True))
        with strategy.scope():
            layer = make()
            layer.build(images.shape)
            layer.set_weights(adapted.get_weights() if layer.weights else [])
        batches = strategy.experimental_distribute_dataset(
            tf.data.Dataset.from_tensor_slices(images).batch(4)
        )
        step = tf.function(
            lambda x, layer=layer: strategy.run(layer, args=(x,), kwargs={"training": True})
        )
        (out,) = [strategy.experimental_local_results(step(batch)) for batch in batches]
        assert len(out) == 2
        got = np.concatenate([o.numpy() for o in out])
        assert not np.allclose(got[:2] - images[:2], got[2:] - images[2:])
        np.testing.assert_allclose(got, expected, atol=1e-6)


def augmenting_model(photos):
    """A small classifier with augmentation layers, and the same classifier without."""
    pca = PCAColorAugmentation(seed=0)
    pca.adapt(photos)
    inputs = keras.Input((12, 12, 3), name="image")
    conv = keras.layers.Conv2D(4, 3, activation="relu")
    pool = keras.layers.GlobalAveragePooling2D()
    dense = keras.layers.Dense(3, activation="softmax")
    # No Keras RandomFlip here: its `training` defaults to True, so `model.export`'s
    # serving endpoint (which calls the model without `training`) would flip.
    x = pca(inputs)
    x = RandomColorShift(max_delta=0.1, value_range=(0, 1), seed=0)(x)
    augmenting = keras.Model(inputs, dense(pool(conv(x))))
    plain = keras.Model(inputs, dense(pool(conv(inputs))))
    return augmenting, plain


def test_saved_model_and_tflite_at_inference_equal_model_without_them(tmp_path, photos):
    augmenting, plain = augmenting_model(photos)
    x = photos[:, :12, :12]
    expected = plain.predict(x, verbose=0)
    np.testing.assert_array_equal(augmenting.predict(x, verbose=0), expected)

    serving_dir = os.fspath(tmp_path / "serving")
    augmenting.export(serving_dir, verbose=False)
    reloaded = tf.saved_model.load(serving_dir)  # keep a reference: it owns the variables
    served = reloaded.serve(tf.constant(x))
    np.testing.assert_allclose(served.numpy(), expected, rtol=1e-6, atol=1e-7)

    # Static batch, builtin ops only: conversion fails if the graph needs any TF op.
    static_dir = os.fspath(tmp_path / "static")
    augmenting.export(
        static_dir, input_signature=[tf.TensorSpec((2, 12, 12, 3), tf.float32)], verbose=False
    )
    converter = tf.lite.TFLiteConverter.from_saved_model(static_dir)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    interpreter = litert.Interpreter(model_content=converter.convert())
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    actual = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(actual, expected, atol=1e-6)


# Bad arguments and inputs ---------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"stddev": -0.1}, ValueError, r"`stddev` must be a finite float >= 0.0\. .*stddev=-0.1"),
        ({"stddev": "big"}, TypeError, r"`stddev` must be a float\. Received: stddev='big'"),
        ({"eigenvalues": [1, 1, 1]}, ValueError, r"`eigenvalues` and `eigenvectors` .*together"),
        (
            {"eigenvalues": [1, -1, 0], "eigenvectors": np.eye(3)},
            ValueError,
            r"`eigenvalues` must be 3 finite floats >= 0",
        ),
        (
            {"eigenvalues": [1, 1, 0], "eigenvectors": np.ones((3, 3))},
            ValueError,
            r"`eigenvectors` must be a 3x3 matrix with orthonormal columns",
        ),
        ({"value_range": (1, 0)}, ValueError, r"`value_range` must have low < high"),
        ({"value_range": (0, 1, 2)}, ValueError, r"`value_range` must be a \(low, high\) pair"),
        ({"value_range": 1.0}, TypeError, r"`value_range` must be None or a \(low, high\)"),
        ({"seed": 1.5}, TypeError, r"`seed` must be None or an int\. Received: seed=1.5"),
    ],
)
def test_pca_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        PCAColorAugmentation(**kwargs)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"max_delta": -1.0}, ValueError, r"`max_delta` must be a finite float >= 0.0"),
        ({"max_delta": (0.1, None)}, TypeError, r"`max_delta` must be a float\. .*None"),
        ({"max_delta": ()}, ValueError, r"`max_delta` must be a float or one float per channel"),
        ({"max_delta": float("nan")}, ValueError, r"`max_delta` must be a finite float"),
    ],
)
def test_color_shift_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        RandomColorShift(**kwargs)


@pytest.mark.parametrize(
    "layer, shape, match",
    [
        (
            lambda: PCAColorAugmentation(),
            (2, 4, 4, 4),
            r"`inputs` must have 3 channels .*\(2, 4, 4, 4\)",
        ),
        (
            lambda: PCAColorAugmentation(),
            (4, 3),
            r"`inputs` must have rank 3 .* or rank 4 .*\(4, 3\)",
        ),
        (lambda: RandomColorShift(0.1), (1, 2, 2, 2, 3), r"must have rank 3 .*\(1, 2, 2, 2, 3\)"),
        (
            lambda: RandomColorShift((0.1, 0.2)),
            (2, 4, 4, 3),
            r"`max_delta` must have one entry per channel \(3\)",
        ),
    ],
)
def test_bad_input_shapes(layer, shape, match):
    with pytest.raises(ValueError, match=match):
        layer()(np.zeros(shape, "float32"))


def test_adapt_bad_data():
    layer = PCAColorAugmentation()
    with pytest.raises(ValueError, match=r"`inputs` must have 3 channels .*\(2, 4, 4, 1\)"):
        layer.adapt(np.zeros((2, 4, 4, 1)))
    with pytest.raises(ValueError, match=r"`data` must hold at least 2 pixels"):
        layer.adapt(np.zeros((1, 1, 1, 3)))
    with pytest.raises(TypeError, match=r"`data` must hold numbers"):
        layer.adapt(np.array([["a", "b", "c"]]))
    with pytest.raises(ValueError, match=r"`steps` must be None or an int > 0\. Received: steps=0"):
        layer.adapt(tf.data.Dataset.from_tensors(np.zeros((1, 2, 2, 3))), steps=0)
    assert not layer.is_adapted
