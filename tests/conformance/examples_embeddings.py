"""Conformance examples of the word-embedding components."""

from __future__ import annotations

import numpy as np

from kerasdl.losses.sampling import NegativeSamplingLoss
from tests.conformance.registry import Bad, Example, random_floats


def negative_sampling_batch(k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Four examples: the true target's logit first, then k negatives (labels 1, 0, ...)."""
    labels = np.zeros((4, 1 + k), "float32")
    labels[:, 0] = 1.0
    return labels, random_floats(4, 1 + k, seed=11)


EXAMPLES = [
    Example(
        cls=NegativeSamplingLoss,
        kind="loss",
        kwargs={},
        inputs=negative_sampling_batch,
        bad=(
            Bad(TypeError, r"`from_logits` must be a bool", kwargs={"from_logits": "yes"}),
            Bad(
                ValueError,
                r"`y_pred` must have shape \[B, 1 \+ k\].*Received: y_pred.shape=\(4, 5, 2\)",
                inputs=lambda: (negative_sampling_batch()[0], random_floats(4, 5, 2)),
            ),
            Bad(
                ValueError,
                r"`y_true` must have the shape of `y_pred`.*Received: y_true.shape=\(4, 3\)",
                inputs=lambda: (np.zeros((4, 3), "float32"), random_floats(4, 5)),
            ),
        ),
        id="NegativeSamplingLoss",
    ),
    Example(
        cls=NegativeSamplingLoss,
        kind="loss",
        kwargs={"from_logits": False, "reduction": "sum"},
        inputs=lambda: (
            negative_sampling_batch(2)[0],
            1.0 / (1.0 + np.exp(-random_floats(4, 3, seed=12))),
        ),
        id="NegativeSamplingLoss-probabilities-sum",
    ),
]
