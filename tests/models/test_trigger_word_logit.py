"""trigger_word_streaming(output="logit"): the streamed logits against log(p / (1 - p)) of
the full-clip Keras model and against the classifier's `x W + b` in numpy, the float
TFLite file against Keras, the int8 files near p = 1 (the logit file resolves thresholds
above 0.99 where the probability file's 1/256 steps stop at 255/256), the threshold
conversion and the errors."""

import keras
import numpy as np
import pytest

from kerasdl.export.tflite import tflite
from kerasdl.models.trigger_word import TriggerWordStreamer, trigger_word, trigger_word_streaming
from tests.models.trigger_word_helpers import noise, predict, randomize_batch_norm

SR = 16000
SMALL = dict(filters=8, units=(8, 6))


def numpy_logits(model, audio):
    """`x W + b` of the classifier in numpy, from the Keras model's features before it."""
    features = keras.Model(model.input, model.get_layer("output_dropout").output)
    x = np.asarray(features(np.asarray(audio), training=False), np.float64)
    classifier = model.get_layer("classifier")
    kernel = np.asarray(classifier.kernel, np.float64)
    bias = np.asarray(classifier.bias, np.float64)
    return (x @ kernel + bias)[..., 0]


def burst_clips(n, samples, seed):
    """Quiet noise with one 700 Hz burst each, so the outputs move along a clip."""
    rng = np.random.default_rng(seed)
    clips = []
    for i in range(n):
        clip = noise(samples, seed=seed + 10 + i, scale=0.02)
        start = rng.integers(0, samples - 2400)
        t = np.arange(2400) / SR
        clip[start : start + 2400] += 0.4 * np.hanning(2400) * np.sin(2 * np.pi * 700 * t)
        clips.append(clip)
    return np.stack(clips)


@pytest.mark.parametrize("chunk_samples", [640, 1280])
def test_streamed_logits_are_the_log_odds_of_the_full_clip_model(chunk_samples):
    keras.utils.set_random_seed(1)
    model = trigger_word(**SMALL)
    randomize_batch_norm(model)
    audio = noise((2, 12345), seed=1)
    full = predict(model, audio).astype(np.float64)
    assert 0.05 < full.min() and full.max() < 0.95  # log(p / (1 - p)) well conditioned
    streamer = TriggerWordStreamer(
        trigger_word_streaming(model, chunk_samples, output="logit"), batch_size=2
    )
    assert streamer.output == "logit"
    logits = streamer.run(audio)
    steps = (12345 - 2000) // chunk_samples * (chunk_samples // 640)
    assert logits.shape == (2, steps)
    np.testing.assert_allclose(logits, np.log(full / (1 - full))[:, :steps], atol=1e-4)
    # The probability streamer on the same model: its sigmoid, step for step.
    probabilities = TriggerWordStreamer(
        trigger_word_streaming(model, chunk_samples), batch_size=2
    ).run(audio)
    np.testing.assert_allclose(1 / (1 + np.exp(-logits.astype(np.float64))), probabilities, 2e-6)


def test_logits_near_one_equal_the_classifier_in_numpy():
    """Where float32 probabilities saturate (p > 1 - 1e-5) the logits stay exact."""
    keras.utils.set_random_seed(2)
    model = trigger_word(**SMALL)
    randomize_batch_norm(model, seed=2)
    classifier = model.get_layer("classifier")
    classifier.bias.assign([14.0])  # shared: the streaming model sees the new bias
    audio = noise((1, 9000), seed=2)
    logits = TriggerWordStreamer(trigger_word_streaming(model, output="logit")).run(audio[0])
    expected = numpy_logits(model, audio)[0, : logits.size]
    assert expected.min() > 11.5  # 1 - p < 1e-5: float32 probabilities are 1 or next to it
    np.testing.assert_allclose(logits, expected, atol=2e-4)


def test_tflite_float_logit_file_matches_keras(tmp_path):
    keras.utils.set_random_seed(7)
    model = trigger_word(**SMALL)
    randomize_batch_norm(model, seed=7)
    path = str(tmp_path / "logits.tflite")
    report = tflite(trigger_word_streaming(model, chunk_samples=1280, output="logit"), path)
    assert not report.uses_flex and "WHILE" not in report.ops
    assert report.max_abs_diff < 1e-4
    streamer = TriggerWordStreamer(path)
    assert streamer.output == "logit" and streamer.steps_per_chunk == 2
    clips = burst_clips(2, 8000, seed=7)
    streamed = streamer.run(clips[0])
    full = predict(model, clips[:1])[0, : streamed.size].astype(np.float64)
    np.testing.assert_allclose(streamed, np.log(full / (1 - full)), atol=1e-3)
    np.testing.assert_allclose(streamed, numpy_logits(model, clips[:1])[0, :8], atol=1e-4)


