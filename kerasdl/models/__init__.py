"""Model builders composed from kerasdl layers."""

from kerasdl.models.inception import googlenet
from kerasdl.models.resnet import residual_cnn, resnet50
from kerasdl.models.sliding_window import fc_to_conv

__all__ = ["fc_to_conv", "googlenet", "residual_cnn", "resnet50"]
