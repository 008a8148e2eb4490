"""The bottleneck blocks of ResNet-50: `IdentityBlock` and `ConvBlock`."""

from __future__ import annotations

import keras
from keras import layers

from kerasdl._validation import check_greater, check_in_range, check_int_tuple, check_rank
from kerasdl.ops.conv_arithmetic import conv_output_size


class _Bottleneck(layers.Layer):
    """1x1 -> kxk -> 1x1 convolutions with batch norm, added to a shortcut.

    Sub-layers are created in the order keras.applications.ResNet50 lists its weights,
    so `set_weights(keras.applications.ResNet50(...).get_weights())` lines up.
    """

    projection = False

    def __init__(
        self,
        kernel_size,
        filters,
        strides=1,
        batch_norm_momentum=0.99,
        batch_norm_epsilon=1.001e-5,
        kernel_initializer="glorot_uniform",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.kernel_size = check_int_tuple("kernel_size", kernel_size, 2)
        self.filters = check_int_tuple("filters", filters, 3)
        self.strides = check_int_tuple("strides", strides, 2)
        self.batch_norm_momentum = check_in_range("batch_norm_momentum", batch_norm_momentum, 0, 1)
        self.batch_norm_epsilon = check_greater("batch_norm_epsilon", batch_norm_epsilon, 0)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def _conv(self, filters, kernel_size, strides, name):
        return layers.Conv2D(
            filters,
            kernel_size,
            strides=strides,
            padding="same",
            kernel_initializer=self.kernel_initializer,
            kernel_regularizer=self.kernel_regularizer,
            dtype=self.dtype_policy,
            name=name,
        )

    def _norm(self, name):
        return layers.BatchNormalization(
            momentum=self.batch_norm_momentum,
            epsilon=self.batch_norm_epsilon,
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, input_shape):
        check_rank("inputs", input_shape, 4, "(batch, height, width, channels)")
        channels = input_shape[-1]
        f1, f2, f3 = self.filters
        if not self.projection and channels != f3:
            raise ValueError(
                f"`inputs` of an {type(self).__name__} must have filters[2]={f3} channels, so "
                "the shortcut can be added; use ConvBlock to change the channel count. "
                f"Received: inputs.shape={tuple(input_shape)}"
            )
        # Attribute order fixes the weight order; see the class docstring.
        self.conv1 = self._conv(f1, 1, self.strides, "conv1")
        self.bn1 = self._norm("bn1")
        self.conv2 = self._conv(f2, self.kernel_size, 1, "conv2")
        self.bn2 = self._norm("bn2")
        if self.projection:
            self.shortcut_conv = self._conv(f3, 1, self.strides, "shortcut_conv")
        self.conv3 = self._conv(f3, 1, 1, "conv3")
        if self.projection:
            self.shortcut_bn = self._norm("shortcut_bn")
        self.bn3 = self._norm("bn3")

        shape1 = self.conv1.compute_output_shape(input_shape)
        self.conv1.build(input_shape)
        self.bn1.build(shape1)
        self.conv2.build(shape1)
        self.bn2.build(shape1)
        shape3 = (*shape1[:-1], f3)
        if self.projection:
            self.shortcut_conv.build(input_shape)
        self.conv3.build((*shape1[:-1], f2))
        if self.projection:
            self.shortcut_bn.build(shape3)
        self.bn3.build(shape3)
        self.built = True

    def call(self, inputs, training=None):
        x = keras.ops.relu(self.bn1(self.conv1(inputs), training=training))
        x = keras.ops.relu(self.bn2(self.conv2(x), training=training))
        x = self.bn3(self.conv3(x), training=training)
        shortcut = inputs
        if self.projection:
            shortcut = self.shortcut_bn(self.shortcut_conv(inputs), training=training)
        return keras.ops.relu(x + shortcut)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        return (
            batch,
            None if height is None else conv_output_size(height, 1, "same", self.strides[0]),
            None if width is None else conv_output_size(width, 1, "same", self.strides[1]),
            self.filters[2],
        )

    def get_config(self):
        return {
            **super().get_config(),
            "kernel_size": self.kernel_size,
            "filters": self.filters,
            "strides": self.strides,
            "batch_norm_momentum": self.batch_norm_momentum,
            "batch_norm_epsilon": self.batch_norm_epsilon,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        }


@keras.saving.register_keras_serializable(package="kerasdl")
class IdentityBlock(_Bottleneck):
    """ResNet-50's identity block: three convolutions added to the unchanged input.

    With `g` = ReLU, `BN` batch normalisation and `*` convolution:

        a1 = g(BN(W1 * a[l]))              1x1, filters[0]
        a2 = g(BN(W2 * a1))                kernel_size, filters[1], "same"
        a[l+3] = g(BN(W3 * a2) + a[l])     1x1, filters[2]

    The input must already have `filters[2]` channels (the shortcut is the identity);
    use `ConvBlock` where the shape changes. Convolutions have biases and batch
    norm uses epsilon 1.001e-5, as keras.applications.ResNet50 does, so its ImageNet
    weights load into `kerasdl.models.resnet50`.

    Args:
        kernel_size: int or pair, the middle convolution's window (3 in ResNet-50).
        filters: `(f1, f2, f3)` channels of the three convolutions.
        strides: must stay 1 (an identity shortcut cannot change the size); kept so the
            two blocks share one signature.
        batch_norm_momentum: float in [0, 1), momentum of the moving statistics.
        batch_norm_epsilon: float > 0 added to the variance.
        kernel_initializer: initializer of every convolution kernel.
        kernel_regularizer: optional regularizer of every convolution kernel.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `(batch, height, width, filters[2])` float tensor.
        training: bool, batch statistics when True.

    Input shape:
        4D `(batch, height, width, filters[2])`.

    Output shape:
        4D `(batch, height, width, filters[2])`.

    Example:

    >>> import numpy as np
    >>> block = IdentityBlock(3, filters=(4, 4, 16))
    >>> tuple(block(np.zeros((1, 8, 8, 16), "float32")).shape)
    (1, 8, 8, 16)

    Reference:
        He et al., "Deep Residual Learning for Image Recognition", CVPR 2016, Fig. 5.
    """

    def __init__(self, kernel_size, filters, strides=1, **kwargs):
        super().__init__(kernel_size, filters, strides=strides, **kwargs)
        if self.strides != (1, 1):
            raise ValueError(
                "`strides` of an IdentityBlock must be 1: the identity shortcut keeps the "
                f"input's size; use ConvBlock to downsample. Received: strides={strides}"
            )


@keras.saving.register_keras_serializable(package="kerasdl")
class ConvBlock(_Bottleneck):
    """ResNet-50's convolutional block: the identity block with a projected shortcut.

    The main path is the `IdentityBlock`'s, with `strides` in its first 1x1
    convolution; the shortcut is a 1x1 convolution to `filters[2]` channels with the
    same `strides`, followed by batch norm, so the addition is defined when the height,
    width or channel count changes:

        a[l+3] = g(BN(W3 * a2) + BN(Ws * a[l]))

    Args:
        kernel_size: int or pair, the middle convolution's window (3 in ResNet-50).
        filters: `(f1, f2, f3)` channels of the three convolutions.
        strides: int or pair, stride of the first convolution and of the shortcut.
        batch_norm_momentum: float in [0, 1), momentum of the moving statistics.
        batch_norm_epsilon: float > 0 added to the variance.
        kernel_initializer: initializer of every convolution kernel.
        kernel_regularizer: optional regularizer of every convolution kernel.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: `(batch, height, width, channels)` float tensor.
        training: bool, batch statistics when True.

    Input shape:
        4D `(batch, height, width, channels)`.

    Output shape:
        4D `(batch, ceil(height / s), ceil(width / s), filters[2])`.

    Example:

    >>> import numpy as np
    >>> block = ConvBlock(3, filters=(4, 4, 16), strides=2)
    >>> tuple(block(np.zeros((1, 8, 8, 3), "float32")).shape)
    (1, 4, 4, 16)

    Reference:
        He et al., "Deep Residual Learning for Image Recognition", CVPR 2016, Fig. 5.
    """

    projection = True

    def __init__(self, kernel_size, filters, strides=2, **kwargs):
        super().__init__(kernel_size, filters, strides=strides, **kwargs)
