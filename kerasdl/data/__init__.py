"""Data sets and tf.data pipelines that need no network."""

from kerasdl.data.detection import decode_yolo_targets, encode_yolo_targets, localization_target
from kerasdl.data.digits import load_digits_images
from kerasdl.data.shapes import shapes_dataset, shapes_tf_dataset
from kerasdl.data.skipgrams import (
    alias_table,
    cbow_dataset,
    keep_probabilities,
    sample_negatives,
    sampling_distribution,
    skipgram_dataset,
    window_pairs,
)
from kerasdl.data.word_vectors import embedding_layer, load_word_vectors

__all__ = [
    "alias_table",
    "cbow_dataset",
    "decode_yolo_targets",
    "embedding_layer",
    "encode_yolo_targets",
    "keep_probabilities",
    "load_digits_images",
    "load_word_vectors",
    "localization_target",
    "sample_negatives",
    "sampling_distribution",
    "shapes_dataset",
    "shapes_tf_dataset",
    "skipgram_dataset",
    "window_pairs",
]
