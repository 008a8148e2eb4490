"""Shape checks the losses share."""

from __future__ import annotations

from keras import ops


def matching_matrices(y_true, y_pred, dtype, layout: str):
    """`(y_true, y_pred)` as tensors of `dtype` when `y_pred` is 2-D and `y_true` has its
    shape, else a ValueError that names `layout` (e.g. "(clips, steps)")."""
    y_pred = ops.convert_to_tensor(y_pred, dtype=dtype)
    if len(y_pred.shape) != 2:
        raise ValueError(
            f"`y_pred` must have shape {layout}. Received: y_pred.shape={tuple(y_pred.shape)}"
        )
    y_true = ops.cast(y_true, y_pred.dtype)
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(
            f"`y_true` must have the shape of `y_pred` {layout} = {tuple(y_pred.shape)}. "
            f"Received: y_true.shape={tuple(y_true.shape)}"
        )
    return y_true, y_pred
