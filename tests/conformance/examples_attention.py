"""Conformance examples of the attention layers and the peephole LSTM.

The suite builds `Input -> layer -> one output`, so the attention layers run as
self-attention (`layer(x)`: the sequence attends to itself) with `return_weights=False`;
tests/layers/test_attention.py checks the two-input, two-output form, masks, hardmax
(which has no gradient, so a model of it alone cannot train here) and export.

`PeepholeLSTMCell` is called with `(inputs, states)` and returns `(a, [a, c])`, which the
suite's one-input, one-output model cannot hold: it joins through `PeepholeLSTM` (the
cell inside `keras.layers.RNN`), and tests/layers/test_recurrent.py checks the cell's own
config, saving and TFLite conversion.
"""

from __future__ import annotations

from kerasdl.layers.attention import BahdanauAttention, ContextAttention, LuongAttention
from kerasdl.layers.recurrent import PeepholeLSTM
from tests.conformance.registry import Bad, Example, random_floats


def sequences():
    return (random_floats(4, 5, 3),)


EXAMPLES: list[Example] = [
    Example(
        cls=ContextAttention,
        kind="layer",
        kwargs={"units": 4, "return_weights": False},
        inputs=sequences,
        bad=(
            Bad(ValueError, r"`units` must be > 0\. Received: units=0", kwargs={"units": 0}),
            Bad(
                ValueError,
                r"`probability_fn` must be one of \('softmax', 'hardmax'\)\. "
                r"Received: probability_fn='sparsemax'",
                kwargs={"probability_fn": "sparsemax"},
            ),
            Bad(
                ValueError,
                r"`values` must be given when `query` has rank 2.*Received: query.shape=\(4, 3\)",
                inputs=lambda: (random_floats(4, 3),),
            ),
        ),
        device_ready=True,
    ),
    Example(
        cls=BahdanauAttention,
        kind="layer",
        kwargs={"units": 4, "normalize": True, "return_weights": False},
        inputs=sequences,
        bad=(
            Bad(TypeError, r"`units` must be a positive int", kwargs={"units": 2.5}),
            Bad(
                ValueError,
                r"`query` must have rank 2 .* or rank 3 .*Received: query.shape=\(4, 5, 1, 3\)",
                inputs=lambda: (random_floats(4, 5, 1, 3),),
            ),
        ),
        device_ready=True,
    ),
    Example(
        cls=LuongAttention,
        kind="layer",
        kwargs={"scale": True, "return_weights": False},
        inputs=sequences,
        bad=(
            Bad(
                ValueError,
                r"`units` must equal the query's last dimension.*units=5 and query_dim=3",
                kwargs={"units": 5},
            ),
            Bad(
                ValueError,
                r"`units` must be None with score_mode='dot'",
                kwargs={"units": 3, "score_mode": "dot"},
            ),
            Bad(ValueError, r"`score_mode` must be one of", kwargs={"score_mode": "concat"}),
        ),
        device_ready=True,
    ),
    Example(
        cls=PeepholeLSTM,
        kind="layer",
        kwargs={"units": 4, "return_sequences": True},
        inputs=sequences,
        bad=(
            Bad(ValueError, r"`units` must be > 0\. Received: units=0", kwargs={"units": 0}),
            Bad(
                ValueError,
                r"`dropout` must be in \[0, 1\)\. Received: dropout=1\.5",
                kwargs={"dropout": 1.5},
            ),
        ),
        device_ready=True,
    ),
]
