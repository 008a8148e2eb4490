"""Conformance examples of the face verification components."""

from __future__ import annotations

import numpy as np

from kerasdl.layers.embedding_difference import EmbeddingDifference
from kerasdl.losses.triplet_per_anchor import TripletPerAnchorSemiHardLoss
from tests.conformance.registry import Bad, Example, random_floats

# Three positives for some anchors, so the per-anchor rule differs from TFA's per pair;
# each replica's half holds every class.
PER_ANCHOR_LABELS = [[0.0], [1.0], [2.0], [0.0], [0.0], [1.0], [2.0], [0.0]]


def per_anchor_batch():
    return np.array(PER_ANCHOR_LABELS, "float32"), random_floats(8, 3, seed=7)


EXAMPLES: list[Example] = [
    Example(
        cls=TripletPerAnchorSemiHardLoss,
        kind="loss",
        kwargs={"margin": 1.0},
        inputs=per_anchor_batch,
        bad=(
            Bad(
                ValueError, r"`margin` must be >= 0. Received: margin=-1.0", kwargs={"margin": -1.0}
            ),
            Bad(TypeError, r"`soft` must be a bool. Received: soft='yes'", kwargs={"soft": "yes"}),
            Bad(
                ValueError,
                r"`distance_metric` must be one of .*Received: distance_metric='cosine'",
                kwargs={"distance_metric": "cosine"},
            ),
            Bad(
                ValueError,
                r"`y_pred` \(the embeddings\) must have rank 2 with shape \[B, D\].*"
                r"Received: y_pred.shape=\(8, 3, 1\)",
                inputs=lambda: (np.array(PER_ANCHOR_LABELS, "float32"), random_floats(8, 3, 1)),
            ),
        ),
        id="TripletPerAnchorSemiHardLoss",
    ),
    Example(
        cls=TripletPerAnchorSemiHardLoss,
        kind="loss",
        kwargs={"soft": True, "distance_metric": "angular"},
        inputs=per_anchor_batch,
        id="TripletPerAnchorSemiHardLoss-soft-angular",
    ),
    Example(
        cls=EmbeddingDifference,
        kind="layer",
        kwargs={"form": "absolute"},
        inputs=lambda: (random_floats(4, 2, 6, seed=8),),
        bad=(
            Bad(ValueError, r"`form` must be one of .*Received: form='L2'", kwargs={"form": "L2"}),
            Bad(
                ValueError,
                r"one \[B, 2, D\] tensor. Received: inputs.shape=\(4, 3, 6\)",
                inputs=lambda: (random_floats(4, 3, 6),),
            ),
        ),
        device_ready=True,
        id="EmbeddingDifference",
    ),
    Example(
        cls=EmbeddingDifference,
        kind="layer",
        kwargs={"form": "chi-square", "epsilon": 1e-3},
        inputs=lambda: (random_floats(4, 2, 6, seed=9),),
        bad=(Bad(ValueError, r"`epsilon` must be > 0.0", kwargs={"epsilon": -1.0}),),
        device_ready=True,
        id="EmbeddingDifference-chi-square",
    ),
]
