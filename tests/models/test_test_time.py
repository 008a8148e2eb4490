"""Ten-crop test-time augmentation and ensembling (kerasdl.models.tta) against numpy."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.models.tta import CROPS, ensemble_predict, predict_ten_crop, ten_crop


def random_images(*shape, seed=0):
    return np.random.default_rng(seed).uniform(size=shape).astype("float32")


def classifier(crop, classes=4, softmax=True, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((*crop, 3))
    x = keras.layers.Conv2D(5, 3, activation="relu")(inputs)
    x = keras.layers.Flatten()(x)  # position-sensitive: each crop gives its own output
    outputs = keras.layers.Dense(classes, activation="softmax" if softmax else None)(x)
    return keras.Model(inputs, outputs)


def numpy_ten_crop(images, h, w, starts):
    crops = [images[:, y : y + h, x : x + w] for y, x in starts]
    crops += [c[:, :, ::-1] for c in crops]
    return np.stack(crops, axis=1)


def test_ten_crop_matches_numpy_slicing():
    images = random_images(2, 7, 9, 3)
    # H=7, W=9, crop 4x5: corners at rows 0 and 3, columns 0 and 4; centre at (1, 2).
    starts = [(0, 0), (0, 4), (3, 0), (3, 4), (1, 2)]
    expected = numpy_ten_crop(images, 4, 5, starts)
    crops = keras.ops.convert_to_numpy(ten_crop(images, (4, 5)))
    assert crops.shape == (2, 10, 4, 5, 3) and len(CROPS) == 10
    np.testing.assert_array_equal(crops, expected)
    np.testing.assert_array_equal(crops[:, CROPS.index("center_flipped")], expected[:, 9])


def test_ten_crop_of_one_image_in_a_tf_function():
    image = random_images(6, 6, 1)
    crops = tf.function(lambda x: ten_crop(x, 3))(tf.constant(image))
    starts = [(0, 0), (0, 3), (3, 0), (3, 3), (1, 1)]
    np.testing.assert_array_equal(crops.numpy(), numpy_ten_crop(image[None], 3, 3, starts)[0])


def test_full_size_crop_is_the_image_and_its_mirror():
    images = random_images(3, 5, 4, 2)
    crops = keras.ops.convert_to_numpy(ten_crop(images, (5, 4)))
    for k in range(5):
        np.testing.assert_array_equal(crops[:, k], images)
        np.testing.assert_array_equal(crops[:, k + 5], images[:, :, ::-1])


@pytest.mark.parametrize("batch_size", [2, 32])
def test_predict_ten_crop_averages_the_crops(batch_size):
    model = classifier((5, 5))
    images = random_images(5, 8, 7, 3, seed=1)
    crops = numpy_ten_crop(images, 5, 5, [(0, 0), (0, 2), (3, 0), (3, 2), (1, 1)])
    per_crop = np.stack([model.predict(crops[:, k], verbose=0) for k in range(10)], axis=1)
    assert not np.allclose(per_crop[:, 0], per_crop[:, 1])  # the crops do differ
    got = predict_ten_crop(model, images, 5, batch_size=batch_size)
    np.testing.assert_allclose(got, per_crop.mean(axis=1), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-5)


def test_predict_ten_crop_from_logits():
    model = classifier((4, 4), softmax=False, seed=2)
    images = random_images(3, 6, 6, 3, seed=2)
    crops = numpy_ten_crop(images, 4, 4, [(0, 0), (0, 2), (2, 0), (2, 2), (1, 1)])
    logits = np.stack([model.predict(crops[:, k], verbose=0) for k in range(10)], axis=1)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    got = predict_ten_crop(model, images, 4, from_logits=True)
    np.testing.assert_allclose(got, probabilities.mean(axis=1), rtol=1e-5, atol=1e-7)


@pytest.fixture(scope="module")
def three_models():
    return [classifier((6, 6), classes=3, seed=s) for s in range(3)]


def test_ensemble_arithmetic_mean(three_models):
    images = random_images(4, 6, 6, 3, seed=3)
    p = np.stack([m.predict(images, verbose=0) for m in three_models]).astype("float64")
    np.testing.assert_allclose(
        ensemble_predict(three_models, images), p.mean(axis=0), rtol=1e-6, atol=1e-7
    )
    weights = [1.0, 0.0, 3.0]
    expected = (p[0] + 3 * p[2]) / 4
    np.testing.assert_allclose(
        ensemble_predict(three_models, images, weights=weights), expected, rtol=1e-6, atol=1e-7
    )
    np.testing.assert_allclose(
        ensemble_predict(three_models[:1], images), p[0], rtol=1e-6, atol=1e-7
    )


def test_ensemble_geometric_mean(three_models):
    images = random_images(4, 6, 6, 3, seed=4)
    p = np.stack([m.predict(images, verbose=0) for m in three_models]).astype("float64")
    weights = np.array([2.0, 1.0, 1.0])
    unnormalised = p[0] ** 0.5 * p[1] ** 0.25 * p[2] ** 0.25
    expected = unnormalised / unnormalised.sum(axis=1, keepdims=True)
    got = ensemble_predict(three_models, images, weights=weights, method="geometric")
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert not np.allclose(got, ensemble_predict(three_models, images, weights=weights))


def test_geometric_mean_with_a_zero_probability_is_finite():
    def constant(p):
        inputs = keras.Input((1,))
        dense = keras.layers.Dense(len(p), use_bias=False, kernel_initializer="zeros")
        return keras.Model(inputs, keras.layers.Lambda(lambda x: x + np.array(p))(dense(inputs)))

    models = [constant([1.0, 0.0]), constant([0.5, 0.5])]
    got = ensemble_predict(models, np.zeros((1, 1)), method="geometric")
    assert np.all(np.isfinite(got)) and got[0, 0] > 0.99
    np.testing.assert_allclose(got.sum(), 1.0, rtol=1e-6)


# Bad inputs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, crop, error, match",
    [
        ((2, 5, 6, 3), 6, ValueError, r"`crop_size` must be at most the image size \(5, 6\)"),
        ((2, 5, 6, 3), (4, 7), ValueError, r"Received: crop_size=\(4, 7\)"),
        ((2, 5, 6, 3), 0, ValueError, r"`crop_size` must be > 0\. Received: crop_size=0"),
        ((2, 5, 6, 3), (2, 2, 2), ValueError, r"`crop_size` must have 2 entries"),
        ((2, 5, 6, 3), 2.5, TypeError, r"`crop_size` must be an int or a tuple of 2 ints"),
        (
            (5, 6),
            2,
            ValueError,
            r"`images` must have rank 4 .* or rank 3 .*Received: images.shape=\(5, 6\)",
        ),
        ((1, 2, 5, 6, 3), 2, ValueError, r"`images` must have rank 4 .*\(1, 2, 5, 6, 3\)"),
    ],
)
def test_ten_crop_bad_inputs(shape, crop, error, match):
    with pytest.raises(error, match=match):
        ten_crop(np.zeros(shape, "float32"), crop)


def test_ten_crop_needs_known_image_size():
    spec = tf.TensorSpec((None, None, None, 3))
    with pytest.raises(ValueError, match=r"`images` must have a known height and width"):
        tf.function(lambda x: ten_crop(x, 2)).get_concrete_function(spec)


def test_predict_ten_crop_bad_inputs():
    model = classifier((4, 4))
    with pytest.raises(ValueError, match=r"`images` must have rank 4 .*\(6, 6, 3\)"):
        predict_ten_crop(model, np.zeros((6, 6, 3)), 4)
    with pytest.raises(ValueError, match=r"`images` must hold at least one image"):
        predict_ten_crop(model, np.zeros((0, 6, 6, 3)), 4)
    with pytest.raises(ValueError, match=r"`crop_size` must be at most the image size"):
        predict_ten_crop(model, np.zeros((1, 3, 3, 3)), 4)
    with pytest.raises(ValueError, match=r"`batch_size` must be > 0"):
        predict_ten_crop(model, np.zeros((1, 6, 6, 3)), 4, batch_size=0)
    with pytest.raises(TypeError, match=r"`model` must be a keras.Model"):
        predict_ten_crop(lambda x: x, np.zeros((1, 6, 6, 3)), 4)


def test_ensemble_bad_inputs(three_models):
    images = random_images(2, 6, 6, 3)
    cases = [
        ({"models": []}, ValueError, r"`models` must hold at least one model"),
        ({"models": three_models[0]}, TypeError, r"`models` must be a list of keras.Model"),
        ({"models": [three_models[0], "m"]}, TypeError, r"`models\[1\]` must be a keras.Model"),
        ({"weights": [1, 2]}, ValueError, r"`weights` must have one entry per model \(3\)"),
        ({"weights": [1, -1, 1]}, ValueError, r"`weights` must be finite, >= 0 and not all 0"),
        ({"weights": [0, 0, 0]}, ValueError, r"not all 0\. Received: weights=\[0.0, 0.0, 0.0\]"),
        ({"method": "median"}, ValueError, r"`method` must be one of \('arithmetic', 'geo"),
    ]
    for kwargs, error, match in cases:
        with pytest.raises(error, match=match):
            ensemble_predict(**{"models": three_models, "images": images, **kwargs})
    other = classifier((6, 6), classes=5)
    with pytest.raises(ValueError, match=r"`models` must all output the same shape"):
        ensemble_predict([three_models[0], other], images)
