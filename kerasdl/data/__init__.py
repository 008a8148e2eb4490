"""Data sets and tf.data pipelines that need no network."""

from kerasdl.data.audio import chime, overlay, read_wav, resample, trim_silence, write_wav
from kerasdl.data.candidate_sampling import (
    candidate_distribution,
    expected_counts,
    sample_candidates,
    sampled_softmax_dataset,
    sampled_softmax_targets,
)
from kerasdl.data.corpora import EncodedCorpus, encode_corpus, english_corpus, tokenize_english
from kerasdl.data.dates import date_pairs, date_vocabularies, format_date
from kerasdl.data.detection import decode_yolo_targets, encode_yolo_targets, localization_target
from kerasdl.data.digits import load_digits_images
from kerasdl.data.glove import (
    cooccurrence_matrix,
    cooccurrence_triples,
    glove_dataset,
    vocabulary_mask,
)
from kerasdl.data.huffman import HuffmanTree, hierarchical_softmax_dataset, huffman_tree
from kerasdl.data.identity_batches import (
    identity_batch_count,
    identity_batch_order,
    identity_batches,
)
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
from kerasdl.data.speech import (
    Voice,
    available_engines,
    default_cache_dir,
    espeak_variants,
    held_out_voices,
    list_voices,
    synthesize,
    synthesize_many,
    train_voices,
)
from kerasdl.data.trigger_word import (
    ClipBank,
    TriggerWordExamples,
    alsa_recordings,
    insert_clips,
    load_clip_bank,
    noise_background,
    speech_clip_bank,
    synthetic_clip_bank,
    trigger_word_dataset,
    trigger_word_labels,
)
from kerasdl.data.vocabulary import Vocabulary, seq2seq_arrays
from kerasdl.data.word_benchmarks import (
    evaluate_word_analogies,
    evaluate_word_pairs,
    gensim_test_data,
    read_analogies,
    read_word_pairs,
    word_benchmarks,
)
from kerasdl.data.word_vectors import embedding_layer, load_word_vectors

__all__ = [
    "ClipBank",
    "EncodedCorpus",
    "HuffmanTree",
    "TriggerWordExamples",
    "Vocabulary",
    "Voice",
    "alias_table",
    "alsa_recordings",
    "available_engines",
    "candidate_distribution",
    "cbow_dataset",
    "chime",
    "cooccurrence_matrix",
    "cooccurrence_triples",
    "date_pairs",
    "date_vocabularies",
    "decode_yolo_targets",
    "default_cache_dir",
    "embedding_layer",
    "encode_corpus",
    "encode_yolo_targets",
    "english_corpus",
    "espeak_variants",
    "evaluate_word_analogies",
    "evaluate_word_pairs",
    "expected_counts",
    "format_date",
    "gensim_test_data",
    "glove_dataset",
    "held_out_voices",
    "hierarchical_softmax_dataset",
    "huffman_tree",
    "identity_batch_count",
    "identity_batch_order",
    "identity_batches",
    "insert_clips",
    "keep_probabilities",
    "list_voices",
    "load_clip_bank",
    "load_digits_images",
    "load_word_vectors",
    "localization_target",
    "noise_background",
    "overlay",
    "read_analogies",
    "read_wav",
    "read_word_pairs",
    "resample",
    "sample_candidates",
    "sample_negatives",
    "sampled_softmax_dataset",
    "sampled_softmax_targets",
    "sampling_distribution",
    "seq2seq_arrays",
    "shapes_dataset",
    "shapes_tf_dataset",
    "skipgram_dataset",
    "speech_clip_bank",
    "synthesize",
    "synthesize_many",
    "synthetic_clip_bank",
    "tokenize_english",
    "train_voices",
    "trigger_word_dataset",
    "trigger_word_labels",
    "trim_silence",
    "vocabulary_mask",
    "window_pairs",
    "word_benchmarks",
    "write_wav",
]
