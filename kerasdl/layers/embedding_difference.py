"""The elementwise difference of two encodings that a siamese verification head reads."""

from __future__ import annotations

import keras
from keras import layers, ops

from kerasdl._validation import check_greater, check_one_of

FORMS = ("absolute", "chi-square")


@keras.saving.register_keras_serializable(package="kerasdl")
class EmbeddingDifference(layers.Layer):
    """Elementwise difference of a pair of encodings `f(x_i)`, `f(x_j)`.

    The notes' face verification as binary classification feeds the siamese network's
    two encodings to a logistic unit through, for each component `k`,

        absolute:    |f(x_i)_k - f(x_j)_k|
        chi-square:  (f(x_i)_k - f(x_j)_k)^2 / (|f(x_i)_k| + |f(x_j)_k| + epsilon)

    so that `y_hat = sigmoid(sum_k w_k * difference_k + b)` (a `Dense(1, "sigmoid")` on
    this layer's output). The chi-square form (DeepFace) divides by `f(x_i)_k + f(x_j)_k`
    for non-negative encodings; the absolute values keep the denominator positive for
    encodings of either sign, and `epsilon` keeps it away from 0. Both forms are
    symmetric in the pair.

    Args:
        form: "absolute" (default) or "chi-square".
        epsilon: `> 0`, added to the chi-square denominator (default 1e-7).
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: a list `[f(x_i), f(x_j)]` of two `[B, D]` tensors, or one `[B, 2, D]`
            tensor with the pair stacked on axis 1.

    Input shape:
        two `(batch, D)` tensors, or one `(batch, 2, D)` tensor.

    Output shape:
        `(batch, D)`.

    Example:

    >>> import numpy as np
    >>> a = np.array([[0.6, 0.8, 0.0]], "float32")
    >>> b = np.array([[0.0, 0.8, 0.6]], "float32")
    >>> np.round(EmbeddingDifference()([a, b]).numpy(), 4)
    array([[0.6, 0. , 0.6]], dtype=float32)
    >>> np.round(EmbeddingDifference("chi-square")([a, b]).numpy(), 4)
    array([[0.6, 0. , 0.6]], dtype=float32)
    >>> np.round(EmbeddingDifference()(np.stack([a, 2 * b], axis=1)).numpy(), 4)
    array([[0.6, 0.8, 1.2]], dtype=float32)

    Reference:
        Taigman et al., "DeepFace: Closing the Gap to Human-Level Performance in Face
        Verification", CVPR 2014.
    """

    def __init__(self, form="absolute", epsilon=1e-7, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(form, str):
            raise TypeError(f"`form` must be one of {FORMS}. Received: form={form!r}")
        self.form = check_one_of("form", form, FORMS)
        self.epsilon = check_greater("epsilon", epsilon, 0.0)

    def _pair_shapes(self, input_shape):
        if (
            isinstance(input_shape, list | tuple)
            and input_shape
            and not isinstance(input_shape[0], int | type(None))
        ):
            shapes = [tuple(s) for s in input_shape]
            if len(shapes) != 2 or any(len(s) != 2 for s in shapes):
                raise ValueError(
                    "`inputs` must be a list of two [B, D] tensors or one [B, 2, D] tensor. "
                    f"Received: inputs shapes={shapes}"
                )
            if shapes[0][1] != shapes[1][1]:
                raise ValueError(
                    "`inputs` must be two encodings of the same size D. "
                    f"Received: inputs shapes={shapes}"
                )
            return shapes[0]
        shape = tuple(input_shape)
        if len(shape) != 3 or shape[1] != 2:
            raise ValueError(
                "`inputs` must be a list of two [B, D] tensors or one [B, 2, D] tensor. "
                f"Received: inputs.shape={shape}"
            )
        return (shape[0], shape[2])

    def build(self, input_shape):
        self._pair_shapes(input_shape)

    def call(self, inputs):
        if isinstance(inputs, list | tuple):
            first, second = inputs
        else:
            first, second = inputs[:, 0], inputs[:, 1]
        difference = first - second
        if self.form == "absolute":
            return ops.abs(difference)
        return ops.square(difference) / (ops.abs(first) + ops.abs(second) + self.epsilon)

    def compute_output_shape(self, input_shape):
        return self._pair_shapes(input_shape)

    def get_config(self):
        return {**super().get_config(), "form": self.form, "epsilon": self.epsilon}
