"""From openWakeWord to kerasdl: a classifier's `.onnx` file as one TFLite file.

openWakeWord detects a wake word with a small classifier on Google's speech embedding;
kerasdl rebuilds the embedding in Keras (`kerasdl.models.speech_embedding`) and reads the
classifier with `kerasdl.models.openwakeword_head`, so the whole detector, from 16 kHz
audio to probability, becomes one streaming TFLite file (80 ms per call). This script does
it with the three single-phrase classifiers openWakeWord 0.4.0 ships (alexa, hey_marvin,
weather; under a non-commercial licence, CC BY-NC-SA 4.0: read here, not redistributed):

1. Each classifier read into Keras and checked against onnxruntime on random windows.
2. hey_marvin as one streaming file with int8 weights (`kerasdl.export.tflite(...,
   quantization="dynamic")`), checked against Keras on a streamed clip.
3. Held-out speech: every flite and festival voice at three speeds saying each
   classifier's phrase and three other phrases, in quiet noise. Every clip goes through
   kerasdl (Keras embedding + the three heads) and through openWakeWord's own `Model`:
   the detections at 0.5 and each clip's highest probability are compared.
4. The highest logit per voice and phrase, drawn for both. It also shows that the speech
   embedding carries flite's rms and festival's slt HTS voice, the two voices the wake-word
   tutorial's "activate" head, trained on espeak-ng and one Piper voice, misses: these
   classifiers, trained on hundreds of Piper speakers, find them like the other voices.
5. hey_marvin's file streamed over a clip of rms saying four phrases, drawn with
   `kerasdl.plot.plot_wakeword_scores`, and the time per second of audio against
   openWakeWord's `Model.predict` on 80 ms chunks.

Run: `python -m tutorials.openwakeword_migration [--out outputs] [--quick]`. Writes:
- `openwakeword_voices.png`: the highest logit per held-out voice and phrase, kerasdl and
  openWakeWord side by side;
- `openwakeword_clip.png`: the clip, its spectrogram and hey_marvin's probability;
- `hey_marvin.tflite`: the streaming file.

What it shows (full run, 35 s on 2 cores; `--quick` uses three voices at one speed): the
heads equal onnxruntime to 2e-7. Over 144 held-out clips (8 voices x 3 speeds x 6
phrases, each after 2 s of noise so the classifiers' history is full) and the three
classifiers, the detections at 0.5 agree with openWakeWord's on 99.5% and the highest
probabilities differ by at most 0.47, median 1e-5 (the two cut the audio into embedding
windows a few samples apart, which moves a borderline peak; kerasdl's maxima are taken
from the first step whose 16 embeddings all heard the clip: before it the heads see zero
embeddings, where openWakeWord starts from the embeddings of silence). Every voice says
every phrase at every speed with a logit of 1.1 or more, flite's rms and festival's slt
HTS voice included (rms's lowest: 1.4 on "alexa"); "hey martin" fires hey_marvin for 7 of
the 8 voices (logits 2.5 to 9.3), and the other phrases stay under -3. The int8-weight
file (0.65 MB) takes about 9 ms per second of audio against openWakeWord's 25 ms (8.7 /
24.4 and 9.6 / 25.8 in two runs).

Needs `pip install 'kerasdl[speech]'` (onnx, onnxruntime, openwakeword 0.4.0) and
Debian's flite and festival (the Makefile installs them); without them it says so and
exits with status 77.
"""

from __future__ import annotations

import os
import sys
import time

from tutorials.common import parse_args, pyplot

SR = 16000
CLASSIFIERS = {"alexa": "alexa", "hey_marvin": "hey marvin", "weather": "what's the weather"}
CLOSE = "hey martin"  # one sound away from "hey marvin"
OTHERS = ("hello there", "a quiet morning")
LEAD = 2.0  # seconds of noise before each phrase: the classifiers' history is full by its end
SKIPPED = 77


def classifier_files():
    """openWakeWord 0.4.0's classifier files (beside the speech embedding's), or None when
    it is not installed."""
    from kerasdl.models.speech_embedding import _weights_folder

    try:
        folder = _weights_folder("openwakeword")
    except FileNotFoundError:
        return None
    paths = {k: str(folder / f"{k}_v0.1.onnx") for k in CLASSIFIERS}
    return paths if all(os.path.isfile(p) for p in paths.values()) else None


