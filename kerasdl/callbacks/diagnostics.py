"""A callback that reads bias, variance and data mismatch off every epoch."""

from __future__ import annotations

import os
from typing import Any

import keras
import numpy as np

from kerasdl.callbacks.summaries import write_scalar
from kerasdl.diagnostics.curves import plot_learning_curves
from kerasdl.diagnostics.errors import model_error
from kerasdl.diagnostics.gaps import GAP_TITLES, ErrorGaps, _check_error

# Training / validation accuracy keys Keras logs, tried in order when no data are given.
_ACCURACY_KEYS = (
    "accuracy",
    "sparse_categorical_accuracy",
    "categorical_accuracy",
    "binary_accuracy",
    "acc",
)


def deserialize_data(value: Any) -> Any:
    """Arrays and tuples of arrays back from their Keras-serialized form (a config read
    back by `keras.saving.deserialize_keras_object` keeps its nested entries serialized)."""
    if isinstance(value, dict) and "class_name" in value:
        return deserialize_data(keras.saving.deserialize_keras_object(value))
    if isinstance(value, tuple | list):
        return type(value)(deserialize_data(v) for v in value)
    return value


def _accuracy_error(logs: dict, prefix: str) -> float | None:
    for key in _ACCURACY_KEYS:
        if prefix + key in logs:
            return 1.0 - float(logs[prefix + key])
    return None


