"""Measuring a wake-word detector: detection events, recall and false activations per hour.

A trigger-word model outputs `y<t>`, the probability that the trigger word has just ended,
at every output step `t`; step `t` has heard the audio up to `step_times[t]` seconds. A
detector turns these into detection events:

    fire at step t  when  y<t> >= threshold  and  step_times[t] - step_times[last] >= refractory

where `last` is the step of the previous event (the first step at or above the threshold
always fires). The refractory period keeps one spoken trigger, which holds `y` high for a
few steps, from firing again. Among the steps above the threshold these are the earliest
events spaced at least `refractory` apart, and their number never grows with the threshold.

An event is a hit of a trigger that ends at `e` seconds when it falls in the window
`[e - early, e + tolerance]`; a trigger with at least one event in its window is detected.
Events outside every trigger's window are false activations. For a set of clips:

    recall = detected triggers / triggers,  miss rate = 1 - recall
    false activations per hour = false activations / hours of audio

counted on the negative clips (clips without a trigger: the notes' "negative audio") or on
the non-trigger parts of every clip (the audio outside the windows). The operating curve
(DET) is the miss rate against false activations per hour over thresholds; the operating
point is the lowest threshold whose false activations per hour of negative audio stay
within a target, e.g. 1 per hour (`threshold_for_false_activations`). That threshold rests
on the few highest-scoring negatives; `bootstrap_operating_point` shows how much the recall
there moves when the test clips are resampled. `wakeword_errors` traces the misses and the
false activations back to the inserted clips (which voice, which word).

Times are in seconds: `step_times = trigger_word_step_ends(num_samples, model) /
sample_rate` and `trigger_ends = examples.trigger_ends / sample_rate` (negative entries pad
clips with fewer triggers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from kerasdl._validation import check_positive_int

SECONDS_PER_HOUR = 3600.0
# Times within a nanosecond count as equal, so a refractory period that is a whole number
# of step spacings lands on a step despite float rounding of the step times.
_TIME_EPSILON = 1e-9


class WakeWordScores(NamedTuple):
    """A wake-word detector's results on a set of clips at one threshold.

    Attributes:
        threshold: the probability threshold.
        recall: detected triggers / triggers (NaN when there is no trigger).
        detected: triggers with an event in their window.
        triggers: triggers in all clips.
        false_activations: events outside every trigger window, in all clips.
        non_trigger_hours: hours of audio outside the trigger windows, in all clips.
        false_activations_per_hour: `false_activations / non_trigger_hours`.
        negative_false_activations: events in the negative clips (clips without a trigger).
        negative_hours: hours of negative clips.
        negative_false_activations_per_hour: `negative_false_activations / negative_hours`
            (NaN when there is no negative clip).
    """

    threshold: float
    recall: float
    detected: int
    triggers: int
    false_activations: int
    non_trigger_hours: float
    false_activations_per_hour: float
    negative_false_activations: int
    negative_hours: float
    negative_false_activations_per_hour: float

    @property
    def miss_rate(self) -> float:
        """1 - recall."""
        return 1.0 - self.recall


class OperatingCurve(NamedTuple):
    """A wake-word detector's operating (DET) curve: its results at each threshold.

    Attributes:
        thresholds: `(k,)` ascending thresholds.
        recall: `(k,)` recall at each threshold.
        false_activations_per_hour: `(k,)` on the non-trigger parts of all clips.
        negative_false_activations_per_hour: `(k,)` on the negative clips.
        triggers: triggers in all clips.
        non_trigger_hours: hours outside the trigger windows.
        negative_hours: hours of negative clips.
    """

    thresholds: np.ndarray
    recall: np.ndarray
    false_activations_per_hour: np.ndarray
    negative_false_activations_per_hour: np.ndarray
    triggers: int
    non_trigger_hours: float
    negative_hours: float

    @property
    def miss_rate(self) -> np.ndarray:
        """`(k,)` 1 - recall."""
        return 1.0 - self.recall


# Checks -------------------------------------------------------------------------------------


def _number(name: str, value: Any, low: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise TypeError(f"`{name}` must be a number. Received: {name}={value!r}")
    if not (np.isfinite(value) and value >= low):
        raise ValueError(f"`{name}` must be a finite number >= {low}. Received: {name}={value}")
    return float(value)


def _check_probabilities(probabilities: Any) -> tuple[np.ndarray, bool]:
    """`(n, steps)` float64 probabilities and whether a single `(steps,)` clip was given."""
    try:
        array = np.asarray(probabilities, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(
            "`probabilities` must be an array of per-step probabilities. "
            f"Received: probabilities={probabilities!r:.80}"
        ) from error
    if array.ndim not in (1, 2) or array.shape[-1] == 0:
        raise ValueError(
            "`probabilities` must have shape (steps,) or (clips, steps) with steps >= 1. "
            f"Received: probabilities.shape={array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(
            "`probabilities` must be finite. Received: "
            f"{int(np.sum(~np.isfinite(array)))} NaN or infinite values"
        )
    return (array[None], True) if array.ndim == 1 else (array, False)


def _check_step_times(step_times: Any, steps: int) -> np.ndarray:
    times = np.asarray(step_times, dtype=np.float64)
    if times.shape != (steps,):
        raise ValueError(
            f"`step_times` must have shape ({steps},), one time per output step. "
            f"Received: step_times.shape={times.shape}"
        )
    if not np.all(np.isfinite(times)) or np.any(np.diff(times) < 0):
        raise ValueError(
            "`step_times` must be finite and non-decreasing (seconds of audio each step "
            "has heard). Received: a decrease or a non-finite value"
        )
    return times


def _check_trigger_ends(trigger_ends: Any, clips: int, single: bool) -> np.ndarray:
    """`(clips, k)` float64 trigger ends, sorted per clip, padding (negative) as NaN last."""
    try:
        ends = np.asarray(trigger_ends, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"`trigger_ends` must be an array of times. Received: {trigger_ends!r:.80}"
        ) from error
    if single and ends.ndim <= 1:
        ends = ends.reshape(1, -1)
    if ends.ndim != 2 or ends.shape[0] != clips:
        layout = "(k,) or (1, k)" if single else f"({clips}, k)"
        raise ValueError(
            f"`trigger_ends` must have shape {layout}: the end times (seconds) of each clip's "
            f"triggers, padded with negative values. Received: trigger_ends.shape={ends.shape}"
        )
    if np.any(np.isinf(ends)):
        raise ValueError("`trigger_ends` must be finite. Received: an infinite value")
    ends = np.where(ends >= 0, ends, np.nan)
    return np.sort(ends, axis=1)  # NaN sorts last


def _check_durations(duration: Any, clips: int, step_times: np.ndarray) -> np.ndarray:
    if duration is None:
        return np.full(clips, float(step_times[-1]))
    durations = np.asarray(duration, dtype=np.float64)
    if durations.ndim == 0:
        durations = np.full(clips, float(durations))
    if durations.shape != (clips,) or not np.all(np.isfinite(durations)):
        raise ValueError(
            f"`duration` must be a number or ({clips},) seconds per clip. "
            f"Received: duration={duration!r:.80}"
        )
    if np.any(durations < step_times[-1] - _TIME_EPSILON):
        raise ValueError(
            f"`duration` must be >= step_times[-1] = {step_times[-1]} seconds (the audio the "
            f"last step has heard). Received: duration={duration!r:.80}"
        )
    return durations


# Events -------------------------------------------------------------------------------------


def _refractory_jumps(step_times: np.ndarray, refractory: float) -> np.ndarray:
    """`(steps + 1,)`: after an event at step s, the first step allowed to fire again."""
    steps = step_times.size
    jumps = np.searchsorted(step_times, step_times + refractory - _TIME_EPSILON, side="left")
    # A zero refractory period still moves on by one step.
    jumps = np.maximum(jumps, np.arange(1, steps + 1))
    return np.append(jumps, steps)


def _event_mask(probabilities: np.ndarray, jumps: np.ndarray, threshold: float) -> np.ndarray:
    """`(clips, steps)` True at the steps that fire, every clip at once.

    `next_above[c, s]` is the first step at or after `s` at or above the threshold; from an
    event at `s` the next event is `next_above[c, jumps[s]]`. Each round adds one event to
    every clip that still has one, so the loop runs (most events in a clip) times.
    """
    clips, steps = probabilities.shape
    positions = np.where(probabilities >= threshold, np.arange(steps), steps)
    next_above = np.minimum.accumulate(positions[:, ::-1], axis=1)[:, ::-1]
    next_above = np.concatenate([next_above, np.full((clips, 1), steps)], axis=1)
    mask = np.zeros((clips, steps + 1), bool)
    rows = np.arange(clips)
    current = next_above[:, 0]
    while True:
        live = current < steps
        if not live.any():
            return mask[:, :steps]
        rows, current = rows[live], current[live]
        mask[rows, current] = True
        current = next_above[rows, jumps[current]]


def detection_steps(
    probabilities: Any, step_times: Any, threshold: float = 0.5, refractory: float = 1.0
) -> np.ndarray | list[np.ndarray]:
    """The output steps at which a wake-word detector fires.

    A step fires when `y<t> >= threshold` and at least `refractory` seconds have passed
    since the previous event (`step_times[t] - step_times[last] >= refractory`).

    Args:
        probabilities: `(steps,)` per-step probabilities of one clip, or `(clips, steps)`.
        step_times: `(steps,)` non-decreasing seconds of audio each step has heard.
        threshold: the probability threshold.
        refractory: seconds after an event during which the detector does not fire again.

    Returns:
        The firing steps' indices (int64): one array for one clip, a list of arrays for
        `(clips, steps)`.

    Example:

    >>> p = [0.1, 0.7, 0.9, 0.6, 0.2, 0.8, 0.9, 0.3]
    >>> detection_steps(p, np.arange(8) * 0.5, threshold=0.5, refractory=1.0).tolist()
    [1, 3, 5]
    """
    array, single = _check_probabilities(probabilities)
    times = _check_step_times(step_times, array.shape[1])
    threshold = _number("threshold", threshold, low=-np.inf)
    refractory = _number("refractory", refractory)
    mask = _event_mask(array, _refractory_jumps(times, refractory), threshold)
    steps = [np.flatnonzero(row) for row in mask]
    return steps[0] if single else steps


def detection_events(
    probabilities: Any, step_times: Any, threshold: float = 0.5, refractory: float = 1.0
) -> np.ndarray | list[np.ndarray]:
    """The times at which a wake-word detector fires: `step_times` of `detection_steps`.

    Args:
        probabilities: `(steps,)` per-step probabilities of one clip, or `(clips, steps)`.
        step_times: `(steps,)` non-decreasing seconds of audio each step has heard.
        threshold: the probability threshold.
        refractory: seconds after an event during which the detector does not fire again.

    Returns:
        The event times in seconds (float64): one array for one clip, a list of arrays for
        `(clips, steps)`.

    Example:

    >>> p = [0.1, 0.7, 0.9, 0.6, 0.2, 0.8, 0.9, 0.3]
    >>> detection_events(p, np.arange(8) * 0.5, threshold=0.5, refractory=1.0).tolist()
    [0.5, 1.5, 2.5]
    """
    steps = detection_steps(probabilities, step_times, threshold, refractory)
    times = np.asarray(step_times, dtype=np.float64)
    return times[steps] if isinstance(steps, np.ndarray) else [times[s] for s in steps]


def match_detections(
    detection_times: Any, trigger_ends: Any, tolerance: float = 1.0, early: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Which triggers of one clip are detected and which detections are false.

    Trigger `j`, ending at `e_j` seconds, is detected when an event falls in its window
    `[e_j - early, e_j + tolerance]`; an event in no window is a false activation.

    Args:
        detection_times: `(d,)` event times in seconds (e.g. from `detection_events`).
        trigger_ends: `(k,)` end times of the clip's triggers in seconds (negative entries
            are padding and ignored).
        tolerance: seconds after a trigger's end within which an event counts as its hit.
        early: seconds before the end that still count (a model may fire on the last
            syllable).

    Returns:
        `(detected, false)`: booleans `(k,)` per trigger (False for padding) and `(d,)` per
        event.

    Example:

    >>> detected, false = match_detections([1.2, 4.0, 9.5], [1.0, 5.0, 9.0, -1.0])
    >>> detected.tolist(), false.tolist()
    ([True, False, True, False], [False, True, False])
    """
    events = np.asarray(detection_times, dtype=np.float64).reshape(-1)
    ends = np.asarray(trigger_ends, dtype=np.float64).reshape(-1)
    tolerance = _number("tolerance", tolerance)
    early = _number("early", early)
    valid = ends >= 0
    inside = (events[None, :] >= ends[:, None] - early - _TIME_EPSILON) & (
        events[None, :] <= ends[:, None] + tolerance + _TIME_EPSILON
    )
    inside &= valid[:, None]
    return inside.any(axis=1), ~inside.any(axis=0)


