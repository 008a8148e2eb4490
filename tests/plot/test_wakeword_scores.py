"""plot_wakeword_scores: the PNG holds the waveform, a spectrogram and the probability
curve with the threshold, the detections and the labels as given (the figure is read back
before it is written), and bad arguments raise errors that name them."""

import matplotlib.figure
import numpy as np
import pytest
from PIL import Image

from kerasdl.plot import plot_wakeword_scores


@pytest.fixture()
def drawn(monkeypatch):
    """The figures `savefig` is called on, kept for inspection (the file is still written)."""
    figures = []
    save = matplotlib.figure.Figure.savefig

    def keep(self, *args, **kwargs):
        figures.append(self)
        return save(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", keep)
    return figures


def test_draws_what_it_is_given(drawn, tmp_path):
    rng = np.random.default_rng(0)
    audio = rng.normal(scale=0.1, size=24000).astype(np.float32)
    times = 0.5 + 0.08 * np.arange(12)
    scores = rng.uniform(size=12)
    labels = (np.arange(12) % 5 == 0).astype(float)
    out = plot_wakeword_scores(
        audio, 16000, scores, times, 0.75, tmp_path / "s.png", detections=[0.9, 1.3],
        labels=labels, title="clip",
    )  # fmt: skip
    assert out == str(tmp_path / "s.png")
    assert Image.open(out).size == (1000, 650)
    (figure,) = drawn
    wave, spectrum, curve = figure.axes[:3]
    assert wave.get_title() == "clip"
    np.testing.assert_allclose(wave.lines[0].get_xdata(), np.arange(24000) / 16000)
    np.testing.assert_allclose(wave.lines[0].get_ydata(), audio, rtol=1e-6)
    assert spectrum.images, "no spectrogram"
    probability, threshold, *detections = curve.lines
    np.testing.assert_allclose(probability.get_xdata(), times)
    np.testing.assert_allclose(probability.get_ydata(), scores)
    assert list(threshold.get_ydata()) == [0.75, 0.75]
    assert [line.get_xdata()[0] for line in detections] == [0.9, 1.3]
    assert len(curve.collections) == 1  # the shaded labels
    assert [t.get_text() for t in curve.get_legend().get_texts()] == [
        "labels", "probability", "threshold 0.75", "detection",
    ]  # fmt: skip


def test_bad_arguments_name_themselves(tmp_path):
    audio, times, scores = np.zeros(1600), np.arange(1, 4) * 0.04, np.array([0.1, 0.5, 0.9])
    out = tmp_path / "x.png"
    cases = [
        (dict(scores=scores[:2]), ValueError, "`step_times` must have one time per score"),
        (dict(scores=scores * 2), ValueError, "`scores` must be probabilities in \\[0, 1\\]"),
        (dict(threshold=1.5), ValueError, "`threshold` must be in \\[0.0, 1.0\\]"),
        (dict(audio=np.zeros((2, 800))), ValueError, "`audio` must be a non-empty 1-D array"),
        (dict(labels=np.zeros(2)), ValueError, "`labels` must have one label per score"),
        (dict(sample_rate=0), ValueError, "sample_rate"),
    ]
    for change, error, message in cases:
        arguments = dict(audio=audio, sample_rate=16000, scores=scores, step_times=times,
                         threshold=0.5, path=out) | change  # fmt: skip
        with pytest.raises(error, match=message):
            plot_wakeword_scores(**arguments)
    assert not out.exists()
