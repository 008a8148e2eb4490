"""FaceNet's Inception-ResNet-v1 encoder, built in Keras 3, and a reader for its Keras 2
`.h5` weights.

The face encoder `f(x)` of the notes' face verification, as trained by Sandberg's
`facenet` (Schroff et al.'s triplet-loss FaceNet on an Inception-ResNet-v1 of Szegedy et
al.) and converted to Keras 2 as `facenet_keras.h5`: a 160x160x3 image, prewhitened
(`facenet_prewhiten`), maps to 128 numbers; their L2-normalised form is the encoding,
compared with Euclidean distances.

The Keras 2 file stores its residual scaling `x + scale * r` as `Lambda` layers holding
marshalled Python 3.6 bytecode, which Keras 3 cannot load. `facenet_inception_resnet_v1`
rebuilds the network from ordinary layers under the same layer names (the scaling is a
`keras.layers.Rescaling` of the residual branch followed by `keras.layers.Add`), and
`load_facenet_h5_weights` reads the weights from the file with h5py, layer by layer and
by name, checking every shape.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from kerasdl._validation import check_in_range, check_positive_int

# The smallest height and width the five valid-padded stride-2 stages leave >= 1 pixel.
MIN_IMAGE_SIZE = 75
# Keras 2 `BatchNormalization(momentum=0.995, epsilon=0.001, scale=False)`, as in the file.
_BN = {"axis": -1, "momentum": 0.995, "epsilon": 0.001, "scale": False}


def _conv_bn(x, filters, kernel_size, name, strides=1, padding="same"):
    """Convolution without bias, batch norm (no gamma) and ReLU, named as in the file."""
    x = layers.Conv2D(
        filters, kernel_size, strides=strides, padding=padding, use_bias=False, name=name
    )(x)
    x = layers.BatchNormalization(**_BN, name=f"{name}_BatchNorm")(x)
    return layers.Activation("relu", name=f"{name}_Activation")(x)


def _residual(x, branches, scale, block, activation=True):
    """`relu(x + scale * W [branches])`: the inception-residual unit of every block."""
    mixed = layers.Concatenate(axis=-1, name=f"{block}_Concatenate")(branches)
    up = layers.Conv2D(x.shape[-1], 1, padding="same", use_bias=True, name=f"{block}_Conv2d_1x1")(
        mixed
    )
    up = layers.Rescaling(scale, name=f"{block}_Scale")(up)
    x = layers.Add(name=f"{block}_ScaleSum")([x, up])
    if activation:
        x = layers.Activation("relu", name=f"{block}_Activation")(x)
    return x


def _block35(x, scale, block):
    b0 = _conv_bn(x, 32, 1, f"{block}_Branch_0_Conv2d_1x1")
    b1 = _conv_bn(x, 32, 1, f"{block}_Branch_1_Conv2d_0a_1x1")
    b1 = _conv_bn(b1, 32, 3, f"{block}_Branch_1_Conv2d_0b_3x3")
    b2 = _conv_bn(x, 32, 1, f"{block}_Branch_2_Conv2d_0a_1x1")
    b2 = _conv_bn(b2, 32, 3, f"{block}_Branch_2_Conv2d_0b_3x3")
    b2 = _conv_bn(b2, 32, 3, f"{block}_Branch_2_Conv2d_0c_3x3")
    return _residual(x, [b0, b1, b2], scale, block)


def _block17(x, scale, block):
    b0 = _conv_bn(x, 128, 1, f"{block}_Branch_0_Conv2d_1x1")
    b1 = _conv_bn(x, 128, 1, f"{block}_Branch_1_Conv2d_0a_1x1")
    b1 = _conv_bn(b1, 128, (1, 7), f"{block}_Branch_1_Conv2d_0b_1x7")
    b1 = _conv_bn(b1, 128, (7, 1), f"{block}_Branch_1_Conv2d_0c_7x1")
    return _residual(x, [b0, b1], scale, block)


def _block8(x, scale, block, activation=True):
    b0 = _conv_bn(x, 192, 1, f"{block}_Branch_0_Conv2d_1x1")
    b1 = _conv_bn(x, 192, 1, f"{block}_Branch_1_Conv2d_0a_1x1")
    b1 = _conv_bn(b1, 192, (1, 3), f"{block}_Branch_1_Conv2d_0b_1x3")
    b1 = _conv_bn(b1, 192, (3, 1), f"{block}_Branch_1_Conv2d_0c_3x1")
    return _residual(x, [b0, b1], scale, block, activation)


def _check_input_shape(input_shape) -> tuple:
    input_shape = tuple(input_shape)
    spatial_ok = all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= MIN_IMAGE_SIZE)
        for d in input_shape[:2]
    )
    if len(input_shape) != 3 or input_shape[2] != 3 or not spatial_ok:
        raise ValueError(
            "`input_shape` must be (height, width, 3) with height and width None or >= "
            f"{MIN_IMAGE_SIZE}. Received: input_shape={input_shape}"
        )
    return input_shape


def facenet_inception_resnet_v1(
    weights_path: str | os.PathLike | Any | None = None,
    input_shape: Sequence[int | None] = (160, 160, 3),
    embedding_dim: int = 128,
    dropout_rate: float = 0.2,
    normalize: bool = True,
    name: str = "facenet_inception_resnet_v1",
) -> keras.Model:
    """FaceNet's Inception-ResNet-v1 face encoder `x -> f(x)`.

    The network of Sandberg's `facenet` (`models/inception_resnet_v1.py`) with the layer
    names of its Keras 2 conversion `facenet_keras.h5`:

    - stem: 3x3/2, 3x3 and 3x3 convolutions (32, 32, 64 filters), 3x3/2 max pooling, 1x1
      (80) and 3x3 (192) convolutions and a 3x3/2 convolution (256), each convolution
      followed by batch norm and ReLU;
    - 5 x Block35, Mixed_6a (reduction to 896 channels), 10 x Block17, Mixed_7a
      (reduction to 1792 channels), 6 x Block8; every block is the inception-residual
      unit `a = relu(x + s * W [b_0, ..., b_k])`, the branches `b` concatenated and
      projected back by a 1x1 convolution `W`, with `s` = 0.17, 0.10 and 0.20 (the last
      Block8: `s` = 1 and no ReLU);
    - global average pooling, dropout, a bias-free Dense layer to `embedding_dim` numbers
      and batch norm ("Bottleneck"); with `normalize`, then `f(x) = v / ||v||_2`.

    The network has 22,808,144 parameters (22,779,312 trainable) at `embedding_dim=128`.
    Images must be prewhitened first (`facenet_prewhiten`), as the weights were trained.

    Args:
        weights_path: `None` (random initialisation) or the Keras 2 `.h5` file of the
            converted FaceNet (`facenet_keras.h5`; a path or an open binary file), read
            by `load_facenet_h5_weights`. Nothing is downloaded.
        input_shape: `(height, width, 3)`; 160x160 as trained, any size >= 75 (or None)
            runs.
        embedding_dim: size of the encoding (128 in the published weights).
        dropout_rate: dropout before the bottleneck, active only in training (0.2 in
            the published model).
        normalize: end with `keras.layers.UnitNormalization` so encodings are unit
            vectors (distances in [0, 2]); False returns the bottleneck's batch-norm
            output, as the Keras 2 model does.
        name: model name.

    Returns:
        A functional `keras.Model` from `(batch, height, width, 3)` prewhitened images to
        `(batch, embedding_dim)` encodings.

    Raises:
        ValueError: on a bad `input_shape`, `embedding_dim` or `dropout_rate`, or weights
            that do not fit the network.

    Example:

    >>> import numpy as np
    >>> model = facenet_inception_resnet_v1(input_shape=(96, 96, 3))
    >>> images = np.random.default_rng(0).random((2, 96, 96, 3), "float32")
    >>> encodings = model(facenet_prewhiten(images))
    >>> tuple(encodings.shape), np.round(np.linalg.norm(encodings, axis=1), 4).tolist()
    ((2, 128), [1.0, 1.0])

    Reference:
        Schroff et al., "FaceNet: A Unified Embedding for Face Recognition and
        Clustering", CVPR 2015; Szegedy et al., "Inception-v4, Inception-ResNet and the
        Impact of Residual Connections on Learning", AAAI 2017.
    """
    input_shape = _check_input_shape(input_shape)
    check_positive_int("embedding_dim", embedding_dim)
    dropout_rate = check_in_range("dropout_rate", dropout_rate, 0.0, 1.0)
    if not isinstance(normalize, bool):
        raise TypeError(f"`normalize` must be a bool. Received: normalize={normalize!r}")

    inputs = keras.Input(shape=input_shape, name="image")
    x = _conv_bn(inputs, 32, 3, "Conv2d_1a_3x3", strides=2, padding="valid")
    x = _conv_bn(x, 32, 3, "Conv2d_2a_3x3", padding="valid")
    x = _conv_bn(x, 64, 3, "Conv2d_2b_3x3")
    x = layers.MaxPooling2D(3, strides=2, name="MaxPool_3a_3x3")(x)
    x = _conv_bn(x, 80, 1, "Conv2d_3b_1x1", padding="valid")
    x = _conv_bn(x, 192, 3, "Conv2d_4a_3x3", padding="valid")
    x = _conv_bn(x, 256, 3, "Conv2d_4b_3x3", strides=2, padding="valid")
    for i in range(1, 6):
        x = _block35(x, 0.17, f"Block35_{i}")

    b0 = _conv_bn(x, 384, 3, "Mixed_6a_Branch_0_Conv2d_1a_3x3", strides=2, padding="valid")
    b1 = _conv_bn(x, 192, 1, "Mixed_6a_Branch_1_Conv2d_0a_1x1")
    b1 = _conv_bn(b1, 192, 3, "Mixed_6a_Branch_1_Conv2d_0b_3x3")
    b1 = _conv_bn(b1, 256, 3, "Mixed_6a_Branch_1_Conv2d_1a_3x3", strides=2, padding="valid")
    b2 = layers.MaxPooling2D(3, strides=2, name="Mixed_6a_Branch_2_MaxPool_1a_3x3")(x)
    x = layers.Concatenate(axis=-1, name="Mixed_6a")([b0, b1, b2])
    for i in range(1, 11):
        x = _block17(x, 0.1, f"Block17_{i}")

    b0 = _conv_bn(x, 256, 1, "Mixed_7a_Branch_0_Conv2d_0a_1x1")
    b0 = _conv_bn(b0, 384, 3, "Mixed_7a_Branch_0_Conv2d_1a_3x3", strides=2, padding="valid")
    b1 = _conv_bn(x, 256, 1, "Mixed_7a_Branch_1_Conv2d_0a_1x1")
    b1 = _conv_bn(b1, 256, 3, "Mixed_7a_Branch_1_Conv2d_1a_3x3", strides=2, padding="valid")
    b2 = _conv_bn(x, 256, 1, "Mixed_7a_Branch_2_Conv2d_0a_1x1")
    b2 = _conv_bn(b2, 256, 3, "Mixed_7a_Branch_2_Conv2d_0b_3x3")
    b2 = _conv_bn(b2, 256, 3, "Mixed_7a_Branch_2_Conv2d_1a_3x3", strides=2, padding="valid")
    b3 = layers.MaxPooling2D(3, strides=2, name="Mixed_7a_Branch_3_MaxPool_1a_3x3")(x)
    x = layers.Concatenate(axis=-1, name="Mixed_7a")([b0, b1, b2, b3])
    for i in range(1, 6):
        x = _block8(x, 0.2, f"Block8_{i}")
    x = _block8(x, 1.0, "Block8_6", activation=False)

    x = layers.GlobalAveragePooling2D(name="AvgPool")(x)
    x = layers.Dropout(dropout_rate, name="Dropout")(x)
    x = layers.Dense(embedding_dim, use_bias=False, name="Bottleneck")(x)
    x = layers.BatchNormalization(**_BN, name="Bottleneck_BatchNorm")(x)
    if normalize:
        x = layers.UnitNormalization(axis=-1, name="l2_normalize")(x)
    model = keras.Model(inputs, x, name=name)
    if weights_path is not None:
        load_facenet_h5_weights(model, weights_path)
    return model


def load_facenet_h5_weights(model: keras.Model, weights_path: str | os.PathLike | Any) -> None:
    """Reads a Keras 2 HDF5 file's weights into `model`, layer by layer and by name.

    The file is a whole Keras 2 model saved with `model.save("x.h5")` (its weights under
    `model_weights/`) or a weights-only `model.save_weights("x.h5")` file; for each
    layer the file lists (attribute `layer_names`), its arrays (attribute
    `weight_names`, e.g. `Conv2d_1a_3x3/kernel:0`) are set, in order, on the model's
    layer of the same name. Keras 2 and Keras 3 order the weights of `Conv2D`, `Dense`
    and `BatchNormalization` alike (`[beta, moving_mean, moving_variance]` without
    gamma). No code is read from the file, only arrays, so its `Lambda` layers are
    ignored (they have no weights).

    Every layer of `model` that has weights must be found in the file with the same
    shapes; layers of the file without weights, or absent from the model, are skipped.

    Args:
        model: the Keras 3 model, e.g. `facenet_inception_resnet_v1()`.
        weights_path: the `.h5` file: a path, or a binary file object (h5py reads file
            objects, e.g. `io.BytesIO` or a member of a tar archive read into memory).

    Raises:
        ValueError: when the file is not a Keras HDF5 weights file, a layer of `model` is
            missing from it, or shapes differ.

    Example:

    >>> import io, h5py, keras, numpy as np
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense")])
    >>> buffer = io.BytesIO()
    >>> with h5py.File(buffer, "w") as f:  # the layout Keras 2's save_weights writes
    ...     f.attrs["layer_names"] = [b"dense"]
    ...     g = f.create_group("dense")
    ...     g.attrs["weight_names"] = [b"dense/kernel:0", b"dense/bias:0"]
    ...     _ = g.create_dataset("dense/kernel:0", data=np.ones((3, 2), "float32"))
    ...     _ = g.create_dataset("dense/bias:0", data=np.array([0.5, -0.5], "float32"))
    >>> load_facenet_h5_weights(model, buffer)
    >>> model(np.ones((1, 3), "float32")).numpy().tolist()
    [[3.5, 2.5]]
    """
    import h5py

    if isinstance(weights_path, str | os.PathLike) and not os.path.isfile(weights_path):
        raise ValueError(
            "`weights_path` must be an existing Keras 2 .h5 file. "
            f"Received: weights_path={os.fspath(weights_path)!r} (no such file)"
        )
    try:
        handle = h5py.File(weights_path, "r")
    except OSError as error:
        raise ValueError(
            f"`weights_path` must be an HDF5 file. Received: weights_path={weights_path!r} "
            f"({error})"
        ) from None
    with handle:
        group = handle["model_weights"] if "model_weights" in handle else handle
        if "layer_names" not in group.attrs:
            raise ValueError(
                "`weights_path` must be a Keras HDF5 model or weights file (attribute "
                f"`layer_names`). Received: weights_path={weights_path!r}"
            )
        stored = {}
        for raw in group.attrs["layer_names"]:
            layer_name = raw.decode() if isinstance(raw, bytes) else str(raw)
            names = group[layer_name].attrs.get("weight_names", [])
            stored[layer_name] = [
                np.asarray(group[layer_name][n.decode() if isinstance(n, bytes) else n])
                for n in names
            ]
    for layer in model.layers:
        if not layer.weights:
            continue
        if layer.name not in stored or not stored[layer.name]:
            raise ValueError(
                f"`weights_path` has no weights for the model's layer {layer.name!r}: "
                "the file must come from the same network"
            )
        values = stored[layer.name]
        expected = [tuple(w.shape) for w in layer.weights]
        received = [v.shape for v in values]
        if expected != received:
            raise ValueError(
                f"`weights_path` holds weights of shapes {received} for layer "
                f"{layer.name!r}, which expects {expected}"
            )
        layer.set_weights(values)


def facenet_prewhiten(images: Any) -> Any:
    """FaceNet's per-image standardisation ("prewhitening") of raw pixel values.

    For each image `x` with `N` numbers (height x width x channels),

        x' = (x - mean(x)) / max(std(x), 1 / sqrt(N))

    the mean and (population) standard deviation taken over the whole image; the floor
    keeps a uniform image finite. This is Sandberg's `facenet.prewhiten` and equals
    `tf.image.per_image_standardization`.

    Args:
        images: `(height, width, channels)` or `(batch, height, width, channels)` pixel
            values (any range, e.g. 0-255), a NumPy array or tensor.

    Returns:
        float32 images of the same shape, each with mean 0 and standard deviation 1.

    Raises:
        ValueError: when `images` is not of rank 3 or 4.

    Example:

    >>> import numpy as np
    >>> x = facenet_prewhiten(np.arange(12, dtype="float32").reshape(2, 2, 3))
    >>> round(float(np.mean(x)), 6), round(float(np.std(x)), 6)
    (0.0, 1.0)
    """
    images = ops.convert_to_tensor(images)
    if len(images.shape) not in (3, 4):
        raise ValueError(
            "`images` must have shape (height, width, channels) or (batch, height, width, "
            f"channels). Received: images.shape={tuple(images.shape)}"
        )
    images = ops.cast(images, "float32")
    axes = (-3, -2, -1)
    mean = ops.mean(images, axis=axes, keepdims=True)
    std = ops.std(images, axis=axes, keepdims=True)
    height, width, channels = ops.shape(images)[-3:]  # symbolic when not known
    floor = ops.rsqrt(ops.cast(height * width * channels, "float32"))
    return (images - mean) / ops.maximum(std, floor)
