"""Keep the best model by one optimizing metric among epochs meeting satisficing ones."""

from __future__ import annotations

import operator
import os
import time
import warnings
from typing import Any

import keras
import numpy as np

from kerasdl.callbacks.diagnostics import deserialize_data

_OPERATORS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}
# Metrics the callback measures itself when the logs do not hold them.
MEASURED = ("latency_ms", "model_bytes")


def _check_constraints(constraints) -> dict[str, tuple[str, float]]:
    if constraints is None:
        return {}
    if not hasattr(constraints, "items"):
        raise TypeError(
            "`constraints` must be a dict name -> (operator, threshold), e.g. "
            f'{{"latency_ms": ("<=", 100)}}. Received: constraints={constraints!r}'
        )
    checked = {}
    for name, rule in constraints.items():
        if (
            not isinstance(rule, tuple | list)
            or len(rule) != 2
            or rule[0] not in _OPERATORS
            or isinstance(rule[1], bool)
            or not isinstance(rule[1], int | float | np.integer | np.floating)
        ):
            raise ValueError(
                f"`constraints[{name!r}]` must be (operator, threshold) with operator one "
                f"of {tuple(_OPERATORS)} and a number threshold. Received: {rule!r}"
            )
        checked[str(name)] = (rule[0], float(rule[1]))
    return checked


def model_bytes(model: keras.Model) -> int:
    """Bytes of all the model's weights (trainable and not) at their stored dtypes."""
    return int(
        sum(
            int(np.prod(w.shape)) * np.dtype(keras.backend.standardize_dtype(w.dtype)).itemsize
            for w in model.weights
        )
    )


