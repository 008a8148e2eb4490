"""Keras layers: every one registered, serializable and exportable."""

from kerasdl.layers.attention import BahdanauAttention, ContextAttention, LuongAttention
from kerasdl.layers.audio import Spectrogram
from kerasdl.layers.augmentation import PCAColorAugmentation, RandomColorShift
from kerasdl.layers.bottleneck import ConvBlock, IdentityBlock
from kerasdl.layers.detection import YoloDecoder
from kerasdl.layers.embedding_difference import EmbeddingDifference
from kerasdl.layers.inception import InceptionModule
from kerasdl.layers.recurrent import PeepholeLSTM, PeepholeLSTMCell
from kerasdl.layers.residual import ResidualBlock
from kerasdl.layers.style import GramMatrix

__all__ = [
    "BahdanauAttention",
    "ContextAttention",
    "ConvBlock",
    "EmbeddingDifference",
    "GramMatrix",
    "IdentityBlock",
    "InceptionModule",
    "LuongAttention",
    "PCAColorAugmentation",
    "PeepholeLSTM",
    "PeepholeLSTMCell",
    "RandomColorShift",
    "ResidualBlock",
    "Spectrogram",
    "YoloDecoder",
]
