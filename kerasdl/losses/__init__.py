"""Keras losses: every one registered, serializable and usable in `model.fit`."""

from kerasdl.losses.localization import LocalizationLoss
from kerasdl.losses.yolo import YoloLoss

__all__ = ["LocalizationLoss", "YoloLoss"]
