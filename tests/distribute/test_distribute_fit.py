"""kerasdl.distribute.fit in one process: default strategy, MirroredStrategy over the two
logical CPUs of the test process, `model.fit` as the reference, callbacks, errors and
resuming from a BackupAndRestore directory."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.distribute import fit
from tests.distribute.distribute_workload import (
    EPOCHS,
    GLOBAL_BATCH,
    STEPS_PER_EPOCH,
    build_model,
    data,
    dataset_fn,
    keras_fit,
)
from tests.strategies import two_cpu_strategy

DEFAULT = tf.distribute.get_strategy()


class Interrupted(Exception):
    pass


class RaiseAtStep(keras.callbacks.Callback):
    """Stops training with an exception after the `step`-th batch, like a crash."""

    def __init__(self, step):
        super().__init__()
        self.step = step
        self.seen = 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step:
            raise Interrupted


def run_fit(model, epochs=EPOCHS, **kwargs):
    kwargs.setdefault("verbose", 0)
    return fit(model, dataset_fn, epochs=epochs, steps_per_epoch=STEPS_PER_EPOCH, **kwargs)


def assert_same_weights(got, want, atol=1e-6):
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=0, atol=atol)


@pytest.fixture
def mirrored():
    # The process-wide strategy: a second MirroredStrategy would reuse its collective
    # instance keys (see tests/strategies.py).
    strategy = two_cpu_strategy()
    assert strategy.num_replicas_in_sync == 2
    return strategy


@pytest.fixture(scope="module")
def uninterrupted_mirrored():
    """Weights and history of a whole run under MirroredStrategy, shared by resume tests."""
    model = build_model(two_cpu_strategy())
    history = run_fit(model).history
    return model.get_weights(), history


def test_mirrored_matches_default_strategy_and_model_fit(mirrored):
    on_default = build_model(DEFAULT)
    default_history = run_fit(on_default).history
    on_mirrored = build_model(mirrored)
    mirrored_history = run_fit(on_mirrored).history
    reference = build_model(DEFAULT)
    reference_history = keras_fit(reference, EPOCHS).history

    assert_same_weights(on_default.get_weights(), reference.get_weights())
    assert_same_weights(on_mirrored.get_weights(), on_default.get_weights(), atol=1e-5)
    assert sorted(mirrored_history) == ["loss", "mae"]
    for name in ("loss", "mae"):
        assert len(mirrored_history[name]) == EPOCHS
        # Logged metrics cover both replicas' halves of each batch, as in model.fit.
        np.testing.assert_allclose(default_history[name], reference_history[name], rtol=1e-6)
        np.testing.assert_allclose(mirrored_history[name], reference_history[name], rtol=1e-5)
    assert not np.allclose(on_mirrored.get_weights()[0], build_model(DEFAULT).get_weights()[0])


def test_sample_weights_under_mirrored_match_model_fit(mirrored):
    x, y = data()
    sample_weight = np.linspace(0.0, 2.0, len(x)).astype("float32")

    def weighted_dataset_fn(input_context):
        batch_size = input_context.get_per_replica_batch_size(GLOBAL_BATCH)
        return tf.data.Dataset.from_tensor_slices((x, y, sample_weight)).batch(batch_size).repeat()

    model = build_model(mirrored)
    history = fit(model, weighted_dataset_fn, epochs=2, steps_per_epoch=STEPS_PER_EPOCH, verbose=0)
    reference = build_model(DEFAULT)
    reference_history = keras_fit(reference, 2, sample_weight=sample_weight)
    assert_same_weights(model.get_weights(), reference.get_weights(), atol=1e-5)
    np.testing.assert_allclose(
        history.history["loss"], reference_history.history["loss"], rtol=1e-5
    )


def test_unbuilt_model_is_built_under_the_strategy(mirrored):
    def unbuilt(strategy):
        with strategy.scope():
            model = keras.Sequential([keras.layers.Dense(1, kernel_initializer="ones")])
            model.compile(optimizer="sgd", loss="mse")
        return model

    model = unbuilt(mirrored)
    run_fit(model, epochs=1)
    assert mirrored.extended.variable_created_in_scope(model.weights[0].value)
    reference = unbuilt(DEFAULT)
    run_fit(reference, epochs=1)
    assert_same_weights(model.get_weights(), reference.get_weights(), atol=1e-5)


@pytest.mark.parametrize("compile_kwargs", [{"jit_compile": True}, {"run_eagerly": True}])
def test_jit_compile_and_run_eagerly_give_the_same_weights(compile_kwargs):
    model = build_model(DEFAULT, **compile_kwargs)
    run_fit(model, epochs=1)
    reference = build_model(DEFAULT)
    run_fit(reference, epochs=1)
    assert_same_weights(model.get_weights(), reference.get_weights(), atol=1e-5)


def test_steps_per_execution_is_ignored_with_a_warning():
    model = build_model(DEFAULT, steps_per_execution=2)
    with pytest.warns(UserWarning, match="ignoring steps_per_execution=2"):
        run_fit(model, epochs=1)
    reference = build_model(DEFAULT)
    run_fit(reference, epochs=1)
    assert_same_weights(model.get_weights(), reference.get_weights())


class Recorder(keras.callbacks.Callback):
    def __init__(self, stop_at=None):
        super().__init__()
        self.calls = []
        self.stop_at = stop_at

    def on_train_begin(self, logs=None):
        self.calls.append(("train_begin",))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch))
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(("batch_end", batch, sorted(logs)))
        if (self.epoch, batch) == self.stop_at:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, sorted(logs)))

    def on_train_end(self, logs=None):
        self.calls.append(("train_end",))


def test_callbacks_get_fit_calls_and_can_stop_training():
    recorder = Recorder(stop_at=(1, 1))
    history = run_fit(build_model(DEFAULT), epochs=2, callbacks=[recorder])
    batch = ["loss", "mae"]
    assert recorder.calls == [
        ("train_begin",),
        ("epoch_begin", 0),
        *[("batch_end", step, batch) for step in range(STEPS_PER_EPOCH)],
        ("epoch_end", 0, batch),
        ("epoch_begin", 1),
        ("batch_end", 0, batch),
        ("batch_end", 1, batch),
        ("epoch_end", 1, batch),
        ("train_end",),
    ]
    assert len(history.history["loss"]) == 2


def test_model_checkpoint_and_progress_bar(tmp_path, capsys):
    path = tmp_path / "model.keras"
    model = build_model(DEFAULT)
    run_fit(model, epochs=1, callbacks=[keras.callbacks.ModelCheckpoint(path)], verbose=1)
    assert_same_weights(keras.saving.load_model(path).get_weights(), model.get_weights())
    out = capsys.readouterr().out
    assert f"{STEPS_PER_EPOCH}/{STEPS_PER_EPOCH}" in out and "loss:" in out


@pytest.mark.parametrize(
    ("save_freq", "crash_at", "resumed_epochs"),
    [
        (3, 5, EPOCHS),  # resumes at epoch 0, step 3: steps 4 and 5 are redone
        (4, 5, EPOCHS),  # resumes at the end of epoch 0, before its on_epoch_end
        ("epoch", 6, EPOCHS - 1),  # resumes at the start of epoch 1
    ],
)
def test_resume_from_backup_matches_uninterrupted_run(
    mirrored, uninterrupted_mirrored, tmp_path, save_freq, crash_at, resumed_epochs
):
    # The second run uses a fresh model, as a restarted process does.
    backup_dir = tmp_path / "backup"
    with pytest.raises(Interrupted):
        run_fit(
            build_model(mirrored),
            callbacks=[
                keras.callbacks.BackupAndRestore(backup_dir, save_freq),
                RaiseAtStep(crash_at),
            ],
        )
    assert backup_dir.exists()
    resumed = build_model(mirrored)
    backup = keras.callbacks.BackupAndRestore(backup_dir, save_freq)
    history = run_fit(resumed, callbacks=[backup]).history
    uninterrupted_weights, uninterrupted_history = uninterrupted_mirrored

    assert_same_weights(resumed.get_weights(), uninterrupted_weights)
    assert len(history["loss"]) == resumed_epochs
    np.testing.assert_allclose(
        history["loss"], uninterrupted_history["loss"][-resumed_epochs:], rtol=1e-6
    )
    assert not backup_dir.exists()


def test_double_checkpoint_falls_back_to_the_previous_backup(
    mirrored, uninterrupted_mirrored, tmp_path
):
    backup_dir = tmp_path / "backup"
    with pytest.raises(Interrupted):
        run_fit(
            build_model(mirrored),
            callbacks=[
                keras.callbacks.BackupAndRestore(backup_dir, 2, double_checkpoint=True),
                RaiseAtStep(5),
            ],
        )
    assert tf.train.get_checkpoint_state(backup_dir).all_model_checkpoint_paths == [
        str(backup_dir / "ckpt-2"),
        str(backup_dir / "ckpt-4"),
    ]
    # A save torn by the crash: the latest checkpoint's data is unreadable.
    (latest,) = backup_dir.glob("ckpt-4.data-*")
    latest.write_bytes(b"")
    resumed = build_model(mirrored)
    backup = keras.callbacks.BackupAndRestore(backup_dir, 2, double_checkpoint=True)
    run_fit(resumed, callbacks=[backup])
    assert_same_weights(resumed.get_weights(), uninterrupted_mirrored[0])


def test_model_fit_backup_and_restore_resumes_at_epoch_boundaries(tmp_path):
    # Keras 3.15's own BackupAndRestore with save_freq="epoch" and model.fit: an epoch
    # interrupted midway is redone from the state saved after the previous epoch.
    backup_dir = tmp_path / "backup"
    with pytest.raises(Interrupted):
        keras_fit(
            build_model(DEFAULT),
            EPOCHS,
            callbacks=[keras.callbacks.BackupAndRestore(backup_dir), RaiseAtStep(6)],
        )
    resumed = build_model(DEFAULT)
    history = keras_fit(resumed, EPOCHS, callbacks=[keras.callbacks.BackupAndRestore(backup_dir)])
    uninterrupted = build_model(DEFAULT)
    keras_fit(uninterrupted, EPOCHS)
    assert_same_weights(resumed.get_weights(), uninterrupted.get_weights())
    assert len(history.history["loss"]) == EPOCHS - 1


def test_model_fit_backup_and_restore_replays_the_interrupted_epoch(tmp_path):
    # Keras 3.15's BackupAndRestore(save_freq=3) with model.fit, crashed after step 5:
    # it restores the weights and optimizer state saved after step 3 (epoch 0, batch 2)
    # but restarts epoch 0 at its first batch, so batches 0-2 are trained twice.
    # kerasdl.distribute.fit resumes at the next step instead (tests above).
    backup_dir = tmp_path / "backup"
    with pytest.raises(Interrupted):
        keras_fit(
            build_model(DEFAULT),
            EPOCHS,
            callbacks=[keras.callbacks.BackupAndRestore(backup_dir, 3), RaiseAtStep(5)],
        )
    resumed = build_model(DEFAULT)
    keras_fit(resumed, EPOCHS, callbacks=[keras.callbacks.BackupAndRestore(backup_dir, 3)])
    replayed = build_model(DEFAULT)
    keras_fit(replayed, epochs=1, num_batches=3)
    keras_fit(replayed, EPOCHS)
    assert_same_weights(resumed.get_weights(), replayed.get_weights())
    uninterrupted = build_model(DEFAULT)
    keras_fit(uninterrupted, EPOCHS)
    assert not np.allclose(resumed.get_weights()[0], uninterrupted.get_weights()[0], atol=1e-3)


def test_rejects_uncompiled_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="`model` must be compiled"):
        run_fit(model)


def test_rejects_model_built_outside_the_strategy_scope(mirrored):
    with pytest.raises(ValueError, match=r"scope\(\):`.*created under the default strategy"):
        run_fit(build_model(DEFAULT), strategy=mirrored)
    with pytest.raises(ValueError, match="MirroredStrategy"):
        run_fit(build_model(mirrored), strategy=DEFAULT)


def test_rejects_a_dataset_instead_of_dataset_fn():
    dataset = dataset_fn(tf.distribute.InputContext())
    with pytest.raises(TypeError, match="`dataset_fn` must be a callable"):
        fit(build_model(DEFAULT), dataset, steps_per_epoch=STEPS_PER_EPOCH)


def test_rejects_dataset_fn_that_returns_no_dataset():
    x, y = data()
    with pytest.raises(TypeError, match="`dataset_fn` must return a tf.data.Dataset"):
        fit(build_model(DEFAULT), lambda context: (x, y), steps_per_epoch=STEPS_PER_EPOCH)


def test_pipeline_that_runs_out_names_repeat():
    x, y = data()

    def finite_dataset_fn(input_context):
        return tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)

    with pytest.raises(ValueError, match=r"ran out at epoch 1, step 0.*\.repeat\(\)"):
        fit(build_model(DEFAULT), finite_dataset_fn, epochs=2, steps_per_epoch=STEPS_PER_EPOCH)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"epochs": 0}, ValueError, r"`epochs` must be > 0. Received: epochs=0"),
        ({"steps_per_epoch": "4"}, TypeError, r"`steps_per_epoch` must be a positive int"),
        ({"verbose": 3}, ValueError, r"`verbose` must be one of"),
        ({"callbacks": [print]}, TypeError, r"`callbacks` must hold keras.callbacks.Callback"),
        ({"strategy": "mirrored"}, TypeError, r"`strategy` must be a tf.distribute.Strategy"),
        (
            {"callbacks": [keras.callbacks.BackupAndRestore("a")] * 2},
            ValueError,
            r"at most one BackupAndRestore",
        ),
    ],
)
def test_rejects_bad_arguments(kwargs, error, message):
    kwargs = {"epochs": 1, "steps_per_epoch": STEPS_PER_EPOCH, **kwargs}
    with pytest.raises(error, match=message):
        fit(build_model(DEFAULT), dataset_fn, **kwargs)


def test_rejects_non_model():
    with pytest.raises(TypeError, match="`model` must be a compiled keras.Model"):
        fit("model", dataset_fn, steps_per_epoch=1)
