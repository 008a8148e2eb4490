"""Keras callbacks: strategy diagnostics, satisficing checkpoints, gradient monitoring, BLEU."""

from kerasdl.callbacks.bleu import BLEUEvaluation
from kerasdl.callbacks.checkpoint import SatisficingCheckpoint
from kerasdl.callbacks.diagnostics import BiasVarianceMonitor
from kerasdl.callbacks.gradients import GradientNormMonitor, GradientWarning

__all__ = [
    "BLEUEvaluation",
    "BiasVarianceMonitor",
    "GradientNormMonitor",
    "GradientWarning",
    "SatisficingCheckpoint",
]