# Scores ------------------------------------------------------------------------------------


class _Setup(NamedTuple):
    probabilities: np.ndarray
    times: np.ndarray
    jumps: np.ndarray
    window_start: np.ndarray  # (clips, k) first step index of each trigger's window
    window_stop: np.ndarray  # (clips, k) one past its last step (equal: an empty window)
    valid: np.ndarray  # (clips, k) real triggers (not padding)
    negative: np.ndarray  # (clips,) clips without a trigger
    inside: np.ndarray  # (clips, steps) steps in some trigger's window
    non_trigger_hours: float
    negative_hours: float


def _setup(probabilities, step_times, trigger_ends, refractory, tolerance, early, duration):
    array, single = _check_probabilities(probabilities)
    clips, steps = array.shape
    times = _check_step_times(step_times, steps)
    ends = _check_trigger_ends(trigger_ends, clips, single)
    refractory = _number("refractory", refractory)
    tolerance = _number("tolerance", tolerance)
    early = _number("early", early)
    durations = _check_durations(duration, clips, times)
    valid = ~np.isnan(ends)
    low = np.where(valid, ends - early, np.inf)
    high = np.where(valid, ends + tolerance, np.inf)
    start = np.searchsorted(times, low - _TIME_EPSILON, side="left")
    stop = np.searchsorted(times, high + _TIME_EPSILON, side="right")
    stop = np.maximum(start, stop)
    # Running count of open windows: +1 where a window starts, -1 one past where it stops.
    edges = np.zeros((clips, steps + 1), np.int64)
    rows = np.broadcast_to(np.arange(clips)[:, None], start.shape)
    np.add.at(edges, (rows[valid], start[valid]), 1)
    np.add.at(edges, (rows[valid], stop[valid]), -1)
    inside = np.cumsum(edges, axis=1)[:, :steps] > 0
    # Length of the union of the windows, cut to [0, duration]: the ends are sorted, so
    # the windows' right edges are too, and each adds what lies past the one before it.
    left = np.clip(np.where(valid, low, 0.0), 0.0, durations[:, None])
    right = np.clip(np.where(valid, high, 0.0), 0.0, durations[:, None])
    before = np.concatenate([np.zeros((clips, 1)), right[:, :-1]], axis=1)
    covered = np.sum(np.clip(right - np.maximum(left, before), 0.0, None), axis=1)
    negative = ~valid.any(axis=1)
    return _Setup(
        probabilities=array,
        times=times,
        jumps=_refractory_jumps(times, refractory),
        window_start=start,
        window_stop=stop,
        valid=valid,
        negative=negative,
        inside=inside,
        non_trigger_hours=float(np.sum(durations - covered)) / SECONDS_PER_HOUR,
        negative_hours=float(np.sum(durations[negative])) / SECONDS_PER_HOUR,
    )


