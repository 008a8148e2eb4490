"""Keras losses: every one registered, serializable and usable in `model.fit`."""

from kerasdl.losses.glove import GloVeLoss
from kerasdl.losses.hierarchical_softmax import HierarchicalSoftmaxLoss
from kerasdl.losses.localization import LocalizationLoss
from kerasdl.losses.multitask import MaskedMultiLabelLoss
from kerasdl.losses.sampled_softmax import SampledSoftmaxLoss
from kerasdl.losses.sampling import NegativeSamplingLoss
from kerasdl.losses.style import (
    ContentCost,
    StyleCost,
    content_cost,
    layer_style_cost,
    style_cost,
    total_cost,
)
from kerasdl.losses.trigger_word import TriggerWordLoss
from kerasdl.losses.triplet import (
    TripletBatchAllLoss,
    TripletHardLoss,
    TripletLoss,
    TripletSemiHardLoss,
)
from kerasdl.losses.triplet_per_anchor import TripletPerAnchorSemiHardLoss
from kerasdl.losses.yolo import YoloLoss

__all__ = [
    "ContentCost",
    "GloVeLoss",
    "HierarchicalSoftmaxLoss",
    "LocalizationLoss",
    "MaskedMultiLabelLoss",
    "NegativeSamplingLoss",
    "SampledSoftmaxLoss",
    "StyleCost",
    "TriggerWordLoss",
    "TripletBatchAllLoss",
    "TripletHardLoss",
    "TripletLoss",
    "TripletPerAnchorSemiHardLoss",
    "TripletSemiHardLoss",
    "YoloLoss",
    "content_cost",
    "layer_style_cost",
    "style_cost",
    "total_cost",
]
