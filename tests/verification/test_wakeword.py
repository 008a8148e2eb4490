"""Wake-word detection events, hits, false activations per hour, the operating curve and
the threshold for a target rate: hand-made probability sequences with known answers and a
step-by-step loop written here as the reference."""

import numpy as np
import pytest

from kerasdl.verification.wakeword import (
    detection_events,
    detection_steps,
    match_detections,
    operating_curve,
    threshold_for_false_activations,
    wakeword_scores,
)

# Reference: the detector and the bookkeeping as plain loops -----------------------------------


def loop_events(p, times, threshold, refractory):
    events, last = [], None
    for t in range(len(p)):
        if p[t] >= threshold and (last is None or times[t] - times[last] >= refractory - 1e-9):
            events.append(times[t])
            last = t
    return events


def loop_union_length(intervals, duration):
    total, current = 0.0, None
    for low, high in sorted((max(0.0, a), min(duration, b)) for a, b in intervals):
        if high <= low:
            continue
        if current is None or low > current[1]:
            if current is not None:
                total += current[1] - current[0]
            current = [low, high]
        else:
            current[1] = max(current[1], high)
    if current is not None:
        total += current[1] - current[0]
    return total


def loop_scores(p, times, ends, threshold, refractory, tolerance, early, duration):
    detected = triggers = false = negative_false = 0
    non_trigger = negative = 0.0
    for row, clip_ends in zip(p, ends, strict=True):
        clip_ends = [e for e in clip_ends if e >= 0]
        events = loop_events(row, times, threshold, refractory)
        windows = [(e - early, e + tolerance) for e in clip_ends]
        for low, high in windows:
            triggers += 1
            if any(low - 1e-9 <= d <= high + 1e-9 for d in events):
                detected += 1
        clip_false = sum(
            1 for d in events if not any(lo - 1e-9 <= d <= hi + 1e-9 for lo, hi in windows)
        )
        false += clip_false
        non_trigger += duration - loop_union_length(windows, duration)
        if not clip_ends:
            negative_false += clip_false
            negative += duration
    return detected, triggers, false, non_trigger / 3600, negative_false, negative / 3600


def random_case(seed, clips=12, steps=150, step=0.04):
    """Noisy probabilities with bumps after some trigger ends and a few false bumps."""
    rng = np.random.default_rng(seed)
    times = 0.2 + step * np.arange(steps)
    p = rng.beta(1, 8, (clips, steps))
    ends = np.full((clips, 3), -1.0)
    for c in range(clips):
        k = rng.integers(0, 4)
        chosen = np.sort(rng.choice(np.arange(1.0, times[-1] - 0.2, 0.9), k, replace=False))
        ends[c, :k] = chosen + rng.uniform(-0.02, 0.02, k)
        for e in ends[c, :k]:
            if rng.random() < 0.8:
                s = np.searchsorted(times, e + rng.uniform(-0.1, 0.5))
                p[c, s : s + rng.integers(1, 15)] = rng.uniform(0.4, 1.0)
        for _ in range(rng.integers(0, 3)):
            s = rng.integers(0, steps)
            p[c, s : s + rng.integers(1, 8)] = rng.uniform(0.3, 0.95)
    return np.round(p, 3), times, ends, float(times[-1] + 0.1)


# Events -----------------------------------------------------------------------------------


def test_events_hand_made():
    times = np.arange(10) * 0.25
    p = [0.0, 0.6, 0.7, 0.9, 0.8, 0.2, 0.55, 0.1, 0.9, 0.95]
    # 0.25 fires; 0.5..1.0 are within 1 s; 1.5 fires (1.25 after); 2.0 and 2.25 within 1 s.
    assert detection_events(p, times, 0.5, refractory=1.0).tolist() == [0.25, 1.5]
    # No refractory period: every step at or above the threshold fires.
    assert detection_events(p, times, 0.5, refractory=0.0).tolist() == [
        0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.25,
    ]  # fmt: skip
    # Exactly one refractory period later fires again (0.25 + 0.75 = 1.0).
    assert detection_events(p, times, 0.5, refractory=0.75).tolist() == [0.25, 1.0, 2.0]
    # The threshold is inclusive; above the largest probability nothing fires.
    assert detection_events(p, times, 0.95, refractory=1.0).tolist() == [2.25]
    assert detection_events(p, times, 0.96).size == 0


def test_events_batch_and_single_agree_with_loop():
    p, times, _, _ = random_case(0)
    for threshold in (0.0, 0.3, 0.5, 0.9):
        for refractory in (0.0, 0.04, 0.5, 1.0, 3.0):
            batch = detection_events(p, times, threshold, refractory)
            for row, events in zip(p, batch, strict=True):
                expected = loop_events(row, times, threshold, refractory)
                np.testing.assert_array_equal(events, expected)
                np.testing.assert_array_equal(
                    detection_events(row, times, threshold, refractory), expected
                )
                steps = detection_steps(row, times, threshold, refractory)
                np.testing.assert_array_equal(times[steps], expected)


