"""Google's speech embedding: kerasdl's Keras/TFLite build against openWakeWord's ONNX
files run by onnxruntime (the peer: the same weights, the way openWakeWord runs them).

- Training features: embeddings of 32 clips of 6 s. kerasdl runs the network along each
  clip at once (time is pooled by 8, so one pass gives every 80 ms step); openWakeWord
  runs the mel model on each clip and the embedding model on each 76-frame window.
- Streaming, per second of audio: one call per 80 ms. kerasdl's streaming TFLite file,
  float and with int8 weights (dynamic-range quantization; the window and the embedding
  history as state, the head included); the peer runs
  the mel model on the same 12,512-sample window and the embedding model on its 76 frames
  (without a head).
- Migrating an openWakeWord classifier (its hey_marvin file, read by `openwakeword_head`),
  per second of audio: kerasdl's streaming TFLite file with int8 weights against
  openWakeWord 0.4.0's own `Model.predict` on 80 ms chunks (onnxruntime), both checked to
  give the same highest probability on the clip within 0.05.

Both sides are checked to give the same embeddings before timing. Needs `pip install
'kerasdl[speech]'` (onnx, onnxruntime, openwakeword 0.4.0's files)."""

from __future__ import annotations

import importlib
import os
import tempfile
from collections.abc import Iterator

import keras
import numpy as np

from benchmarks.timing import compare, row
from benchmarks.wakeword import clips
from kerasdl.export.tflite import tflite
from kerasdl.models import (
    SpeechEmbeddingStreamer,
    openwakeword_head,
    speech_embedding,
    speech_embedding_head,
    speech_embedding_streaming,
)

SR = 16000
WINDOW, STEP = 12512, 1280


def run() -> Iterator[str]:
    import onnxruntime

    folder = importlib.import_module("kerasdl.models.speech_embedding")._weights_folder(
        "openwakeword"
    )
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    provider = dict(sess_options=options, providers=["CPUExecutionProvider"])
    mel = onnxruntime.InferenceSession(str(folder / "melspectrogram.onnx"), **provider)
    network = onnxruntime.InferenceSession(str(folder / "embedding_model.onnx"), **provider)

    def peer_embed(audio: np.ndarray) -> np.ndarray:
        """openWakeWord's way, clip by clip: 16-bit samples, the mel model, 76-frame windows."""
        out = []
        for clip in audio:
            pcm = np.round(clip * 32767).astype(np.float32)[None]
            spectrogram = mel.run(None, {"input": pcm})[0].reshape(-1, 32) / 10 + 2
            steps = (len(spectrogram) - 76) // 8 + 1
            windows = np.stack([spectrogram[8 * j : 8 * j + 76] for j in range(steps)])
            out.append(network.run(None, {"input_1": windows[..., None]})[0].reshape(steps, 96))
        return np.stack(out)

    model = speech_embedding(top_db=80.0)  # the ONNX front end's floor, one clip at a time
    audio = np.stack([c[: 6 * SR] for c in clips(32, seed=3)])
    audio = np.round(audio * 32767) / 32767
    ours = model.predict(audio, batch_size=32, verbose=0)
    theirs = peer_embed(audio)
    assert np.abs(ours - theirs).max() < 1e-4 * np.abs(theirs).max()
    timed = compare(
        lambda: model.predict(audio, batch_size=32, verbose=0),
        lambda: peer_embed(audio),
        repeats=3,
        warmup=1,
    )
    yield row(
        "speech embedding, 32 clips of 6 s (training features): Keras, one pass per clip",
        "onnxruntime, openWakeWord's ONNX files on 76-frame windows",
        *timed,
        "< 1",
    )

    keras.utils.set_random_seed(0)
    head = speech_embedding_head()
    (clip,) = clips(1, seed=4)
    seconds = clip.size / SR
    folder = tempfile.mkdtemp()

    def peer_stream() -> None:
        for start in range(WINDOW - STEP, clip.size - STEP + 1, STEP):
            window = np.round(clip[start + STEP - WINDOW : start + STEP] * 32767)
            spectrogram = mel.run(None, {"input": window[None].astype(np.float32)})[0]
            frames = spectrogram.reshape(1, 76, 32, 1) / 10 + 2
            network.run(None, {"input_1": frames.astype(np.float32)})

    for quantization, kind in (("none", "float"), ("dynamic", "int8 weights (dynamic-range)")):
        path = os.path.join(folder, f"embedding_{quantization}.tflite")
        tflite(
            speech_embedding_streaming(model, head, output="logit"),
            path,
            quantization=quantization,
        )
        streamer = SpeechEmbeddingStreamer(path)

        def ours_stream(streamer: SpeechEmbeddingStreamer = streamer) -> None:
            streamer.run(clip)

        timed = compare(ours_stream, peer_stream, repeats=5, warmup=1)
        yield row(
            f"speech embedding streaming, 80 ms per call, per 1 s of audio: TFLite {kind} "
            f"({os.path.getsize(path) / 1e6:.2f} MB, with the head)",
            "onnxruntime, openWakeWord's ONNX files (no head)",
            timed[0] / seconds,
            timed[1] / seconds,
            "< 1.5",
        )

    yield _openwakeword_row(model, clip, folder)


def _openwakeword_row(model: keras.Model, clip: np.ndarray, folder: str) -> str:
    """kerasdl's file of openWakeWord's hey_marvin classifier against openWakeWord itself."""
    from openwakeword.model import Model

    classifier = str(
        importlib.import_module("kerasdl.models.speech_embedding")._weights_folder("openwakeword")
        / "hey_marvin_v0.1.onnx"
    )
    path = os.path.join(folder, "hey_marvin.tflite")
    tflite(
        speech_embedding_streaming(model, openwakeword_head(classifier)),
        path,
        quantization="dynamic",
    )
    streamer = SpeechEmbeddingStreamer(path)
    peer = Model(wakeword_model_paths=[classifier])
    pcm = np.round(clip * 32767).astype(np.int16)

    def peer_stream() -> float:
        peer.reset()
        return max(
            peer.predict(pcm[start : start + STEP])["hey_marvin_v0.1"]
            for start in range(0, pcm.size - STEP + 1, STEP)
        )

    def ours_stream() -> float:
        return float(streamer.run(pcm.astype(np.float32) / 32767)[0].max())

    assert abs(ours_stream() - peer_stream()) < 0.05
    timed = compare(ours_stream, peer_stream, repeats=5, warmup=1)
    seconds = clip.size / SR
    return row(
        "openWakeWord classifier (hey_marvin) streamed, per 1 s of audio: TFLite with int8 "
        f"weights ({os.path.getsize(path) / 1e6:.2f} MB, embedding + classifier)",
        "openWakeWord 0.4.0 `Model.predict` on 80 ms chunks (onnxruntime)",
        timed[0] / seconds,
        timed[1] / seconds,
        "< 1",
    )
