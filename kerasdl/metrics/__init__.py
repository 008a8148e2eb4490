"""Keras metrics: every one registered and serializable, streaming in the graph."""

from kerasdl.metrics.bleu import BLEU, BLEUScore, corpus_bleu, sentence_bleu
from kerasdl.metrics.detection import MeanAveragePrecision
from kerasdl.metrics.weighted_error import WeightedError

__all__ = [
    "BLEU",
    "BLEUScore",
    "MeanAveragePrecision",
    "WeightedError",
    "corpus_bleu",
    "sentence_bleu",
]