@keras.saving.register_keras_serializable(package="kerasdl")
class SatisficingCheckpoint(keras.callbacks.Callback):
    """Saves the best epoch by the optimizing metric among those meeting every constraint.

    The notes' recipe for N metrics: pick one to optimize and make the other N - 1
    satisficing, each only required to reach a threshold ("running time <= 100 ms").
    After each epoch, with the epoch's metrics `m`:

        feasible  = all(m[c] op_c threshold_c for each constraint c)
        best      = the feasible epoch with the best m[optimizing]

    Constraints may name any logged metric ("val_loss", "val_recall", ...) and two the
    callback measures itself when the logs lack them: "latency_ms", the median
    per-example inference latency of the model on `latency_data` (one example per call,
    after one warm-up call, in milliseconds), and "model_bytes", the bytes of the
    model's weights. Measured values are written into `logs` (hence `History`). The
    latency is measured once, at the first epoch's end (the architecture does not change
    during `fit`), unless `measure_latency_every_epoch=True`.

    Args:
        filepath: where to save the best model (`model.save`; a path ending in
            ".weights.h5" saves weights only), or None to keep the best weights in memory.
        optimizing: the logged metric to optimize (default "val_accuracy").
        mode: "max", "min", or "auto" ("min" when the name holds "loss" or "error").
        constraints: dict name -> (operator, threshold), operator in "<=", "<", ">=", ">".
        latency_data: inputs (array, or `(x, ...)` tuple whose first entry is used) to time
            inference on; needed for a "latency_ms" constraint not in the logs.
        latency_examples: number of single examples timed (median taken).
        measure_latency_every_epoch: re-measure latency after every epoch.
        restore_best_weights: load the best feasible epoch's weights at the end of training.
        verbose: 0 silent, 1 a line when a new best is saved.

    Example:

    >>> cb = SatisficingCheckpoint(optimizing="val_accuracy",
    ...                            constraints={"latency_ms": ("<=", 100)})
    >>> cb.feasible({"val_accuracy": 0.9, "latency_ms": 120.0})
    False
    >>> cb.feasible({"val_accuracy": 0.8, "latency_ms": 80.0})
    True
    """

    def __init__(
        self,
        filepath: str | os.PathLike | None = None,
        optimizing: str = "val_accuracy",
        mode: str = "auto",
        constraints: dict[str, tuple[str, float]] | None = None,
        latency_data: Any = None,
        latency_examples: int = 32,
        measure_latency_every_epoch: bool = False,
        restore_best_weights: bool = False,
        verbose: int = 0,
    ):
        super().__init__()
        if not isinstance(optimizing, str) or not optimizing:
            raise TypeError(
                f"`optimizing` must be a metric name. Received: optimizing={optimizing!r}"
            )
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"`mode` must be one of ('auto', 'min', 'max'). Received: {mode!r}")
        if isinstance(latency_examples, bool) or not isinstance(latency_examples, int):
            raise TypeError(
                f"`latency_examples` must be a positive int. Received: {latency_examples!r}"
            )
        if latency_examples <= 0:
            raise ValueError(
                f"`latency_examples` must be > 0. Received: latency_examples={latency_examples}"
            )
        self.filepath = None if filepath is None else os.fspath(filepath)
        self.optimizing = optimizing
        self.mode = mode
        self.constraints = _check_constraints(constraints)
        self.latency_data = latency_data
        self.latency_examples = latency_examples
        self.measure_latency_every_epoch = bool(measure_latency_every_epoch)
        self.restore_best_weights = bool(restore_best_weights)
        self.verbose = verbose
        if mode == "auto":
            lower = optimizing.lower()
            self._direction = "min" if ("loss" in lower or "error" in lower) else "max"
        else:
            self._direction = mode
        self._reset()

    def _reset(self):
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.best_weights = None
        self.records: list[dict[str, Any]] = []
        self._latency_ms: float | None = None

    def feasible(self, metrics: dict[str, float]) -> bool:
        """Whether `metrics` meet every satisficing constraint."""
        for name, (op, threshold) in self.constraints.items():
            if name not in metrics:
                raise ValueError(
                    f"`constraints` names {name!r}, which is neither logged nor measured "
                    f"(measured: {MEASURED}; latency needs `latency_data`). "
                    f"Available: {sorted(metrics)}"
                )
            if not _OPERATORS[op](float(metrics[name]), threshold):
                return False
        return True

    def _better(self, value: float) -> bool:
        if np.isnan(value):
            return False
        if self.best is None:
            return True
        return value < self.best if self._direction == "min" else value > self.best

    def measure_latency(self) -> float:
        """Median milliseconds of one single-example inference call on `latency_data`."""
        if self.latency_data is None:
            raise ValueError("`latency_data` must be given to measure latency_ms")
        import tensorflow as tf

        x = self.latency_data
        if isinstance(x, tuple):
            x = x[0]
        x = np.asarray(x)
        n = min(self.latency_examples, len(x))
        model = self.model
        serve = tf.function(lambda t: model(t, training=False), reduce_retracing=True)
        keras.ops.convert_to_numpy(serve(x[:1]))  # trace and warm up
        times = []
        for i in range(n):
            start = time.perf_counter()
            keras.ops.convert_to_numpy(serve(x[i : i + 1]))
            times.append(time.perf_counter() - start)
        return float(np.median(times) * 1000.0)

    def on_train_begin(self, logs=None):
        self._reset()

    def _measured(self, logs: dict) -> dict[str, float]:
        measured = {}
        if "model_bytes" in self.constraints and "model_bytes" not in logs:
            measured["model_bytes"] = float(model_bytes(self.model))
        wants_latency = "latency_ms" in self.constraints and "latency_ms" not in logs
        if wants_latency or (self.latency_data is not None and "latency_ms" not in logs):
            if self._latency_ms is None or self.measure_latency_every_epoch:
                self._latency_ms = self.measure_latency()
            measured["latency_ms"] = self._latency_ms
        return measured

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs.update(self._measured(logs))
        if self.optimizing not in logs:
            raise ValueError(
                f"`optimizing`={self.optimizing!r} is not in the epoch's logs. "
                f"Available: {sorted(logs)}"
            )
        value = float(logs[self.optimizing])
        ok = self.feasible(logs)
        improved = ok and self._better(value)
        self.records.append(
            {"epoch": epoch, "value": value, "feasible": ok, "best": improved, **dict(logs)}
        )
        if not improved:
            return
        self.best, self.best_epoch = value, epoch
        if self.restore_best_weights or self.filepath is None:
            self.best_weights = self.model.get_weights()
        if self.filepath is not None:
            if self.filepath.endswith(".weights.h5"):
                self.model.save_weights(self.filepath, overwrite=True)
            else:
                self.model.save(self.filepath, overwrite=True)
        if self.verbose:
            print(
                f"Epoch {epoch + 1}: {self.optimizing} = {value:.4f}, best among epochs "
                "meeting the constraints" + (f"; saved to {self.filepath}" if self.filepath else "")
            )

    def on_train_end(self, logs=None):
        if self.best_epoch is None:
            warnings.warn(
                "SatisficingCheckpoint: no epoch met the constraints "
                f"{self.constraints}; nothing was saved",
                stacklevel=2,
            )
            return
        if self.restore_best_weights:
            self.model.set_weights(self.best_weights)

    def get_config(self) -> dict[str, Any]:
        return {
            "filepath": self.filepath,
            "optimizing": self.optimizing,
            "mode": self.mode,
            "constraints": {k: list(v) for k, v in self.constraints.items()},
            "latency_data": self.latency_data,
            "latency_examples": self.latency_examples,
            "measure_latency_every_epoch": self.measure_latency_every_epoch,
            "restore_best_weights": self.restore_best_weights,
            "verbose": self.verbose,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SatisficingCheckpoint:
        config = dict(config)
        config["latency_data"] = deserialize_data(config["latency_data"])
        return cls(**config)
