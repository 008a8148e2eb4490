"""Convolution and batch-norm sublayers shared by the convolutional blocks."""

from __future__ import annotations

from keras import layers


class ConvNormMixin:
    """`_conv` and `_norm` for a layer that holds `use_batch_norm`, `batch_norm_momentum`,
    `kernel_initializer` and `kernel_regularizer`.

    Convolutions pad "same" and drop their bias when a batch norm follows, since its
    `beta` would cancel it; `_norm` gives None without batch norm.
    """

    def _conv(self, filters, kernel_size, name, strides=1):
        return layers.Conv2D(
            filters,
            kernel_size,
            strides=strides,
            padding="same",
            use_bias=not self.use_batch_norm,
            kernel_initializer=self.kernel_initializer,
            kernel_regularizer=self.kernel_regularizer,
            dtype=self.dtype_policy,
            name=name,
        )

    def _norm(self, name):
        if not self.use_batch_norm:
            return None
        return layers.BatchNormalization(
            momentum=self.batch_norm_momentum, dtype=self.dtype_policy, name=name
        )
