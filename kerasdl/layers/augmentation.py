"""Colour augmentation layers: the notes' "color shifting" and AlexNet's PCA colour
augmentation.

Both are random only in training and the identity at inference, so a model that
augments inside itself exports to SavedModel and TFLite with no augmentation op in the
served graph. Compose them with Keras' own geometric layers (`keras.layers.RandomFlip`,
`keras.layers.RandomCrop`, ...) in a `keras.Sequential`, inside the model or in a
`tf.data` pipeline.

These layers augment only when called with `training=True` (as `fit` does). Keras' own
random layers (Keras 3.15) augment whenever `training` is not given: `model(x)` and the
`serve` endpoint of `model.export` flip and crop at random. Export models that contain
them through an endpoint that passes `training=False`, as `kerasdl.export.saved_model`
and `kerasdl.export.tflite` do.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops


def _check_float(name: str, value: Any, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise TypeError(
            f"`{name}` must be a float. Received: {name}={value!r} of type {type(value).__name__}"
        )
    if not np.isfinite(value) or value < minimum:
        raise ValueError(f"`{name}` must be a finite float >= {minimum}. Received: {name}={value}")
    return float(value)


def _check_value_range(value_range: Any) -> tuple[float, float] | None:
    if value_range is None:
        return None
    if isinstance(value_range, str) or not isinstance(value_range, Iterable):
        raise TypeError(
            "`value_range` must be None or a (low, high) pair of floats. "
            f"Received: value_range={value_range!r}"
        )
    value_range = tuple(value_range)
    if len(value_range) != 2 or not all(
        isinstance(v, int | float | np.floating | np.integer) and not isinstance(v, bool)
        for v in value_range
    ):
        raise ValueError(
            "`value_range` must be a (low, high) pair of floats. "
            f"Received: value_range={value_range!r}"
        )
    low, high = float(value_range[0]), float(value_range[1])
    if not low < high:
        raise ValueError(f"`value_range` must have low < high. Received: value_range={value_range}")
    return low, high


def _check_seed(seed: Any) -> int | None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"`seed` must be None or an int. Received: seed={seed!r}")
    return seed


def _check_image_shape(input_shape, channels: int | None = None) -> int:
    """Checks a channels-last image shape of rank 3 or 4; returns the channel count."""
    shape = tuple(input_shape)
    if len(shape) not in (3, 4):
        raise ValueError(
            "`inputs` must have rank 3 (height, width, channels) or rank 4 "
            f"(batch, height, width, channels). Received: inputs.shape={shape}"
        )
    if shape[-1] is None:
        raise ValueError(
            f"`inputs` must have a known channel dimension. Received: inputs.shape={shape}"
        )
    if channels is not None and shape[-1] != channels:
        raise ValueError(
            f"`inputs` must have {channels} channels (channels last). "
            f"Received: inputs.shape={shape}"
        )
    return shape[-1]


def _draw_per_replica(draw, batch_shape, channels: int):
    """Draws `batch_shape + (channels,)` numbers, different on every replica.

    Every replica of a `tf.distribute` strategy holds the same `SeedGenerator` state, so a
    plain draw would give image i of every replica the same perturbation. Drawing one
    block per replica and keeping this replica's block makes the replicas' numbers the
    consecutive blocks of one draw over the global batch: when the global batch splits
    evenly, that is exactly what a single device draws.
    """
    context = tf.distribute.get_replica_context()
    replicas = 1 if context is None else context.num_replicas_in_sync
    numbers = draw((replicas, *batch_shape, channels))
    if replicas == 1:
        return numbers[0]
    return ops.take(numbers, context.replica_id_in_sync_group, axis=0)


def _add_per_image(inputs, shift, value_range):
    """Adds one shift `(batch, channels)` (or `(channels,)`) to every pixel of each image."""
    outputs = inputs + ops.expand_dims(ops.expand_dims(shift, -2), -2)
    if value_range is not None:
        outputs = ops.clip(outputs, value_range[0], value_range[1])
    return outputs


@keras.saving.register_keras_serializable(package="kerasdl")
class PCAColorAugmentation(layers.Layer):
    """AlexNet's PCA colour augmentation ("fancy PCA"), active only in training.

    `adapt(images)` computes the 3x3 covariance of the RGB values of every pixel of the
    training images and its eigenvectors `p_i` and eigenvalues `lambda_i` (largest first).
    In training, each image `I` gets the same RGB offset added to every pixel `(x, y)`:

        I'_xy = I_xy + [p_1 p_2 p_3] [alpha_1 lambda_1, alpha_2 lambda_2, alpha_3 lambda_3]^T

    with `alpha_i ~ N(0, stddev^2)` drawn once per image per training step. The offset
    moves colours along the principal components of the data: an image with mainly red
    and blue tints gets red and blue changed a lot and green little, which keeps its
    overall tint (the notes' "PCA color augmentation").

    `lambda_i` is a variance, so the offset scales with the square of the pixel scale:
    adapt and train on the same scale. AlexNet's `stddev=0.1` is meant for pixels in
    [0, 1] (ImageNet's `lambda_1` is about 0.22 there, offsets of a few percent); on
    [0, 255] pixels the same `stddev` gives offsets larger than the whole range.

    At inference (`training=False`, the default) the layer returns its inputs unchanged,
    so exported SavedModel and TFLite graphs contain no augmentation op. The
    eigen-decomposition is held in non-trainable weights and saved with the model.

    Under a `tf.distribute` strategy each replica draws its own `alpha`s; when the global
    batch splits evenly they are the `alpha`s one device would draw for the whole batch.
    With `jit_compile=True`, TensorFlow's XLA random number generator gives different
    (equally distributed) numbers from the same seed than the non-XLA one.

    Args:
        stddev: float >= 0, the standard deviation of `alpha_i` (0.1 in AlexNet).
        eigenvalues: optional 3 floats `lambda_1 >= lambda_2 >= lambda_3 >= 0`, a known
            decomposition (e.g. ImageNet's) used instead of `adapt`. Give both or neither
            of `eigenvalues` and `eigenvectors`.
        eigenvectors: optional 3x3 floats whose column `i` is the unit eigenvector `p_i`.
        value_range: optional `(low, high)`: augmented pixels are clipped to it.
        seed: optional int, makes the draws of `alpha` reproducible.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: RGB images, channels last, any real dtype (cast to the layer's dtype).
        training: bool, augment when True; return `inputs` unchanged otherwise.

    Input shape:
        3D `(height, width, 3)` or 4D `(batch, height, width, 3)`.

    Output shape:
        Same as the input shape.

    Example:

    >>> import numpy as np
    >>> images = np.random.default_rng(0).uniform(size=(4, 16, 16, 3)).astype("float32")
    >>> pca = PCAColorAugmentation(stddev=0.1, seed=0)
    >>> pca.adapt(images)
    >>> shift = keras.ops.convert_to_numpy(pca(images, training=True)) - images
    >>> bool(np.allclose(shift, shift[:, :1, :1, :], atol=1e-6))  # one offset per image
    True
    >>> bool(np.array_equal(pca(images), images))  # the identity at inference
    True

    Composed with Keras' geometric augmentation:

    >>> augment = keras.Sequential([
    ...     keras.layers.RandomFlip("horizontal", seed=0),
    ...     keras.layers.RandomCrop(12, 12, seed=0),
    ...     pca,
    ... ])
    >>> tuple(augment(images, training=True).shape)
    (4, 12, 12, 3)

    Reference:
        Krizhevsky, Sutskever and Hinton, "ImageNet Classification with Deep
        Convolutional Neural Networks", NeurIPS 2012, section 4.1.
    """

    def __init__(
        self,
        stddev=0.1,
        eigenvalues=None,
        eigenvectors=None,
        value_range=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.stddev = _check_float("stddev", stddev)
        if (eigenvalues is None) != (eigenvectors is None):
            raise ValueError(
                "`eigenvalues` and `eigenvectors` must be given together or not at all. "
                f"Received: eigenvalues={eigenvalues!r}, eigenvectors={eigenvectors!r}"
            )
        self.eigenvalues = None
        self.eigenvectors = None
        if eigenvalues is not None:
            values = np.asarray(eigenvalues, dtype="float64")
            vectors = np.asarray(eigenvectors, dtype="float64")
            if values.shape != (3,) or not np.all(np.isfinite(values)) or np.any(values < 0):
                raise ValueError(
                    "`eigenvalues` must be 3 finite floats >= 0. "
                    f"Received: eigenvalues={eigenvalues!r}"
                )
            orthonormal = vectors.shape == (3, 3) and np.allclose(
                vectors.T @ vectors, np.eye(3), atol=1e-3
            )
            if not orthonormal:
                raise ValueError(
                    "`eigenvectors` must be a 3x3 matrix with orthonormal columns. "
                    f"Received: eigenvectors={eigenvectors!r}"
                )
            self.eigenvalues = values.tolist()
            self.eigenvectors = vectors.tolist()
        self.value_range = _check_value_range(value_range)
        self.seed = _check_seed(seed)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self._adapted = eigenvalues is not None

    def build(self, input_shape):
        _check_image_shape(input_shape, channels=3)
        given = self.eigenvalues is not None
        self.lambdas = self.add_weight(
            shape=(3,),
            initializer=keras.initializers.Constant(self.eigenvalues) if given else "zeros",
            trainable=False,
            name="eigenvalues",
        )
        self.components = self.add_weight(
            shape=(3, 3),
            initializer=keras.initializers.Constant(self.eigenvectors) if given else "zeros",
            trainable=False,
            name="eigenvectors",
        )

    @property
    def is_adapted(self) -> bool:
        """Whether the layer holds an eigen-decomposition (from `adapt`, its arguments,
        or loaded weights) and can augment."""
        return self._adapted

    def adapt(self, data, steps=None) -> None:
        """Computes the RGB covariance of every pixel of `data` and its eigen-decomposition.

        Args:
            data: images `(n, height, width, 3)` or `(height, width, 3)` as a numpy array
                or tensor, or a `tf.data.Dataset` of image batches (or of `(images, ...)`
                tuples, whose first element is used), in the scale used in training.
            steps: optional int, the number of dataset batches to read (all by default).
        """
        count, mean, scatter = 0, np.zeros(3), np.zeros((3, 3))
        for batch in _image_batches(data, steps):
            _check_image_shape(batch.shape, channels=3)
            pixels = batch.reshape(-1, 3).astype("float64")
            n = len(pixels)
            if n == 0:
                continue
            batch_mean = pixels.mean(axis=0)
            centered = pixels - batch_mean
            # Chan et al.'s pairwise update: stable for many pixels of large values.
            delta = batch_mean - mean
            total = count + n
            scatter += centered.T @ centered + np.outer(delta, delta) * count * n / total
            mean += delta * n / total
            count = total
        if count < 2:
            raise ValueError(
                f"`data` must hold at least 2 pixels to estimate a covariance. Received: {count}"
            )
        covariance = scatter / (count - 1)
        values, vectors = np.linalg.eigh(covariance)
        order = np.argsort(values)[::-1]
        values, vectors = np.clip(values[order], 0.0, None), vectors[:, order]
        # eigh's signs are arbitrary: make each vector's largest entry positive so that
        # the stored decomposition does not depend on the LAPACK build.
        signs = np.sign(vectors[np.argmax(np.abs(vectors), axis=0), np.arange(3)])
        vectors = vectors * signs
        if not self.built:
            self.build((None, None, None, 3))
        self.lambdas.assign(values.astype("float32"))
        self.components.assign(vectors.astype("float32"))
        self._adapted = True

    def load_own_variables(self, store):
        super().load_own_variables(store)
        self._refresh_adapted()

    def set_weights(self, weights):
        super().set_weights(weights)
        self._refresh_adapted()

    def _refresh_adapted(self):
        # Unit eigenvectors are never all zero, the weights' initial value.
        self._adapted = bool(np.any(ops.convert_to_numpy(self.components) != 0))

    def call(self, inputs, training=None):
        inputs = ops.cast(inputs, self.compute_dtype)
        if not training:
            return inputs
        if not self._adapted:
            raise ValueError(
                f"`{self.__class__.__name__}` '{self.name}' has no eigen-decomposition to "
                "augment with: call `adapt(images)` on training images first, or pass "
                "`eigenvalues` and `eigenvectors`."
            )
        batch_shape = tuple(ops.shape(inputs)[:-3])
        alpha = _draw_per_replica(
            lambda shape: keras.random.normal(shape, stddev=self.stddev, seed=self.seed_generator),
            batch_shape,
            3,
        )
        # Row-vector form of [p1 p2 p3][alpha_i lambda_i]^T for every image at once.
        shift = ops.matmul(alpha * self.lambdas, ops.transpose(self.components))
        return _add_per_image(inputs, ops.cast(shift, self.compute_dtype), self.value_range)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "stddev": self.stddev,
            "eigenvalues": self.eigenvalues,
            "eigenvectors": self.eigenvectors,
            "value_range": self.value_range,
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="kerasdl")
class RandomColorShift(layers.Layer):
    """The notes' "color shifting": a random offset per image and channel, in training.

    Each image `I` gets the same offset added to every pixel `(x, y)`:

        I'_xyc = clip(I_xyc + delta_c, low, high),   delta_c ~ U[-max_delta_c, max_delta_c]

    with `delta` drawn once per image and channel per training step, e.g. more red, less
    green and more blue for one image. The clip applies only when `value_range` is given.

    At inference (`training=False`, the default) the layer returns its inputs unchanged.
    Random numbers under a `tf.distribute` strategy and XLA behave as in
    `PCAColorAugmentation`.

    Args:
        max_delta: float >= 0, the largest offset of every channel, or one float per
            channel, in the scale of the pixels (e.g. 0.1 for [0, 1] images, 20 for
            [0, 255] ones).
        value_range: optional `(low, high)`: augmented pixels are clipped to it.
        seed: optional int, makes the draws reproducible.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: images, channels last, any real dtype (cast to the layer's dtype).
        training: bool, augment when True; return `inputs` unchanged otherwise.

    Input shape:
        3D `(height, width, channels)` or 4D `(batch, height, width, channels)`.

    Output shape:
        Same as the input shape.

    Example:

    >>> import numpy as np
    >>> images = np.full((2, 4, 4, 3), 0.5, "float32")
    >>> shift = RandomColorShift(max_delta=(0.1, 0.0, 0.2), value_range=(0, 1), seed=0)
    >>> offsets = keras.ops.convert_to_numpy(shift(images, training=True))[:, 0, 0] - 0.5
    >>> bool(np.all(np.abs(offsets) <= [0.1, 0.0, 0.2]))
    True
    >>> bool(np.array_equal(shift(images), images))  # the identity at inference
    True

    Reference:
        Krizhevsky, Sutskever and Hinton, "ImageNet Classification with Deep
        Convolutional Neural Networks", NeurIPS 2012 (colour perturbation as data
        augmentation); see `PCAColorAugmentation` for its PCA form.
    """

    def __init__(self, max_delta, value_range=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(max_delta, Iterable) and not isinstance(max_delta, str):
            max_delta = tuple(max_delta)
            if not max_delta:
                raise ValueError(
                    "`max_delta` must be a float or one float per channel. "
                    f"Received: max_delta={max_delta!r}"
                )
            self.max_delta = tuple(_check_float("max_delta", d) for d in max_delta)
        else:
            self.max_delta = _check_float("max_delta", max_delta)
        self.value_range = _check_value_range(value_range)
        self.seed = _check_seed(seed)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        channels = _check_image_shape(input_shape)
        if isinstance(self.max_delta, tuple) and len(self.max_delta) != channels:
            raise ValueError(
                f"`max_delta` must have one entry per channel ({channels}). "
                f"Received: max_delta={self.max_delta} for inputs.shape={tuple(input_shape)}"
            )
        self.channels = channels

    def call(self, inputs, training=None):
        inputs = ops.cast(inputs, self.compute_dtype)
        if not training:
            return inputs
        batch_shape = tuple(ops.shape(inputs)[:-3])
        unit = _draw_per_replica(
            lambda shape: keras.random.uniform(
                shape, minval=-1.0, maxval=1.0, seed=self.seed_generator
            ),
            batch_shape,
            self.channels,
        )
        max_delta = ops.convert_to_tensor(self.max_delta, dtype=unit.dtype)
        shift = ops.cast(unit * max_delta, self.compute_dtype)
        return _add_per_image(inputs, shift, self.value_range)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "max_delta": self.max_delta,
            "value_range": self.value_range,
            "seed": self.seed,
        }


def _image_batches(data, steps):
    """Yields numpy batches of images from an array, a tensor or a `tf.data.Dataset`."""
    if steps is not None:
        if isinstance(steps, bool) or not isinstance(steps, int) or steps <= 0:
            raise ValueError(f"`steps` must be None or an int > 0. Received: steps={steps!r}")
    if isinstance(data, tf.data.Dataset):
        dataset = data if steps is None else data.take(steps)
        for element in dataset.as_numpy_iterator():
            yield element[0] if isinstance(element, tuple | list) else element
        return
    try:
        images = np.asarray(keras.ops.convert_to_numpy(data))
    except (TypeError, ValueError) as error:
        raise TypeError(
            "`data` must be a numpy array, a tensor or a tf.data.Dataset of images. "
            f"Received: data of type {type(data).__name__}"
        ) from error
    if not np.issubdtype(images.dtype, np.number):
        raise TypeError(f"`data` must hold numbers. Received: data.dtype={images.dtype}")
    yield images
