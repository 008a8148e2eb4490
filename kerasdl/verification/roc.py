"""Choosing the verification threshold `tau` and measuring a verifier on labelled pairs.

A verifier says "same" when `d(x_i, x_j) <= tau`. On a set of labelled pairs (the
distances and whether each pair shows the same identity), for each `tau`:

    FAR(tau) = #{different pairs with d <= tau} / #{different pairs}   (false accept rate)
    TAR(tau) = #{same pairs with d <= tau} / #{same pairs}             (true accept rate)
    FRR(tau) = 1 - TAR(tau)                                            (false reject rate)

The ROC curve is `(FAR, TAR)` over every `tau`; the notes' operating point is a `tau`
chosen on a dev set for a target FAR (`threshold_for_far`), e.g. 1e-3, because a false
accept (letting the wrong person in) costs more than a false reject. These are
scikit-learn's `roc_curve` and `roc_auc_score` with the score `-d`, written for
distances and vectorised (one sort), with the threshold and TAR at a FAR on top.
"""

from __future__ import annotations

import numpy as np

from kerasdl._validation import check_in_range


def _check_pairs(distances, same) -> tuple[np.ndarray, np.ndarray]:
    """Returns `distances` as float64 and `same` as bool, 1-D and of equal length."""
    distances = np.asarray(distances)
    same = np.asarray(same)
    if distances.ndim != 1:
        raise ValueError(
            "`distances` must be 1-D, one distance per pair. "
            f"Received: distances.shape={distances.shape}"
        )
    if same.shape != distances.shape:
        raise ValueError(
            "`same` must have one entry per pair, the shape of `distances` "
            f"{distances.shape}. Received: same.shape={same.shape}"
        )
    if not np.issubdtype(distances.dtype, np.number) or np.issubdtype(
        distances.dtype, np.complexfloating
    ):
        raise TypeError(
            f"`distances` must be real numbers. Received: distances.dtype={distances.dtype}"
        )
    distances = distances.astype(np.float64)
    if not np.all(np.isfinite(distances)):
        raise ValueError(
            "`distances` must be finite. Received: "
            f"{int(np.sum(~np.isfinite(distances)))} NaN or infinite values"
        )
    if same.dtype != bool:
        if not np.all(np.isin(same, (0, 1))):
            raise ValueError(
                "`same` must be booleans or 0/1 (1: the pair shows one identity). "
                f"Received: values {np.unique(same)[:5].tolist()}"
            )
        same = same.astype(bool)
    positives = int(np.sum(same))
    if positives == 0 or positives == len(same):
        raise ValueError(
            "`same` must contain both same-identity and different-identity pairs to "
            f"measure TAR and FAR. Received: {positives} same and "
            f"{len(same) - positives} different pairs"
        )
    return distances, same


def _curve(distances, same):
    """FAR and TAR counts at each distinct distance, ascending, after `tau = -inf`."""
    order = np.argsort(distances, kind="stable")
    sorted_distances = distances[order]
    true_accepts = np.cumsum(same[order])
    # The last pair of each run of equal distances: `d <= tau` accepts the whole run.
    last = np.r_[np.flatnonzero(np.diff(sorted_distances)), len(distances) - 1]
    true_accepts = np.r_[0, true_accepts[last]]
    false_accepts = np.r_[0, last + 1] - true_accepts
    thresholds = np.r_[-np.inf, sorted_distances[last]]
    return false_accepts, true_accepts, thresholds


