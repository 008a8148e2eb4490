"""Conformance examples of the face verification components (the triplet losses'
examples are in examples_triplet.py)."""

from __future__ import annotations

from kerasdl.layers.embedding_difference import EmbeddingDifference
from tests.conformance.registry import Bad, Example, random_floats

EXAMPLES: list[Example] = [
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