def logit(p):
    import numpy as np

    p = np.clip(np.asarray(p, np.float64), 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def plot_voices(plt, rows, columns, ours, theirs, path):
    import numpy as np

    fig, axes = plt.subplots(1, 2, figsize=(12, 1.5 + 0.3 * len(rows)), sharey=True)
    for axis, values, title in ((axes[0], ours, "kerasdl"), (axes[1], theirs, "openWakeWord")):
        image = axis.imshow(values, cmap="RdYlGn", vmin=-10, vmax=10, aspect="auto")
        axis.set_xticks(range(len(columns)), columns, rotation=30, ha="right", fontsize=8)
        axis.set_yticks(range(len(rows)), rows, fontsize=8)
        for (i, j), value in np.ndenumerate(values):
            axis.text(j, i, f"{value:.1f}", ha="center", va="center", fontsize=7)
        axis.set_title(title)
    fig.suptitle(
        "logit of each phrase's classifier: the lowest over the speeds on its own phrase, "
        "the highest on the others",
        fontsize=10,
    )
    fig.colorbar(image, ax=axes, shrink=0.8, label="logit (>= 0: p >= 0.5)")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    start = time.perf_counter()
    paths = classifier_files()
    from kerasdl.data.speech import available_engines

    if paths is None or not {"flite", "festival"} <= set(available_engines()):
        print(
            "needs openWakeWord 0.4.0's files (pip install 'kerasdl[speech]') and Debian's "
            "flite and festival (apt-get install flite festival)"
        )
        sys.exit(SKIPPED)
    import warnings

    import numpy as np
    import onnxruntime
    from openwakeword.model import Model

    # openWakeWord asks onnxruntime for CUDA first; on a CPU-only machine that only warns.
    warnings.filterwarnings("ignore", message="Specified provider 'CUDAExecutionProvider'")

    from kerasdl.data.speech import Voice, held_out_voices, synthesize_many
    from kerasdl.export import tflite
    from kerasdl.models import (
        SpeechEmbeddingStreamer,
        openwakeword_head,
        speech_embedding,
        speech_embedding_streaming,
    )
    from kerasdl.plot import plot_wakeword_scores

    plt = pyplot()

    # 1. Each classifier in Keras, against onnxruntime on random windows ----------------
    rng = np.random.default_rng(0)
    heads = {}
    for name, path in paths.items():
        heads[name] = openwakeword_head(path)
        steps = heads[name].get_layer("context").kernel_size[0]
        windows = rng.normal(scale=4.0, size=(steps + 7, 96)).astype(np.float32)
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        feed = session.get_inputs()[0].name
        reference = [
            session.run(None, {feed: windows[None, j : j + steps]})[0].item() for j in range(8)
        ]
        ours = np.asarray(heads[name](windows[None]))[0, steps - 1 :]
        print(
            f"{name}: {steps} embeddings ({0.78 + 0.08 * (steps - 1):.2f} s), "
            f"{heads[name].count_params():,} weights; max |Keras - onnxruntime| "
            f"{np.abs(ours - reference).max():.1e} on 8 random windows"
        )

    # 2. hey_marvin as one streaming file with int8 weights -------------------------------
    embedding = speech_embedding()
    device = speech_embedding_streaming(embedding, heads["hey_marvin"])
    file = os.path.join(args.out, "hey_marvin.tflite")
    tflite(device, file, quantization="dynamic")
    print(f"hey_marvin.tflite: {os.path.getsize(file) / 1e6:.2f} MB (embedding + classifier)")

    # 3. Held-out voices, through kerasdl and through openWakeWord -----------------------
    voices = held_out_voices(speeds=(1.0,) if args.quick else (0.85, 1.0, 1.15))
    if args.quick:
        voices = [v for v in voices if v.name in ("rms", "awb", "cmu_us_slt_arctic_hts")]
    phrases = [*CLASSIFIERS.values(), CLOSE, *OTHERS]
    requests = [(text, voice) for voice in voices for text in phrases]
    clips = synthesize_many(requests)
    lead, length = int(LEAD * SR), int((LEAD + 3) * SR)
    audio = np.zeros((len(clips), length), np.float32)
    for row, clip in zip(audio, clips, strict=True):
        clip = clip[: length - lead - SR // 2] * 0.5
        row[lead : lead + clip.size] = clip
    audio += np.float32(0.003) * rng.standard_normal(audio.shape).astype(np.float32)
    pcm = np.round(np.clip(audio, -1, 1) * 32767).astype(np.int16)
    embeddings = embedding.predict(pcm.astype(np.float32) / 32767, batch_size=32, verbose=0)
    # From the step whose history is all audio on: before it the heads see zero embeddings
    # (openWakeWord starts from the embeddings of silence).
    ours = {
        name: np.asarray(head(embeddings))[:, head.get_layer("context").kernel_size[0] - 1 :].max(
            axis=1
        )
        for name, head in heads.items()
    }
    peer = Model(wakeword_model_paths=list(paths.values()))
    theirs = {name: np.zeros(len(clips)) for name in paths}
    for i, clip in enumerate(pcm):
        peer.reset()
        frames = peer.predict_clip(clip, padding=0)
        for name in paths:
            theirs[name][i] = max(frame[f"{name}_v0.1"] for frame in frames)
    agree = sum(int(((ours[n] > 0.5) == (theirs[n] > 0.5)).sum()) for n in paths) / (
        len(paths) * len(clips)
    )
    gaps = np.concatenate([np.abs(ours[n] - theirs[n]) for n in paths])
    print(
        f"{len(clips)} held-out clips x {len(paths)} classifiers: detections at 0.5 agree "
        f"with openWakeWord's on {agree:.1%}; highest probabilities differ by at most "
        f"{gaps.max():.3f} (median {np.median(gaps):.1e}; the two cut the audio into "
        "embedding windows a few samples apart)"
    )
    # Each classifier on its own phrase, and the highest of the three on the other phrases.
    spoken = np.array([text for text, _ in requests])
    rows = sorted({f"{v.engine} {v.name}" for v in voices}, key=lambda r: r.split()[::-1])
    columns = [*CLASSIFIERS.values(), f"{CLOSE} (hey_marvin)", "other phrases (any)"]
    tables = []
    for scores in (ours, theirs):
        table = np.zeros((len(rows), len(columns)))
        for r, row in enumerate(rows):
            mine = np.array([f"{v.engine} {v.name}" == row for _, v in requests])
            for c, (name, text) in enumerate(CLASSIFIERS.items()):
                table[r, c] = logit(scores[name][mine & (spoken == text)]).min()
            table[r, -2] = logit(scores["hey_marvin"][mine & (spoken == CLOSE)]).max()
            others = mine & np.isin(spoken, OTHERS)
            table[r, -1] = max(logit(scores[name][others]).max() for name in paths)
        tables.append(table)
    print(
        "each classifier's lowest logit over the speeds on its phrase; the highest on "
        f"'{CLOSE}' and on the other phrases"
    )
    print(f"  {'voice':36s}" + "".join(f"{c[:14]:>16s}" for c in columns))
    for r, row in enumerate(rows):
        cells = "".join(f"{tables[0][r, c]:8.1f}{tables[1][r, c]:8.1f}" for c in range(5))
        print(f"  {row:36s}{cells}   (kerasdl, openWakeWord)")
    plot_voices(
        plt, rows, columns, tables[0], tables[1], os.path.join(args.out, "openwakeword_voices.png")
    )

    # 4-5. The streaming file over one clip, and its time against openWakeWord's -----------
    rms = Voice("flite", "rms", 1.0)
    parts = synthesize_many([(text, rms) for text in ("hey marvin", *OTHERS, CLOSE)])
    gap_audio = np.zeros(SR, np.float32)
    clip = np.concatenate([gap_audio] + [p for part in parts for p in (part * 0.5, gap_audio)])
    clip += np.float32(0.003) * rng.standard_normal(clip.size).astype(np.float32)
    streamer = SpeechEmbeddingStreamer(file)
    streamed, times = streamer.run(clip)
    keras_scores = np.asarray(heads["hey_marvin"](embedding(clip[None])))[0]
    difference = np.abs(streamed - keras_scores).max()
    print(
        f"the file over {clip.size / SR:.1f} s of flite's rms saying 'hey marvin', "
        f"{', '.join(repr(o) for o in OTHERS)} and '{CLOSE}': max |file - Keras| "
        f"{difference:.3f}, highest probability {streamed.max():.3f}"
    )
    from kerasdl.verification.wakeword import detection_steps

    fired = times[detection_steps(streamed, times, 0.5, 1.0)]
    plot_wakeword_scores(
        clip, SR, streamed, times, 0.5, os.path.join(args.out, "openwakeword_clip.png"),
        detections=fired, title="hey_marvin.tflite on flite rms: 'hey marvin', then "
        + ", ".join(f"'{o}'" for o in (*OTHERS, CLOSE)),
    )  # fmt: skip
    single = Model(wakeword_model_paths=[paths["hey_marvin"]])
    pcm_clip = np.round(clip * 32767).astype(np.int16)
    chunks = range(0, clip.size - 1280 + 1, 1280)
    timed = []
    for run in (
        lambda: streamer.run(clip),
        lambda: [single.predict(pcm_clip[s : s + 1280]) for s in chunks],
    ):
        run()  # warm-up
        single.reset()
        began = time.perf_counter()
        run()
        timed.append((time.perf_counter() - began) / (clip.size / SR))
    print(
        f"per second of audio: {timed[0] * 1e3:.1f} ms (int8-weight TFLite) against "
        f"{timed[1] * 1e3:.1f} ms (openWakeWord's Model.predict on 80 ms chunks)"
    )
    print(f"detections at 0.5: {', '.join(f'{t:.2f} s' for t in fired) or 'none'}")
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
