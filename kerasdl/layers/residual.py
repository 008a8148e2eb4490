"""Residual blocks: the two-layer block of the notes."""

from __future__ import annotations

import keras
from keras import layers

from kerasdl._validation import check_in_range, check_int_tuple, check_positive_int, check_rank
from kerasdl.layers._conv_norm import ConvNormMixin
from kerasdl.ops.conv_arithmetic import conv_output_size


@keras.saving.register_keras_serializable(package="kerasdl")
class ResidualBlock(ConvNormMixin, layers.Layer):
    """The two-layer residual block, with a projection shortcut when shapes differ.

    With `g` the activation and `BN` batch normalisation (when enabled):

        z[l+1] = BN(W[l+1] * a[l])          a[l+1] = g(z[l+1])
        z[l+2] = BN(W[l+2] * a[l+1])        a[l+2] = g(z[l+2] + s(a[l]))

    where `*` is a convolution and the shortcut `s` is the identity when `a[l]` already
    has `filters` channels and `strides == 1`, and a 1x1 convolution (+ BN) with the
    block's stride otherwise, so that `z[l+2] + s(a[l])` is defined.

    Args:
        filters: int, number of channels of both convolutions and of the output.
        kernel_size: int or tuple of 2 ints, size of both convolution windows.
        strides: int or tuple of 2 ints, stride of the first convolution (and of the
            projection shortcut). `2` halves the height and width.
        use_batch_norm: bool, batch normalisation after each convolution.
        batch_norm_momentum: float in [0, 1), momentum of the moving statistics used at
            inference. Lower it (e.g. 0.9) when training takes few steps, or the moving
            statistics still reflect their initial values when training ends.
        activation: the activation `g`, a name or a callable.
        kernel_initializer: initializer of every convolution kernel.
        kernel_regularizer: optional regularizer of every convolution kernel.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float tensor `(batch, height, width, channels)`.
        training: bool, batch normalisation uses batch statistics when True.

    Input shape:
        4D tensor `(batch, height, width, channels)` (channels last).

    Output shape:
        4D tensor `(batch, ceil(height / s), ceil(width / s), filters)`.

    Example:

    >>> import numpy as np
    >>> block = ResidualBlock(filters=8, strides=2)
    >>> tuple(block(np.zeros((2, 16, 16, 3), "float32")).shape)
    (2, 8, 8, 8)

    Reference:
        He et al., "Deep Residual Learning for Image Recognition", CVPR 2016.
    """

    def __init__(
        self,
        filters,
        kernel_size=3,
        strides=1,
        use_batch_norm=True,
        batch_norm_momentum=0.99,
        activation="relu",
        kernel_initializer="he_normal",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        self.kernel_size = check_int_tuple("kernel_size", kernel_size, 2)
        self.strides = check_int_tuple("strides", strides, 2)
        self.use_batch_norm = bool(use_batch_norm)
        self.batch_norm_momentum = check_in_range("batch_norm_momentum", batch_norm_momentum, 0, 1)
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, input_shape):
        check_rank("inputs", input_shape, 4, "(batch, height, width, channels)")
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                "`inputs` must have a known channel dimension. "
                f"Received: inputs.shape={tuple(input_shape)}"
            )
        self.conv1 = self._conv(self.filters, self.kernel_size, "conv1", strides=self.strides)
        self.norm1 = self._norm("bn1")
        self.conv2 = self._conv(self.filters, self.kernel_size, "conv2")
        self.norm2 = self._norm("bn2")
        self.conv1.build(input_shape)
        mid_shape = self.conv1.compute_output_shape(input_shape)
        if self.norm1 is not None:
            self.norm1.build(mid_shape)
        self.conv2.build(mid_shape)
        if self.norm2 is not None:
            self.norm2.build(mid_shape)
        self.project = channels != self.filters or self.strides != (1, 1)
        if self.project:
            self.shortcut_conv = self._conv(self.filters, 1, "shortcut_conv", strides=self.strides)
            self.shortcut_conv.build(input_shape)
            self.shortcut_norm = self._norm("shortcut_bn")
            if self.shortcut_norm is not None:
                self.shortcut_norm.build(mid_shape)
        self.built = True

    def call(self, inputs, training=None):
        x = self.conv1(inputs)
        if self.norm1 is not None:
            x = self.norm1(x, training=training)
        x = self.activation(x)
        x = self.conv2(x)
        if self.norm2 is not None:
            x = self.norm2(x, training=training)
        shortcut = inputs
        if self.project:
            shortcut = self.shortcut_conv(inputs)
            if self.shortcut_norm is not None:
                shortcut = self.shortcut_norm(shortcut, training=training)
        return self.activation(x + shortcut)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        return (
            batch,
            None if height is None else conv_output_size(height, 1, "same", self.strides[0]),
            None if width is None else conv_output_size(width, 1, "same", self.strides[1]),
            self.filters,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "use_batch_norm": self.use_batch_norm,
            "batch_norm_momentum": self.batch_norm_momentum,
            "activation": keras.activations.serialize(self.activation),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        }
