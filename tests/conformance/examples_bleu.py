"""Conformance example of the BLEU metric on token ids."""

from __future__ import annotations

import numpy as np

from kerasdl.metrics.bleu import BLEU
from tests.conformance.registry import Bad, Example


def bleu_example():
    """Four hypotheses (float ids, as a model outputs them) with two references each;
    0 pads and 2 ends a sequence."""
    rng = np.random.default_rng(7)
    y_true = rng.integers(3, 9, size=(4, 2, 10))
    y_pred = y_true[:, 0].copy()
    y_pred[:, 3] = rng.integers(3, 9, size=4)  # some n-grams stop matching
    y_pred[1, 6:] = [2, 5, 6, 7]  # tokens after the end are ignored
    y_true[2, 1, 7:] = 0
    y_pred[3, 8:] = 0
    return y_true.astype("int32"), y_pred.astype("float32")


EXAMPLES = [
    Example(
        cls=BLEU,
        kind="metric",
        kwargs={"max_order": 4, "smooth_method": "floor", "pad_id": 0, "end_id": 2},
        inputs=bleu_example,
        bad=(
            Bad(
                ValueError,
                r"`max_order` must be > 0\. Received: max_order=0",
                kwargs={"max_order": 0},
            ),
            Bad(
                ValueError,
                r"`smooth_method` must be one of .*Received: smooth_method='add-one'",
                kwargs={"smooth_method": "add-one"},
            ),
            Bad(
                ValueError,
                r"`smooth_value` must be > 0\. Received: smooth_value=-0\.1",
                kwargs={"smooth_value": -0.1},
            ),
            Bad(
                ValueError,
                r"`end_id` must differ from `pad_id`\. Received: end_id=0, pad_id=0",
                kwargs={"end_id": 0},
            ),
            Bad(
                ValueError,
                r"`y_pred` must have rank 2 .*Received: y_pred.shape=\(4, 10, 1\)",
                inputs=lambda: (bleu_example()[0], bleu_example()[1][..., None]),
            ),
            Bad(
                ValueError,
                r"`y_true` must have shape \(batch, refs, len\) or \(batch, len\)\. "
                r"Received: y_true.shape=\(4, 2, 10, 1\)",
                inputs=lambda: (bleu_example()[0][..., None], bleu_example()[1]),
            ),
            Bad(
                ValueError,
                r"same batch size.*y_true batch=2, y_pred batch=4",
                inputs=lambda: (bleu_example()[0][:2], bleu_example()[1]),
            ),
            Bad(
                TypeError,
                r"`y_true` must hold integer token ids\. Received: y_true.dtype=bool",
                inputs=lambda: (bleu_example()[0] > 4, bleu_example()[1]),
            ),
            Bad(
                ValueError,
                r"`sample_weight` is not supported",
                inputs=lambda: (*bleu_example(), np.ones(4)),
            ),
        ),
    ),
]
