"""Wake-word streaming model (the default `trigger_word` sizes): latency per second of
audio and file size of its int8 TFLite file vs the float TFLite file vs the Keras
streaming model (one compiled call per chunk, as a device loop would make), and of the
int16x8 file (int16 activations) vs the int8 one, at 40 ms and 160 ms chunks. Every form
streams the same 10 s of audio chunk by chunk through its own state; the TFLite outputs
are checked against Keras before timing."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import keras
import numpy as np
import tensorflow as tf

from benchmarks.timing import compare, row
from kerasdl.data.trigger_word import noise_background
from kerasdl.export.tflite import TFLiteModel, tflite
from kerasdl.models.trigger_word import (
    TriggerWordStreamer,
    trigger_word,
    trigger_word_geometry,
    trigger_word_streaming,
)

SR = 16000
SECONDS = 10.0


def clips(count: int, seed: int) -> list[np.ndarray]:
    """Noise with tone bursts at speech-like levels (calibration and timing audio)."""
    rng = np.random.default_rng(seed)
    out = []
    kinds = ("pink", "brown", "white", "hum")
    for i in range(count):
        audio = noise_background(int(SECONDS * SR), kinds[i % 4], rms=0.01, seed=rng)
        t = np.arange(8000) / SR
        for start in rng.integers(0, audio.size - 8000, 4):
            burst = np.hanning(8000) * np.sin(2 * np.pi * rng.uniform(200, 2000) * t)
            audio[start : start + 8000] += rng.uniform(0.1, 0.6) * burst.astype("float32")
        out.append(np.clip(audio, -1, 1))
    return out


def keras_stream(streaming: keras.Model):
    """Streams a clip through the Keras model, one compiled call per chunk."""
    step = tf.function(lambda inputs: streaming(inputs, training=False))
    geometry = TriggerWordStreamer(streaming)

    def run(audio: np.ndarray) -> np.ndarray:
        tail = geometry.tail_samples
        chunk = geometry.chunk_samples
        state = {
            name: tf.zeros((1, *streaming.input[name].shape[1:])) for name in geometry.state_names
        }
        state["tail"] = tf.constant(audio[None, :tail])
        outputs = []
        for start in range(tail, audio.size - chunk + 1, chunk):
            result = step({"audio": tf.constant(audio[None, start : start + chunk]), **state})
            state = {name: result[name] for name in state}
            outputs.append(result["probabilities"])
        return np.concatenate([o.numpy() for o in outputs], axis=1)[0]

    return run


def per_second(ours, peer, audio: np.ndarray) -> list[float]:
    """Median seconds per second of audio of streaming `audio` through each."""
    timed = compare(lambda: ours(audio), lambda: peer(audio), repeats=5, warmup=1)
    return [t / (audio.size / SR) for t in timed]


def run(chunk_steps: tuple[int, ...] = (1, 4)) -> Iterator[str]:
    keras.utils.set_random_seed(0)
    # The full-int8 recipe: the STFT magnitude without squares, a log offset above the
    # int8 steps of the mel energies.
    model = trigger_word(log_offset=5e-2, magnitude="approximate")
    # Batch norm statistics off the identity, as after training.
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.normal(0, 0.3, n))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, n))
    step_samples = trigger_word_geometry(model).step_samples
    calibration_clips, (audio,) = clips(4, seed=1), clips(1, seed=2)
    folder = tempfile.mkdtemp()
    keras_path = os.path.join(folder, "model.keras")
    model.save(keras_path)
    for steps in chunk_steps:
        streaming = trigger_word_streaming(model, steps * step_samples)
        streamer = TriggerWordStreamer(streaming)
        calibration = streamer.calibration_inputs(calibration_clips, max_examples=300)
        int8_path = os.path.join(folder, f"int8_{steps}.tflite")
        float_path = os.path.join(folder, f"float_{steps}.tflite")
        int16_path = os.path.join(folder, f"int16x8_{steps}.tflite")
        tflite(streaming, int8_path, quantization="int8", representative_data=calibration)
        tflite(streaming, float_path)
        tflite(streaming, int16_path, quantization="int16x8", representative_data=calibration)
        int8 = TriggerWordStreamer(TFLiteModel(int8_path))
        int16 = TriggerWordStreamer(TFLiteModel(int16_path))
        floating = TriggerWordStreamer(TFLiteModel(float_path))
        keras_run = keras_stream(streaming)
        expected = keras_run(audio)
        float_diff = np.abs(floating.run(audio) - expected).max()
        int8_diff = np.abs(int8.run(audio) - expected).max()
        assert float_diff < 1e-4, float_diff
        int16_diff = np.abs(int16.run(audio) - expected).max()
        assert int8_diff < 0.15, int8_diff
        assert int16_diff < int8_diff, (int16_diff, int8_diff)
        chunk_ms = steps * step_samples * 1000 // SR
        label = f"wake-word streaming, {chunk_ms} ms chunks, per 1 s of audio"
        pairs = (
            ("TFLite int8", int8.run, "TFLite float", floating.run, "<= 1"),
            ("TFLite int8", int8.run, "Keras streaming (tf.function)", keras_run, "< 1"),
            ("TFLite float", floating.run, "Keras streaming (tf.function)", keras_run, "< 1"),
            ("TFLite int16x8", int16.run, "TFLite int8", int8.run, "-"),
        )
        for name, ours, peer_name, peer, target in pairs:
            yield row(f"{label}: {name}", peer_name, *per_second(ours, peer, audio), target)
        sizes = [os.path.getsize(p) for p in (int8_path, float_path, keras_path, int16_path)]
        yield (
            f"| wake-word streaming file, {chunk_ms} ms chunks: TFLite "
            f"int8 (max diff {int8_diff:.3f} vs Keras) | TFLite float | {sizes[0] / 1024:.1f} KB "
            f"| {sizes[1] / 1024:.1f} KB | {sizes[0] / sizes[1]:.3f} | <= 100 KB |"
        )
        yield (
            f"| wake-word streaming file, {chunk_ms} ms chunks: TFLite "
            f"int8 | Keras .keras (full-clip model) | {sizes[0] / 1024:.1f} KB "
            f"| {sizes[2] / 1024:.1f} KB | {sizes[0] / sizes[2]:.3f} | <= 100 KB |"
        )
        yield (
            f"| wake-word streaming file, {chunk_ms} ms chunks: TFLite "
            f"int16x8 (max diff {int16_diff:.3f} vs Keras) | TFLite int8 | "
            f"{sizes[3] / 1024:.1f} KB | {sizes[0] / 1024:.1f} KB | {sizes[3] / sizes[0]:.3f} "
            "| <= 100 KB |"
        )
