"""Model builders composed from kerasdl layers."""

from kerasdl.models.resnet import residual_cnn

__all__ = ["residual_cnn"]
