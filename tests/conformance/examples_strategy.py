"""Conformance examples of the ML strategy losses and metrics."""

from __future__ import annotations

import numpy as np

from kerasdl.losses.multitask import MaskedMultiLabelLoss
from kerasdl.metrics.weighted_error import WeightedError
from tests.conformance.registry import Bad, Example, random_floats


def multitask_labels(mask=-1.0):
    """[4, 3] labels of three tasks with unknown ("?") entries on both replicas' halves."""
    labels = np.array([[1, 0, -1], [-1, 1, 1], [0, -1, 0], [1, 1, -1]], "float32")
    return np.where(labels < 0, np.float32(mask), labels)


def class_scores():
    """Class ids [4, 1] (3 classes) and [4, 3] scores with two of four wrong."""
    scores = random_floats(4, 3, seed=5)
    labels = np.argmax(scores, axis=-1)
    labels[[1, 2]] = (labels[[1, 2]] + 1) % 3
    return labels.reshape(4, 1).astype("float32"), scores


EXAMPLES: list[Example] = [
    Example(
        cls=MaskedMultiLabelLoss,
        kind="loss",
        kwargs={"from_logits": True},
        inputs=lambda: (multitask_labels(), random_floats(4, 3, seed=4)),
        bad=(
            Bad(
                ValueError,
                r"`mask_value` must lie outside the label range \[0, 1\].*"
                r"Received: mask_value=0\.0",
                kwargs={"mask_value": 0.0},
            ),
            Bad(TypeError, r"`from_logits` must be a bool", kwargs={"from_logits": 1}),
            Bad(
                ValueError,
                r"`label_smoothing` must be in \[0, 1\)",
                kwargs={"label_smoothing": 1.5},
            ),
            Bad(
                ValueError,
                r"`y_true` must have the shape of `y_pred`, \[m, T\]=\(4, 3\).*"
                r"Received: y_true.shape=\(4, 2\)",
                inputs=lambda: (multitask_labels()[:, :2], random_floats(4, 3)),
            ),
            Bad(
                ValueError,
                r"`y_pred` must have shape \[m, T\].*Received: y_pred.shape=\(4, 3, 1\)",
                inputs=lambda: (multitask_labels()[..., None], random_floats(4, 3, 1)),
            ),
        ),
        id="MaskedMultiLabelLoss",
    ),
    Example(
        cls=MaskedMultiLabelLoss,
        kind="loss",
        kwargs={"mask_value": float("nan"), "label_smoothing": 0.1},
        inputs=lambda: (
            multitask_labels(np.nan),
            1 / (1 + np.exp(-random_floats(4, 3, seed=6))),
        ),
        id="MaskedMultiLabelLoss-nan-mask-probabilities",
    ),
    Example(
        cls=WeightedError,
        kind="metric",
        kwargs={},
        inputs=class_scores,
        bad=(
            Bad(
                ValueError,
                r"`threshold` must be in \[0\.0, 1\.0\]\. Received: threshold=1\.5",
                kwargs={"threshold": 1.5},
            ),
            Bad(
                ValueError,
                r"`y_pred` must have shape \[B, K\] or \[B\] / \[B, 1\].*"
                r"Received: y_pred.shape=\(4, 3, 1\)",
                inputs=lambda: (class_scores()[0], random_floats(4, 3, 1)),
            ),
            Bad(
                ValueError,
                r"`y_true` must be class ids \[B\] / \[B, 1\] or one-hot like `y_pred` "
                r"\(4, 3\)\. Received: y_true.shape=\(4, 2\)",
                inputs=lambda: (np.zeros((4, 2), "float32"), random_floats(4, 3)),
            ),
        ),
        id="WeightedError",
    ),
    Example(
        cls=WeightedError,
        kind="metric",
        kwargs={"threshold": 0.0},
        inputs=lambda: (np.array([[1.0], [0.0], [1.0], [0.0]], "float32"), random_floats(4, 1)),
        id="WeightedError-binary-logit",
    ),
]