@keras.saving.register_keras_serializable(package="kerasdl")
class BiasVarianceMonitor(keras.callbacks.Callback):
    """Measures the errors on each split after every epoch and reports their gaps.

    With human-level error as the proxy for Bayes error (see `kerasdl.diagnostics.ErrorGaps`):

        avoidable bias   = training error     - human-level error
        variance         = training-dev error - training error
        data mismatch    = dev error          - training-dev error
        overfitting dev  = test error         - dev error

    Each error is the misclassification error `1/m sum_i I{y_pred(i) != y(i)}` of the
    model in inference mode on that split (sample-weighted when the data carry weights):
    arg max of a `[m, K]` output, `output > threshold` for one sigmoid unit. Without
    `train_data` the training error is `1 - accuracy` from the epoch's logs (Keras' running
    average while the weights moved, with dropout on: an approximation); without
    `dev_data`, `1 - val_accuracy`. Without a training-dev set, variance is
    `dev - training` and data mismatch is not reported.

    After every epoch the errors and gaps are written into `logs` (so into `History` and
    into a `keras.callbacks.TensorBoard` placed after this callback) under the keys
    "train_error", "train_dev_error", "dev_error", "test_error", "avoidable_bias",
    "variance", "data_mismatch", "dev_overfitting"; with `log_dir` they are also written
    as TensorBoard scalars under "bias_variance/". The largest gap and the notes'
    remedies for it are printed (`verbose`) and kept in `records` / `report`.

    Cost: one inference pass over each given split per epoch.

    Args:
        human_level_error: human-level error in [0, 1], the Bayes-error proxy.
        train_data: `(x, y[, sample_weight])` arrays or a `tf.data.Dataset` of batches
            from the training set (a sample is enough), or None (use the logs).
        train_dev_data: training-distribution data never trained on, or None.
        dev_data: dev data (the target distribution), or None (use `val_accuracy`).
        test_data: test data, or None.
        threshold: decision threshold for single-output (sigmoid) models.
        batch_size: inference batch size for array data.
        log_dir: folder for TensorBoard scalars, or None.
        verbose: 0 silent, 1 one line per epoch and the remedies at the end of training.

    Example:

    >>> import numpy as np, keras
    >>> x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    >>> y = (x[:, 0] > 0).astype("int32")
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    >>> model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    >>> monitor = BiasVarianceMonitor(0.0, train_data=(x[:32], y[:32]),
    ...     train_dev_data=(x[32:48], y[32:48]), dev_data=(x[48:], y[48:]), verbose=0)
    >>> history = model.fit(x[:32], y[:32], epochs=2, callbacks=[monitor], verbose=0)
    >>> sorted(k for k in history.history if k != "loss")
    ['avoidable_bias', 'data_mismatch', 'dev_error', 'train_dev_error', 'train_error', 'variance']
    >>> monitor.report.largest in ("avoidable_bias", "variance", "data_mismatch")
    True
    """

    def __init__(
        self,
        human_level_error: float,
        train_data: Any = None,
        train_dev_data: Any = None,
        dev_data: Any = None,
        test_data: Any = None,
        threshold: float = 0.5,
        batch_size: int = 256,
        log_dir: str | None = None,
        verbose: int = 1,
    ):
        super().__init__()
        self.human_level_error = _check_error("human_level_error", human_level_error, False)
        self.train_data = train_data
        self.train_dev_data = train_dev_data
        self.dev_data = dev_data
        self.test_data = test_data
        self.threshold = float(threshold)
        self.batch_size = batch_size
        self.log_dir = None if log_dir is None else os.fspath(log_dir)
        self.verbose = verbose
        self.records: list[dict[str, Any]] = []
        self._writer = None

    @property
    def report(self) -> ErrorGaps | None:
        """The latest epoch's `ErrorGaps` (None before the first epoch ends)."""
        return self.records[-1]["report"] if self.records else None

    @property
    def history(self) -> dict[str, list[float]]:
        """Per-epoch lists of every logged error and gap."""
        keys = sorted({k for r in self.records for k in r["report"].to_dict()})
        return {
            k: [r["report"].to_dict().get(k, np.nan) for r in self.records]
            for k in keys
            if k != "human_level_error"
        }

    def on_train_begin(self, logs=None):
        self.records = []
        if self.log_dir is not None:
            import tensorflow as tf

            self._writer = tf.summary.create_file_writer(self.log_dir)

    def _error(self, data, logs, prefix, name):
        if data is not None:
            return model_error(self.model, data, self.threshold, self.batch_size)
        error = _accuracy_error(logs, prefix)
        if error is None and name in ("train", "dev"):
            needed = "train_data" if name == "train" else "dev_data"
            raise ValueError(
                f"BiasVarianceMonitor needs the {name} error: pass `{needed}`, or compile "
                f"with metrics=['accuracy']{' and fit with validation_data' * (name == 'dev')}. "
                f"Logged keys: {sorted(logs)}"
            )
        return error

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        errors = {
            "train_error": self._error(self.train_data, logs, "", "train"),
            "train_dev_error": (
                None
                if self.train_dev_data is None
                else model_error(self.model, self.train_dev_data, self.threshold, self.batch_size)
            ),
            "dev_error": self._error(self.dev_data, logs, "val_", "dev"),
            "test_error": (
                None
                if self.test_data is None
                else model_error(self.model, self.test_data, self.threshold, self.batch_size)
            ),
        }
        report = ErrorGaps(self.human_level_error, **errors)
        values = {k: v for k, v in report.to_dict().items() if k != "human_level_error"}
        logs.update(values)
        self.records.append({"epoch": epoch, "report": report})
        if self._writer is not None:
            with self._writer.as_default():
                for key, value in values.items():
                    write_scalar(f"bias_variance/{key}", value, step=epoch)
            self._writer.flush()
        if self.verbose:
            line = ", ".join(f"{k} {v:.2%}" for k, v in values.items())
            print(f"Epoch {epoch + 1}: {line} -> largest: {GAP_TITLES[report.largest]}")

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self.verbose and self.report is not None:
            print(self.report.summary())

    def plot(self, path: str | os.PathLike, title: str = "") -> str:
        """Saves the per-epoch errors (with the human-level line) and gaps as a PNG."""
        if not self.records:
            raise ValueError("BiasVarianceMonitor.plot needs at least one finished epoch")
        return plot_learning_curves(self.history, path, self.human_level_error, title)

    def get_config(self) -> dict[str, Any]:
        return {
            "human_level_error": self.human_level_error,
            "train_data": self.train_data,
            "train_dev_data": self.train_dev_data,
            "dev_data": self.dev_data,
            "test_data": self.test_data,
            "threshold": self.threshold,
            "batch_size": self.batch_size,
            "log_dir": self.log_dir,
            "verbose": self.verbose,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> BiasVarianceMonitor:
        return cls(**{key: deserialize_data(value) for key, value in config.items()})
