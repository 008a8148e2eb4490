"""Misclassification error of predictions and of a model on a data set (numpy, host side).

The notes' misclassification error on `m` examples is

    Error = 1/m * sum_i I{y_pred(i) != y(i)}

with `y_pred(i)` the predicted class: the arg max of a `[m, K]` output (K > 1), or
`output > threshold` for a single sigmoid output `[m]` / `[m, 1]`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np


def predicted_labels(y_pred: Any, threshold: float = 0.5) -> np.ndarray:
    """Class ids of predictions: arg max over `K > 1` outputs, else `y_pred > threshold`.

    Example:

    >>> predicted_labels([[0.1, 0.9], [0.8, 0.2]]).tolist()
    [1, 0]
    >>> predicted_labels([0.2, 0.7]).tolist()
    [0, 1]
    """
    y_pred = np.asarray(y_pred)
    if y_pred.ndim >= 2 and y_pred.shape[-1] > 1:
        return np.argmax(y_pred, axis=-1).reshape(len(y_pred))
    return (y_pred.reshape(len(y_pred)) > threshold).astype("int64")


def true_labels(y_true: Any, y_pred: Any) -> np.ndarray:
    """Class ids of labels: sparse `[m]` / `[m, 1]`, or one-hot `[m, K]` like `y_pred`."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim >= 2 and y_true.shape[-1] > 1:
        if y_true.shape != y_pred.shape:
            raise ValueError(
                "`y_true` must be class ids [m] or one-hot labels shaped like `y_pred` "
                f"{y_pred.shape}. Received: y_true.shape={y_true.shape}"
            )
        return np.argmax(y_true, axis=-1).reshape(len(y_true))
    return y_true.reshape(len(y_true)).astype("int64")


def misclassified(y_true: Any, y_pred: Any, threshold: float = 0.5) -> np.ndarray:
    """Boolean `[m]`: True where the predicted class differs from the label.

    Example:

    >>> misclassified([1, 0, 2], [[0, 1, 0], [0, 1, 0], [0, 0, 1]]).tolist()
    [False, True, False]
    """
    labels = true_labels(y_true, y_pred)
    predictions = predicted_labels(y_pred, threshold)
    if labels.shape != predictions.shape:
        raise ValueError(
            "`y_true` and `y_pred` must describe the same examples. "
            f"Received: {labels.shape[0]} labels and {predictions.shape[0]} predictions"
        )
    return labels != predictions


def misclassification_error(
    y_true: Any, y_pred: Any, sample_weight: Any = None, threshold: float = 0.5
) -> float:
    """`1/sum(w) * sum_i w(i) I{y_pred(i) != y(i)}`, with `w = 1` when no weights are given.

    Example:

    >>> misclassification_error([0, 1, 1, 0], [0.1, 0.2, 0.9, 0.6])
    0.5
    >>> misclassification_error([0, 1, 1, 0], [0.1, 0.2, 0.9, 0.6], [1, 10, 1, 1])
    0.8461538461538461
    """
    wrong = misclassified(y_true, y_pred, threshold).astype("float64")
    if sample_weight is None:
        return float(wrong.mean()) if wrong.size else 0.0
    weights = np.asarray(sample_weight, "float64").reshape(len(wrong))
    total = weights.sum()
    return float((weights * wrong).sum() / total) if total > 0 else 0.0


def _split_batch(batch) -> tuple[Any, Any, Any]:
    if not isinstance(batch, tuple | list) or len(batch) not in (2, 3):
        raise ValueError(
            "`data` must yield (x, y) or (x, y, sample_weight). "
            f"Received: an element of type {type(batch).__name__}"
        )
    return batch[0], batch[1], batch[2] if len(batch) == 3 else None


def predict_with_labels(
    model, data: Any, batch_size: int = 256
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """`(y_true, y_pred, sample_weight)` of `model` over `data` in inference mode.

    `data` is a tuple `(x, y)` / `(x, y, sample_weight)` of arrays, or an iterable of such
    batches (a `tf.data.Dataset`): each batch is predicted as it comes, so the labels stay
    paired with their predictions even when the data set shuffles.
    """
    if isinstance(data, tuple) and len(data) in (2, 3) and not _is_batches(data):
        x, y, weights = _split_batch(data)
        y_pred = model.predict(x, batch_size=batch_size, verbose=0)
        return np.asarray(y), np.asarray(y_pred), None if weights is None else np.asarray(weights)
    if not isinstance(data, Iterable):
        raise TypeError(
            "`data` must be a tuple (x, y[, sample_weight]) or an iterable of such batches. "
            f"Received: data of type {type(data).__name__}"
        )
    labels, predictions, weights = [], [], []
    for batch in data:
        x, y, w = _split_batch(tuple(batch))
        predictions.append(np.asarray(model.predict_on_batch(x)))
        labels.append(np.asarray(y))
        if w is not None:
            weights.append(np.asarray(w))
    if not labels:
        raise ValueError("`data` must hold at least one batch. Received: an empty iterable")
    return (
        np.concatenate(labels),
        np.concatenate(predictions),
        np.concatenate(weights) if weights else None,
    )


def _is_batches(data: tuple) -> bool:
    """A tuple of batches rather than one (x, y) pair: each entry is itself an (x, y)."""
    return all(isinstance(item, tuple | list) and len(item) in (2, 3) for item in data)


def model_error(model, data: Any, threshold: float = 0.5, batch_size: int = 256) -> float:
    """The (sample-weighted) misclassification error of `model` on `data`."""
    y_true, y_pred, weights = predict_with_labels(model, data, batch_size)
    return misclassification_error(y_true, y_pred, weights, threshold)
