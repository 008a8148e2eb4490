"""Keras layers: every one registered, serializable and exportable."""

from kerasdl.layers.augmentation import PCAColorAugmentation, RandomColorShift
from kerasdl.layers.bottleneck import ConvBlock, IdentityBlock
from kerasdl.layers.detection import YoloDecoder
from kerasdl.layers.inception import InceptionModule
from kerasdl.layers.residual import ResidualBlock

__all__ = [
    "ConvBlock",
    "IdentityBlock",
    "InceptionModule",
    "PCAColorAugmentation",
    "RandomColorShift",
    "ResidualBlock",
    "YoloDecoder",
]
