"""Test-time augmentation and ensembling, for benchmarks and competitions.

The notes: "Multi-crop at test time: take the central crop, then the four corner crops,
run these images through your classifier and average the results", and "Ensembling:
train several neural networks independently and average their outputs". Both multiply
the cost of a prediction (10x for ten crops, k x for k models), which is why they are
almost never used in production.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from kerasdl._validation import check_int_tuple, check_one_of, check_positive_int

CROPS = (
    "top_left",
    "top_right",
    "bottom_left",
    "bottom_right",
    "center",
    "top_left_flipped",
    "top_right_flipped",
    "bottom_left_flipped",
    "bottom_right_flipped",
    "center_flipped",
)
METHODS = ("arithmetic", "geometric")
# Probabilities are clipped to this before the logarithm of the geometric mean.
EPSILON = 1e-7


def ten_crop(images: Any, crop_size: int | Sequence[int]):
    """The 4 corner crops, the centre crop, and their horizontal flips: 10 per image.

    With image size `(H, W)` and crop size `(h, w)`, the crops start at rows
    `0, 0, H - h, H - h, (H - h) // 2` and columns `0, W - w, 0, W - w, (W - w) // 2`
    (in the order of `CROPS`), and crops 5 to 9 are crops 0 to 4 mirrored left-right,
    as in AlexNet's and GoogLeNet's evaluation. Vectorised over the batch.

    Args:
        images: `(batch, H, W, channels)` or one image `(H, W, channels)`, channels last.
        crop_size: int `h = w`, or `(h, w)`, each at most the image's size.

    Returns:
        Tensor `(batch, 10, h, w, channels)` (or `(10, h, w, channels)` for one image).

    Example:

    >>> import numpy as np
    >>> images = np.arange(2 * 4 * 4 * 1, dtype="float32").reshape(2, 4, 4, 1)
    >>> crops = ten_crop(images, 2)
    >>> tuple(crops.shape)
    (2, 10, 2, 2, 1)
    >>> keras.ops.convert_to_numpy(crops)[0, 1, :, :, 0]  # top-right corner
    array([[2., 3.],
           [6., 7.]], dtype=float32)
    """
    crop_h, crop_w = check_int_tuple("crop_size", crop_size, 2)
    images = ops.convert_to_tensor(images)
    single = len(images.shape) == 3
    if single:
        images = ops.expand_dims(images, 0)
    if len(images.shape) != 4:
        raise ValueError(
            "`images` must have rank 4 (batch, height, width, channels) or rank 3 "
            f"(height, width, channels). Received: images.shape={tuple(images.shape)}"
        )
    height, width = images.shape[1], images.shape[2]
    if height is None or width is None:
        raise ValueError(
            "`images` must have a known height and width. "
            f"Received: images.shape={tuple(images.shape)}"
        )
    if crop_h > height or crop_w > width:
        raise ValueError(
            f"`crop_size` must be at most the image size ({height}, {width}). "
            f"Received: crop_size={(crop_h, crop_w)}"
        )
    bottom, right = height - crop_h, width - crop_w
    corners = [(0, 0), (0, right), (bottom, 0), (bottom, right), (bottom // 2, right // 2)]
    crops = ops.stack([images[:, y : y + crop_h, x : x + crop_w, :] for y, x in corners], axis=1)
    crops = ops.concatenate([crops, ops.flip(crops, axis=3)], axis=1)
    return crops[0] if single else crops


def predict_ten_crop(
    model: keras.Model,
    images: Any,
    crop_size: int | Sequence[int],
    batch_size: int = 32,
    from_logits: bool = False,
) -> np.ndarray:
    """A classifier's probabilities averaged over the ten crops of each image.

    `p(y | x) = 1/10 sum_k p(y | crop_k(x))`, with the crops of `ten_crop`.

    Args:
        model: a classifier taking `(batch, h, w, channels)` crops and returning class
            probabilities `(batch, classes)` (softmax outputs), or logits with
            `from_logits=True`.
        images: `(n, H, W, channels)` images, numpy or tensor.
        crop_size: int or `(h, w)`: the model's input size.
        batch_size: images per forward pass (each pass runs `10 * batch_size` crops).
        from_logits: apply a softmax to each crop's outputs before averaging.

    Returns:
        numpy `(n, classes)`: the averaged probabilities.

    Example:

    >>> import numpy as np
    >>> model = keras.Sequential([
    ...     keras.Input((6, 6, 3)), keras.layers.GlobalAveragePooling2D(),
    ...     keras.layers.Dense(4, activation="softmax"),
    ... ])
    >>> images = np.random.default_rng(0).uniform(size=(3, 8, 8, 3)).astype("float32")
    >>> probabilities = predict_ten_crop(model, images, crop_size=6)
    >>> probabilities.shape, bool(np.allclose(probabilities.sum(axis=1), 1.0))
    ((3, 4), True)
    """
    _check_model("model", model)
    check_positive_int("batch_size", batch_size)
    images = np.asarray(keras.ops.convert_to_numpy(images))
    if images.ndim != 4:
        raise ValueError(
            "`images` must have rank 4 (n, height, width, channels). "
            f"Received: images.shape={images.shape}"
        )
    averaged = []
    for start in range(0, len(images), batch_size):
        crops = ten_crop(images[start : start + batch_size], crop_size)
        count = crops.shape[0]
        flat = ops.reshape(crops, (count * len(CROPS), *crops.shape[2:]))
        outputs = np.asarray(model.predict_on_batch(flat), dtype="float64")
        if from_logits:
            outputs = _softmax(outputs)
        averaged.append(outputs.reshape(count, len(CROPS), -1).mean(axis=1))
    if not averaged:
        raise ValueError("`images` must hold at least one image. Received: images.shape[0]=0")
    return np.concatenate(averaged).astype("float32")


def ensemble_predict(
    models: Sequence[keras.Model],
    images: Any,
    weights: Sequence[float] | None = None,
    method: str = "arithmetic",
    batch_size: int = 32,
) -> np.ndarray:
    """Several independently trained classifiers' probabilities, averaged.

    With `p_k` the probabilities of model `k` and weights `w_k` (all 1 by default):

        arithmetic:  p = sum_k w_k p_k / sum_k w_k
        geometric:   p ~ prod_k p_k ** (w_k / sum_k w_k), renormalised to sum to 1

    The geometric mean (a mean of log-probabilities) lets a model that rules a class out
    veto it; probabilities are clipped to `EPSILON` before the logarithm.

    Args:
        models: one or more classifiers with the same input and `(batch, classes)`
            probability outputs.
        images: the inputs of every model.
        weights: optional weight >= 0 per model, not all 0.
        method: `"arithmetic"` or `"geometric"`.
        batch_size: batch size of each model's `predict`.

    Returns:
        numpy `(n, classes)` probabilities.

    Example:

    >>> import numpy as np
    >>> def constant(p):
    ...     inputs = keras.Input((1,))
    ...     outputs = keras.layers.Dense(
    ...         len(p), kernel_initializer="zeros",
    ...         bias_initializer=keras.initializers.Constant(np.log(p)), activation="softmax",
    ...     )(inputs)
    ...     return keras.Model(inputs, outputs)
    >>> models = [constant([0.9, 0.1]), constant([0.5, 0.5])]
    >>> ensemble_predict(models, np.zeros((1, 1)), weights=[1, 3]).round(3)
    array([[0.6, 0.4]], dtype=float32)
    """
    if isinstance(models, keras.Model) or not isinstance(models, Sequence):
        raise TypeError(
            "`models` must be a list of keras.Model. "
            f"Received: models of type {type(models).__name__}"
        )
    if not models:
        raise ValueError("`models` must hold at least one model. Received: models=[]")
    for index, model in enumerate(models):
        _check_model(f"models[{index}]", model)
    check_one_of("method", method, METHODS)
    check_positive_int("batch_size", batch_size)
    if weights is None:
        weights = np.ones(len(models))
    else:
        weights = np.asarray(weights, dtype="float64")
        if weights.shape != (len(models),):
            raise ValueError(
                f"`weights` must have one entry per model ({len(models)}). "
                f"Received: weights={weights.tolist()}"
            )
        if not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError(
                "`weights` must be finite, >= 0 and not all 0. "
                f"Received: weights={weights.tolist()}"
            )
    outputs = [np.asarray(m.predict(images, batch_size=batch_size, verbose=0)) for m in models]
    shapes = {o.shape for o in outputs}
    if len(shapes) != 1:
        raise ValueError(
            "`models` must all output the same shape. "
            f"Received: output shapes {[o.shape for o in outputs]}"
        )
    stacked = np.stack(outputs).astype("float64")
    weights = weights / weights.sum()
    if method == "arithmetic":
        averaged = np.tensordot(weights, stacked, axes=1)
    else:
        log_mean = np.tensordot(weights, np.log(np.clip(stacked, EPSILON, 1.0)), axes=1)
        averaged = _softmax(log_mean)
    return averaged.astype("float32")


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _check_model(name: str, model: Any) -> None:
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"`{name}` must be a keras.Model. Received: {name} of type {type(model).__name__}"
        )
