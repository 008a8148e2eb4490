"""Wake-word error analysis: misses per trigger name and false activations per inserted
clip, against a plain loop written here, the totals of `wakeword_scores`, and clips mixed
by `trigger_word_dataset` with known answers."""

import numpy as np
import pytest

from kerasdl.data.trigger_word import ClipBank, trigger_word_dataset
from kerasdl.verification.wakeword import wakeword_errors, wakeword_scores
from tests.verification.test_wakeword import loop_events

SR = 100  # samples per second of the hand-made segments


def random_segments(seed, clips=10, steps=200, step=0.05):
    """Non-overlapping inserted clips (positives and negatives) and noisy scores with
    bumps after some triggers, after some other words and in the background."""
    rng = np.random.default_rng(seed)
    times = step * np.arange(1, steps + 1)
    p = rng.beta(1, 8, (clips, steps))
    segments = np.full((clips, 5, 4), -1, np.int64)
    for c in range(clips):
        position, k = 20, 0
        while k < 5 and position < steps * step * SR - 120:
            length = int(rng.integers(30, 90))
            start = position + int(rng.integers(0, 60))
            positive = int(rng.random() < 0.5)
            index = int(rng.integers(0, 4 if positive else 6))
            segments[c, k] = (start, start + length, positive, index)
            end = (start + length) / SR
            if rng.random() < 0.7:
                s = np.searchsorted(times, end + rng.uniform(-0.3, 1.4))
                p[c, s : s + rng.integers(1, 6)] = rng.uniform(0.4, 1.0)
            position, k = start + length + 10, k + 1
        for _ in range(rng.integers(0, 3)):
            s = rng.integers(0, steps)
            p[c, s : s + 3] = rng.uniform(0.3, 0.95)
    return np.round(p, 3), times, segments


def loop_errors(p, times, segments, positive_names, negative_names, threshold, tolerance, early):
    hits, sources = {}, {}
    for row, clip_segments in zip(p, segments, strict=True):
        events = loop_events(row, times, threshold, 1.0)
        inserted = sorted((s for s in clip_segments.tolist() if s[0] >= 0), key=lambda s: s[0])
        windows = [(s[1] / SR - early, s[1] / SR + tolerance) for s in inserted if s[2] == 1]
        for s, (low, high) in zip([s for s in inserted if s[2] == 1], windows, strict=True):
            name = positive_names[s[3]]
            hit = any(low - 1e-9 <= e <= high + 1e-9 for e in events)
            hits[name] = (hits.get(name, (0, 0))[0] + hit, hits.get(name, (0, 0))[1] + 1)
        for e in events:
            if any(low - 1e-9 <= e <= high + 1e-9 for low, high in windows):
                continue
            source = "background"
            for s in inserted:  # the last one started before e and ended within tolerance
                if s[0] / SR <= e + 1e-9 and s[1] / SR + tolerance >= e - 1e-9:
                    source = (positive_names if s[2] == 1 else negative_names)[s[3]]
            sources[source] = sources.get(source, 0) + 1
    return hits, sources


POSITIVES = ["activate / ann", "activate / bob", "activate / cid", "activate / dee"]
VOICES = ["ann", "bob", "ann", "cid", "bob", "dee"]
NEGATIVES = [f"{w} / {v}" for w, v in zip("abcdef", VOICES, strict=True)]


@pytest.mark.parametrize("seed", range(4))
def test_errors_match_loop_reference_and_scores(seed):
    p, times, segments = random_segments(seed)
    for threshold, tolerance, early in ((0.5, 1.0, 0.0), (0.35, 0.5, 0.2), (0.8, 1.5, 0.1)):
        errors = wakeword_errors(
            p, times, segments, POSITIVES, NEGATIVES, threshold,
            sample_rate=SR, tolerance=tolerance, early=early,
        )  # fmt: skip
        hits, sources = loop_errors(
            p, times, segments, POSITIVES, NEGATIVES, threshold, tolerance, early
        )
        assert {name: (hit, total) for name, hit, total in errors.triggers} == hits
        assert dict(errors.false_activations) == sources
        # Sorted: most missed first, most frequent source first.
        missed = [total - hit for _, hit, total in errors.triggers]
        assert missed == sorted(missed, reverse=True)
        counts = [count for _, count in errors.false_activations]
        assert counts == sorted(counts, reverse=True)
        # The totals are wakeword_scores' on the same events.
        ends = np.where(segments[..., 2] == 1, segments[..., 1] / SR, -1.0)
        scores = wakeword_scores(
            p, times, ends, threshold, tolerance=tolerance, early=early, duration=times[-1]
        )
        assert sum(hit for _, hit, _ in errors.triggers) == scores.detected
        assert sum(total for _, _, total in errors.triggers) == scores.triggers
        assert sum(counts) == scores.false_activations


