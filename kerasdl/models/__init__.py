"""Model builders composed from kerasdl layers."""

from kerasdl.models.resnet import residual_cnn, resnet50

__all__ = ["residual_cnn", "resnet50"]
