"""Conformance examples of the GloVe components."""

from __future__ import annotations

import numpy as np

from kerasdl.losses.glove import GloVeLoss
from tests.conformance.registry import Bad, Example, random_floats


def glove_batch() -> tuple[np.ndarray, np.ndarray]:
    """Four rows of three co-occurrence counts (some absent, some above x_max = 100) and
    scores near their logs."""
    counts = np.array(
        [[1.0, 0.0, 250.0], [3.5, 12.0, 0.0], [0.5, 80.0, 100.0], [0.0, 2.0, 40.0]],
        "float32",
    )
    return counts, np.log1p(counts) + random_floats(4, 3, seed=21)


EXAMPLES = [
    Example(
        cls=GloVeLoss,
        kind="loss",
        kwargs={},
        inputs=glove_batch,
        bad=(
            Bad(ValueError, r"`x_max` must be > 0.0. Received: x_max=-1", kwargs={"x_max": -1}),
            Bad(ValueError, r"`alpha` must be >= 0. Received: alpha=-0.5", kwargs={"alpha": -0.5}),
            Bad(TypeError, r"`alpha` must be a number", kwargs={"alpha": "0.75"}),
            Bad(
                ValueError,
                r"`y_true` \(the counts X_ij\) must have the shape of `y_pred`.*"
                r"y_true.shape=\(4, 2\), y_pred.shape=\(4, 3\)",
                inputs=lambda: (np.ones((4, 2), "float32"), random_floats(4, 3)),
            ),
        ),
        id="GloVeLoss",
    ),
    Example(
        cls=GloVeLoss,
        kind="loss",
        kwargs={"x_max": 10.0, "alpha": 1.0, "reduction": "sum"},
        inputs=glove_batch,
        id="GloVeLoss-xmax10-sum",
    ),
]
