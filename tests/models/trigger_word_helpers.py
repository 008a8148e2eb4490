"""Inputs and model set-up shared by the trigger-word model and CLI tests."""

import keras
import numpy as np

from kerasdl.models.trigger_word import trigger_word


def randomize_batch_norm(model, seed=0, affine=True):
    """Moving statistics away from (0, 1) (and, with `affine`, gamma and beta away from
    1 and 0), so batch norm is not the identity."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.normal(0, 0.5, n))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, n))
            if affine:
                layer.gamma.assign(rng.uniform(0.5, 1.5, n))
                layer.beta.assign(rng.normal(0, 0.3, n))


def noise(shape, seed=0, scale=0.2):
    """Uniform noise in [-scale, scale): audio for models whose weights are random."""
    return np.random.default_rng(seed).uniform(-scale, scale, shape).astype("float32")


def predict(model, audio):
    """Eager inference (a new length would retrace `predict`'s function)."""
    return np.asarray(model(np.asarray(audio), training=False))


def speech_like(seconds, seed=0, sample_rate=16000):
    """Noise bursts of varying loudness, so an untrained model's output moves."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    envelope = np.repeat(rng.uniform(0, 1, n // 1600 + 1) ** 3, 1600)[:n]
    return (0.5 * envelope * rng.uniform(-1, 1, n)).astype("float32")


def padded_like_the_streamer(audio, sample_rate=16000):
    """`audio` padded with silence as `WakeWordDetector` pads it for the default geometry
    (a 2000-sample tail, then whole 1280-sample chunks), and the end time in seconds of
    each output step (the first at 2640 samples, then every 640)."""
    n = audio.size
    padded = np.zeros(2000 + -(-(n - 2000) // 1280) * 1280, "float32")
    padded[:n] = audio
    steps = (padded.size - 2000) // 640
    return padded, (2640 + 640 * np.arange(steps)) / sample_rate


def small_model():
    """A small full-clip trigger-word model (seeded) whose batch norm is not the identity."""
    keras.utils.set_random_seed(0)
    model = trigger_word(filters=8, units=(8,), mel_bins=16)
    randomize_batch_norm(model, affine=False)
    return model


def full_clip_probabilities(model, audio, sample_rate=16000):
    """The full-clip model on `audio` padded as the streamer pads it (float64), and the
    end time in seconds of each output step."""
    padded, times = padded_like_the_streamer(audio, sample_rate)
    return predict(model, padded[None])[0].astype(np.float64), times
