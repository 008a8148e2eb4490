"""The style (Gram) matrix of neural style transfer."""

from __future__ import annotations

import keras
from keras import layers, ops

from kerasdl._validation import check_one_of, check_rank

GRAM_NORMALIZATIONS = (None, "spatial", "elements")


@keras.saving.register_keras_serializable(package="kerasdl")
class GramMatrix(layers.Layer):
    """The style matrix `G[l]` of a layer's activations `a[l]`: channel correlations.

    For activations `a[l]` of shape `(n_H, n_W, n_C)` (one image of the batch):

        G[l]_kk' = sum_i sum_j a[l]_ijk * a[l]_ijk'        (k, k' = 1..n_C)

    that is `G = A A^T` where `A` is `a[l]` unrolled to `(n_C, n_H * n_W)`. `G_kk'` is
    large when channels `k` and `k'` fire together at the same positions: which
    features (a texture, a tint) occur, and occur together, anywhere in the image.

    `normalization=None` (the notes' definition) returns the raw sums above;
    `kerasdl.losses.style_cost` then divides by `(2 n_H n_W n_C)^2`. `"spatial"` divides
    `G` by `n_H * n_W` (the channels' mean products over positions, independent of image
    size) and `"elements"` by `n_H * n_W * n_C` (as PyTorch's style-transfer tutorial).

    Args:
        normalization: `None` (raw sums), `"spatial"` or `"elements"`, as above.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float tensor `(batch, n_H, n_W, n_C)`, a layer's activations.

    Input shape:
        4D tensor `(batch, n_H, n_W, n_C)` (channels last).

    Output shape:
        3D tensor `(batch, n_C, n_C)`, symmetric in its last two axes.

    Example:

    >>> import numpy as np
    >>> a = np.arange(8, dtype="float32").reshape(1, 2, 2, 2)
    >>> GramMatrix()(a)[0].numpy().tolist()
    [[56.0, 68.0], [68.0, 84.0]]
    >>> GramMatrix(normalization="spatial")(a)[0].numpy().tolist()
    [[14.0, 17.0], [17.0, 21.0]]

    Reference:
        Gatys et al., "A Neural Algorithm of Artistic Style", 2015, eq. 3.
    """

    def __init__(self, normalization=None, **kwargs):
        super().__init__(**kwargs)
        self.normalization = check_one_of("normalization", normalization, GRAM_NORMALIZATIONS)

    def build(self, input_shape):
        check_rank("inputs", input_shape, 4, "(batch, n_H, n_W, n_C)")
        if input_shape[-1] is None:
            raise ValueError(
                "`inputs` must have a known channel dimension n_C. "
                f"Received: inputs.shape={tuple(input_shape)}"
            )
        self.built = True

    def call(self, inputs):
        return gram_matrix(inputs, self.normalization)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "normalization": self.normalization}


def gram_matrix(activations, normalization: str | None = None):
    """`G = A A^T` per image of `activations` `(batch, n_H, n_W, n_C)`: see `GramMatrix`."""
    shape = ops.shape(activations)
    channels = shape[-1]
    unrolled = ops.reshape(activations, (shape[0], -1, channels))
    gram = ops.matmul(ops.transpose(unrolled, (0, 2, 1)), unrolled)
    if normalization is None:
        return gram
    size = ops.cast(shape[1] * shape[2], gram.dtype)
    if normalization == "elements":
        size = size * ops.cast(channels, gram.dtype)
    return gram / size
