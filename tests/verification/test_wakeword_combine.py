"""Combining two wake-word detectors' scores: a weighted mean of logits at the coarser steps."""

import numpy as np
import pytest

from kerasdl.verification.wakeword import combine_scores


def reference(first, first_times, second, second_times, weight):
    """Step by step: the first detector's highest logit among its steps heard since the
    second's previous step."""
    logit = lambda p: np.log(np.clip(p, 1e-7, 1 - 1e-7) / (1 - np.clip(p, 1e-7, 1 - 1e-7)))  # noqa: E731
    out = np.zeros(second.shape)
    for c in range(len(second)):
        for j, t in enumerate(second_times):
            start = second_times[j - 1] if j else t - (second_times[1] - second_times[0])
            inside = [i for i, u in enumerate(first_times) if start < u <= t + 1e-12]
            best = max(logit(first[c, i]) for i in inside)
            out[c, j] = weight * logit(second[c, j]) + (1 - weight) * best
    return out


@pytest.mark.parametrize("weight", [0.0, 0.3, 0.7, 1.0])
def test_equals_a_step_by_step_reference(weight):
    rng = np.random.default_rng(4)
    first_times = (np.arange(50) + 1) * 0.04 + 0.125  # 40 ms steps, a different origin
    second_times = np.arange(1, 25) * 0.08 + 0.2
    first, second = rng.random((3, 50)), rng.random((3, 24))
    first[0, 7] = 1.0  # a probability of exactly 1 is clipped, not infinite
    got = combine_scores(first, first_times, second, second_times, weight)
    np.testing.assert_allclose(got, reference(first, first_times, second, second_times, weight))
    assert np.all(np.isfinite(got))


def test_logits_in_and_one_clip():
    rng = np.random.default_rng(5)
    times_a, times_b = np.arange(1, 21) * 0.04, np.arange(1, 11) * 0.08
    a, b = rng.normal(size=20) * 4, rng.normal(size=10) * 4
    got = combine_scores(a, times_a, b, times_b, 0.6, from_logits=(True, True))
    assert got.shape == (10,)
    np.testing.assert_allclose(got, 0.6 * b + 0.4 * a.reshape(10, 2).max(axis=1))
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    mixed = combine_scores(sigmoid(a), times_a, b, times_b, 0.6, from_logits=(False, True))
    np.testing.assert_allclose(mixed, got, atol=1e-9)


def test_errors():
    times = np.arange(1, 5) * 0.08
    with pytest.raises(ValueError, match=r"must score the same clips\. Received 2 and 1"):
        combine_scores(np.zeros((2, 4)), times, np.zeros((1, 4)), times)
    with pytest.raises(ValueError, match=r"`weight` must be in \[0, 1\]\. Received: weight=1.5"):
        combine_scores(np.zeros(4), times, np.zeros(4), times, 1.5)
    with pytest.raises(ValueError, match=r"`second` must be probabilities in \[0, 1\]"):
        combine_scores(np.zeros(4), times, np.full(4, 3.0), times)
    with pytest.raises(ValueError, match=r"step 1 \(ending at 0.16 s\) covers none"):
        combine_scores(np.zeros(2), [0.08, 0.3], np.zeros(4), times)
    with pytest.raises(ValueError, match=r"`step_times` must have shape \(4,\)"):
        combine_scores(np.zeros(4), times[:3], np.zeros(4), times)