def _counts(setup: _Setup, threshold: float) -> tuple[int, int, int]:
    """Detected triggers, false activations and negative-clip false activations."""
    mask = _event_mask(setup.probabilities, setup.jumps, threshold)
    cumulative = np.concatenate(
        [np.zeros((mask.shape[0], 1), np.int64), np.cumsum(mask, axis=1)], axis=1
    )
    in_window = np.take_along_axis(cumulative, setup.window_stop, axis=1) - np.take_along_axis(
        cumulative, setup.window_start, axis=1
    )
    detected = int(np.sum((in_window > 0) & setup.valid))
    false = mask & ~setup.inside
    return detected, int(false.sum()), int(false[setup.negative].sum())


def _rate(count: float, hours: float) -> float:
    return count / hours if hours > 0 else float("nan")


def wakeword_scores(
    probabilities: Any,
    step_times: Any,
    trigger_ends: Any,
    threshold: float = 0.5,
    *,
    refractory: float = 1.0,
    tolerance: float = 1.0,
    early: float = 0.0,
    duration: Any = None,
) -> WakeWordScores:
    """Recall and false activations per hour of a wake-word detector at one threshold.

    Args:
        probabilities: `(clips, steps)` per-step probabilities (or `(steps,)`).
        step_times: `(steps,)` seconds of audio each step has heard.
        trigger_ends: `(clips, k)` end times of the triggers in seconds, negative entries
            as padding (`(k,)` for one clip).
        threshold: the probability threshold.
        refractory: seconds after an event during which the detector does not fire again.
        tolerance: seconds after a trigger's end within which an event is its hit.
        early: seconds before a trigger's end that still count as its hit.
        duration: seconds of each clip (a number or `(clips,)`), for the hours; defaults to
            `step_times[-1]`, the audio the last step has heard.

    Returns:
        `WakeWordScores`.

    Example:

    >>> p = np.zeros((2, 100)); p[0, 30:34] = 0.9; p[0, 70] = 0.8; p[1, 50] = 0.6
    >>> scores = wakeword_scores(p, np.arange(1, 101) * 0.1, [[3.0, 8.0], [-1, -1]],
    ...                          duration=10.0)
    >>> scores.recall, scores.false_activations, scores.negative_false_activations
    (0.5, 2, 1)
    >>> round(scores.negative_false_activations_per_hour)  # 1 in 10 seconds
    360
    """
    setup = _setup(probabilities, step_times, trigger_ends, refractory, tolerance, early, duration)
    threshold = _number("threshold", threshold, low=-np.inf)
    detected, false, negative_false = _counts(setup, threshold)
    triggers = int(setup.valid.sum())
    return WakeWordScores(
        threshold=threshold,
        recall=detected / triggers if triggers else float("nan"),
        detected=detected,
        triggers=triggers,
        false_activations=false,
        non_trigger_hours=setup.non_trigger_hours,
        false_activations_per_hour=_rate(false, setup.non_trigger_hours),
        negative_false_activations=negative_false,
        negative_hours=setup.negative_hours,
        negative_false_activations_per_hour=_rate(negative_false, setup.negative_hours),
    )


