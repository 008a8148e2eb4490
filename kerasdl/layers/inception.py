"""The Inception module of GoogLeNet: four parallel branches with 1x1 bottlenecks."""

from __future__ import annotations

import keras
from keras import layers

from kerasdl._validation import check_in_range, check_positive_int, check_rank
from kerasdl.layers._conv_norm import ConvNormMixin


def _check_pair(name, value):
    """Returns `value` as a (reduce, out) tuple of positive ints, else raises naming `name`."""
    ok = (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    )
    if not ok:
        raise ValueError(
            f"`{name}` must be a (reduce, out) pair of positive ints. Received: {name}={value!r}"
        )
    return tuple(value)


@keras.saving.register_keras_serializable(package="kerasdl")
class InceptionModule(ConvNormMixin, layers.Layer):
    """The Inception module with dimension reductions (GoogLeNet, Szegedy et al. 2015).

    Instead of choosing one filter size or a pooling layer, the module "does them all" and
    concatenates the results on the channel axis. 1x1 convolutions shrink the channels
    before the expensive 3x3 and 5x5 convolutions (the notes' "bottleneck layer") and
    after the max pooling. With `g` the activation (ReLU), `*k` a stride-1 "same"
    convolution with a `k x k` filter (weights `W`, bias `b`) and `[ ; ]` concatenation
    over channels:

        a1 = g(W1 *1 a + b1)
        a3 = g(W3 *3 g(W3r *1 a + b3r) + b3)
        a5 = g(W5 *5 g(W5r *1 a + b5r) + b5)
        ap = g(Wp *1 maxpool_3x3/1(a) + bp)
        output = [a1 ; a3 ; a5 ; ap]

    so the height and width are kept and the output has
    `filters_1x1 + out_3x3 + out_5x5 + filters_pool_proj` channels. With `n_C_prev` input
    channels the module has

        (n_C_prev + 1) * (filters_1x1 + reduce_3x3 + reduce_5x5 + filters_pool_proj)
        + (9 * reduce_3x3 + 1) * out_3x3 + (25 * reduce_5x5 + 1) * out_5x5

    parameters: Inception (3a), `InceptionModule(64, (96, 128), (16, 32), 32)` on
    28x28x192, has 163,696 and outputs 28x28x256. With `use_batch_norm=True` each
    convolution drops its bias and is followed by batch normalisation before `g`
    (`g(BN(W * a))`, as in the batch-normalised Inception), which adds 4 parameters
    (2 trainable) per channel of each convolution.

    Args:
        filters_1x1: int, filters of the 1x1 branch.
        filters_3x3: (reduce, out) pair of ints: filters of the 1x1 reduction and of the
            3x3 convolution after it.
        filters_5x5: (reduce, out) pair of ints: filters of the 1x1 reduction and of the
            5x5 convolution after it.
        filters_pool_proj: int, filters of the 1x1 projection after the 3x3 max pooling.
        use_batch_norm: bool, batch normalisation after each convolution (and no conv
            bias). The paper has none: False by default.
        batch_norm_momentum: float in [0, 1), momentum of the moving statistics.
        activation: the activation `g`, a name or a callable.
        kernel_initializer: initializer of every convolution kernel.
        kernel_regularizer: optional regularizer of every convolution kernel.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float tensor `(batch, height, width, channels)`.
        training: bool, batch normalisation (when enabled) uses batch statistics when
            True.

    Input shape:
        4D tensor `(batch, height, width, channels)` (channels last).

    Output shape:
        4D tensor `(batch, height, width, filters_1x1 + out_3x3 + out_5x5 +
        filters_pool_proj)`.

    Example:

    >>> import numpy as np
    >>> module = InceptionModule(64, (96, 128), (16, 32), 32, name="inception_3a")
    >>> tuple(module(np.zeros((1, 28, 28, 192), "float32")).shape)
    (1, 28, 28, 256)
    >>> module.count_params()
    163696

    Reference:
        Szegedy et al., "Going Deeper with Convolutions", CVPR 2015, figure 2(b) and
        table 1.
    """

    def __init__(
        self,
        filters_1x1,
        filters_3x3,
        filters_5x5,
        filters_pool_proj,
        use_batch_norm=False,
        batch_norm_momentum=0.99,
        activation="relu",
        kernel_initializer="glorot_uniform",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters_1x1 = check_positive_int("filters_1x1", filters_1x1)
        self.filters_3x3 = _check_pair("filters_3x3", filters_3x3)
        self.filters_5x5 = _check_pair("filters_5x5", filters_5x5)
        self.filters_pool_proj = check_positive_int("filters_pool_proj", filters_pool_proj)
        self.use_batch_norm = bool(use_batch_norm)
        self.batch_norm_momentum = check_in_range("batch_norm_momentum", batch_norm_momentum, 0, 1)
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    @property
    def output_channels(self) -> int:
        """Channels of the output: the sum of the four branches' channels."""
        return self.filters_1x1 + self.filters_3x3[1] + self.filters_5x5[1] + self.filters_pool_proj

    def build(self, input_shape):
        check_rank("inputs", input_shape, 4, "(batch, height, width, channels)")
        if input_shape[-1] is None:
            raise ValueError(
                "`inputs` must have a known channel dimension. "
                f"Received: inputs.shape={tuple(input_shape)}"
            )
        (reduce3, out3), (reduce5, out5) = self.filters_3x3, self.filters_5x5
        self.pool = layers.MaxPooling2D(
            3, strides=1, padding="same", dtype=self.dtype_policy, name="pool"
        )
        # Each branch is a chain of (filters, kernel size, name) convolutions. Sub-layers
        # become attributes named after the steps, in this order, which fixes the order
        # of get_weights().
        self._branches = (
            ("inputs", ((self.filters_1x1, 1, "branch1x1"),)),
            ("inputs", ((reduce3, 1, "branch3x3_reduce"), (out3, 3, "branch3x3"))),
            ("inputs", ((reduce5, 1, "branch5x5_reduce"), (out5, 5, "branch5x5"))),
            ("pool", ((self.filters_pool_proj, 1, "pool_proj"),)),
        )
        for source, steps in self._branches:
            shape = (
                input_shape if source == "inputs" else self.pool.compute_output_shape(input_shape)
            )
            for filters, kernel_size, name in steps:
                conv = self._conv(filters, kernel_size, name)
                conv.build(shape)
                shape = conv.compute_output_shape(shape)
                setattr(self, name, conv)
                norm = self._norm(f"{name}_bn")
                if norm is not None:
                    norm.build(shape)
                setattr(self, f"{name}_bn", norm)
        self.built = True

    def call(self, inputs, training=None):
        outputs = []
        for source, steps in self._branches:
            x = inputs if source == "inputs" else self.pool(inputs)
            for _, _, name in steps:
                x = getattr(self, name)(x)
                norm = getattr(self, f"{name}_bn")
                if norm is not None:
                    x = norm(x, training=training)
                x = self.activation(x)
            outputs.append(x)
        return keras.ops.concatenate(outputs, axis=-1)

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape)[:3], self.output_channels)

    def get_config(self):
        return {
            **super().get_config(),
            "filters_1x1": self.filters_1x1,
            "filters_3x3": self.filters_3x3,
            "filters_5x5": self.filters_5x5,
            "filters_pool_proj": self.filters_pool_proj,
            "use_batch_norm": self.use_batch_norm,
            "batch_norm_momentum": self.batch_norm_momentum,
            "activation": keras.activations.serialize(self.activation),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        }
