"""Keras metrics: every one registered and serializable, streaming in the graph."""

from kerasdl.metrics.detection import MeanAveragePrecision
from kerasdl.metrics.weighted_error import WeightedError

__all__ = [
    "MeanAveragePrecision",
    "WeightedError",
]
