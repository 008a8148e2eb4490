"""ROC, AUC, EER and the threshold for a target FAR against scikit-learn's roc_curve and
roc_auc_score and against brute-force loops over every candidate threshold."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sklearn_roc_curve

from kerasdl.verification.roc import (
    equal_error_rate,
    roc_auc,
    roc_curve,
    tar_at_far,
    threshold_for_far,
    verification_accuracy,
)


def pairs(seed, n=400, positive_fraction=0.3, rounding=None):
    """Same pairs closer on average than different pairs; `rounding` makes ties."""
    rng = np.random.default_rng(seed)
    same = rng.random(n) < positive_fraction
    distances = np.where(same, rng.normal(0.7, 0.25, n), rng.normal(1.2, 0.25, n))
    distances = np.abs(distances)
    if rounding is not None:
        distances = np.round(distances, rounding)
    return distances, same


def brute_force_rates(distances, same, tau):
    accepted = distances <= tau
    return accepted[~same].mean(), accepted[same].mean()


CASES = [(0, None), (1, None), (2, 1), (3, 2), (4, 0)]


@pytest.mark.parametrize("seed,rounding", CASES)
def test_roc_curve_matches_sklearn(seed, rounding):
    distances, same = pairs(seed, rounding=rounding)
    far, tar, thresholds = roc_curve(distances, same)
    fpr, tpr, sk_thresholds = sklearn_roc_curve(same, -distances, drop_intermediate=False)
    np.testing.assert_allclose(far, fpr, atol=1e-12)
    np.testing.assert_allclose(tar, tpr, atol=1e-12)
    np.testing.assert_array_equal(thresholds, -sk_thresholds)
    # Each point is FAR and TAR of "d <= threshold".
    for k in range(1, len(thresholds), max(1, len(thresholds) // 25)):
        expected = brute_force_rates(distances, same, thresholds[k])
        np.testing.assert_allclose((far[k], tar[k]), expected)


@pytest.mark.parametrize("seed,rounding", CASES)
def test_auc_matches_sklearn(seed, rounding):
    distances, same = pairs(seed, rounding=rounding)
    expected = roc_auc_score(same, -distances)
    np.testing.assert_allclose(roc_auc(distances, same), expected, rtol=1e-12)


def test_auc_known_answers():
    assert roc_auc([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0]) == 1.0
    assert roc_auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 0.0
    assert roc_auc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]) == 0.5  # one tie: half credit


def reference_eer(fpr, tpr):
    """Walks sklearn's curve segment by segment to where FAR = 1 - TAR."""
    for k in range(1, len(fpr)):
        g0, g1 = fpr[k - 1] + tpr[k - 1] - 1, fpr[k] + tpr[k] - 1
        if g0 < 0 <= g1:
            t = -g0 / (g1 - g0)
            return fpr[k - 1] + t * (fpr[k] - fpr[k - 1])
    raise AssertionError("the curve never crosses FAR = FRR")


@pytest.mark.parametrize("seed,rounding", CASES)
def test_eer_matches_reference_on_sklearn_curve(seed, rounding):
    distances, same = pairs(seed, rounding=rounding)
    eer, tau = equal_error_rate(distances, same)
    fpr, tpr, _ = sklearn_roc_curve(same, -distances)  # drop_intermediate: same polygon
    np.testing.assert_allclose(eer, reference_eer(fpr, tpr), atol=1e-12)
    # The EER lies between the best discrete max(FAR, FRR) and min(FAR, FRR) bounds.
    rates = [brute_force_rates(distances, same, t) for t in np.unique(distances)]
    assert min(max(f, 1 - t) for f, t in rates) >= eer - 1e-12
    # At the interpolated threshold the two error rates straddle the EER.
    far_at, tar_at = brute_force_rates(distances, same, tau)
    assert min(far_at, 1 - tar_at) - 1e-12 <= eer <= max(far_at, 1 - tar_at) + 1e-12


def test_eer_known_answers():
    # Perfect separation: EER 0, threshold between the groups' last same and first different.
    eer, tau = equal_error_rate([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0])
    assert eer == 0.0 and 0.2 <= tau <= 0.8
    # Symmetric overlap of one pair each: FAR = FRR = 1/4 at tau = 0.4.
    eer, tau = equal_error_rate([0.1, 0.2, 0.3, 0.6, 0.4, 0.7, 0.8, 0.9], [1, 1, 1, 1, 0, 0, 0, 0])
    assert (eer, tau) == (0.25, pytest.approx(0.4))
    # Reversed order: everything wrong.
    assert equal_error_rate([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])[0] == 1.0


