"""Resuming after a crash: a training process ends abruptly mid-epoch (`os._exit` from a
callback, as a killed process) and is started again with the same `BackupAndRestore`
directory. tests/distribute/test_distribute_multiworker.py does the same with two workers;
test_distribute_fit.py covers more resume points in process, and Keras' own
`model.fit` + `BackupAndRestore` for comparison."""

import numpy as np
import pytest
import tensorflow as tf

from kerasdl.distribute import fit
from tests.distribute.distribute_workload import (
    EPOCHS,
    KILLED,
    STEPS_PER_EPOCH,
    build_model,
    dataset_fn,
    read_result,
    start,
    wait,
)

pytestmark = pytest.mark.slow
TIMEOUT = 120


def crash_then_resume(tmp_path, trainer, save_freq, exit_at_step):
    """Runs `trainer` until it crashes after `exit_at_step` steps, then runs it again."""
    config = {
        "trainer": trainer,
        "backup_dir": str(tmp_path / "backup"),
        "save_freq": save_freq,
        "out": str(tmp_path / "crashed.json"),
    }
    wait([start({**config, "exit_at_step": exit_at_step})], TIMEOUT, expect=[KILLED])
    assert (tmp_path / "backup").exists(), "no backup was written before the crash"
    wait([start({**config, "out": str(tmp_path / "resumed.json")})], TIMEOUT)
    return read_result(tmp_path / "resumed.json")


def uninterrupted_fit():
    model = build_model(tf.distribute.get_strategy())
    history = fit(model, dataset_fn, epochs=EPOCHS, steps_per_epoch=STEPS_PER_EPOCH, verbose=0)
    return model.get_weights(), history.history


def test_fit_resumes_mid_epoch_to_the_uninterrupted_weights(tmp_path):
    # Saved after step 3 (epoch 0), crashed after step 5 (epoch 1): steps 4-5 are redone.
    resumed = crash_then_resume(tmp_path, "kerasdl", save_freq=3, exit_at_step=5)
    weights, history = uninterrupted_fit()
    for got, want in zip(resumed["weights"], weights, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    # The resumed run reports all 3 epochs (it resumed in epoch 0); the metric state was
    # restored too, so even the interrupted epoch's loss is the uninterrupted one.
    np.testing.assert_allclose(resumed["history"]["loss"], history["loss"], rtol=1e-6)
    assert not (tmp_path / "backup").exists(), "delete_checkpoint=True leaves the backup"
