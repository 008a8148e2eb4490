"""The int8 streaming TFLite file of a trained trigger-word model keeps the Keras model's
recall: a small model trained on espeak-ng speech, evaluated on held-out flite voices
streamed through the full-int8 file (approximate STFT magnitude, batch norm folded) vs the
full-clip Keras model, with the file size and the parity report."""

import shutil

import keras
import numpy as np
import pytest

from kerasdl.data.trigger_word import NEGATIVE_WORDS, synthetic_clip_bank, trigger_word_dataset
from kerasdl.export.tflite import TFLiteModel, tflite
from kerasdl.models.trigger_word import (
    TriggerWordStreamer,
    trigger_word,
    trigger_word_step_ends,
    trigger_word_streaming,
)
from kerasdl.verification.wakeword import wakeword_scores

SR = 16000
WORDS = NEGATIVE_WORDS[:24]
SCORING = dict(refractory=1.0, tolerance=1.0, early=0.1, duration=10.0)
# A log offset of about 12 int8 steps of the mel energies (whose calibrated maximum is near
# 1 on these mixes): the int8 log-mel features then differ from float by 0.02 on average
# (0.07 with 1e-2, the floor of 95% of the mel energies of these mixes).
LOG_OFFSET = 0.05
EPOCHS = 8


def require(engine):
    if shutil.which(engine) is None:
        reason = f"{engine} is not installed (apt-get install {engine})"
        print(f"skipped: {reason}")
        pytest.skip(reason)


def fit_after_the_spectrogram(model, audio, labels):
    """Trains the layers after the (weightless) spectrogram on its features computed once,
    then sets each batch norm's moving statistics to its inputs' statistics in inference
    mode, layer by layer (the running averages taken while the weights move drift from
    what inference sees)."""
    spectrogram = model.get_layer("spectrogram")
    features = spectrogram(audio).numpy()
    inputs = keras.Input((None, spectrogram.mel_bins))
    x, batch_norm_inputs = inputs, []
    names = [layer.name for layer in model.layers]
    for name in names[names.index("spectrogram") + 1 :]:
        layer = model.get_layer(name)
        if isinstance(layer, keras.layers.BatchNormalization):
            batch_norm_inputs.append((layer, x))
        x = layer(x)
    head = keras.Model(inputs, x)
    head.compile(keras.optimizers.Adam(3e-3), "binary_crossentropy", jit_compile=False)
    head.fit(features, labels, batch_size=32, epochs=EPOCHS, verbose=0)
    for layer, tensor in batch_norm_inputs:
        values = keras.Model(inputs, tensor).predict(features[:300], verbose=0)
        values = values.reshape(-1, values.shape[-1]).astype(np.float64)
        layer.moving_mean.assign(values.mean(axis=0))
        layer.moving_variance.assign(values.var(axis=0))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A default-size model trained briefly on espeak-ng mixes; held-out flite mixes."""
    require("espeak-ng")
    require("flite")
    cache = tmp_path_factory.mktemp("speech")
    train_bank = synthetic_clip_bank(
        "train", num_voices=60, negative_words=WORDS, voices_per_negative=3, cache_dir=cache
    )
    test_bank = synthetic_clip_bank(
        "test", negative_words=WORDS, voices_per_negative=2, engines=("flite",), cache_dir=cache
    )
    keras.utils.set_random_seed(0)
    model = trigger_word(
        dropout=0.0, log_offset=LOG_OFFSET, magnitude="approximate", batch_norm_momentum=0.9
    )
    ends = trigger_word_step_ends(4 * SR, model)
    train = trigger_word_dataset(
        train_bank, 600, duration=4.0, step_end_samples=ends, max_positives=2,
        max_negatives=2, ones=12, seed=0,
    )  # fmt: skip
    fit_after_the_spectrogram(model, train.audio, train.labels)
    positives = trigger_word_dataset(
        test_bank, 150, duration=10.0, max_positives=3, max_negatives=2, seed=2
    )
    negatives = trigger_word_dataset(
        test_bank, 60, duration=10.0, max_positives=0, max_negatives=4, seed=3
    )
    audio = np.concatenate([positives.audio, negatives.audio])
    trigger_ends = np.full((len(audio), positives.trigger_ends.shape[1]), -1.0)
    trigger_ends[: len(positives.audio)] = positives.trigger_ends / SR
    return model, train.audio, audio, trigger_ends


@pytest.mark.slow
def test_int8_streaming_file_keeps_the_keras_recall(trained, tmp_path):
    model, train_audio, audio, trigger_ends = trained
    streaming = trigger_word_streaming(model)  # factorized DFT, folded batch norm
    streamer = TriggerWordStreamer(streaming)
    path = str(tmp_path / "wakeword_int8.tflite")
    report = tflite(
        streaming,
        path,
        quantization="int8",
        representative_data=streamer.calibration_inputs(train_audio[:30], max_examples=1500),
        check_inputs=streamer.calibration_inputs(train_audio[30:34], max_examples=200),
    )
    print(report)
    assert report.size_bytes <= 100 * 1024
    assert "WHILE" not in report.ops and not report.uses_flex
    assert report.max_abs_diff < 0.5

    keras_p = model.predict(audio, batch_size=16, verbose=0)
    int8_p = TriggerWordStreamer(TFLiteModel(path), batch_size=len(audio)).run(audio)
    steps = int8_p.shape[1]
    keras_p = keras_p[:, :steps]
    step_times = trigger_word_step_ends(audio.shape[1], model)[:steps] / SR
    difference = np.abs(int8_p - keras_p)
    agreement = np.mean((int8_p > 0.5) == (keras_p > 0.5))
    print(
        f"held out: |int8 - Keras| max {difference.max():.3f} mean {difference.mean():.4f}; "
        f"steps on the same side of 0.5: {agreement:.4f}"
    )
    assert agreement > 0.99
    for threshold in (0.5, 0.8):
        ours = wakeword_scores(int8_p, step_times, trigger_ends, threshold, **SCORING)
        reference = wakeword_scores(keras_p, step_times, trigger_ends, threshold, **SCORING)
        print(
            f"threshold {threshold}: recall int8 {ours.recall:.3f} Keras {reference.recall:.3f} "
            f"of {ours.triggers} triggers; false activations int8 "
            f"{ours.negative_false_activations} Keras {reference.negative_false_activations} "
            f"in {ours.negative_hours:.2f} h"
        )
        assert ours.triggers >= 150
        # The model must have learnt something for the comparison to mean anything.
        assert reference.recall > 0.3
        assert abs(ours.recall - reference.recall) <= 0.02
        assert ours.negative_false_activations <= reference.negative_false_activations + 2