def roc_curve(distances, same) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ROC curve of the verifier `d <= tau` on labelled pairs.

    Args:
        distances: `(n,)` distances `d(x_i, x_j)` of `n` pairs.
        same: `(n,)` booleans (or 0/1): whether each pair shows the same identity.

    Returns:
        `(far, tar, thresholds)`, each of length (number of distinct distances + 1):
        `thresholds` ascending, starting at `-inf` (accept nothing: FAR = TAR = 0) and
        ending at the largest distance (accept everything: FAR = TAR = 1); `far[k]`
        and `tar[k]` are FAR and TAR of `d <= thresholds[k]`. This is
        `sklearn.metrics.roc_curve(same, -distances, drop_intermediate=False)` with
        `fpr, tpr, -thresholds`.

    Raises:
        ValueError: on shapes that differ, non-finite distances, or pairs that are all
            same or all different.

    Example:

    >>> far, tar, thresholds = roc_curve([0.2, 0.5, 0.9, 1.3], [True, False, True, False])
    >>> far.tolist(), tar.tolist(), thresholds.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0], [-inf, 0.2, 0.5, 0.9, 1.3])
    """
    distances, same = _check_pairs(distances, same)
    false_accepts, true_accepts, thresholds = _curve(distances, same)
    return false_accepts / false_accepts[-1], true_accepts / true_accepts[-1], thresholds


def roc_auc(distances, same) -> float:
    """Area under the ROC curve: the chance that a random same-identity pair is closer
    than a random different-identity pair, ties counted as one half.

    It is the trapezoidal area under `roc_curve`, and equals
    `sklearn.metrics.roc_auc_score(same, -distances)`.

    Args:
        distances: `(n,)` distances of `n` pairs.
        same: `(n,)` booleans: whether each pair shows the same identity.

    Returns:
        The AUC in [0, 1]; 1 for a verifier that separates the pairs perfectly.

    Example:

    >>> roc_auc([0.2, 0.5, 0.9, 1.3], [True, False, True, False])
    0.75
    """
    far, tar, _ = roc_curve(distances, same)
    return float(np.sum(np.diff(far) * (tar[1:] + tar[:-1]) / 2))


def equal_error_rate(distances, same) -> tuple[float, float]:
    """The equal error rate (EER): the error where FAR = FRR on the ROC curve.

    The ROC curve is taken as the polygon through its points (as for the AUC); the
    EER is the FAR where it meets the line `FAR = 1 - TAR`, found by linear
    interpolation on the segment that crosses it. The threshold is interpolated
    between that segment's two thresholds the same way.

    Args:
        distances: `(n,)` distances of `n` pairs.
        same: `(n,)` booleans: whether each pair shows the same identity.

    Returns:
        `(eer, tau)`: the EER in [0, 1] and the distance threshold where it is reached.

    Example:

    >>> eer, tau = equal_error_rate([0.1, 0.2, 0.3, 0.6, 0.4, 0.7, 0.8, 0.9],
    ...                             [1, 1, 1, 1, 0, 0, 0, 0])
    >>> round(eer, 4), round(tau, 4)
    (0.25, 0.4)
    """
    far, tar, thresholds = roc_curve(distances, same)
    gap = far + tar - 1  # < 0 while FAR < FRR; rises along the curve from -1 to +1
    k = int(np.argmax(gap >= 0))  # first point on or past the line; k >= 1
    t = -gap[k - 1] / (gap[k] - gap[k - 1])
    eer = far[k - 1] + t * (far[k] - far[k - 1])
    low = thresholds[k - 1] if k > 1 else thresholds[1]
    tau = low + t * (thresholds[k] - low)
    return float(eer), float(tau)


def threshold_for_far(distances, same, far: float = 1e-3) -> float:
    """The threshold `tau` chosen on labelled dev pairs for a target false accept rate.

    The largest observed distance `tau` with `FAR(tau) <= far`, so that the verifier
    `d <= tau` accepts as many same-identity pairs as it can (highest TAR) while at most
    a fraction `far` of the different-identity pairs get in. With `n_diff` different
    pairs, `FAR` moves in steps of `1 / n_diff`: a target below that allows no false
    accept at all. When even the smallest distance is a false accept, `tau` is the
    float just below the smallest distance, and nothing is accepted.

    Args:
        distances: `(n,)` distances of `n` dev pairs.
        same: `(n,)` booleans: whether each pair shows the same identity.
        far: the target FAR in [0, 1] (default 1e-3).

    Returns:
        `tau`, a float.

    Example:

    >>> distances = [0.1, 0.3, 0.35, 0.5, 0.6, 0.8, 0.9, 1.0]
    >>> same = [1, 1, 0, 1, 0, 0, 0, 0]
    >>> threshold_for_far(distances, same, far=0.0), threshold_for_far(distances, same, far=0.2)
    (0.3, 0.5)
    """
    far = check_in_range("far", far, 0.0, 1.0, include_high=True)
    distances, same = _check_pairs(distances, same)
    false_accepts, _, thresholds = _curve(distances, same)
    # Compare counts, not rates, so that e.g. far=0.001 with 1000 pairs allows 1 exactly.
    allowed = np.floor(far * false_accepts[-1] * (1 + 1e-12))
    k = int(np.searchsorted(false_accepts, allowed, side="right")) - 1
    if k == 0:
        return float(np.nextafter(thresholds[1], -np.inf))
    return float(thresholds[k])


def tar_at_far(distances, same, far: float = 1e-3) -> tuple[float, float]:
    """The true accept rate at the threshold `threshold_for_far` chooses (TAR@FAR).

    Args:
        distances: `(n,)` distances of `n` pairs.
        same: `(n,)` booleans: whether each pair shows the same identity.
        far: the target FAR in [0, 1] (default 1e-3).

    Returns:
        `(tar, tau)`: TAR of `d <= tau` on these pairs and the threshold `tau`.

    Example:

    >>> distances = [0.1, 0.3, 0.35, 0.5, 0.6, 0.8, 0.9, 1.0]
    >>> tar_at_far(distances, [1, 1, 0, 1, 0, 0, 0, 0], far=0.0)
    (0.6666666666666666, 0.3)
    """
    tau = threshold_for_far(distances, same, far)
    distances, same = _check_pairs(distances, same)
    return float(np.mean(distances[same] <= tau)), tau


def verification_accuracy(distances, same, threshold: float) -> float:
    """The fraction of pairs the verifier `d <= threshold` gets right.

    Args:
        distances: `(n,)` distances of `n` pairs.
        same: `(n,)` booleans: whether each pair shows the same identity.
        threshold: `tau`, e.g. from `threshold_for_far` on a dev set.

    Returns:
        The accuracy in [0, 1] (on unbalanced pairs, mostly the accuracy on the
        more numerous kind).

    Example:

    >>> verification_accuracy([0.1, 0.3, 0.35, 0.5], [1, 1, 0, 0], threshold=0.4)
    0.75
    """
    if isinstance(threshold, bool) or not isinstance(threshold, int | float | np.number):
        raise TypeError(f"`threshold` must be a number. Received: threshold={threshold!r}")
    distances, same = _check_pairs(distances, same)
    return float(np.mean((distances <= threshold) == same))