def test_events_uneven_step_times():
    times = np.array([0.0, 0.1, 0.15, 0.9, 1.0, 1.05, 2.5])
    p = np.ones(7)
    assert detection_events(p, times, 0.5, refractory=0.9).tolist() == [0.0, 0.9, 2.5]


def test_event_count_never_grows_with_threshold():
    p, times, _, _ = random_case(1)
    counts = [
        sum(len(e) for e in detection_events(p, times, t, 0.7)) for t in np.linspace(0, 1, 101)
    ]
    assert all(a >= b for a, b in zip(counts, counts[1:], strict=False))
    assert counts[0] > counts[-1]


# Matching and scores ---------------------------------------------------------------------------


def test_match_detections_windows():
    detected, false = match_detections(
        [0.95, 2.0, 3.05, 7.0], [1.0, 2.0, -1.0], tolerance=1.0, early=0.1
    )
    # 0.95 is 0.05 early (within early=0.1) for the trigger at 1.0; 2.0 hits both windows;
    # 3.05 is past 2.0 + 1.0.
    assert detected.tolist() == [True, True, False]
    assert false.tolist() == [False, False, True, True]
    detected, false = match_detections([0.95], [1.0])
    assert detected.tolist() == [False] and false.tolist() == [True]
    detected, false = match_detections([], [1.0])
    assert detected.tolist() == [False] and false.size == 0


def test_scores_hand_made():
    times = np.arange(1, 101) * 0.1  # 10 s clips, a step every 0.1 s
    p = np.zeros((3, 100))
    p[0, 29:33] = 0.9  # 3.0-3.3 s: hit of the trigger ending at 3.0
    p[0, 89] = 0.7  # 9.0 s: hit of the trigger ending at 8.5 (0.5 s late)
    p[0, 49] = 0.95  # 5.0 s: false (no trigger near)
    p[1, 9] = 0.6  # negative clip: false at 1.0 s
    p[1, 60:65] = 0.8  # negative clip: false at 6.1 s (one event: refractory 1 s)
    p[2, 0] = 0.99  # clip with a trigger at 9.5 it never detects; false at 0.1 s
    ends = [[3.0, 8.5], [-1, -1], [9.5, -1]]
    scores = wakeword_scores(p, times, ends, threshold=0.5, duration=10.0)
    assert (scores.detected, scores.triggers) == (2, 3)
    assert scores.recall == pytest.approx(2 / 3)
    assert scores.miss_rate == pytest.approx(1 / 3)
    assert scores.false_activations == 4  # 5.0, 1.0, 6.1 and 0.1
    assert scores.negative_false_activations == 2
    assert scores.negative_hours == pytest.approx(10 / 3600)
    assert scores.negative_false_activations_per_hour == pytest.approx(720)
    # Windows: [3, 4] and [8.5, 9.5] in clip 0, [9.5, 10] (cut at the end) in clip 2.
    assert scores.non_trigger_hours == pytest.approx((30 - 2 - 0.5) / 3600)
    assert scores.false_activations_per_hour == pytest.approx(4 / (27.5 / 3600))
    # At 0.75 the late hit (0.7) and two false events (0.6, 0.7) drop out.
    higher = wakeword_scores(p, times, ends, threshold=0.75, duration=10.0)
    assert (higher.detected, higher.false_activations, higher.negative_false_activations) == (
        1, 3, 1,
    )  # fmt: skip


def test_scores_single_clip_and_default_duration():
    times = np.arange(1, 51) * 0.1
    p = np.zeros(50)
    p[20] = 0.9
    scores = wakeword_scores(p, times, [2.0], threshold=0.5)
    assert scores.recall == 1.0 and scores.false_activations == 0
    assert scores.non_trigger_hours == pytest.approx((5.0 - 1.0) / 3600)
    assert np.isnan(scores.negative_false_activations_per_hour)
    assert scores.negative_hours == 0.0


@pytest.mark.parametrize("seed", range(4))
def test_scores_match_loop_reference(seed):
    p, times, ends, duration = random_case(seed)
    for threshold in (0.2, 0.45, 0.7, 0.99):
        for refractory, tolerance, early in ((1.0, 1.0, 0.0), (0.3, 0.5, 0.1), (2.0, 0.2, 0.0)):
            scores = wakeword_scores(
                p,
                times,
                ends,
                threshold,
                refractory=refractory,
                tolerance=tolerance,
                early=early,
                duration=duration,
            )
            detected, triggers, false, non_trigger, negative_false, negative = loop_scores(
                p, times, ends, threshold, refractory, tolerance, early, duration
            )
            assert (scores.detected, scores.triggers) == (detected, triggers)
            assert scores.false_activations == false
            assert scores.negative_false_activations == negative_false
            assert scores.non_trigger_hours == pytest.approx(non_trigger, abs=1e-12)
            assert scores.negative_hours == pytest.approx(negative, abs=1e-12)


