"""Data sets and tf.data pipelines that need no network."""

from kerasdl.data.dates import date_pairs, date_vocabularies, format_date
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
from kerasdl.data.vocabulary import Vocabulary, seq2seq_arrays
from kerasdl.data.word_vectors import embedding_layer, load_word_vectors

__all__ = [
    "Vocabulary",
    "alias_table",
    "cbow_dataset",
    "date_pairs",
    "date_vocabularies",
    "decode_yolo_targets",
    "embedding_layer",
    "encode_yolo_targets",
    "format_date",
    "keep_probabilities",
    "load_digits_images",
    "load_word_vectors",
    "localization_target",
    "sample_negatives",
    "sampling_distribution",
    "seq2seq_arrays",
    "shapes_dataset",
    "shapes_tf_dataset",
    "skipgram_dataset",
    "window_pairs",
]
