"""Keras losses: every one registered, serializable and usable in `model.fit`."""

from kerasdl.losses.localization import LocalizationLoss
from kerasdl.losses.multitask import MaskedMultiLabelLoss
from kerasdl.losses.triplet import (
    TripletBatchAllLoss,
    TripletHardLoss,
    TripletLoss,
    TripletSemiHardLoss,
)
from kerasdl.losses.triplet_per_anchor import TripletPerAnchorSemiHardLoss
from kerasdl.losses.yolo import YoloLoss

__all__ = [
    "LocalizationLoss",
    "MaskedMultiLabelLoss",
    "TripletBatchAllLoss",
    "TripletHardLoss",
    "TripletLoss",
    "TripletPerAnchorSemiHardLoss",
    "TripletSemiHardLoss",
    "YoloLoss",
]
