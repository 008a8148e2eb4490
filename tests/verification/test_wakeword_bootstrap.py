"""The bootstrap of the operating point: the documented draws replayed through the public
threshold and score functions, a set of identical clips (no spread), and bad input."""

import numpy as np
import pytest

from kerasdl.verification.wakeword import (
    bootstrap_operating_point,
    threshold_for_false_activations,
    wakeword_scores,
)
from tests.verification.test_wakeword import random_case


@pytest.mark.parametrize("seed", range(3))
def test_bootstrap_replays_the_documented_draws(seed):
    p, times, ends, duration = random_case(seed, clips=16)
    spread = bootstrap_operating_point(
        p, times, ends, 360.0, resamples=12, seed=seed, tolerance=0.5, early=0.1,
        duration=duration,
    )  # fmt: skip
    has_trigger = np.flatnonzero((ends >= 0).any(axis=1))
    negative = np.flatnonzero(~(ends >= 0).any(axis=1))
    rng = np.random.default_rng(seed)
    for r in range(12):
        chosen = np.concatenate(
            [
                has_trigger[rng.integers(0, has_trigger.size, has_trigger.size)],
                negative[rng.integers(0, negative.size, negative.size)],
            ]
        )
        tau = threshold_for_false_activations(
            p[chosen], times, 360.0, trigger_ends=ends[chosen], duration=duration
        )
        recall = wakeword_scores(
            p[chosen], times, ends[chosen], tau, tolerance=0.5, early=0.1, duration=duration
        ).recall
        assert spread.thresholds[r] == tau
        assert spread.recall[r] == pytest.approx(recall)
    assert "over 12 resamples" in spread.summary()


def test_identical_clips_have_no_spread():
    times = np.arange(1, 101) * 0.1
    p = np.zeros((10, 100))
    p[:4, 32] = 0.9  # four identical clips with a detected trigger
    p[4:, 50] = 0.7  # six identical negative clips, each with one false bump
    ends = np.where(np.arange(10)[:, None] < 4, 3.0, -1.0)
    spread = bootstrap_operating_point(p, times, ends, 1.0, resamples=20, duration=10.0)
    # <= 1 per hour on 60 s of negatives allows no event: the threshold rises above 0.7,
    # and the triggers at 0.9 are all still found.
    assert np.all(spread.thresholds > 0.7) and np.all(spread.thresholds <= 0.9)
    np.testing.assert_array_equal(spread.recall, np.ones(20))
    assert spread.summary().startswith("recall 1.000 +- 0.000")


def test_bootstrap_errors():
    times = np.arange(1, 11) * 0.1
    with pytest.raises(ValueError, match="must give some clips a trigger and leave some"):
        bootstrap_operating_point(np.zeros((2, 10)), times, [[0.5], [0.5]])
    with pytest.raises(ValueError, match="must give some clips a trigger and leave some"):
        bootstrap_operating_point(np.zeros((2, 10)), times, [[-1], [-1]])
    with pytest.raises(TypeError, match="`resamples` must be a positive int"):
        bootstrap_operating_point(np.zeros((2, 10)), times, [[0.5], [-1]], resamples=2.5)
    with pytest.raises(ValueError, match="`resamples` must be > 0"):
        bootstrap_operating_point(np.zeros((2, 10)), times, [[0.5], [-1]], resamples=0)