# Curve and threshold --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_curve_matches_scores_at_each_threshold(seed):
    p, times, ends, duration = random_case(seed)
    curve = operating_curve(p, times, ends, duration=duration)
    assert np.all(np.diff(curve.thresholds) > 0)
    assert curve.thresholds[0] == p.min() and curve.thresholds[-1] > p.max()
    assert curve.recall[-1] == 0 and curve.negative_false_activations_per_hour[-1] == 0
    for k in range(0, len(curve.thresholds), 17):
        scores = wakeword_scores(p, times, ends, curve.thresholds[k], duration=duration)
        assert curve.recall[k] == pytest.approx(scores.recall)
        assert curve.false_activations_per_hour[k] == pytest.approx(
            scores.false_activations_per_hour
        )
        assert curve.negative_false_activations_per_hour[k] == pytest.approx(
            scores.negative_false_activations_per_hour
        )
    np.testing.assert_allclose(curve.miss_rate, 1 - curve.recall)
    # False activations on negative clips never grow with the threshold.
    assert np.all(np.diff(curve.negative_false_activations_per_hour) <= 1e-9)
    thinned = operating_curve(p, times, ends, max_thresholds=10, duration=duration)
    assert thinned.thresholds.size == 10


@pytest.mark.parametrize("seed", range(3))
def test_threshold_is_the_lowest_within_target(seed):
    p, times, ends, duration = random_case(seed, clips=20)
    negative = np.all(ends < 0, axis=1)
    for target in (0.0, 150.0, 1000.0, 5000.0):
        tau = threshold_for_false_activations(
            p, times, target, trigger_ends=ends, duration=duration
        )
        # Every distinct probability of the negative clips below tau breaks the target; tau
        # keeps it.
        candidates = np.unique(p[negative])
        candidates = np.append(candidates, np.nextafter(candidates[-1], np.inf))
        within = []
        for t in candidates:
            counts = loop_scores(p, times, ends, t, 1.0, 1.0, 0.0, duration)
            within.append(counts[4] <= target * counts[5] * (1 + 1e-12))
        expected = candidates[int(np.argmax(within))]
        assert tau == expected, (target, tau, expected)
        # Only the negative clips matter.
        assert tau == threshold_for_false_activations(p[negative], times, target, duration=duration)


def test_threshold_on_negative_audio_only():
    times = np.arange(1, 101) * 0.1
    p = np.zeros((4, 100))
    p[0, 10] = 0.3
    p[1, 50] = 0.6
    p[2, 70] = 0.8
    # 40 s of negative audio (1/90 hour): at 0 every step may fire (once a second, 40
    # events); above 0 the three bumps give 270, 180 and 90 per hour.
    assert threshold_for_false_activations(p, times, 3600.0, duration=10.0) == 0.0
    assert threshold_for_false_activations(p, times, 270.0, duration=10.0) == 0.3
    assert threshold_for_false_activations(p, times, 269.0, duration=10.0) == 0.6
    assert threshold_for_false_activations(p, times, 90.0, duration=10.0) == 0.8
    assert threshold_for_false_activations(p, times, 0.0, duration=10.0) > 0.8


def test_errors():
    times = np.arange(1, 11) * 0.1
    with pytest.raises(ValueError, match=r"`probabilities` must have shape \(steps,\)"):
        detection_events(np.zeros((1, 2, 3)), times)
    with pytest.raises(ValueError, match=r"`probabilities` must be finite"):
        detection_events([np.nan] * 10, times)
    with pytest.raises(ValueError, match=r"`step_times` must have shape \(10,\)"):
        detection_events(np.zeros(10), times[:5])
    with pytest.raises(ValueError, match=r"`step_times` must be finite and non-decreasing"):
        detection_events(np.zeros(10), times[::-1])
    with pytest.raises(ValueError, match=r"`refractory` must be a finite number >= 0"):
        detection_events(np.zeros(10), times, refractory=-1)
    with pytest.raises(TypeError, match=r"`threshold` must be a number"):
        detection_events(np.zeros(10), times, threshold="high")
    with pytest.raises(ValueError, match=r"`trigger_ends` must have shape \(3, k\)"):
        wakeword_scores(np.zeros((3, 10)), times, [[1.0], [2.0]])
    with pytest.raises(ValueError, match=r"`duration` must be >= step_times\[-1\]"):
        wakeword_scores(np.zeros((3, 10)), times, -np.ones((3, 1)), duration=0.5)
    with pytest.raises(ValueError, match=r"`trigger_ends` must leave some clips without"):
        threshold_for_false_activations(np.zeros((2, 10)), times, trigger_ends=[[0.5], [0.5]])
    with pytest.raises(ValueError, match=r"`max_thresholds` must be >= 2"):
        operating_curve(np.zeros((2, 10)), times, -np.ones((2, 1)), max_thresholds=1)