def reference_threshold(distances, same, far):
    """Largest observed distance whose FAR <= far (by counts), by a loop."""
    different = int((~same).sum())
    best = None
    for tau in np.unique(distances):
        false_accepts = int(np.sum((distances <= tau) & ~same))
        if false_accepts <= np.floor(far * different + 1e-9):
            best = tau
    return best


@pytest.mark.parametrize("seed,rounding", CASES)
@pytest.mark.parametrize("far", [0.0, 1e-3, 0.01, 0.05, 0.2, 0.5, 1.0])
def test_threshold_for_far_matches_brute_force(seed, rounding, far):
    distances, same = pairs(seed, rounding=rounding)
    tau = threshold_for_far(distances, same, far)
    expected = reference_threshold(distances, same, far)
    if expected is None:
        assert tau < distances.min()
        assert brute_force_rates(distances, same, tau) == (0.0, 0.0)
    else:
        assert tau == expected
    got_far, got_tar = brute_force_rates(distances, same, tau)
    assert got_far <= far + 1e-12
    tar, tau_again = tar_at_far(distances, same, far)
    assert tau_again == tau and tar == got_tar


def test_threshold_counts_not_rates():
    """1 false accept of 1000 different pairs is FAR = 1e-3 exactly: allowed."""
    rng = np.random.default_rng(0)
    distances = np.r_[rng.uniform(0, 0.5, 100), 0.55, rng.uniform(0.6, 1.0, 999)]
    same = np.r_[np.ones(100, bool), False, np.zeros(999, bool)]
    tau = threshold_for_far(distances, same, far=1e-3)
    assert tau == 0.55 and np.sum((distances <= tau) & ~same) == 1
    assert threshold_for_far(distances, same, far=0.0) == distances[same].max()


def test_threshold_when_the_nearest_pair_is_different():
    distances, same = np.array([0.1, 0.2, 0.3]), np.array([False, True, False])
    tau = threshold_for_far(distances, same, far=0.0)
    assert tau < 0.1 and tau == np.nextafter(0.1, -np.inf)
    assert tar_at_far(distances, same, far=0.0) == (0.0, tau)


def test_verification_accuracy():
    distances, same = pairs(5)
    for tau in (0.5, 0.9, 1.3):
        expected = np.mean([(d <= tau) == s for d, s in zip(distances, same, strict=True)])
        assert verification_accuracy(distances, same, tau) == pytest.approx(expected)


def test_integer_labels_and_lists_accepted():
    far, tar, _ = roc_curve([1, 2, 3, 4], [1, 0, 1, 0])
    assert far.tolist() == [0, 0, 0.5, 0.5, 1] and tar.tolist() == [0, 0.5, 0.5, 1, 1]


@pytest.mark.parametrize(
    "distances,same,error,match",
    [
        ([[0.1, 0.2]], [[1, 0]], ValueError, r"`distances` must be 1-D.*shape=\(1, 2\)"),
        ([0.1, 0.2], [1, 0, 1], ValueError, r"`same` must have one entry per pair.*\(3,\)"),
        ([0.1, np.nan], [1, 0], ValueError, r"`distances` must be finite.*1 NaN"),
        ([0.1, 0.2], [1, 2], ValueError, r"`same` must be booleans or 0/1.*\[1, 2\]"),
        ([0.1, 0.2], [1, 1], ValueError, r"both same-identity and different.*2 same and 0"),
        ([0.1, 0.2], [0, 0], ValueError, r"0 same and 2 different"),
        (["a", "b"], [0, 1], TypeError, r"`distances` must be real numbers"),
    ],
)
def test_bad_inputs(distances, same, error, match):
    for fn in (roc_curve, roc_auc, equal_error_rate, threshold_for_far):
        with pytest.raises(error, match=match):
            fn(distances, same)


def test_bad_far_and_threshold():
    with pytest.raises(ValueError, match=r"`far` must be in \[0.0, 1.0\]. Received: far=1.5"):
        threshold_for_far([0.1, 0.2], [1, 0], far=1.5)
    with pytest.raises(TypeError, match=r"`far` must be a number"):
        tar_at_far([0.1, 0.2], [1, 0], far="0.1")
    with pytest.raises(TypeError, match=r"`threshold` must be a number"):
        verification_accuracy([0.1, 0.2], [1, 0], threshold=None)


def test_large_input_is_one_sort():
    """A million pairs: the curve, AUC and EER come from one sort (no per-threshold loop)."""
    distances, same = pairs(6, n=1_000_000)
    far, tar, thresholds = roc_curve(distances, same)
    assert len(far) == len(np.unique(distances)) + 1
    np.testing.assert_allclose(roc_auc(distances, same), roc_auc_score(same, -distances))