def _candidate_thresholds(probabilities: np.ndarray, max_thresholds: int) -> np.ndarray:
    """The distinct probabilities (where the events change), thinned evenly by rank, with
    one threshold above them all (no event)."""
    values = np.unique(probabilities)
    if values.size > max_thresholds - 1:
        values = values[np.linspace(0, values.size - 1, max_thresholds - 1).round().astype(int)]
    return np.append(values, np.nextafter(values[-1], np.inf))


def operating_curve(
    probabilities: Any,
    step_times: Any,
    trigger_ends: Any,
    thresholds: Any = None,
    *,
    max_thresholds: int = 512,
    refractory: float = 1.0,
    tolerance: float = 1.0,
    early: float = 0.0,
    duration: Any = None,
) -> OperatingCurve:
    """The operating (DET) curve: recall and false activations per hour over thresholds.

    Args:
        probabilities, step_times, trigger_ends: as in `wakeword_scores`.
        thresholds: the thresholds; by default the distinct probabilities (every point
            where the events change), at most `max_thresholds` of them evenly by rank,
            plus one above the largest (no event).
        max_thresholds: the most default thresholds.
        refractory, tolerance, early, duration: as in `wakeword_scores`.

    Returns:
        `OperatingCurve` with ascending thresholds.

    Example:

    >>> p = np.zeros((2, 100)); p[0, 30:34] = 0.9; p[0, 70] = 0.8; p[1, 50] = 0.6
    >>> curve = operating_curve(p, np.arange(1, 101) * 0.1, [[3.0, 8.0], [-1, -1]],
    ...                         thresholds=[0.5, 0.7, 0.85, 1.0], duration=10.0)
    >>> curve.recall.tolist(), curve.negative_false_activations_per_hour.round().tolist()
    ([0.5, 0.5, 0.5, 0.0], [360.0, 0.0, 0.0, 0.0])
    """
    setup = _setup(probabilities, step_times, trigger_ends, refractory, tolerance, early, duration)
    if thresholds is None:
        if isinstance(max_thresholds, bool) or not isinstance(max_thresholds, int):
            raise TypeError(f"`max_thresholds` must be an int. Received: {max_thresholds!r}")
        if max_thresholds < 2:
            raise ValueError(f"`max_thresholds` must be >= 2. Received: {max_thresholds}")
        thresholds = _candidate_thresholds(setup.probabilities, max_thresholds)
    else:
        thresholds = np.asarray(thresholds, dtype=np.float64).reshape(-1)
        if thresholds.size == 0 or not np.all(np.isfinite(thresholds)):
            raise ValueError(
                "`thresholds` must be a non-empty list of finite numbers. "
                f"Received: thresholds={thresholds!r:.80}"
            )
        thresholds = np.sort(thresholds)
    counts = np.array([_counts(setup, float(t)) for t in thresholds], np.float64)
    triggers = int(setup.valid.sum())
    recall = counts[:, 0] / triggers if triggers else np.full(len(thresholds), np.nan)
    return OperatingCurve(
        thresholds=thresholds,
        recall=recall,
        false_activations_per_hour=counts[:, 1] / setup.non_trigger_hours
        if setup.non_trigger_hours > 0
        else np.full(len(thresholds), np.nan),
        negative_false_activations_per_hour=counts[:, 2] / setup.negative_hours
        if setup.negative_hours > 0
        else np.full(len(thresholds), np.nan),
        triggers=triggers,
        non_trigger_hours=setup.non_trigger_hours,
        negative_hours=setup.negative_hours,
    )


