"""Encoded-image serving signatures."""

import io

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kerasdl.export import decode_image_bytes, image_bytes_serving_fn, saved_model


def encode(array: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def mean_colour_model():
    inputs = keras.Input((8, 8, 3), name="image")
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inputs))


def test_decode_matches_pillow_and_resizes_any_size():
    rng = np.random.default_rng(0)
    big = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    grey = rng.integers(0, 256, (8, 8), dtype=np.uint8)
    yy, xx = np.mgrid[0:20, 0:30]
    smooth = np.stack([yy * 12, xx * 8, (yy + xx) * 5], -1).astype(np.uint8)
    images = decode_image_bytes(
        tf.constant(
            [encode(big, "PNG"), encode(grey, "PNG"), encode(smooth, "JPEG"), encode(smooth, "PNG")]
        ),
        (8, 8),
    ).numpy()
    assert images.shape == (4, 8, 8, 3)
    expected = tf.image.resize(big.astype("float32") / 255.0, (8, 8)).numpy()
    np.testing.assert_allclose(images[0], expected, atol=1e-6)
    # Grey PNGs become three equal channels.
    np.testing.assert_allclose(images[1], np.repeat(grey[..., None] / 255.0, 3, -1), atol=1e-6)
    # JPEG is lossy: close to the PNG, not equal.
    assert np.abs(images[2] - images[3]).mean() < 0.02


def test_serving_signature_takes_bytes(mean_colour_model, tmp_path):
    fn, signature = image_bytes_serving_fn(mean_colour_model)
    request = [encode(np.full((16, 16, 3), v, np.uint8), "PNG") for v in (0, 51, 255)]
    path = saved_model(
        mean_colour_model,
        tmp_path / "colours",
        serving_fn=fn,
        input_signature=signature,
        warmup_inputs=np.array(request[:1], dtype=object),
    )
    served = tf.saved_model.load(path).signatures["serving_default"]
    (output,) = served(encoded_image=tf.constant(request)).values()
    np.testing.assert_allclose(output.numpy(), [[0.0] * 3, [0.2] * 3, [1.0] * 3], atol=1e-6)


def test_non_image_bytes_give_a_clear_error(mean_colour_model, tmp_path):
    fn, signature = image_bytes_serving_fn(mean_colour_model)
    path = saved_model(mean_colour_model, tmp_path / "m", serving_fn=fn, input_signature=signature)
    served = tf.saved_model.load(path).signatures["serving_default"]
    good = encode(np.zeros((8, 8, 3), np.uint8), "PNG")
    with pytest.raises(
        tf.errors.InvalidArgumentError,
        match=r"image 1 \(0-based\) of the request is not a JPEG or PNG",
    ):
        served(encoded_image=tf.constant([good, b"hello, not an image", good]))
    # The signature keeps serving after a bad request.
    (output,) = served(encoded_image=tf.constant([good])).values()
    assert output.shape == (1, 3)


def test_models_that_do_not_take_images_are_rejected():
    inputs = keras.Input((8, 8, 1))
    with pytest.raises(ValueError, match=r"`model` must take one input of shape"):
        image_bytes_serving_fn(keras.Model(inputs, inputs))
    variable = keras.Input((None, None, 3))
    with pytest.raises(ValueError, match=r"known\s+height and width"):
        image_bytes_serving_fn(keras.Model(variable, variable))


def test_serving_fn_needs_its_signature(mean_colour_model, tmp_path):
    fn, signature = image_bytes_serving_fn(mean_colour_model)
    with pytest.raises(ValueError, match=r"`serving_fn` and `input_signature` must be given"):
        saved_model(mean_colour_model, tmp_path / "a", serving_fn=fn)
    with pytest.raises(TypeError, match=r"`input_signature` must be a list of tf.TensorSpec"):
        saved_model(mean_colour_model, tmp_path / "b", serving_fn=fn, input_signature=[(8,)])
