"""The int8 streaming TFLite file of a trained trigger-word model keeps the Keras model's
recall: a small model trained on espeak-ng speech, evaluated on held-out flite voices
streamed through the int8 file (approximate STFT magnitude, batch norm folded, the LOG op in
float for TensorFlow Lite for Microcontrollers) on LiteRT and on TFLite Micro's kernels vs
the full-clip Keras model, with the file size and the parity report."""

import importlib.util
import shutil

import keras
import numpy as np
import pytest

from kerasdl.data.trigger_word import NEGATIVE_WORDS, synthetic_clip_bank, trigger_word_dataset
from kerasdl.export import MicroModel, TFLiteModel, tflite
from kerasdl.models.trigger_word import (
    TriggerWordStreamer,
    trigger_word,
    trigger_word_step_ends,
    trigger_word_streaming,
)
from kerasdl.verification.wakeword import bootstrap_operating_point, wakeword_scores

SR = 16000
WORDS = NEGATIVE_WORDS[:24]
SCORING = dict(refractory=1.0, tolerance=1.0, early=0.1, duration=10.0)
# A log offset of about 12 int8 steps of the mel energies (whose calibrated maximum is near
# 1 on these mixes): the int8 log-mel features then differ from float by 0.02 on average
# (0.07 with 1e-2, the floor of 95% of the mel energies of these mixes).
LOG_OFFSET = 0.05
EPOCHS = 8
# False activations per hour of negative audio at which the recall of two runtimes is
# compared (`recall_change`).
RECALL_TARGETS = (24.0, 36.0, 60.0, 90.0)


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


@pytest.fixture(scope="module")
def int8_file(trained, tmp_path_factory):
    """The streaming model as the microcontroller file: full int8 with its LOG op in float
    (TensorFlow Lite for Microcontrollers has no int8 LOG kernel), and its report."""
    model, train_audio, _, _ = trained
    streaming = trigger_word_streaming(model)  # factorized DFT, folded batch norm
    streamer = TriggerWordStreamer(streaming)
    path = str(tmp_path_factory.mktemp("int8") / "wakeword_int8.tflite")
    report = tflite(
        streaming,
        path,
        quantization="int8",
        representative_data=streamer.calibration_inputs(train_audio[:30], max_examples=1500),
        check_inputs=streamer.calibration_inputs(train_audio[30:34], max_examples=200),
        float_ops=("LOG",),
    )
    print(report)
    return path, report


def keras_at_device_steps(model, audio, steps):
    """The full-clip Keras model's probabilities and the step times (seconds), cut to the
    `steps` a streamed file outputs."""
    keras_p = model.predict(audio, batch_size=16, verbose=0)[:, :steps]
    return keras_p, trigger_word_step_ends(audio.shape[1], model)[:steps] / SR


@pytest.fixture(scope="module")
def streamed(trained, int8_file):
    """The held-out clips through the int8 file on LiteRT, and the full-clip Keras model's
    probabilities at the same steps."""
    model, _, audio, _ = trained
    path, _ = int8_file
    litert_p = TriggerWordStreamer(TFLiteModel(path), batch_size=len(audio)).run(audio)
    keras_p, step_times = keras_at_device_steps(model, audio, litert_p.shape[1])
    return litert_p, keras_p, step_times


def recall_change(device_p, reference_p, step_times, trigger_ends):
    """The recall a runtime costs, measured as the wake-word tutorial measures the issue's
    2 points: the recall at <= `target` false activations per hour of negative audio, each
    model at its own threshold, device minus reference over the same 200 resamples of the
    clips (paired), in points; the mean of each target's mean change, and the per-target
    means and spreads as text.

    A fixed threshold compares two models on one scale, so an int8 file whose
    probabilities sit a little lower loses triggers there that a threshold chosen for it
    (as a device's is) keeps; and one set of clips moves by a trigger or two (0.5-1 point
    each) between CPUs. The targets are those these 60 negative clips (0.17 h) resolve, 4
    to 15 false activations; at the issue's 1 per hour one clip would set the threshold.
    """
    changes = [
        100
        * np.subtract(
            *(
                bootstrap_operating_point(p, step_times, trigger_ends, target, **SCORING).recall
                for p in (device_p, reference_p)
            )
        )
        for target in RECALL_TARGETS
    ]
    text = ", ".join(
        f"{target:g}/h {change.mean():+.1f} (sd {change.std(ddof=1):.1f})"
        for target, change in zip(RECALL_TARGETS, changes, strict=True)
    )
    return float(np.mean([change.mean() for change in changes])), text