def threshold_for_false_activations(
    probabilities: Any,
    step_times: Any,
    target: float = 1.0,
    *,
    trigger_ends: Any = None,
    refractory: float = 1.0,
    duration: Any = None,
) -> float:
    """The lowest threshold at which false activations per hour of negative audio stay
    within `target`.

    On negative audio every event is a false activation, and the number of events never
    grows with the threshold (the events at a higher threshold are the earliest
    well-spaced steps among fewer candidates), so a binary search over the distinct
    probabilities finds the exact lowest threshold `tau` with `events / hours <= target`.
    Thresholds between two distinct probabilities give the same events, so `tau` is one of
    the probabilities (or just above the largest, when only silence keeps within the
    target). On the non-trigger parts of clips with triggers the count is not monotonic
    (an event in a trigger's window can hold back a false one just after it), which is why
    the threshold is chosen on negative audio.

    Args:
        probabilities: `(clips, steps)` per-step probabilities (or `(steps,)`).
        step_times: `(steps,)` seconds of audio each step has heard.
        target: the most false activations per hour allowed (>= 0).
        trigger_ends: as in `wakeword_scores`, to use only the clips without a trigger;
            None when every clip is negative audio.
        refractory: seconds after an event during which the detector does not fire again.
        duration: seconds of each clip (a number or `(clips,)`); defaults to
            `step_times[-1]`.

    Returns:
        The threshold, a float.

    Raises:
        ValueError: when no clip is free of triggers.

    Example:

    >>> p = np.zeros((2, 100)); p[0, 30:34] = 0.9; p[0, 70] = 0.8; p[1, 50] = 0.6
    >>> times = np.arange(1, 101) * 0.1
    >>> threshold_for_false_activations(p, times, 360.0, trigger_ends=[[3.0, 8.0], [-1, -1]])
    0.6
    >>> tau = threshold_for_false_activations(p, times, 1.0, trigger_ends=[[3.0, 8.0], [-1, -1]])
    >>> bool(0.6 < tau < 0.6 + 1e-9)  # just above the negative clip's largest probability
    True
    """
    target = _number("target", target)
    if trigger_ends is None:
        array = np.asarray(probabilities)
        trigger_ends = np.full((1,) if array.ndim == 1 else (array.shape[0], 1), -1.0)
    setup = _setup(probabilities, step_times, trigger_ends, refractory, 0.0, 0.0, duration)
    return _lowest_threshold(setup, target)


def _lowest_threshold(setup: _Setup, target: float) -> float:
    """`threshold_for_false_activations` on a checked set-up (its windows do not matter:
    only the negative clips' events are counted)."""
    if setup.negative_hours <= 0:
        raise ValueError(
            "`trigger_ends` must leave some clips without a trigger: false activations per "
            "hour are counted on negative audio. Received: a trigger in every clip"
        )
    # Compare counts, not rates, so that a target of exactly k per hour allows k.
    allowed = np.floor(target * setup.negative_hours * (1 + 1e-12))
    candidates = _candidate_thresholds(setup.probabilities[setup.negative], np.inf)
    low, high = 0, candidates.size - 1  # the last candidate fires nothing
    while low < high:
        middle = (low + high) // 2
        if _counts(setup, float(candidates[middle]))[2] <= allowed:
            high = middle
        else:
            low = middle + 1
    return float(candidates[low])


