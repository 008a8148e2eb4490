"""Conformance examples of neural style transfer: the Gram matrix and the two costs."""

from __future__ import annotations

from kerasdl.layers.style import GramMatrix
from kerasdl.losses.style import ContentCost, StyleCost
from tests.conformance.registry import Bad, Example, random_floats


def activations():
    """Four images' target and generated activations (n_H=3, n_W=4, n_C=2)."""
    return random_floats(4, 3, 4, 2, seed=1), random_floats(4, 3, 4, 2, seed=2)


def cost_bad_inputs(a_true: str) -> tuple[Bad, ...]:
    return (
        Bad(
            ValueError,
            rf"`{a_true}` must have rank 4 with shape \(batch, n_H, n_W, n_C\)\. "
            rf"Received: {a_true}.shape=\(4, 12\)",
            inputs=lambda: (random_floats(4, 12), random_floats(4, 3, 4, 2)),
        ),
        Bad(
            ValueError,
            rf"`{a_true}` and `a_G` must come from the same layer.*"
            rf"Received: {a_true}.shape=\(4, 3, 4, 3\), a_G.shape=\(4, 3, 4, 2\)",
            inputs=lambda: (random_floats(4, 3, 4, 3), random_floats(4, 3, 4, 2)),
        ),
    )


EXAMPLES: list[Example] = [
    Example(
        cls=GramMatrix,
        kind="layer",
        kwargs={},
        inputs=lambda: (random_floats(4, 5, 5, 3),),
        bad=(
            Bad(
                ValueError,
                r"`normalization` must be one of \(None, 'spatial', 'elements'\)\. "
                r"Received: normalization='mean'",
                kwargs={"normalization": "mean"},
            ),
            Bad(
                ValueError,
                r"`inputs` must have rank 4 .*Received: inputs.shape=\(4, 5, 3\)",
                inputs=lambda: (random_floats(4, 5, 3),),
            ),
        ),
        device_ready=True,
        tflite_atol=1e-4,
        id="GramMatrix",
    ),
    Example(
        cls=GramMatrix,
        kind="layer",
        kwargs={"normalization": "elements"},
        inputs=lambda: (random_floats(4, 3, 6, 4),),
        device_ready=True,
        id="GramMatrix-elements",
    ),
    Example(
        cls=ContentCost,
        kind="loss",
        kwargs={},
        inputs=activations,
        bad=cost_bad_inputs("a_C"),
        id="ContentCost",
    ),
    Example(
        cls=StyleCost,
        kind="loss",
        kwargs={},
        inputs=activations,
        bad=cost_bad_inputs("a_S"),
        id="StyleCost",
    ),
    Example(
        cls=StyleCost,
        kind="loss",
        kwargs={"reduction": "sum"},
        inputs=activations,
        id="StyleCost-sum",
    ),
]
