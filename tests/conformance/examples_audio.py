"""Conformance examples of the audio components: the spectrogram layer and its DFT routes,
and the trigger-word loss."""

from __future__ import annotations

import numpy as np

from kerasdl.layers.audio import Spectrogram
from kerasdl.losses.trigger_word import TriggerWordLoss
from kerasdl.models.speech_embedding import FlooredLeakyReLU, SpeechEmbeddingMelSpectrogram
from tests.conformance.registry import Bad, Example, random_floats


def waveforms():
    """Four clips of 1000 samples (scaled to the [-1, 1] range of audio)."""
    return (0.3 * random_floats(4, 1000, seed=3),)


def trigger_labels():
    """(4, 20) per-step labels: runs of ones after triggers, one clip without any."""
    labels = np.zeros((4, 20), "float32")
    labels[0, 5:9] = labels[1, 12:16] = labels[3, 2:6] = labels[3, 14:18] = 1
    return labels


EXAMPLES: list[Example] = [
    Example(
        cls=TriggerWordLoss,
        kind="loss",
        kwargs={"peak_weight": 0.5, "guard_before": 2, "guard_after": 3, "from_logits": True},
        inputs=lambda: (trigger_labels(), random_floats(4, 20, seed=6)),
        bad=(
            Bad(
                ValueError,
                r"`peak_weight` must be in \[0, inf\)\. Received: peak_weight=-1\.0",
                kwargs={"peak_weight": -1.0},
            ),
            Bad(
                ValueError,
                r"`guard_before` must be >= 0\. Received: guard_before=-2",
                kwargs={"guard_before": -2},
            ),
            Bad(TypeError, r"`from_logits` must be a bool", kwargs={"from_logits": 1}),
            Bad(
                ValueError,
                r"`y_true` must have the shape of `y_pred`, \(clips, steps\)=\(4, 20\).*"
                r"Received: y_true.shape=\(4, 19\)",
                inputs=lambda: (trigger_labels()[:, :19], random_floats(4, 20)),
            ),
            Bad(
                ValueError,
                r"`y_pred` must have shape \(clips, steps\).*Received: y_pred.shape=\(4, 20, 1\)",
                inputs=lambda: (trigger_labels()[..., None], random_floats(4, 20, 1)),
            ),
        ),
        id="TriggerWordLoss",
    ),
    Example(
        cls=Spectrogram,
        kind="layer",
        kwargs={"frame_length": 200, "frame_step": 80, "fft_length": 256},
        inputs=waveforms,
        bad=(
            Bad(
                ValueError,
                r"`frame_step` must be <= frame_length=200 .*Received: frame_step=300",
                kwargs={"frame_step": 300},
            ),
            Bad(
                ValueError,
                r"`fft_length` must be >= frame_length=200 .*Received: fft_length=128",
                kwargs={"fft_length": 128},
            ),
            Bad(
                ValueError,
                r"`inputs` must have at least frame_length=200 samples for one frame "
                r"\(k frames need \(k - 1\) \* 80 \+ 200 samples\)\. "
                r"Received: inputs.shape=\(4, 150\)",
                inputs=lambda: (random_floats(4, 150),),
            ),
            Bad(
                ValueError,
                r"`inputs` must have rank 2 with shape \(batch, samples\)\. "
                r"Received: inputs.shape=\(4, 1000, 1\)",
                inputs=lambda: (random_floats(4, 1000, 1),),
            ),
        ),
        device_ready=True,
        tflite_atol=1e-4,
        id="Spectrogram",
    ),
    Example(
        cls=Spectrogram,
        kind="layer",
        kwargs={
            "frame_length": 128,
            "frame_step": 64,
            "fft_length": 128,
            "mel_bins": 16,
            "log": "log",
            "dft": "matmul",
        },
        inputs=waveforms,
        device_ready=True,
        tflite_atol=1e-4,
        id="Spectrogram-logmel-matmul",
    ),
    Example(
        cls=Spectrogram,
        kind="layer",
        kwargs={
            "frame_length": 100,
            "frame_step": 40,
            "fft_length": 128,
            "magnitude_power": 2.0,
            "mel_bins": 12,
            "sample_rate": 8000,
            "mel_scale": "htk",
            "mel_norm": None,
            "log": "db",
            "dft": "rfft",
        },
        inputs=waveforms,
        device_ready=True,
        tflite_atol=1e-3,
        id="Spectrogram-db-rfft",
    ),
    Example(
        cls=Spectrogram,
        kind="layer",
        kwargs={
            "frame_length": 200,
            "frame_step": 80,
            "fft_length": 256,
            "mel_bins": 16,
            "log": "log",
            "log_offset": 5e-2,
            "magnitude": "approximate",
        },
        inputs=waveforms,
        bad=(
            Bad(
                ValueError,
                r"`magnitude` must be one of \('exact', 'approximate'\)",
                kwargs={"magnitude": "abs"},
            ),
        ),
        device_ready=True,
        tflite_atol=1e-4,
        id="Spectrogram-approximate-magnitude",
    ),
    Example(
        cls=SpeechEmbeddingMelSpectrogram,
        kind="layer",
        kwargs={},
        inputs=waveforms,
        bad=(
            Bad(
                ValueError,
                r"needs at least 512 samples \(one frame\)\. Received: input_shape=\(4, 300\)",
                inputs=lambda: (random_floats(4, 300),),
            ),
            Bad(
                ValueError,
                r"expects audio of shape \(batch, samples\)\. "
                r"Received: input_shape=\(4, 1000, 1\)",
                inputs=lambda: (random_floats(4, 1000, 1),),
            ),
        ),
        device_ready=True,
        tflite_atol=1e-3,
        id="SpeechEmbeddingMelSpectrogram",
    ),
    Example(
        cls=SpeechEmbeddingMelSpectrogram,
        kind="layer",
        kwargs={"top_db": 30.0},
        inputs=waveforms,
        bad=(
            Bad(ValueError, r"`top_db` must be > 0.0\. Received: top_db=0", kwargs={"top_db": 0}),
            Bad(
                TypeError,
                r"`top_db` must be a number\. Received: top_db='80'",
                kwargs={"top_db": "80"},
            ),
        ),
        device_ready=True,
        tflite_atol=1e-3,
        id="SpeechEmbeddingMelSpectrogram-top_db",
    ),
    Example(
        cls=FlooredLeakyReLU,
        kind="layer",
        kwargs={"alpha": 0.3, "floor": -0.5},
        inputs=lambda: (4 * random_floats(4, 12, seed=2),),
        bad=(
            Bad(
                TypeError, r"`alpha` must be a number\. Received: alpha='x'", kwargs={"alpha": "x"}
            ),
            Bad(
                TypeError,
                r"`floor` must be a number\. Received: floor=None",
                kwargs={"floor": None},
            ),
        ),
        device_ready=True,
        id="FlooredLeakyReLU",
    ),
]
