"""`fit`: trains a compiled Keras model under any `tf.distribute` strategy.

Keras 3's `model.fit` fails under `tf.distribute.MultiWorkerMirroredStrategy` (TF 2.21,
Keras 3.15, keras-team/keras#20585): building the model from the first distributed batch
raises "Attempt to convert a value (PerReplica...) to a Tensor". `fit` here is a small
custom loop that sidesteps that path and reuses everything else the model was compiled
with: each step runs `model.train_step` inside `strategy.run` (Keras' loss already divides
by the number of replicas and the optimizer sums gradients across them), on batches from
`strategy.distribute_datasets_from_function`. It works the same under the default
strategy, `OneDeviceStrategy`, `MirroredStrategy` and `MultiWorkerMirroredStrategy` (the
synchronous strategies; `ParameterServerStrategy` needs a `ClusterCoordinator` instead).

A multi-worker run starts the same script on every worker with its own `TF_CONFIG` (see
`kerasdl.distribute.strategy` for `TF_CONFIG`, Kubernetes and Slurm set-ups):

>>> import json, os
>>> os.environ["TF_CONFIG"] = json.dumps({  # doctest: +SKIP
...     "cluster": {"worker": ["10.0.0.1:2222", "10.0.0.2:2222"]},
...     "task": {"type": "worker", "index": 0},  # 1 on the second machine
... })
>>> strategy = kerasdl.distribute.get_strategy()  # doctest: +SKIP
>>> with strategy.scope():  # doctest: +SKIP
...     model = build_model()
...     model.compile(optimizer="sgd", loss="mse")
>>> kerasdl.distribute.fit(  # doctest: +SKIP
...     model, dataset_fn, epochs=10, steps_per_epoch=100,
...     callbacks=[keras.callbacks.BackupAndRestore("/shared/backup", save_freq=50)])

Fault tolerance. Pass `keras.callbacks.BackupAndRestore(backup_dir, save_freq=...)` as
you would to `model.fit`. `fit` does not run that callback: it resumes through
`model.fit`'s internal initial epoch, restarting an interrupted epoch from its first
batch (with `save_freq=N` it then trains that epoch's saved batches twice), and every
worker would write the same file. `fit` takes the callback's `backup_dir`, `save_freq`,
`double_checkpoint` and `delete_checkpoint` and keeps a `tf.train.Checkpoint` of the
model, the optimizer state, the metric state and an (epoch, step) counter with a
`tf.train.CheckpointManager`. After a restart with the same arguments, `fit` restores
the latest checkpoint, replays the input pipeline past the batches already trained on,
and continues from the next step, so a run that was killed and restarted ends with the
same weights, and the same logged loss, as one that was not. The chief writes to
`backup_dir`, which must be storage that every worker reads (a shared volume or a
bucket); the other workers write to a local temporary directory that they delete, as
`tf.distribute` requires every worker to take part in saving.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from kerasdl._validation import check_one_of, check_positive_int

DatasetFn = Callable[[tf.distribute.InputContext], tf.data.Dataset]


def fit(
    model: keras.Model,
    dataset_fn: DatasetFn,
    *,
    epochs: int = 1,
    steps_per_epoch: int,
    strategy: tf.distribute.Strategy | None = None,
    callbacks: Sequence[keras.callbacks.Callback] | None = None,
    verbose: int | str = "auto",
) -> keras.callbacks.History:
    """Trains a compiled model on `dataset_fn`'s batches under a `tf.distribute` strategy.

    Each step draws one batch per replica, runs `model.train_step` on every replica with
    `strategy.run` and applies the summed gradients, so a step over `R` replicas with
    per-replica batches of `B / R` examples equals one step over a batch of `B`. The
    logged loss and metrics are the model's metrics read across all replicas and
    workers: the running mean over the epoch's examples, as `model.fit` reports them.

    `dataset_fn(input_context)` is called once per worker and returns that worker's
    pipeline of per-replica batches. Batch with
    `input_context.get_per_replica_batch_size(global_batch_size)`; when every worker reads
    the same source, keep a distinct share per worker with
    `dataset.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)`
    (or shard the file list). Sharding examples before batching, as in the example below,
    makes the replicas of step `k` see together examples `k * B` to `(k + 1) * B - 1` of
    the source: the batches one process would train on. The pipeline must yield at least
    `epochs * steps_per_epoch * replicas_per_worker` batches (end it with `.repeat()`): one
    iterator runs through all epochs, and every worker must run the same number of steps.
    For resuming after a failure it must be deterministic (seeded shuffles).

    Callbacks get the same calls as in `model.fit` (`History` and, when `verbose`, a
    `ProgbarLogger` are added). `keras.callbacks.ModelCheckpoint` runs on the chief only,
    since every worker holds the same weights; give other file-writing callbacks a path
    per worker. Every worker gets the same logs, so callbacks that stop training
    (`EarlyStopping`) decide alike on all of them. `keras.callbacks.BackupAndRestore` is
    replaced by the equivalent checkpointing described in the module docstring. There is
    no validation data, and `steps_per_execution` from `compile` is not used: every step
    returns to Python.

    Args:
        model: a compiled `keras.Model`, created and compiled inside
            `with strategy.scope():`.
        dataset_fn: `dataset_fn(input_context) -> tf.data.Dataset` of `(x, y)` or
            `(x, y, sample_weight)` per-replica batches.
        epochs: number of epochs, > 0.
        steps_per_epoch: number of steps (global batches) per epoch, > 0.
        strategy: the strategy to train under; defaults to `model.distribute_strategy`,
            the one the model was created under.
        callbacks: `keras.callbacks.Callback` instances.
        verbose: 0 silent, 1 progress bar, 2 one line per epoch; `"auto"` is 1 on the
            chief and 0 on the other workers.

    Returns:
        The `keras.callbacks.History` of this call: the loss and metrics at the end of
        each epoch it ran.

    Raises:
        TypeError: if `model` is not a `keras.Model`, `dataset_fn` is not callable or
            does not return a `tf.data.Dataset`, `strategy` is not a strategy, or
            `callbacks` holds a non-callback.
        ValueError: if the model is not compiled, was built outside `strategy.scope()`,
            an argument is out of range, or the pipeline runs out of batches.

    Example:

    >>> x = np.arange(32, dtype="float32").reshape(16, 2) / 16
    >>> y = x @ np.array([[2.0], [-1.0]], dtype="float32")
    >>> def dataset_fn(input_context):
    ...     batch_size = input_context.get_per_replica_batch_size(8)
    ...     ds = tf.data.Dataset.from_tensor_slices((x, y)).shard(
    ...         input_context.num_input_pipelines, input_context.input_pipeline_id)
    ...     return ds.batch(batch_size).repeat()
    >>> strategy = tf.distribute.get_strategy()
    >>> with strategy.scope():
    ...     model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    ...     model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    >>> history = fit(model, dataset_fn, epochs=2, steps_per_epoch=2, verbose=0)
    >>> sorted(history.history), len(history.history["loss"])
    (['loss', 'mae'], 2)
    """
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"`model` must be a compiled keras.Model. Received: model={model!r} "
            f"of type {type(model).__name__}"
        )
    if not callable(dataset_fn):
        raise TypeError(
            "`dataset_fn` must be a callable `dataset_fn(input_context) -> "
            "tf.data.Dataset` that returns per-replica batches (to train on a dataset "
            "`ds` of global batches with one worker, use `model.fit(ds)`). "
            f"Received: dataset_fn={dataset_fn!r} of type {type(dataset_fn).__name__}"
        )
    check_positive_int("epochs", epochs)
    check_positive_int("steps_per_epoch", steps_per_epoch)
    check_one_of("verbose", verbose, ("auto", 0, 1, 2))
    if strategy is not None and not isinstance(strategy, tf.distribute.Strategy):
        raise TypeError(
            f"`strategy` must be a tf.distribute.Strategy or None. "
            f"Received: strategy={strategy!r} of type {type(strategy).__name__}"
        )
    strategy = strategy or model.distribute_strategy
    _check_compiled_in_scope(model, strategy)
    if model.steps_per_execution != 1:
        warnings.warn(
            f"kerasdl.distribute.fit runs one step per call; ignoring "
            f"steps_per_execution={model.steps_per_execution} from compile().",
            stacklevel=2,
        )
    is_chief = strategy.extended.should_checkpoint
    if verbose == "auto":
        verbose = 1 if is_chief else 0
    callbacks, backup_callback = _split_callbacks(callbacks, is_chief)

    with strategy.scope():
        backup = _Backup(model, strategy, backup_callback) if backup_callback else None
    epoch, step = backup.restore_counters() if backup else (0, 0)
    element_specs = []
    batches_to_skip = epoch * steps_per_epoch + step

    def replica_batches(input_context: tf.distribute.InputContext) -> tf.data.Dataset:
        dataset = dataset_fn(input_context)
        if not isinstance(dataset, tf.data.Dataset):
            raise TypeError(
                f"`dataset_fn` must return a tf.data.Dataset of per-replica batches. "
                f"Received: dataset_fn(input_context) returned {dataset!r} "
                f"of type {type(dataset).__name__}"
            )
        element_specs.append(dataset.element_spec)
        replicas_per_pipeline = (
            input_context.num_replicas_in_sync // input_context.num_input_pipelines
        )
        # Resuming replays the pipeline past the batches that were already trained on.
        return dataset.skip(batches_to_skip * replicas_per_pipeline)

    iterator = iter(strategy.distribute_datasets_from_function(replica_batches))
    _build_training_state(model, strategy, element_specs[0])
    if backup:
        backup.restore_state()
    train_function = _make_train_function(model, strategy)
    read_metrics = _make_read_metrics(model)

    callback_list = keras.callbacks.CallbackList(
        callbacks,
        add_history=True,
        add_progbar=verbose != 0,
        model=model,
        verbose=verbose,
        epochs=epochs,
        steps=steps_per_epoch,
    )
    history = model.history
    model.stop_training = False
    callback_list.on_train_begin()
    epoch_logs: dict[str, Any] | None = None
    while epoch < epochs:
        if step == 0:
            # A resumed epoch keeps the metric state restored from the checkpoint.
            model.reset_metrics()
        callback_list.on_epoch_begin(epoch)
        logs = None
        while step < steps_per_epoch:
            callback_list.on_train_batch_begin(step)
            try:
                logs = _to_python(train_function(iterator))
            except tf.errors.OutOfRangeError:
                raise ValueError(
                    f"`dataset_fn` must yield a batch for every step, but its pipeline ran "
                    f"out at epoch {epoch}, step {step}. Training takes "
                    f"epochs * steps_per_epoch = {epochs * steps_per_epoch} steps; end the "
                    f"pipeline with `.repeat()`. Received: epochs={epochs}, "
                    f"steps_per_epoch={steps_per_epoch}"
                ) from None
            step += 1
            if backup:
                backup.after_step(epoch, step, epoch * steps_per_epoch + step)
            callback_list.on_train_batch_end(step - 1, logs)
            if model.stop_training:
                break
        epoch_logs = logs if logs is not None else _to_python(read_metrics())
        callback_list.on_epoch_end(epoch, epoch_logs)
        epoch, step = epoch + 1, 0
        if backup:
            backup.after_epoch(epoch, epoch * steps_per_epoch)
        if model.stop_training:
            break
    model.optimizer.finalize_variable_values(model.trainable_weights)
    callback_list.on_train_end(logs=epoch_logs)
    if backup:
        backup.on_train_end()
    return history


def _split_callbacks(
    callbacks: Sequence[keras.callbacks.Callback] | None, is_chief: bool
) -> tuple[list[keras.callbacks.Callback], keras.callbacks.BackupAndRestore | None]:
    """Returns the callbacks this worker runs, and the BackupAndRestore `fit` serves."""
    callbacks = list(callbacks or [])
    for callback in callbacks:
        if not isinstance(callback, keras.callbacks.Callback):
            raise TypeError(
                f"`callbacks` must hold keras.callbacks.Callback instances. "
                f"Received: callbacks={callbacks!r}, with {callback!r} "
                f"of type {type(callback).__name__}"
            )
    backups = [c for c in callbacks if isinstance(c, keras.callbacks.BackupAndRestore)]
    if len(backups) > 1:
        raise ValueError(
            f"`callbacks` must hold at most one BackupAndRestore. "
            f"Received: {len(backups)} BackupAndRestore callbacks"
        )
    callbacks = [c for c in callbacks if not isinstance(c, keras.callbacks.BackupAndRestore)]
    if not is_chief:
        # Every worker holds the same weights; one writer avoids clobbered files.
        callbacks = [c for c in callbacks if not isinstance(c, keras.callbacks.ModelCheckpoint)]
    return callbacks, (backups[0] if backups else None)


def _check_compiled_in_scope(model: keras.Model, strategy: tf.distribute.Strategy) -> None:
    """Raises when `model` is not compiled, or its state lives outside `strategy`."""
    if not getattr(model, "compiled", False) or model.optimizer is None:
        raise ValueError(
            f"`model` must be compiled with an optimizer and a loss before training: call "
            f"`model.compile(optimizer=..., loss=...)` inside `with strategy.scope():`. "
            f"Received: model={model.name!r}, which is not compiled"
        )
    foreign = [
        variable.path
        for variable in [*model.variables, *model.optimizer.variables]
        if not strategy.extended.variable_created_in_scope(variable.value)
    ]
    if model.distribute_strategy is not strategy or foreign:
        raise ValueError(
            f"`model` must be built and compiled inside `with strategy.scope():` of the "
            f"strategy it trains with ({_describe(strategy)}), so that its variables "
            f"and the optimizer are mirrored across replicas. Create the model, build it "
            f"and call `compile` inside `with strategy.scope():`. Received: "
            f"model={model.name!r} created under {_describe(model.distribute_strategy)}"
            + (f", with variables outside the scope: {foreign[:3]}" if foreign else "")
        )


def _describe(strategy: tf.distribute.Strategy) -> str:
    name = type(strategy).__name__
    return "the default strategy" if name.startswith("_Default") else name


def _build_training_state(
    model: keras.Model, strategy: tf.distribute.Strategy, element_spec: Any
) -> None:
    """Creates the model, loss, metric and optimizer variables under `strategy.scope()`.

    `train_step` creates missing metric and optimizer variables on its first call, which
    inside `strategy.run` would happen once per replica. Tracing a forward pass, loss and
    metrics in a `keras.StatelessScope` creates them once, in cross-replica context, and
    changes no state; this is what `model.fit` does before its first step.
    """
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(element_spec)

    @tf.autograph.experimental.do_not_convert
    def forward(x, y, sample_weight):
        y_pred = model(x, training=False)
        model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False)
        model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    with strategy.scope():
        with keras.StatelessScope():
            tf.function(forward).get_concrete_function(x, y, sample_weight)
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)


def _make_train_function(
    model: keras.Model, strategy: tf.distribute.Strategy
) -> Callable[[Any], dict[str, tf.Tensor]]:
    """Returns `train_function(iterator)`: one step on every replica, then the metrics."""

    def replicated_step(data):
        strategy.run(model.train_step, args=(data,))

    if model.jit_compile and not model.run_eagerly:
        # As in model.fit: XLA compiles the replicated step, not the input pipeline.
        replicated_step = tf.function(replicated_step, jit_compile=True)

    def train_function(iterator):
        replicated_step(next(iterator))
        # Read in cross-replica context: the sum over replicas and workers of each
        # metric's state, so logs are the global running means, not replica 0's.
        return model.get_metrics_result()

    return train_function if model.run_eagerly else tf.function(train_function)


def _make_read_metrics(model: keras.Model) -> Callable[[], dict[str, tf.Tensor]]:
    """Returns a function reading the model's metrics across replicas and workers."""
    return model.get_metrics_result if model.run_eagerly else tf.function(model.get_metrics_result)


