"""Per-layer gradient norms, exploding / vanishing gradient and NaN warnings."""

from __future__ import annotations

import math
import os
import warnings
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from kerasdl.callbacks.diagnostics import deserialize_data
from kerasdl.callbacks.summaries import write_histogram, write_scalar


class GradientWarning(RuntimeWarning):
    """Exploding, vanishing or non-finite gradients (or a non-finite training loss)."""


def _layer_name(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else path


@keras.saving.register_keras_serializable(package="kerasdl")
class GradientNormMonitor(keras.callbacks.Callback):
    """Watches gradient norms per layer and stops training on NaN / Inf.

    Keras callbacks never see the gradients of the training step, so this one computes
    them itself: on a held batch `(x, y[, sample_weight])`, it runs the model forward in
    training mode with `stateless_call` (no side effects: batch-norm statistics, metrics
    and dropout seeds of the real training are untouched) and differentiates the loss
    with `tf.GradientTape`. For each layer `l` with gradients `g_v` of its variables

        ||g_l|| = sqrt(sum over v in l of sum(g_v^2))      global norm = sqrt(sum_l ||g_l||^2)

    are recorded (per variable too). A warning (`GradientWarning`) is issued when a
    norm exceeds `explode_threshold` (exploding), when a layer's norm is below
    `vanish_threshold` (vanishing), or when a gradient is NaN/Inf; with `stop_on_nan`
    training stops on NaN/Inf, with `stop_on_explode` also on exploding gradients. The
    training loss in the batch logs is checked after every batch as well (free), so a
    NaN loss stops training at once (as `keras.callbacks.TerminateOnNaN`).

    The notes' remedy for exploding gradients is gradient clipping, built into every Keras
    optimizer: `clipnorm=c` rescales each variable's gradient to norm at most `c` (the
    per-variable norms recorded here), `global_clipnorm=c` rescales all of them together
    so the global norm is at most `c`, and `clipvalue=c` clips each element to [-c, c].
    The recorded norms show which threshold would bite. Vanishing gradients call for
    skip connections (ResNets), better initialisation or normalisation instead.

    Cost: one forward and backward pass on the held batch per check, about one training
    step of that batch size (compiled once per `fit` with `tf.function`); per epoch by
    default, every `every_n_batches` batches when set.

    Args:
        data: the held batch `(x, y)` or `(x, y, sample_weight)` of arrays, or a
            `tf.data.Dataset` whose first batch is used.
        loss: the loss to differentiate; default the model's compiled loss (a single loss;
            pass one here for multi-output models). Regularisation losses are added.
        every_n_batches: also check every this many training batches; None: epoch ends only.
        explode_threshold: a layer or global norm above this is reported as exploding.
        vanish_threshold: a layer norm below this is reported as vanishing (0 disables).
        stop_on_nan: stop training on a NaN/Inf gradient or loss.
        stop_on_explode: stop training on exploding gradients.
        log_dir: folder for TensorBoard scalars (per-layer norms) and histograms, or None.
        verbose: 0 silent (warnings still issued), 1 prints the global norm per check.

    Example:

    >>> import numpy as np, keras
    >>> x = np.ones((8, 3), "float32"); y = np.zeros((8, 1), "float32")
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, name="out")])
    >>> model.compile("sgd", "mse")
    >>> monitor = GradientNormMonitor((x, y), verbose=0)
    >>> _ = model.fit(x, y, epochs=1, callbacks=[monitor], verbose=0)
    >>> sorted(monitor.records[-1]["layers"]), "grad_norm" in model.history.history
    (['out'], True)
    """

    def __init__(
        self,
        data: Any,
        loss: Any = None,
        every_n_batches: int | None = None,
        explode_threshold: float = 1e3,
        vanish_threshold: float = 1e-7,
        stop_on_nan: bool = True,
        stop_on_explode: bool = False,
        log_dir: str | None = None,
        verbose: int = 1,
    ):
        super().__init__()
        if every_n_batches is not None and (
            isinstance(every_n_batches, bool)
            or not isinstance(every_n_batches, int)
            or every_n_batches <= 0
        ):
            raise ValueError(
                "`every_n_batches` must be a positive int or None. "
                f"Received: every_n_batches={every_n_batches!r}"
            )
        for name, value in (
            ("explode_threshold", explode_threshold),
            ("vanish_threshold", vanish_threshold),
        ):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"`{name}` must be a number >= 0. Received: {name}={value!r}")
        self.data = data
        self.loss = loss
        self.every_n_batches = every_n_batches
        self.explode_threshold = float(explode_threshold)
        self.vanish_threshold = float(vanish_threshold)
        self.stop_on_nan = bool(stop_on_nan)
        self.stop_on_explode = bool(stop_on_explode)
        self.log_dir = None if log_dir is None else os.fspath(log_dir)
        self.verbose = verbose
        self.records: list[dict[str, Any]] = []
        self.last_gradients: dict[str, np.ndarray] = {}
        self._function = None
        self._writer = None
        self._epoch = 0
        self._step = 0

    # Set-up --------------------------------------------------------------------------

    def _batch(self):
        data = self.data
        if not isinstance(data, tuple | list):
            data = next(iter(data))
        if len(data) not in (2, 3):
            raise ValueError(
                "`data` must be (x, y) or (x, y, sample_weight). "
                f"Received: a batch of {len(data)} entries"
            )
        return tuple(data) if len(data) == 3 else (data[0], data[1], None)

    def _loss_fn(self):
        loss = self.loss if self.loss is not None else getattr(self.model, "loss", None)
        if loss is None or isinstance(loss, dict | list | tuple):
            raise ValueError(
                "GradientNormMonitor needs one loss: pass `loss` (the model was compiled "
                f"with loss={loss!r})"
            )
        loss = keras.losses.get(loss) if isinstance(loss, str | dict) else loss
        if isinstance(loss, keras.losses.Loss):
            return loss

        def function_loss(y, y_pred, sample_weight):
            # Keras' default reduction of a loss function: the mean over the batch
            # ("sum_over_batch_size") of the per-example values times their weights.
            values = keras.ops.convert_to_tensor(loss(y, y_pred))
            if sample_weight is not None:
                weights = keras.ops.cast(sample_weight, values.dtype)
                values = values * keras.ops.reshape(weights, (-1,) + (1,) * (values.ndim - 1))
            return keras.ops.mean(values)

        return function_loss

    def _build(self):
        import tensorflow as tf

        model, loss_fn = self.model, self._loss_fn()

        @tf.function(reduce_retracing=True)
        def gradients(x, y, sample_weight):
            trainable = [tf.identity(v.value) for v in model.trainable_variables]
            non_trainable = [tf.identity(v.value) for v in model.non_trainable_variables]
            with tf.GradientTape() as tape:
                tape.watch(trainable)
                y_pred, _, losses = model.stateless_call(
                    trainable, non_trainable, x, training=True, return_losses=True
                )
                value = loss_fn(y, y_pred, sample_weight)
                if losses:
                    value = value + tf.add_n([tf.cast(v, value.dtype) for v in losses])
            return value, tape.gradient(value, trainable)

        return gradients

    def on_train_begin(self, logs=None):
        self.records = []
        self._function = self._build()
        self._epoch = 0
        self._step = 0
        if self.log_dir is not None:
            import tensorflow as tf

            self._writer = tf.summary.create_file_writer(self.log_dir)

    # Checks ----------------------------------------------------------------------------

    def compute(self) -> dict[str, Any]:
        """Gradient norms on the held batch now: a record with "loss", "global",
        "layers" (name -> norm), "variables" (path -> norm) and "finite"."""
        if self._function is None:
            self._function = self._build()
        x, y, sample_weight = self._batch()
        loss, grads = self._function(x, y, sample_weight)
        # Paths read "model/layer/variable" in a Sequential model: name layers without
        # the model's own prefix.
        prefix = f"{self.model.name}/"
        paths = [v.path.removeprefix(prefix) for v in self.model.trainable_variables]
        arrays = {
            # Embedding gradients arrive as IndexedSlices: densify before numpy.
            p: np.zeros(v.shape) if g is None else np.asarray(tf.convert_to_tensor(g), "float64")
            for p, g, v in zip(paths, grads, self.model.trainable_variables, strict=True)
        }
        variable_norms = {p: float(np.sqrt(np.sum(np.square(a)))) for p, a in arrays.items()}
        squares: dict[str, float] = {}
        for p, norm in variable_norms.items():
            squares[_layer_name(p)] = squares.get(_layer_name(p), 0.0) + norm**2
        layers = {name: math.sqrt(s) for name, s in squares.items()}
        total = math.sqrt(sum(squares.values()))
        finite = bool(np.isfinite(float(loss))) and all(
            np.all(np.isfinite(a)) for a in arrays.values()
        )
        self.last_gradients = {p: a.ravel() for p, a in arrays.items()}
        return {
            "loss": float(loss),
            "global": total,
            "layers": layers,
            "variables": variable_norms,
            "finite": finite,
        }

    def _check(self, where: str, logs: dict | None) -> dict[str, Any]:
        record = self.compute()
        record.update(where=where, epoch=self._epoch, step=self._step)
        self.records.append(record)
        problems = []
        if not record["finite"]:
            bad = [p for p, n in record["variables"].items() if not math.isfinite(n)]
            problems.append(("nan", f"non-finite gradients (NaN/Inf) in {bad or 'the loss'}"))
        else:
            exploding = {n: v for n, v in record["layers"].items() if v > self.explode_threshold}
            if record["global"] > self.explode_threshold:
                exploding["global"] = record["global"]
            if exploding:
                listed = ", ".join(f"{k} {v:.3g}" for k, v in exploding.items())
                problems.append(
                    (
                        "explode",
                        f"exploding gradients (norm > {self.explode_threshold:g}): {listed}; "
                        "consider clipnorm / global_clipnorm / clipvalue on the optimizer",
                    )
                )
            vanishing = {n: v for n, v in record["layers"].items() if v < self.vanish_threshold}
            if vanishing:
                listed = ", ".join(f"{k} {v:.3g}" for k, v in vanishing.items())
                problems.append(
                    ("vanish", f"vanishing gradients (norm < {self.vanish_threshold:g}): {listed}")
                )
        record["problems"] = [kind for kind, _ in problems]
        for kind, message in problems:
            warnings.warn(f"GradientNormMonitor at {where}: {message}", GradientWarning, 3)
            if (kind == "nan" and self.stop_on_nan) or (kind == "explode" and self.stop_on_explode):
                self.model.stop_training = True
        if logs is not None:
            logs["grad_norm"] = record["global"]
        if self._writer is not None:
            self._write(record)
        if self.verbose:
            print(f"{where}: gradient global norm {record['global']:.4g}")
        return record

    def _write(self, record):
        with self._writer.as_default():
            write_scalar("gradients/global_norm", record["global"], step=self._step)
            for name, norm in record["layers"].items():
                write_scalar(f"gradients/{name}", norm, step=self._step)
            for path, values in self.last_gradients.items():
                write_histogram(f"gradient_values/{path}", values, step=self._step)
        self._writer.flush()

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        loss = None if logs is None else logs.get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            warnings.warn(
                f"GradientNormMonitor at epoch {self._epoch + 1}, batch {batch}: "
                f"the training loss is {float(loss)}",
                GradientWarning,
                2,
            )
            self.records.append(
                {
                    "where": f"batch {batch}",
                    "epoch": self._epoch,
                    "step": self._step,
                    "loss": float(loss),
                    "finite": False,
                    "problems": ["nan"],
                }
            )
            if self.stop_on_nan:
                self.model.stop_training = True
            return
        if self.every_n_batches and self._step % self.every_n_batches == 0:
            self._check(f"epoch {self._epoch + 1}, batch {batch}", None)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self._check(f"epoch {epoch + 1}", logs if logs is not None else {})

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    # Pictures --------------------------------------------------------------------------

    def plot(self, path: str | os.PathLike, title: str = "Gradient norms") -> str:
        """Saves a PNG: each layer's gradient norm per check (log scale) with the
        thresholds, and the histogram of log10 |gradient| elements per layer at the last
        check."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        checks = [r for r in self.records if "layers" in r]
        if not checks:
            raise ValueError("GradientNormMonitor.plot needs at least one gradient check")
        fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
        steps = [r["step"] for r in checks]
        for name in checks[-1]["layers"]:
            norms = [r["layers"].get(name, np.nan) for r in checks]
            left.plot(steps, norms, marker="o", markersize=3, label=name)
        left.axhline(self.explode_threshold, color="tab:red", ls="--", lw=1, label="explode")
        if self.vanish_threshold > 0:
            left.axhline(self.vanish_threshold, color="tab:gray", ls="--", lw=1, label="vanish")
        left.set(yscale="log", xlabel="training step", ylabel="||gradient||", title=title)
        left.legend(fontsize=7, ncol=2)
        by_layer: dict[str, list[np.ndarray]] = {}
        for p, values in self.last_gradients.items():
            by_layer.setdefault(_layer_name(p), []).append(values)
        low = high = None
        logs = {}
        for name, parts in by_layer.items():
            values = np.abs(np.concatenate(parts))
            values = values[np.isfinite(values) & (values > 0)]
            if values.size:
                logs[name] = np.log10(values)
                low = min(low, logs[name].min()) if low is not None else logs[name].min()
                high = max(high, logs[name].max()) if high is not None else logs[name].max()
        if logs:
            bins = np.linspace(low, high + 1e-9, 40)
            for name, values in logs.items():
                right.hist(values, bins=bins, histtype="step", lw=1.5, density=True, label=name)
            right.legend(fontsize=7)
        right.set(
            xlabel="log10 |gradient element|",
            ylabel="density (each layer's elements)",
            title=f"Gradient values at step {checks[-1]['step']}",
        )
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return os.fspath(path)

    def get_config(self) -> dict[str, Any]:
        return {
            "data": self.data,
            "loss": keras.saving.serialize_keras_object(self.loss)
            if self.loss is not None and not isinstance(self.loss, str)
            else self.loss,
            "every_n_batches": self.every_n_batches,
            "explode_threshold": self.explode_threshold,
            "vanish_threshold": self.vanish_threshold,
            "stop_on_nan": self.stop_on_nan,
            "stop_on_explode": self.stop_on_explode,
            "log_dir": self.log_dir,
            "verbose": self.verbose,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> GradientNormMonitor:
        config = dict(config)
        config["data"] = deserialize_data(config["data"])
        if isinstance(config.get("loss"), dict):
            config["loss"] = keras.saving.deserialize_keras_object(config["loss"])
        return cls(**config)
