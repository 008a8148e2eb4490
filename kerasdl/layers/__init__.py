"""Keras layers: every one registered, serializable and exportable."""

from kerasdl.layers.residual import ResidualBlock

__all__ = ["ResidualBlock"]
