"""The costs of neural style transfer: content, style and their weighted total.

With `a[l](C)`, `a[l](S)` and `a[l](G)` a layer's activations on the content image `C`,
the style image `S` and the generated image `G`, each of shape `(n_H, n_W, n_C)`:

    J_content(C, G)  = 1 / (4 n_H n_W n_C) * sum_ijk (a[l](C)_ijk - a[l](G)_ijk)^2
    J_style[l](S, G) = 1 / (2 n_H n_W n_C)^2 * sum_kk' (G[l](S)_kk' - G[l](G)_kk')^2
    J_style(S, G)    = sum_l lambda[l] * J_style[l](S, G)
    J(G)             = alpha * J_content(C, G) + beta * J_style(S, G)

where `G[l]` is the style (Gram) matrix of `kerasdl.layers.GramMatrix`. The lecture
writes the content cost as `1/2 ||a[l](C) - a[l](G)||^2`; the course's programming
exercise (and this module) normalise it by `4 n_H n_W n_C` instead, which changes it by
a constant factor only, absorbed by `alpha`. Every function returns one cost per image
of the batch, as Keras loss functions do.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import ops

from kerasdl.layers.style import gram_matrix

ALPHA = 10.0
BETA = 40.0


def _check_activations(name_a: str, a, name_b: str, b):
    """Both as tensors, raising unless both are `(batch, n_H, n_W, n_C)` of one shape
    (a batch of 1 in `a` stands for every image of `b`)."""
    a = ops.convert_to_tensor(a)
    b = ops.convert_to_tensor(b)
    for name, x in ((name_a, a), (name_b, b)):
        if len(x.shape) != 4:
            raise ValueError(
                f"`{name}` must have rank 4 with shape (batch, n_H, n_W, n_C). "
                f"Received: {name}.shape={tuple(x.shape)}"
            )
    if tuple(a.shape[1:]) != tuple(b.shape[1:]) or a.shape[0] not in (1, None, b.shape[0]):
        raise ValueError(
            f"`{name_a}` and `{name_b}` must come from the same layer on images of the same "
            f"size: the same shape (batch, n_H, n_W, n_C), or a batch of 1 in `{name_a}`. "
            f"Received: {name_a}.shape={tuple(a.shape)}, {name_b}.shape={tuple(b.shape)}"
        )
    if a.dtype != b.dtype:
        a = ops.cast(a, b.dtype)
    return a, b


def content_cost(a_C, a_G):
    """`J_content = 1/(4 n_H n_W n_C) * sum (a[l](C) - a[l](G))^2`, one per image.

    Args:
        a_C: activations `(batch, n_H, n_W, n_C)` of the content image (a batch of 1
            is compared with every generated image).
        a_G: activations of the generated image(s), same shape.

    Returns:
        Tensor `(batch,)`.

    Example:

    >>> import numpy as np
    >>> a_C = np.ones((1, 2, 2, 3), "float32")
    >>> float(content_cost(a_C, np.zeros_like(a_C))[0])  # 12 / (4 * 12)
    0.25
    """
    a_C, a_G = _check_activations("a_C", a_C, "a_G", a_G)
    _, n_H, n_W, n_C = a_G.shape
    squared = ops.sum(ops.square(a_C - a_G), axis=(1, 2, 3))
    return squared / ops.cast(4 * n_H * n_W * n_C, squared.dtype)


def layer_style_cost(a_S, a_G):
    """`J_style[l] = 1/(2 n_H n_W n_C)^2 * sum_kk' (G[l](S) - G[l](G))^2`, one per image.

    Args:
        a_S: activations `(batch, n_H, n_W, n_C)` of layer `l` on the style image (a
            batch of 1 is compared with every generated image).
        a_G: activations of layer `l` on the generated image(s), same shape.

    Returns:
        Tensor `(batch,)`.

    Example:

    >>> import numpy as np
    >>> a_S = np.ones((1, 2, 2, 1), "float32")  # G(S) = [[4]]
    >>> float(layer_style_cost(a_S, np.zeros_like(a_S))[0])  # 4^2 / (2 * 4)^2
    0.25
    """
    a_S, a_G = _check_activations("a_S", a_S, "a_G", a_G)
    return _layer_style_cost_from_gram(gram_matrix(a_S, "elements"), a_G)


def _layer_style_cost_from_gram(gram_S, a_G):
    """J_style[l] from the style image's `gram_matrix(a_S, "elements")`.

    Dividing each Gram matrix by `2 n_H n_W n_C` before the difference is squared gives
    the notes' `1/(2 n_H n_W n_C)^2` normalisation while keeping the squares small: raw
    Gram sums of VGG activations reach 1e8 and their squares would overflow float16.
    """
    difference = (gram_S - gram_matrix(a_G, "elements")) / 2
    return ops.sum(ops.square(difference), axis=(1, 2))


def _check_layer_weights(layer_weights, count: int) -> list[float]:
    if layer_weights is None:
        return [1.0 / count] * count
    if isinstance(layer_weights, str) or not isinstance(layer_weights, Sequence):
        raise TypeError(
            "`layer_weights` must be a sequence of numbers lambda[l], one per style layer. "
            f"Received: layer_weights={layer_weights!r}"
        )
    weights = list(layer_weights)
    if len(weights) != count:
        raise ValueError(
            f"`layer_weights` must have one weight per style layer ({count}). "
            f"Received: layer_weights={layer_weights!r} with {len(weights)} entries"
        )
    for w in weights:
        if isinstance(w, bool) or not isinstance(w, int | float) or not w >= 0:
            raise ValueError(
                f"`layer_weights` must be numbers >= 0. Received: layer_weights={layer_weights!r}"
            )
    return [float(w) for w in weights]


def style_cost(style_activations, generated_activations, layer_weights=None):
    """`J_style = sum_l lambda[l] * J_style[l]` over the chosen layers, one per image.

    Args:
        style_activations: list of the style image's activations, one tensor
            `(batch, n_H, n_W, n_C)` per layer `l`.
        generated_activations: list of the generated image's activations, the same
            layers in the same order.
        layer_weights: the weights `lambda[l]`, one per layer; by default `1 / L` each
            (the course exercise's 0.2 for five layers).

    Returns:
        Tensor `(batch,)`.

    Example:

    >>> import numpy as np
    >>> a_S = [np.ones((1, 2, 2, 1), "float32"), np.ones((1, 1, 1, 2), "float32")]
    >>> a_G = [np.zeros_like(a) for a in a_S]
    >>> float(style_cost(a_S, a_G, layer_weights=[1.0, 2.0])[0])  # 0.25 + 2 * 4 / 16
    0.75
    """
    if not isinstance(style_activations, Sequence) or not isinstance(
        generated_activations, Sequence
    ):
        raise TypeError(
            "`style_activations` and `generated_activations` must be lists of activations, "
            "one per style layer. Received: "
            f"{type(style_activations).__name__} and {type(generated_activations).__name__}"
        )
    if len(style_activations) != len(generated_activations) or not style_activations:
        raise ValueError(
            "`style_activations` and `generated_activations` must hold the same layers (at "
            f"least one). Received: {len(style_activations)} and "
            f"{len(generated_activations)} layers"
        )
    weights = _check_layer_weights(layer_weights, len(style_activations))
    total = 0.0
    for weight, a_S, a_G in zip(weights, style_activations, generated_activations, strict=True):
        total = total + weight * layer_style_cost(a_S, a_G)
    return total


def total_cost(J_content, J_style, alpha: float = ALPHA, beta: float = BETA):
    """`J(G) = alpha * J_content(C, G) + beta * J_style(S, G)`.

    Args:
        J_content: content cost(s), e.g. from `content_cost`.
        J_style: style cost(s), e.g. from `style_cost`.
        alpha: weight of the content cost (10 as in the course exercise).
        beta: weight of the style cost (40 as in the course exercise).

    Example:

    >>> float(total_cost(0.5, 0.25))
    15.0
    """
    return alpha * ops.convert_to_tensor(J_content) + beta * ops.convert_to_tensor(J_style)


@keras.saving.register_keras_serializable(package="kerasdl")
class ContentCost(keras.losses.Loss):
    """`J_content` as a Keras loss: `y_true` = `a[l](C)`, `y_pred` = `a[l](G)`.

    Per image: `J_content = 1/(4 n_H n_W n_C) * sum_ijk (a[l](C)_ijk - a[l](G)_ijk)^2`
    (see `content_cost`). Use it on a model's feature output, with the content image's
    features as targets; weight it against `StyleCost` with `loss_weights` (`alpha`,
    `beta * lambda[l]`).

    Args:
        reduction: Keras loss reduction over the per-image costs.
        name: name of the loss.
        dtype: dtype of the computation (float32 by default).

    Call arguments:
        y_true: `a[l](C)`, activations `(batch, n_H, n_W, n_C)`.
        y_pred: `a[l](G)`, activations of the same shape.

    Example:

    >>> import numpy as np
    >>> a_C = np.ones((2, 2, 2, 3), "float32")
    >>> float(ContentCost()(a_C, np.zeros_like(a_C)))
    0.25
    """

    def __init__(self, reduction="sum_over_batch_size", name="content_cost", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return content_cost(y_true, y_pred)

    def get_config(self):
        return {**super().get_config(), "dtype": self.dtype}


@keras.saving.register_keras_serializable(package="kerasdl")
class StyleCost(keras.losses.Loss):
    """One layer's `J_style[l]` as a Keras loss: `y_true` = `a[l](S)`, `y_pred` = `a[l](G)`.

    Per image: `J_style[l] = 1/(2 n_H n_W n_C)^2 * sum_kk' (G[l](S)_kk' - G[l](G)_kk')^2`
    with `G[l]` the Gram matrix of `kerasdl.layers.GramMatrix` (see `layer_style_cost`).
    For the notes' `J_style = sum_l lambda[l] J_style[l]`, give each style layer's output
    a `StyleCost` and `loss_weights=[..., beta * lambda[l], ...]` in `model.compile`.

    Args:
        reduction: Keras loss reduction over the per-image costs.
        name: name of the loss.
        dtype: dtype of the computation (float32 by default: raw Gram sums are large).

    Call arguments:
        y_true: `a[l](S)`, activations `(batch, n_H, n_W, n_C)`.
        y_pred: `a[l](G)`, activations of the same shape.

    Example:

    >>> import numpy as np
    >>> a_S = np.ones((2, 2, 2, 1), "float32")
    >>> float(StyleCost()(a_S, np.zeros_like(a_S)))
    0.25
    """

    def __init__(self, reduction="sum_over_batch_size", name="style_cost", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return layer_style_cost(y_true, y_pred)

    def get_config(self):
        return {**super().get_config(), "dtype": self.dtype}
