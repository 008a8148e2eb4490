"""Two MultiWorkerMirroredStrategy worker processes on 127.0.0.1, each started with its
own TF_CONFIG, against one process training on the same global batches."""

import keras
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
    free_ports,
    read_result,
    start,
    tf_config,
    wait,
)

pytestmark = pytest.mark.slow
TIMEOUT = 150


def start_workers(tmp_path, name, configs):
    """Starts workers 0 (the chief) and 1 of a fresh two-worker cluster on 127.0.0.1."""
    ports = free_ports(2)
    return [
        start(
            {"trainer": "kerasdl", "out": str(tmp_path / f"{name}{index}.json"), **config},
            env={"TF_CONFIG": tf_config(ports, index)},
        )
        for index, config in enumerate(configs)
    ]


@pytest.fixture(scope="module")
def single_process():
    model = build_model(tf.distribute.get_strategy())
    history = fit(model, dataset_fn, epochs=EPOCHS, steps_per_epoch=STEPS_PER_EPOCH, verbose=0)
    return model.get_weights(), history.history


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("two_workers")
    configs = [
        {"checkpoint": str(tmp_path / f"model{index}.keras"), "probe_model_fit": True}
        for index in range(2)
    ]
    wait(start_workers(tmp_path, "worker", configs), TIMEOUT)
    return tmp_path, [read_result(tmp_path / f"worker{index}.json") for index in range(2)]


def assert_same_as_single_process(result, single_process):
    weights, history = single_process
    assert result["multi_worker"] and result["num_replicas"] == 2
    for got, want in zip(result["weights"], weights, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    # Each worker logs the loss over both workers' examples, not over its own half.
    np.testing.assert_allclose(result["history"]["loss"], history["loss"], rtol=1e-5)
    np.testing.assert_allclose(result["history"]["mae"], history["mae"], rtol=1e-5)


def test_two_workers_train_to_the_single_process_weights(two_workers, single_process):
    _, results = two_workers
    for result in results:
        assert_same_as_single_process(result, single_process)


def test_model_checkpoint_runs_on_the_chief_only(two_workers):
    tmp_path, results = two_workers
    assert [result["is_chief"] for result in results] == [True, False]
    assert not (tmp_path / "model1.keras").exists()
    saved = keras.saving.load_model(tmp_path / "model0.keras")
    for got, want in zip(saved.get_weights(), results[0]["weights"], strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=0)


def test_keras_model_fit_fails_under_multi_worker_mirrored_strategy(two_workers):
    # keras-team/keras#20585, the reason kerasdl.distribute.fit exists. When this starts
    # failing, Keras has fixed model.fit under MultiWorkerMirroredStrategy.
    _, results = two_workers
    for result in results:
        assert "Attempt to convert a value (PerReplica" in result["model_fit_error"]


def test_two_workers_resume_after_a_worker_crashes(tmp_path, single_process):
    # Worker 1 crashes after step 5; the chief, blocked in the next all-reduce, is killed,
    # and the whole job restarts, as a cluster manager (Kubernetes, Slurm) restarts a
    # failed job. Both workers resume from the chief's backup of step 3.
    backup = {"backup_dir": str(tmp_path / "backup"), "save_freq": 3}
    chief, worker = start_workers(tmp_path, "crashed", [backup, {**backup, "exit_at_step": 5}])
    try:
        wait([worker], TIMEOUT, expect=[KILLED])
    finally:
        chief.kill()
        chief.wait()
    assert (tmp_path / "backup" / "checkpoint").exists()
    wait(start_workers(tmp_path, "resumed", [backup, backup]), TIMEOUT)
    for index in range(2):
        result = read_result(tmp_path / f"resumed{index}.json")
        assert_same_as_single_process(result, single_process)
