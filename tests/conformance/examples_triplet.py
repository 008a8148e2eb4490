"""Conformance examples of the triplet losses kept beside their topic, and the documented
bad uses that every online-mining triplet loss shares."""

from __future__ import annotations

import numpy as np

from kerasdl.losses.triplet_per_anchor import TripletPerAnchorSemiHardLoss
from tests.conformance.registry import Bad, Example, random_floats


def mined_loss_bads(labels: list, soft: bool = False) -> tuple[Bad, ...]:
    """The argument and input errors of a mined triplet loss called on `labels` `[B, 1]`
    and `[B, 3]` embeddings; `soft`: it also takes the `soft` argument."""
    size = len(labels)

    def labelled(*shape):
        return lambda: (np.array(labels, "float32"), random_floats(*shape))

    bads = (
        Bad(ValueError, r"`margin` must be >= 0. Received: margin=-1.0", kwargs={"margin": -1.0}),
        Bad(
            ValueError,
            r"`distance_metric` must be one of .*Received: distance_metric='cosine'",
            kwargs={"distance_metric": "cosine"},
        ),
        Bad(
            ValueError,
            r"`y_pred` \(the embeddings\) must have rank 2 with shape \[B, D\].*"
            rf"Received: y_pred.shape=\({size}, 3, 1\)",
            inputs=labelled(size, 3, 1),
        ),
        Bad(
            ValueError,
            rf"`y_true` \(the labels\) must have the batch size B of `y_pred`, B={size + 2}.*"
            rf"Received: y_true.shape=\({size}, 1\)",
            inputs=labelled(size + 2, 3),
        ),
        Bad(
            ValueError,
            r"`y_true` \(the labels\) must have shape \[B\] or \[B, 1\].*"
            rf"Received: y_true.shape=\({size}, 2\)",
            inputs=lambda: (np.zeros((size, 2), "float32"), random_floats(size, 3)),
        ),
    )
    if soft:
        bads += (
            Bad(TypeError, r"`soft` must be a bool. Received: soft='yes'", kwargs={"soft": "yes"}),
        )
    return bads


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
        bad=mined_loss_bads(PER_ANCHOR_LABELS, soft=True),
        id="TripletPerAnchorSemiHardLoss",
    ),
    Example(
        cls=TripletPerAnchorSemiHardLoss,
        kind="loss",
        kwargs={"soft": True, "distance_metric": "angular"},
        inputs=per_anchor_batch,
        id="TripletPerAnchorSemiHardLoss-soft-angular",
    ),
]
