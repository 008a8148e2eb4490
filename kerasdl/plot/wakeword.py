"""A wake-word detector's errors as PNG: recall per trigger name, false activations per
source (`kerasdl.verification.wakeword_errors`)."""

from __future__ import annotations

import os
from typing import Any


def plot_wakeword_errors(
    errors: Any, path: str | os.PathLike, top: int = 15, title: str | None = None
) -> str:
    """Draws a `WakeWordErrors` as two bar charts: the recall of the `top` most missed
    trigger names (groups) with their counts, and the `top` most frequent sources of false
    activations.

    Args:
        errors: a `kerasdl.verification.wakeword.WakeWordErrors`.
        path: where to write the PNG.
        top: bars per chart (>= 1).
        title: optional figure title (the threshold is added).

    Returns:
        The path written.

    Example:

    >>> import os, tempfile
    >>> from kerasdl.verification.wakeword import WakeWordErrors
    >>> errors = WakeWordErrors(0.9, [("activate / rms", 1, 4), ("activate / kal", 4, 4)],
    ...                         [("captivate / slt", 3), ("background", 1)])
    >>> out = os.path.join(tempfile.mkdtemp(), "errors.png")
    >>> plot_wakeword_errors(errors, out) == out
    True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if not all(hasattr(errors, a) for a in ("threshold", "triggers", "false_activations")):
        raise TypeError(
            "`errors` must be a WakeWordErrors (kerasdl.verification.wakeword_errors). "
            f"Received: {errors!r:.80}"
        )
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"`top` must be an integer >= 1. Received: top={top!r}")
    triggers = list(errors.triggers)[:top]
    sources = list(errors.false_activations)[:top]
    rows = max(len(triggers), len(sources), 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 1.2 + 0.32 * rows))
    if triggers:
        names = [name for name, _, _ in triggers][::-1]
        recall = [hit / total for _, hit, total in triggers][::-1]
        bars = left.barh(names, recall, color="tab:blue")
        for bar, (_, hit, total) in zip(bars, triggers[::-1], strict=True):
            left.text(1.01, bar.get_y() + bar.get_height() / 2, f"{hit}/{total}", va="center")
    else:
        left.text(0.5, 0.5, "no triggers", ha="center", va="center")
        left.set_yticks([])
    left.set(xlim=(0, 1.15), xlabel="recall", title="triggers, most missed first")
    if sources:
        names = [name for name, _ in sources][::-1]
        counts = [count for _, count in sources][::-1]
        right.barh(names, counts, color="tab:red")
        right.set_xlim(0, max(counts) * 1.1)
        right.xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        right.text(0.5, 0.5, "no false activations", ha="center", va="center")
        right.set(xticks=[], yticks=[])
    right.set(xlabel="false activations", title="false activations after")
    for axis in (left, right):
        axis.tick_params(axis="y", labelsize=8)
        axis.grid(True, axis="x", alpha=0.3)
    heading = f"threshold {errors.threshold:.6g}"
    fig.suptitle(f"{title}: {heading}" if title else heading)
    fig.tight_layout()
    path = os.fspath(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_wakeword_scores(
    audio: Any,
    sample_rate: int,
    scores: Any,
    step_times: Any,
    threshold: float,
    path: str | os.PathLike,
    detections: Any = None,
    labels: Any = None,
    title: str | None = None,
) -> str:
    """Draws a clip and a detector's probability over it: the waveform, its spectrogram,
    and the probability at each step with the threshold, the detections (vertical lines)
    and, when given, the label sequence (shaded).

    Args:
        audio: the clip, 1-D samples.
        sample_rate: its rate in Hz.
        scores: the probability at each step, 1-D (a logit model's `sigmoid(logit)`).
        step_times: the seconds of audio each step has heard, as long as `scores`.
        threshold: the probability the detector fires at, in [0, 1].
        path: where to write the PNG.
        detections: detection times in seconds, or None.
        labels: the label (0 / 1) at each step, as long as `scores`, or None.
        title: the title over the waveform; a default one when None.

    Returns:
        The path written.

    Raises:
        ValueError: arrays of the wrong rank or of different lengths, or a threshold or
            probability outside [0, 1] (naming the argument).

    Example:

    >>> import os, tempfile, numpy as np
    >>> audio = np.sin(np.arange(16000) / 5).astype("float32")
    >>> times = np.arange(1, 26) * 0.04
    >>> out = os.path.join(tempfile.mkdtemp(), "scores.png")
    >>> plot_wakeword_scores(audio, 16000, np.linspace(0, 1, 25), times, 0.9, out,
    ...                      detections=[0.92]) == out
    True
    """
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kerasdl._validation import check_in_range, check_positive_int

    sample_rate = check_positive_int("sample_rate", sample_rate)
    threshold = check_in_range("threshold", threshold, 0.0, 1.0, include_high=True)
    audio = np.asarray(audio, np.float64)
    scores = np.asarray(scores, np.float64)
    step_times = np.asarray(step_times, np.float64)
    for name, array in (("audio", audio), ("scores", scores), ("step_times", step_times)):
        if array.ndim != 1 or array.size == 0:
            raise ValueError(
                f"`{name}` must be a non-empty 1-D array. Received shape {array.shape}"
            )
    if step_times.shape != scores.shape:
        raise ValueError(
            f"`step_times` must have one time per score: got {step_times.size} times for "
            f"{scores.size} scores"
        )
    if not np.all((scores >= 0) & (scores <= 1)):
        raise ValueError(
            "`scores` must be probabilities in [0, 1] (pass sigmoid(logit) for a logit "
            f"model). Received values from {np.nanmin(scores):.3g} to {np.nanmax(scores):.3g}"
        )
    detections = np.zeros(0) if detections is None else np.asarray(detections, np.float64)
    if detections.ndim != 1:
        raise ValueError(f"`detections` must be 1-D times. Received shape {detections.shape}")
    if labels is not None:
        labels = np.asarray(labels, np.float64)
        if labels.shape != scores.shape:
            raise ValueError(
                f"`labels` must have one label per score: got {labels.size} for {scores.size}"
            )
    seconds = np.arange(audio.size) / sample_rate
    fig, (wave, spectrum, curve) = plt.subplots(
        3, 1, figsize=(10, 6.5), sharex=True, height_ratios=(1, 1.4, 2)
    )
    wave.plot(seconds, audio, linewidth=0.3, color="tab:grey")
    wave.set(ylabel="audio", title=title or f"{audio.size / sample_rate:.2f} s at {sample_rate} Hz")
    window = min(512, 1 << int(np.log2(max(audio.size, 2))))
    spectrum.specgram(
        audio + 1e-9, NFFT=window, Fs=sample_rate, noverlap=window * 3 // 4, cmap="magma"
    )
    spectrum.set(ylabel="Hz")
    if labels is not None:
        curve.fill_between(step_times, labels, step="post", alpha=0.25, color="tab:green",
                           label="labels")  # fmt: skip
    curve.plot(step_times, scores, color="tab:blue", label="probability")
    curve.axhline(threshold, color="tab:red", linestyle="--", label=f"threshold {threshold:g}")
    for k, time in enumerate(detections):
        curve.axvline(time, color="tab:orange", label="detection" if k == 0 else None)
    curve.set(xlabel="seconds", ylabel="probability", ylim=(-0.02, 1.02))
    curve.set_xlim(0, max(seconds[-1], step_times[-1]))
    curve.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    path = os.fspath(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