def print_fixed_thresholds(step_times, trigger_ends, **runtimes):
    """Recall and false activations at thresholds 0.5 and 0.8 of each runtime's outputs."""
    for threshold in (0.5, 0.8):
        scores = (
            (name, wakeword_scores(p, step_times, trigger_ends, threshold, **SCORING))
            for name, p in runtimes.items()
        )
        print(
            f"threshold {threshold}: "
            + "; ".join(
                f"{name} recall {s.recall:.3f}, {s.negative_false_activations} false activations"
                for name, s in scores
            )
        )


@pytest.mark.slow
def test_int8_streaming_file_keeps_the_keras_recall(trained, int8_file, streamed):
    model, _, audio, trigger_ends = trained
    _, report = int8_file
    assert report.size_bytes <= 100 * 1024
    assert "WHILE" not in report.ops and not report.uses_flex
    assert report.max_abs_diff < 0.5
    litert_p, keras_p, step_times = streamed
    difference = np.abs(litert_p - keras_p)
    agreement = np.mean((litert_p > 0.5) == (keras_p > 0.5))
    print(
        f"held out on LiteRT: |int8 - Keras| max {difference.max():.3f} mean "
        f"{difference.mean():.4f}; steps on the same side of 0.5: {agreement:.4f}"
    )
    assert agreement > 0.99
    reference = wakeword_scores(keras_p, step_times, trigger_ends, 0.5, **SCORING)
    assert reference.triggers >= 150
    # The model must have learnt something for the comparison to mean anything.
    assert reference.recall > 0.3
    print_fixed_thresholds(step_times, trigger_ends, int8=litert_p, Keras=keras_p)
    change, text = recall_change(litert_p, keras_p, step_times, trigger_ends)
    print(f"int8 minus Keras recall, each at its own threshold: {text}; mean {change:+.2f}")
    assert abs(change) <= 2.0  # the 2 points


@pytest.mark.slow
def test_the_file_keeps_the_recall_on_tflite_micro(trained, int8_file, streamed):
    """The same file on TensorFlow Lite for Microcontrollers' own kernels, one example
    per call as on a device, with the arena it measures."""
    if importlib.util.find_spec("tflite_micro") is None:
        reason = "tflite-micro is not installed (pip install 'kerasdl[micro]')"
        print(f"skipped: {reason}")
        pytest.skip(reason)
    model, _, audio, trigger_ends = trained
    # Every second held-out clip (105 of 210, ~110 triggers): TFLM's reference kernels take
    # ~1 ms per call, one example at a time, and the suite's time is bounded.
    audio, trigger_ends = audio[::2], trigger_ends[::2]
    path, _ = int8_file
    micro = MicroModel(path)
    print(f"TFLite Micro tensor arena: {micro.arena_bytes} bytes")
    assert micro.arena_bytes < 128 * 1024
    micro_p = TriggerWordStreamer(micro, batch_size=len(audio)).run(audio)
    litert_p, keras_p = (p[::2] for p in streamed[:2])
    step_times = streamed[2]
    agreement = np.mean((micro_p > 0.5) == (keras_p > 0.5))
    print(
        f"held out on TFLite Micro: |TFLM - LiteRT| max {np.abs(micro_p - litert_p).max():.3f}, "
        f"|TFLM - Keras| max {np.abs(micro_p - keras_p).max():.3f}; steps on the same side "
        f"of 0.5 as Keras: {agreement:.4f}"
    )
    assert agreement > 0.99
    # The runtime adds rounding, not a loss: the recall as on LiteRT (whose own change from
    # Keras is the test above), by the same measure.
    print_fixed_thresholds(step_times, trigger_ends, TFLM=micro_p, LiteRT=litert_p, Keras=keras_p)
    change, text = recall_change(micro_p, litert_p, step_times, trigger_ends)
    print(f"TFLM minus LiteRT recall, each at its own threshold: {text}; mean {change:+.2f}")
    assert abs(change) <= 2.0
