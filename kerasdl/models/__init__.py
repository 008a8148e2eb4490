"""Model builders composed from kerasdl layers."""

from kerasdl.models.char_lm import LanguageModelStep, char_lm
from kerasdl.models.facenet import (
    facenet_inception_resnet_v1,
    facenet_prewhiten,
    load_facenet_h5_weights,
)
from kerasdl.models.glove import glove, glove_vectors
from kerasdl.models.inception import googlenet
from kerasdl.models.openwakeword import openwakeword_head
from kerasdl.models.resnet import residual_cnn, resnet50
from kerasdl.models.sentiment import sentiment_average, sentiment_lstm
from kerasdl.models.seq2seq import AttentionDecoder, Seq2SeqInference, seq2seq_attention
from kerasdl.models.siamese import siamese_encoder, siamese_pair_classifier
from kerasdl.models.sliding_window import fc_to_conv
from kerasdl.models.speech_embedding import (
    FlooredLeakyReLU,
    SpeechEmbeddingMelSpectrogram,
    SpeechEmbeddingStreamer,
    load_speech_embedding_weights,
    speech_embedding,
    speech_embedding_head,
    speech_embedding_step_ends,
    speech_embedding_steps,
    speech_embedding_streaming,
)
from kerasdl.models.style_transfer import StyleTransfer
from kerasdl.models.transfer import (
    FeatureCache,
    cache_features,
    classifier_head,
    graft,
    load_backbone,
    transfer_classifier,
    unfreeze_top,
)
from kerasdl.models.trigger_word import (
    TriggerWordGeometry,
    TriggerWordStreamer,
    trigger_word,
    trigger_word_geometry,
    trigger_word_step_ends,
    trigger_word_streaming,
)
from kerasdl.models.tta import ensemble_predict, predict_ten_crop, ten_crop
from kerasdl.models.word2vec import word2vec, word_vectors
from kerasdl.models.word2vec_training import (
    Word2VecTraining,
    expected_examples_per_epoch,
    train_word2vec,
)
from kerasdl.models.yolo import yolo

__all__ = [
    "AttentionDecoder",
    "FeatureCache",
    "FlooredLeakyReLU",
    "LanguageModelStep",
    "Seq2SeqInference",
    "SpeechEmbeddingMelSpectrogram",
    "SpeechEmbeddingStreamer",
    "StyleTransfer",
    "TriggerWordGeometry",
    "TriggerWordStreamer",
    "Word2VecTraining",
    "cache_features",
    "char_lm",
    "classifier_head",
    "ensemble_predict",
    "expected_examples_per_epoch",
    "facenet_inception_resnet_v1",
    "facenet_prewhiten",
    "fc_to_conv",
    "glove",
    "glove_vectors",
    "googlenet",
    "graft",
    "load_backbone",
    "load_facenet_h5_weights",
    "load_speech_embedding_weights",
    "openwakeword_head",
    "predict_ten_crop",
    "residual_cnn",
    "resnet50",
    "sentiment_average",
    "sentiment_lstm",
    "seq2seq_attention",
    "siamese_encoder",
    "siamese_pair_classifier",
    "speech_embedding",
    "speech_embedding_head",
    "speech_embedding_step_ends",
    "speech_embedding_steps",
    "speech_embedding_streaming",
    "ten_crop",
    "train_word2vec",
    "transfer_classifier",
    "trigger_word",
    "trigger_word_geometry",
    "trigger_word_step_ends",
    "trigger_word_streaming",
    "unfreeze_top",
    "word2vec",
    "word_vectors",
    "yolo",
]