class BootstrapOperatingPoints(NamedTuple):
    """The operating point recomputed on resampled sets of clips.

    Attributes:
        thresholds: `(resamples,)` each resample's threshold for the target rate.
        recall: `(resamples,)` each resample's recall at its own threshold.
    """

    thresholds: np.ndarray
    recall: np.ndarray

    def summary(self) -> str:
        """The recall's mean, standard deviation and 5-95% range, as text."""
        low, high = np.quantile(self.recall, [0.05, 0.95])
        spread = self.recall.std(ddof=1) if self.recall.size > 1 else 0.0
        return (
            f"recall {self.recall.mean():.3f} +- {spread:.3f} (5-95%: {low:.3f}-{high:.3f}) "
            f"over {self.recall.size} resamples"
        )


def bootstrap_operating_point(
    probabilities: Any,
    step_times: Any,
    trigger_ends: Any,
    target: float = 1.0,
    *,
    resamples: int = 200,
    seed: int = 0,
    refractory: float = 1.0,
    tolerance: float = 1.0,
    early: float = 0.0,
    duration: Any = None,
) -> BootstrapOperatingPoints:
    """How much the recall at a target rate of false activations moves with the test clips.

    The threshold for <= `target` false activations per hour is set by the few
    highest-scoring negatives, so one test set's recall there is a noisy figure. Each
    resample draws, with replacement, as many clips with a trigger from the clips with a
    trigger and as many negative clips from the negative ones (`rng =
    np.random.default_rng(seed)`; per resample `rng.integers(0, n, n)` for the clips with
    a trigger, then for the negative clips), chooses its own threshold
    (`threshold_for_false_activations`) and scores its recall there (`wakeword_scores`).
    The draws depend only on the seed and the numbers of clips, so two models scored on
    the same clips with the same seed see the same resamples: the difference of their
    `recall` arrays is a paired comparison.

    Args:
        probabilities: `(clips, steps)` per-step scores.
        step_times: `(steps,)` seconds of audio each step has heard.
        trigger_ends: `(clips, k)` trigger end times in seconds, negative entries as padding.
        target: false activations per hour of negative audio allowed.
        resamples: how many resampled sets (>= 1).
        seed: seed of the draws.
        refractory: seconds after an event during which the detector does not fire again.
        tolerance: seconds after a trigger's end within which an event is its hit.
        early: seconds before a trigger's end that still count as its hit.
        duration: seconds of each clip (a number or `(clips,)`); defaults to
            `step_times[-1]`.

    Returns:
        `BootstrapOperatingPoints`.

    Raises:
        ValueError: no clip with a trigger or no negative clip.

    Example:

    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0, 0.5, (40, 50)); p[:20, 30] = rng.uniform(0.3, 1.0, 20)
    >>> ends = np.where(np.arange(40)[:, None] < 20, 3.0, -1.0)
    >>> spread = bootstrap_operating_point(p, np.arange(1, 51) * 0.1, ends, 360.0,
    ...                                    resamples=50)
    >>> spread.recall.shape, bool(0 < spread.recall.std() < 0.3)
    ((50,), True)
    """
    array, _ = _check_probabilities(probabilities)
    clips = array.shape[0]
    ends = _check_trigger_ends(trigger_ends, clips, False)
    durations = _check_durations(duration, clips, _check_step_times(step_times, array.shape[1]))
    resamples = check_positive_int("resamples", resamples)
    target = _number("target", target)
    with_trigger = np.flatnonzero(~np.isnan(ends).all(axis=1))
    negative = np.flatnonzero(np.isnan(ends).all(axis=1))
    if not with_trigger.size or not negative.size:
        raise ValueError(
            "`trigger_ends` must give some clips a trigger and leave some without one. "
            f"Received: {with_trigger.size} clips with a trigger, {negative.size} without"
        )
    ends = np.where(np.isnan(ends), -1.0, ends)
    rng = np.random.default_rng(seed)
    thresholds, recall = np.empty(resamples), np.empty(resamples)
    for r in range(resamples):
        chosen = np.concatenate(
            [
                with_trigger[rng.integers(0, with_trigger.size, with_trigger.size)],
                negative[rng.integers(0, negative.size, negative.size)],
            ]
        )
        # One set-up serves both: the threshold counts only the negative clips' events.
        setup = _setup(
            array[chosen], step_times, ends[chosen], refractory, tolerance, early,
            durations[chosen],
        )  # fmt: skip
        thresholds[r] = _lowest_threshold(setup, target)
        recall[r] = _counts(setup, thresholds[r])[0] / setup.valid.sum()
    return BootstrapOperatingPoints(thresholds, recall)


# Error analysis ------------------------------------------------------------------------------


