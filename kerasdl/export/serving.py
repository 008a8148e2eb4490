"""Serving signatures that do more than call the model: encoded images in."""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

from kerasdl._validation import check_int_tuple

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def decode_image_bytes(encoded: tf.Tensor, image_size: tuple[int, int]) -> tf.Tensor:
    """Decodes a batch of JPEG or PNG byte strings into float images in [0, 1].

    Every image is decoded to RGB (grey and RGBA inputs are converted) and resized with
    bilinear interpolation to `image_size`, so clients may send images of any size. A
    string that is neither a JPEG nor a PNG fails the request with an error naming its
    position in the batch ("image 2 of the request is not a JPEG or PNG image"), before any
    decoding is attempted.

    Args:
        encoded: `tf.string` tensor `[batch]`.
        image_size: `(height, width)` of the output.

    Returns:
        float32 tensor `[batch, height, width, 3]`.

    Example:

    >>> import numpy as np, tensorflow as tf
    >>> png = tf.io.encode_png(np.zeros((5, 7, 3), "uint8"))
    >>> decode_image_bytes(tf.stack([png, png]), (4, 4)).shape
    TensorShape([2, 4, 4, 3])
    """
    height, width = check_int_tuple("image_size", image_size, 2)
    encoded = tf.convert_to_tensor(encoded, tf.string)
    head = tf.strings.substr(encoded, 0, len(_PNG_MAGIC))
    is_image = tf.logical_or(
        tf.strings.substr(head, 0, len(_JPEG_MAGIC)) == _JPEG_MAGIC, head == _PNG_MAGIC
    )
    bad = tf.cast(tf.where(tf.logical_not(is_image)), tf.int32)
    # Only shown when some image is bad, so the minimum over `bad` exists then.
    message = tf.strings.join(
        [
            "image ",
            tf.strings.as_string(tf.reduce_min(bad[:, 0])),
            " (0-based) of the request is not a JPEG or PNG image",
        ]
    )
    check = tf.debugging.Assert(tf.reduce_all(is_image), [message], name="check_image_bytes")

    def decode(one: tf.Tensor) -> tf.Tensor:
        image = tf.io.decode_image(one, channels=3, expand_animations=False)
        image = tf.image.convert_image_dtype(image, tf.float32)
        image.set_shape([None, None, 3])
        return tf.image.resize(image, (height, width))

    with tf.control_dependencies([check]):
        return tf.map_fn(
            decode, encoded, fn_output_signature=tf.TensorSpec((height, width, 3), tf.float32)
        )


def image_bytes_serving_fn(
    model: keras.Model, input_name: str = "encoded_image"
) -> tuple[Callable, list[tf.TensorSpec]]:
    """A serving function taking encoded JPEG/PNG bytes, for `kerasdl.export.saved_model`.

    The images are decoded and resized to the model's input size inside the SavedModel
    (see `decode_image_bytes`), then the model runs in inference mode; its outputs (a
    tensor or a dict, e.g. `detection_boxes`, `detection_scores`, ...) are served as they
    are. The signature's input is a `tf.string` vector named `input_name`; over TF
    Serving's REST API, send each image as `{"b64": "<base64 of the file>"}`.

    Args:
        model: a Keras model taking float images `(batch, height, width, 3)` in [0, 1]
            with a known height and width.
        input_name: the signature's input name.

    Returns:
        `(serving_fn, input_signature)` to pass to `kerasdl.export.saved_model`.

    Raises:
        ValueError: if the model does not take `(batch, height, width, 3)` images of a
            known size.

    Example:

    >>> import keras, tempfile
    >>> from kerasdl.export import saved_model
    >>> inputs = keras.Input((8, 8, 3))
    >>> model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inputs))
    >>> fn, signature = image_bytes_serving_fn(model)
    >>> path = saved_model(model, tempfile.mkdtemp(), serving_fn=fn, input_signature=signature)
    """
    shape = tuple(model.input_shape) if not isinstance(model.input_shape, list) else None
    if shape is None or len(shape) != 4 or shape[-1] != 3 or None in shape[1:3]:
        raise ValueError(
            "`model` must take one input of shape (batch, height, width, 3) with a known "
            f"height and width. Received: model.input_shape={model.input_shape}"
        )
    image_size = (shape[1], shape[2])

    def serve(encoded):
        return model(decode_image_bytes(encoded, image_size), training=False)

    return serve, [tf.TensorSpec([None], tf.string, name=input_name)]
