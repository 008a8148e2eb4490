"""Keras metrics: every one registered and serializable, streaming in the graph."""

from kerasdl.metrics.detection import MeanAveragePrecision

__all__ = ["MeanAveragePrecision"]