class WakeWordErrors(NamedTuple):
    """Which triggers a wake-word detector misses and what its false activations follow.

    Attributes:
        threshold: the threshold.
        triggers: `(name, detected, total)` per trigger name (or group), the most missed
            first (then by name).
        false_activations: `(source, count)` per source of false activations, the most
            frequent first (then by name): the name (or group) of the inserted clip the
            event follows, or "background" when it follows none.
    """

    threshold: float
    triggers: list[tuple[str, int, int]]
    false_activations: list[tuple[str, int]]

    def table(self, top: int = 10) -> str:
        """The `top` most missed trigger names and the `top` most frequent sources of
        false activations, as text."""
        top = int(top)
        lines = [f"threshold {self.threshold:.6g}", "missed triggers (missed / total):"]
        lines += [
            f"  {total - hit:4d} / {total:<4d} {name}"
            for name, hit, total in self.triggers[:top]
            if hit < total
        ] or ["  none"]
        lines.append("false activations after:")
        lines += [f"  {count:4d}  {source}" for source, count in self.false_activations[:top]]
        if not self.false_activations:
            lines.append("  none")
        return "\n".join(lines)


def _check_segments(segments: Any, clips: int) -> np.ndarray:
    array = np.asarray(segments)
    if array.ndim == 2 and clips == 1:
        array = array[None]
    if array.ndim != 3 or array.shape[0] != clips or array.shape[2] != 4:
        raise ValueError(
            f"`segments` must have shape ({clips}, m, 4): each clip's inserted clips as "
            "`[start, end, is_positive, bank_index]` (`TriggerWordExamples.segments`). "
            f"Received: segments.shape={array.shape}"
        )
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(
            f"`segments` must hold integer sample indices. Received: dtype {array.dtype}"
        )
    return array.astype(np.int64)


def wakeword_errors(
    probabilities: Any,
    step_times: Any,
    segments: Any,
    positive_names: Sequence[str],
    negative_names: Sequence[str],
    threshold: float = 0.5,
    *,
    sample_rate: int = 16000,
    refractory: float = 1.0,
    tolerance: float = 1.0,
    early: float = 0.0,
    key: Callable[[str], str] | None = None,
) -> WakeWordErrors:
    """Error analysis of a wake-word detector on mixed clips: the misses per trigger clip
    and the false activations per inserted clip.

    Events, hits and false activations are those of `wakeword_scores` (the triggers end
    where the positive segments end). A false activation at `t` seconds follows the
    inserted clip that started last before `t` among those that ended at most `tolerance`
    seconds before it (a word that fooled the detector, or a trigger it fired on too
    early); with none it follows the background. Every clip counts, with a trigger or not.

    Args:
        probabilities: `(clips, steps)` per-step scores (probabilities or logits).
        step_times: `(steps,)` seconds of audio each step has heard.
        segments: `(clips, m, 4)` inserted clips `[start, end, is_positive, bank_index]` in
            samples, padded with -1 (`TriggerWordExamples.segments`).
        positive_names: the bank's positive names (`ClipBank.names("positives")`).
        negative_names: the bank's negative names (`ClipBank.names("negatives")`).
        threshold: the threshold.
        sample_rate: the rate of `segments`' sample indices, in Hz.
        refractory: seconds after an event during which the detector does not fire again.
        tolerance: seconds after a trigger's end within which an event is its hit.
        early: seconds before a trigger's end that still count as its hit.
        key: maps a name to the group it is counted in (e.g. the voice of "word / voice");
            None counts each name on its own.

    Returns:
        `WakeWordErrors`.

    Raises:
        ValueError: mismatched shapes, or a `bank_index` without a name.

    Example:

    >>> p = np.zeros((2, 100)); p[0, 30:34] = 0.9; p[1, 50] = 0.6
    >>> segments = [[[8000, 48000, 1, 0], [96000, 112000, 1, 1]],   # 2 triggers
    ...             [[56000, 72000, 0, 0], [-1, -1, -1, -1]]]        # 1 other word
    >>> errors = wakeword_errors(p, np.arange(1, 101) * 0.1, segments,
    ...                          ["activate / ann", "activate / bob"], ["hello / ann"])
    >>> errors.triggers
    [('activate / bob', 0, 1), ('activate / ann', 1, 1)]
    >>> errors.false_activations
    [('hello / ann', 1)]
    """
    array, _ = _check_probabilities(probabilities)
    times = _check_step_times(step_times, array.shape[1])
    threshold = _number("threshold", threshold, low=-np.inf)
    sample_rate = _number("sample_rate", sample_rate)
    tolerance = _number("tolerance", tolerance)
    if sample_rate <= 0:
        raise ValueError(f"`sample_rate` must be > 0. Received: sample_rate={sample_rate}")
    segments = _check_segments(segments, array.shape[0])
    names = {1: [str(n) for n in positive_names], 0: [str(n) for n in negative_names]}
    for kind, label in ((1, "positive_names"), (0, "negative_names")):
        used = segments[(segments[..., 2] == kind) & (segments[..., 0] >= 0), 3]
        if used.size and (used.min() < 0 or used.max() >= len(names[kind])):
            raise ValueError(
                f"`{label}` must name every bank clip the segments use. Received: "
                f"{len(names[kind])} names, bank_index up to {int(used.max())}"
            )
    group = key if key is not None else (lambda name: name)
    hits: dict[str, list[int]] = {}
    sources: dict[str, int] = {}
    events = detection_events(array, times, threshold, refractory)
    for clip, clip_events in enumerate(events):
        inserted = segments[clip][segments[clip][:, 0] >= 0]
        inserted = inserted[np.argsort(inserted[:, 0], kind="stable")]
        starts, ends = inserted[:, 0] / sample_rate, inserted[:, 1] / sample_rate
        positive = inserted[:, 2] == 1
        detected, false = match_detections(clip_events, ends[positive], tolerance, early)
        for index, hit in zip(inserted[positive, 3], detected, strict=True):
            counts = hits.setdefault(group(names[1][index]), [0, 0])
            counts[0] += int(hit)
            counts[1] += 1
        for time in clip_events[false]:
            before = np.flatnonzero(
                (starts <= time + _TIME_EPSILON) & (ends + tolerance >= time - _TIME_EPSILON)
            )
            if before.size:
                row = inserted[before[-1]]
                source = group(names[int(row[2] == 1)][row[3]])
            else:
                source = "background"
            sources[source] = sources.get(source, 0) + 1
    return WakeWordErrors(
        threshold=threshold,
        triggers=sorted(
            ((name, hit, total) for name, (hit, total) in hits.items()),
            key=lambda row: (row[1] - row[2], row[0]),
        ),
        false_activations=sorted(sources.items(), key=lambda row: (-row[1], row[0])),
    )


