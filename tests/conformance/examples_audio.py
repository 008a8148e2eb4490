"""Conformance examples of the audio front end: the spectrogram layer and its DFT routes."""

from __future__ import annotations

from kerasdl.layers.audio import Spectrogram
from tests.conformance.registry import Bad, Example, random_floats


def waveforms():
    """Four clips of 1000 samples (scaled to the [-1, 1] range of audio)."""
    return (0.3 * random_floats(4, 1000, seed=3),)


EXAMPLES: list[Example] = [
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
]