def _to_python(logs: dict[str, Any]) -> dict[str, Any]:
    """Converts metric tensors to floats (arrays for non-scalar metrics), as fit logs."""
    python_logs = {}
    for name, value in logs.items():
        value = np.asarray(value)
        python_logs[name] = value.item() if value.ndim == 0 else value
    return python_logs


class _Backup:
    """The `tf.train.Checkpoint` behind `BackupAndRestore` in `fit`.

    It holds the model, its optimizer, its metric variables and an (epoch, step)
    counter. Counters are restored first, since the input pipeline has to skip the
    trained batches before the model can be built from its element spec; the rest is
    restored once every variable exists.
    """

    def __init__(
        self,
        model: keras.Model,
        strategy: tf.distribute.Strategy,
        callback: keras.callbacks.BackupAndRestore,
    ):
        self.model = model
        self.backup_dir = os.fspath(callback.backup_dir)
        self.save_freq = callback.save_freq
        if self.save_freq not in ("epoch", False):
            check_positive_int("save_freq", self.save_freq)
        self.max_to_keep = 2 if callback.double_checkpoint else 1
        self.delete_checkpoint = callback.delete_checkpoint
        self.is_chief = strategy.extended.should_checkpoint
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="backup_epoch")
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="backup_step")
        self.path: str | None = None
        self.checkpoint: tf.train.Checkpoint | None = None
        self.manager: tf.train.CheckpointManager | None = None

    def restore_counters(self) -> tuple[int, int]:
        """Returns the (epoch, step) to resume from; (0, 0) without a checkpoint."""
        counters = tf.train.Checkpoint(epoch=self.epoch, step=self.step)
        state = tf.train.get_checkpoint_state(self.backup_dir)
        for path in reversed(state.all_model_checkpoint_paths if state else []):
            try:
                counters.read(path).expect_partial()
            except (tf.errors.OpError, ValueError, IndexError, OSError) as e:
                # With double_checkpoint, a torn latest save falls back to the previous;
                # TF's checkpoint reader raises IndexError for a truncated file.
                logging.warning("Skipping unreadable checkpoint %s: %s", path, e)
                continue
            self.path = path
            return int(self.epoch.numpy()), int(self.step.numpy())
        return 0, 0

    def restore_state(self) -> None:
        """Tracks every training variable; restores them when a backup was found."""
        model = self.model
        self.checkpoint = tf.train.Checkpoint(
            epoch=self.epoch,
            step=self.step,
            model=model,
            optimizer=model.optimizer,
            metrics=[v.value for metric in model.metrics for v in metric.variables],
        )
        if self.is_chief:
            self.manager = tf.train.CheckpointManager(
                self.checkpoint, self.backup_dir, max_to_keep=self.max_to_keep
            )
        if self.path is not None:
            self.checkpoint.read(self.path).assert_existing_objects_matched()
            logging.info("Resumed training from %s", self.path)

    def after_step(self, epoch: int, step: int, global_step: int) -> None:
        if self.save_freq != "epoch" and self.save_freq and global_step % self.save_freq == 0:
            self._save(epoch, step, global_step)

    def after_epoch(self, epoch: int, global_step: int) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, 0, global_step)

    def _save(self, epoch: int, step: int, global_step: int) -> None:
        self.epoch.assign(epoch)
        self.step.assign(step)
        if self.is_chief:
            self.manager.save(checkpoint_number=global_step)
            return
        # Saving reads the metric state across workers, so every worker has to save.
        scratch = tempfile.mkdtemp(prefix="kerasdl_backup_")
        try:
            self.checkpoint.write(os.path.join(scratch, "ckpt"))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def on_train_end(self) -> None:
        # tf.io.gfile, as backup_dir may be a bucket (gs://, s3://) shared by the workers.
        if self.delete_checkpoint and self.is_chief and tf.io.gfile.exists(self.backup_dir):
            tf.io.gfile.rmtree(self.backup_dir)