def test_int8_logit_file_resolves_thresholds_above_0_99(tmp_path):
    keras.utils.set_random_seed(7)
    model = trigger_word(**SMALL)
    randomize_batch_norm(model, seed=7)
    # Outputs between p ~ 0.97 and ~ 0.999, where an operating point for <= 1 false
    # activation per hour lands.
    classifier = model.get_layer("classifier")
    classifier.kernel.assign(np.asarray(classifier.kernel) * 4)
    classifier.bias.assign([0.5])
    clips = burst_clips(6, 16000, seed=3)
    keras_logits = numpy_logits(model, clips[4:])
    files = {}
    for output in ("probability", "logit"):
        streaming = trigger_word_streaming(model, chunk_samples=1280, output=output)
        streamer = TriggerWordStreamer(streaming)
        path = str(tmp_path / f"{output}_int8.tflite")
        tflite(
            streaming,
            path,
            quantization="int8",
            representative_data=streamer.calibration_inputs(clips[:4]),
        )
        files[output] = TriggerWordStreamer(path, batch_size=2)
        assert files[output].output == output
    logits = files["logit"].run(clips[4:])
    probabilities = files["probability"].run(clips[4:])
    keras_logits = keras_logits[:, : logits.shape[1]]
    keras_p = 1 / (1 + np.exp(-keras_logits))
    top = keras_logits > np.log(0.99 / 0.01)
    assert top.sum() >= 10 and keras_p.max() > 0.998, keras_p.max()
    # The int8 sigmoid's fixed scale 1/256 (zero point -128): nothing above 255/256, and
    # at most two levels above 0.99 (254/256 and 255/256).
    assert probabilities.max() <= 255 / 256 + 1e-6
    assert np.unique(probabilities[probabilities > 0.99]).size <= 2
    # The int8 logits follow the Keras logits (max |diff| 0.30 measured, from the int8
    # layers before the output; the output's own int8 step is ~0.03 here), with many
    # distinct values above 0.99 (15 measured).
    assert np.abs(logits - keras_logits).max() < 0.5, np.abs(logits - keras_logits).max()
    assert np.unique(logits[logits > np.log(0.99 / 0.01)]).size >= 8
    for p in (0.997, 0.998, 0.999):
        # The probability file never fires there; the logit file fires where Keras does
        # (up to steps within the int8 error of the threshold).
        assert not np.any(probabilities >= p)
        t = files["logit"].threshold(p)
        disagree = (logits >= t) != (keras_logits >= t)
        assert np.all(np.abs(keras_logits[disagree] - t) < 0.5), (p, keras_logits[disagree])
    fired = [int((logits >= files["logit"].threshold(p)).sum()) for p in (0.99, 0.995, 0.998)]
    assert fired[0] > fired[1] > fired[2] > 0, fired
    print("int8 logit file, steps at or above p = 0.99, 0.995, 0.998:", fired)


def test_threshold_conversion_and_errors():
    model = trigger_word(**SMALL)
    probability = TriggerWordStreamer(trigger_word_streaming(model))
    logit = TriggerWordStreamer(trigger_word_streaming(model, output="logit"))
    assert probability.output == "probability"
    for p in (1e-6, 0.3, 0.5, 0.99, 0.9999, 1 - 1e-12):
        assert probability.threshold(p) == p
        assert np.isclose(logit.threshold(p), np.log(p / (1 - p)), rtol=1e-9, atol=1e-12)
    assert logit.threshold(np.float32(0.5)) == 0.0
    assert logit.threshold(0) == -np.finfo(np.float64).max
    assert logit.threshold(1.0) == np.finfo(np.float64).max
    with pytest.raises(ValueError, match=r"`probability` must be in \[0, 1\]. .*=1.5"):
        logit.threshold(1.5)
    with pytest.raises(TypeError, match=r"`probability` must be a number"):
        logit.threshold("0.9")
    with pytest.raises(ValueError, match=r"`output` must be one of \('probability', 'logit'\)"):
        trigger_word_streaming(model, output="logits")
    inputs = keras.Input((None,))
    x = model.get_layer("spectrogram")(inputs)
    for name in ("conv", "conv_bn", "conv_relu", "gru_0", "gru_0_bn", "gru_1", "gru_1_bn"):
        x = model.get_layer(name)(x)
    x = keras.layers.Dense(1, activation="relu", name="classifier")(x)
    relu = keras.Model(inputs, keras.layers.Reshape((-1,), name="probabilities")(x))
    trigger_word_streaming(relu)  # the probability output takes any classifier
    with pytest.raises(ValueError, match=r"`output` 'logit' needs the model's 'classifier'"):
        trigger_word_streaming(relu, output="logit")
