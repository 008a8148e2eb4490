"""Conformance examples of word2vec's softmax objectives for large vocabularies:
hierarchical softmax over Huffman paths and sampled softmax."""

from __future__ import annotations

import numpy as np

from kerasdl.losses.hierarchical_softmax import HierarchicalSoftmaxLoss
from kerasdl.losses.sampled_softmax import SampledSoftmaxLoss
from tests.conformance.registry import Bad, Example, random_floats


def huffman_batch() -> tuple[np.ndarray, np.ndarray]:
    """Four targets' codes (paths of 1 to 4 nodes, -1 padding) and node logits."""
    codes = np.array([[0, -1, -1, -1], [1, 0, -1, -1], [1, 1, 0, 1], [1, 1, 1, -1]], "float32")
    return codes, random_floats(4, 4, seed=21)


def sampled_batch() -> tuple[np.ndarray, np.ndarray]:
    """Four examples: log expected counts of the target and 3 sampled classes, two
    accidental hits (+inf), and the candidates' logits."""
    log_q = np.log(np.random.default_rng(22).uniform(0.05, 1.0, (4, 4))).astype("float32")
    log_q[1, 2] = log_q[3, 1] = np.inf
    return log_q, random_floats(4, 4, seed=23)


EXAMPLES = [
    Example(
        cls=HierarchicalSoftmaxLoss,
        kind="loss",
        kwargs={},
        inputs=huffman_batch,
        bad=(
            Bad(
                ValueError,
                r"`y_pred` must have shape \[B, L\].*Received: y_pred.shape=\(4, 4, 2\)",
                inputs=lambda: (huffman_batch()[0], random_floats(4, 4, 2)),
            ),
            Bad(
                ValueError,
                r"`y_true` must have the shape of `y_pred`.*Received: y_true.shape=\(4, 3\)",
                inputs=lambda: (np.zeros((4, 3), "float32"), random_floats(4, 4)),
            ),
        ),
        id="HierarchicalSoftmaxLoss",
    ),
    Example(
        cls=SampledSoftmaxLoss,
        kind="loss",
        kwargs={"reduction": "sum"},
        inputs=sampled_batch,
        bad=(
            Bad(
                ValueError,
                r"`y_pred` must have shape \[B, 1 \+ s\].*Received: y_pred.shape=\(4,\)",
                inputs=lambda: (sampled_batch()[0], random_floats(4)),
            ),
            Bad(
                ValueError,
                r"`y_true` must have the shape of `y_pred`.*Received: y_true.shape=\(4, 2\)",
                inputs=lambda: (np.zeros((4, 2), "float32"), random_floats(4, 4)),
            ),
        ),
        id="SampledSoftmaxLoss-sum",
    ),
]
