"""TensorBoard scalars and histograms written with TensorFlow alone.

`tf.summary.scalar` / `tf.summary.histogram` need the `tensorboard` package installed;
`tf.summary.write` with the plugin metadata TensorBoard reads ("scalars": a scalar
tensor; "histograms": a `[k, 3]` tensor of (left edge, right edge, count) rows) does
not, and TensorBoard shows the result the same way.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def _metadata(plugin: str, data_class: int):
    return tf.compat.v1.SummaryMetadata(
        plugin_data=tf.compat.v1.SummaryMetadata.PluginData(plugin_name=plugin),
        data_class=data_class,
    )


def write_scalar(tag: str, value: float, step: int) -> None:
    """Writes one scalar to the default summary writer."""
    tf.summary.write(
        tag, tf.constant(float(value), tf.float32), step=step, metadata=_metadata("scalars", 1)
    )


def write_histogram(tag: str, values: np.ndarray, step: int, buckets: int = 30) -> None:
    """Writes the histogram of the finite `values` to the default summary writer."""
    values = np.asarray(values, "float64").ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return
    low, high = float(values.min()), float(values.max())
    if low == high:
        low, high = low - 0.5, high + 0.5
    counts, edges = np.histogram(values, bins=buckets, range=(low, high))
    table = np.stack([edges[:-1], edges[1:], counts], axis=1)
    tf.summary.write(
        tag, tf.constant(table, tf.float64), step=step, metadata=_metadata("histograms", 2)
    )