def _logits(scores: np.ndarray, from_logits: bool, name: str) -> np.ndarray:
    if from_logits:
        return scores
    if np.any((scores < 0) | (scores > 1)):
        raise ValueError(
            f"`{name}` must be probabilities in [0, 1] (or pass from_logits=True). Received "
            f"values in [{scores.min():.4g}, {scores.max():.4g}]"
        )
    clipped = np.clip(scores, 1e-7, 1 - 1e-7)
    return np.log(clipped / (1 - clipped))


def combine_scores(
    first: Any,
    first_times: Any,
    second: Any,
    second_times: Any,
    weight: float = 0.5,
    *,
    from_logits: tuple[bool, bool] = (False, False),
) -> np.ndarray:
    """Two detectors' per-step scores on the same clips combined into one, at the second's
    steps: a weighted mean of their logits.

        s<j> = weight * logit(second<j>) + (1 - weight) * max_i logit(first<i>)

    over the first detector's steps `i` heard between the second's previous step and step
    `j` (`second_times[j - 1] < first_times[i] <= second_times[j]`; for `j = 0` the same
    length of time before it), so a detector that steps more often is read at its highest
    in each step of the other. Probabilities are clipped to `[1e-7, 1 - 1e-7]` first. The
    result is a score per step of the second detector, to threshold like any other (in
    logits: `kerasdl.verification.wakeword` compares scores with a threshold, whatever
    their scale).

    Args:
        first: `(clips, steps_1)` or `(steps_1,)` scores of the first detector.
        first_times: `(steps_1,)` seconds of audio each of its steps has heard.
        second: `(clips, steps_2)` or `(steps_2,)` scores of the second detector.
        second_times: `(steps_2,)` seconds for the second; each step must cover at least
            one of the first's.
        weight: the second detector's share, in [0, 1].
        from_logits: whether `first` and `second` are logits already (else probabilities).

    Returns:
        float64 `(clips, steps_2)` (or `(steps_2,)`) combined logits.

    Raises:
        ValueError: mismatched shapes, a `weight` outside [0, 1], probabilities outside
            [0, 1], or a step of the second detector with no step of the first in it.

    Example:

    >>> first = np.array([0.1, 0.9, 0.5, 0.5])          # every 40 ms
    >>> second = np.array([0.5, 0.9])                   # every 80 ms
    >>> np.round(combine_scores(first, [0.04, 0.08, 0.12, 0.16], second, [0.08, 0.16],
    ...                         weight=0.5), 3).tolist()
    [1.099, 1.099]
    """
    a, single_a = _check_probabilities(first)
    b, single_b = _check_probabilities(second)
    times_a = _check_step_times(first_times, a.shape[1])
    times_b = _check_step_times(second_times, b.shape[1])
    if len(a) != len(b):
        raise ValueError(
            f"`first` and `second` must score the same clips. Received {len(a)} and {len(b)}"
        )
    weight = _number("weight", weight)
    if weight > 1:
        raise ValueError(f"`weight` must be in [0, 1]. Received: weight={weight}")
    if not isinstance(from_logits, tuple | list) or len(from_logits) != 2:
        raise ValueError(
            f"`from_logits` must be a pair of bools. Received: from_logits={from_logits!r}"
        )
    la, lb = _logits(a, bool(from_logits[0]), "first"), _logits(b, bool(from_logits[1]), "second")
    spacing = times_b[1] - times_b[0] if len(times_b) > 1 else np.inf
    starts = np.concatenate([[times_b[0] - spacing], times_b[:-1]])
    low = np.searchsorted(times_a, starts + _TIME_EPSILON, side="left")
    high = np.searchsorted(times_a, times_b + _TIME_EPSILON, side="right")
    if np.any(high <= low):
        step = int(np.argmax(high <= low))
        raise ValueError(
            f"Each step of `second` must cover at least one step of `first`; step {step} "
            f"(ending at {times_b[step]:.4g} s) covers none."
        )
    reduced = np.stack([la[:, lo:hi].max(axis=1) for lo, hi in zip(low, high, strict=True)], 1)
    combined = weight * lb + (1 - weight) * reduced
    return combined[0] if single_a and single_b else combined