def test_errors_grouped_by_key():
    p, times, segments = random_segments(7)
    plain = wakeword_errors(p, times, segments, POSITIVES, NEGATIVES, 0.4, sample_rate=SR)
    voice = wakeword_errors(
        p, times, segments, POSITIVES, NEGATIVES, 0.4, sample_rate=SR,
        key=lambda name: name.split(" / ")[-1],
    )  # fmt: skip
    expected = {}
    for name, count in plain.false_activations:
        group = name.split(" / ")[-1]
        expected[group] = expected.get(group, 0) + count
    assert dict(voice.false_activations) == expected
    assert {n for n, _, _ in voice.triggers} <= {"ann", "bob", "cid", "dee"}
    assert sum(t for _, _, t in voice.triggers) == sum(t for _, _, t in plain.triggers)


def test_errors_on_generated_mixes():
    """Scores made from the mixes' own segments: a bump right after each trigger except
    those of one clip, and one after each "hello": every other trigger is found, the
    skipped ones are the misses, and every false activation follows "hello"."""
    clip = np.ones(1600, np.float32)
    bank = ClipBank(
        [clip] * 3,
        [clip] * 2,
        positive_names=["activate / a", "activate / b", "activate / c"],
        negative_names=["hello / a", "thanks / a"],
    )
    # 1.2 s between clips: each bump is past the previous clip's 1 s tolerance.
    data = trigger_word_dataset(
        bank, 30, duration=8.0, max_positives=2, max_negatives=2, seed=3, min_gap=19200
    )
    times = np.arange(1, 201) * 0.04
    p = np.zeros((30, 200))
    expected_missed = expected_total = expected_false = 0
    for c, clip_segments in enumerate(data.segments):
        for start, end, positive, index in clip_segments:
            if start < 0:
                continue
            step = int(np.searchsorted(times, end / 16000 + 0.05))
            if positive and index == 2:
                expected_missed += 1
            elif (positive or index == 0) and step < 200:
                p[c, step] = 1.0
                expected_false += not positive
            expected_total += bool(positive)
    errors = wakeword_errors(
        p, times, data.segments, bank.names("positives"), bank.names("negatives"), 0.5,
        refractory=0.01,
    )  # fmt: skip
    assert errors.triggers[0][0] == "activate / c" and errors.triggers[0][1] == 0
    assert sum(t - h for _, h, t in errors.triggers) == expected_missed
    assert sum(t for _, _, t in errors.triggers) == expected_total
    assert errors.false_activations == [("hello / a", expected_false)]
    text = errors.table()
    assert "activate / c" in text and "hello / a" in text


def test_errors_table_and_bad_input():
    p, times, segments = random_segments(1)
    errors = wakeword_errors(p, times, segments, POSITIVES, NEGATIVES, 0.99, sample_rate=SR)
    text = errors.table(top=2)
    assert text.startswith("threshold 0.99\nmissed triggers")
    assert text.count("\n  ") <= 4
    with pytest.raises(ValueError, match=r"`segments` must have shape \(10, m, 4\)"):
        wakeword_errors(p, times, segments[:, :, :3], POSITIVES, NEGATIVES)
    with pytest.raises(TypeError, match="`segments` must hold integer sample indices"):
        wakeword_errors(p, times, segments.astype(float), POSITIVES, NEGATIVES)
    with pytest.raises(ValueError, match="`negative_names` must name every bank clip"):
        wakeword_errors(p, times, segments, POSITIVES, NEGATIVES[:2], sample_rate=SR)
    with pytest.raises(ValueError, match="`positive_names` must name every bank clip"):
        wakeword_errors(p, times, segments, [], NEGATIVES, sample_rate=SR)
    with pytest.raises(ValueError, match="`sample_rate` must be > 0"):
        wakeword_errors(p, times, segments, POSITIVES, NEGATIVES, sample_rate=0)
    with pytest.raises(ValueError, match=r"`step_times` must have shape"):
        wakeword_errors(p, times[:3], segments, POSITIVES, NEGATIVES, sample_rate=SR)


def test_plot_wakeword_errors(tmp_path):
    from PIL import Image

    from kerasdl.plot import plot_wakeword_errors

    p, times, segments = random_segments(2)
    errors = wakeword_errors(p, times, segments, POSITIVES, NEGATIVES, 0.4, sample_rate=SR)
    assert errors.triggers and errors.false_activations
    path = plot_wakeword_errors(errors, tmp_path / "errors.png", top=3, title="random")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] >= 1000
        pixels = np.asarray(image.convert("RGB")).astype(int)
    # Both charts hold bars: blue (recall) and red (false activations) pixels.
    blue = (pixels[..., 2] > 150) & (pixels[..., 0] < 80)
    red = (pixels[..., 0] > 180) & (pixels[..., 1] < 80) & (pixels[..., 2] < 80)
    assert blue.sum() > 500 and red.sum() > 500
    empty = wakeword_errors(p, times, segments, POSITIVES, NEGATIVES, 2.0, sample_rate=SR)
    assert empty.false_activations == []
    plot_wakeword_errors(empty, tmp_path / "none.png")
    with pytest.raises(TypeError, match="`errors` must be a WakeWordErrors"):
        plot_wakeword_errors({"triggers": []}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="`top` must be an integer >= 1"):
        plot_wakeword_errors(errors, tmp_path / "x.png", top=0)
