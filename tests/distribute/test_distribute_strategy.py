"""get_strategy, split_cpu and cluster_size. Device set-ups other than the test process's
two logical CPUs are checked in a fresh subprocess."""

import json
import os
import subprocess
import sys

import pytest
import tensorflow as tf

from kerasdl.distribute import cluster_size, get_strategy, split_cpu


def test_split_cpu_is_a_no_op_for_the_existing_split():
    # tests/conftest.py split the CPU in two before TensorFlow initialised.
    devices = ["/device:CPU:0", "/device:CPU:1"]
    assert split_cpu(2) == devices
    assert len(tf.config.list_logical_devices("CPU")) == 2
    assert split_cpu(2) == devices


def test_split_cpu_after_initialisation_says_to_call_it_first():
    tf.constant(1.0)  # TensorFlow has initialised its devices now, if not before
    with pytest.raises(RuntimeError, match=r"before creating any tensor.*Received: n=3"):
        split_cpu(3)


@pytest.mark.parametrize(
    ("n", "error", "message"),
    [(0, ValueError, "`n` must be > 0. Received: n=0"), (2.0, TypeError, "`n` must be a")],
)
def test_split_cpu_rejects_bad_n(n, error, message):
    with pytest.raises(error, match=message):
        split_cpu(n)


NUM_GPUS = len(tf.config.list_physical_devices("GPU"))


def test_get_strategy_mirrors_over_logical_cpus(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    strategy = get_strategy(num_cpu_devices=2)
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    # Two or more GPUs take precedence over the CPU split.
    device_type = "GPU" if NUM_GPUS > 1 else "CPU"
    expected = [f"device:{device_type}:{i}" for i in range(max(NUM_GPUS, 2))]
    assert [d.split("/")[-1] for d in strategy.extended.worker_devices] == expected


def test_get_strategy_defaults_to_the_default_strategy(monkeypatch):
    # A one-worker TF_CONFIG is not a cluster.
    one_worker = {"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 0}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(one_worker))
    strategy = get_strategy()
    if NUM_GPUS > 1:
        assert isinstance(strategy, tf.distribute.MirroredStrategy)
    else:
        assert strategy is tf.distribute.get_strategy()
        assert strategy.num_replicas_in_sync == 1


@pytest.mark.parametrize(
    ("num_cpu_devices", "error"), [(0, ValueError), (-1, ValueError), ("2", TypeError)]
)
def test_get_strategy_rejects_bad_num_cpu_devices(num_cpu_devices, error):
    with pytest.raises(error, match="`num_cpu_devices` must be"):
        get_strategy(num_cpu_devices=num_cpu_devices)


@pytest.mark.parametrize(
    ("cluster", "expected"),
    [
        ({"worker": ["a:1", "b:1"]}, 2),
        ({"chief": ["c:1"], "worker": ["a:1", "b:1"], "ps": ["p:1"]}, 3),
        ({"chief": ["c:1"], "evaluator": ["e:1"]}, 1),
        ({}, 1),
    ],
)
def test_cluster_size_counts_chief_and_workers(cluster, expected):
    config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}})
    assert cluster_size(config) == expected


def test_cluster_size_reads_the_environment(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert cluster_size() == 1
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1", "b:1", "c:1"]}}))
    assert cluster_size() == 3


@pytest.mark.parametrize("tf_config", ["{not json", '{"cluster": ["a:1"]}', "[1, 2]"])
def test_cluster_size_rejects_malformed_tf_config(tf_config):
    with pytest.raises(ValueError, match="`TF_CONFIG` must be a JSON object.*Received: TF_CONFIG="):
        cluster_size(tf_config)


FRESH_PROCESS = """
from kerasdl.distribute import get_strategy, split_cpu
strategy = get_strategy(num_cpu_devices=3)
print("replicas", strategy.num_replicas_in_sync)
print("again", split_cpu(3))
try:
    split_cpu(2)
except RuntimeError as e:
    print("error", e)
"""


@pytest.mark.slow
def test_get_strategy_splits_the_cpu_of_a_fresh_process():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    env.pop("TF_CONFIG", None)
    out = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "replicas 3" in out
    assert "again ['/device:CPU:0', '/device:CPU:1', '/device:CPU:2']" in out
    assert "error `n` logical CPU devices can only be set up before" in out
    assert "initialised with 3 logical CPU device(s)" in out
