"""The small, deterministic training problem behind the tests in tests/distribute.

Tests import it to train in process, and start it as a worker subprocess with a JSON
config: `python distribute_workload.py '{"trainer": "kerasdl", "out": "w.json", ...}'`
(`TF_CONFIG` in the environment makes it a `MultiWorkerMirroredStrategy` worker). A worker
writes its final weights, history and role to `out` as JSON. `run_processes` starts
workers with a hard timeout and kills them all when one fails or the time runs out.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

GLOBAL_BATCH = 8
STEPS_PER_EPOCH = 4
EPOCHS = 3
KILLED = 3  # exit code of a worker stopped by `ExitAtStep`
WORKLOAD = Path(__file__).resolve()


def data() -> tuple[np.ndarray, np.ndarray]:
    """One epoch of examples: `STEPS_PER_EPOCH` global batches of a noisy linear map."""
    n = GLOBAL_BATCH * STEPS_PER_EPOCH
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.0, 1.0, size=(n, 3)).astype("float32")
    y = (x @ np.array([[1.5], [-2.0], [0.5]]) + 0.3 + 0.1 * rng.normal(size=(n, 1))).astype(
        "float32"
    )
    return x, y


def initial_weights() -> list[np.ndarray]:
    return [
        np.array([[0.1], [0.2], [-0.3]], dtype="float32"),
        np.array([0.05], dtype="float32"),
    ]


def dataset_fn(input_context: tf.distribute.InputContext) -> tf.data.Dataset:
    """Per-replica batches; worker shards are interleaved so that the replicas of one step
    together see exactly the global batch a single process sees."""
    x, y = data()
    batch_size = input_context.get_per_replica_batch_size(GLOBAL_BATCH)
    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    dataset = dataset.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    return dataset.batch(batch_size).repeat()


def build_model(strategy: tf.distribute.Strategy, **compile_kwargs: Any) -> keras.Model:
    """A compiled Dense model with fixed initial weights; momentum makes the optimizer
    state matter for resuming."""
    with strategy.scope():
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
            loss="mse",
            metrics=["mae"],
            **compile_kwargs,
        )
    model.set_weights(initial_weights())
    return model


def keras_fit(model: keras.Model, epochs: int, num_batches: int | None = None, **kwargs):
    """`model.fit` on the same batches as `dataset_fn` yields (the first `num_batches`)."""
    x, y = data()
    n = None if num_batches is None else num_batches * GLOBAL_BATCH
    return model.fit(
        x[:n], y[:n], batch_size=GLOBAL_BATCH, epochs=epochs, shuffle=False, verbose=0, **kwargs
    )


class ExitAtStep(keras.callbacks.Callback):
    """Ends the process abruptly after the `step`-th batch of this run, like a crash."""

    def __init__(self, step: int):
        super().__init__()
        self.step = step
        self.seen = 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step:
            sys.stdout.flush()
            os._exit(KILLED)


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def tf_config(ports: list[int], index: int) -> str:
    return json.dumps(
        {
            "cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
            "task": {"type": "worker", "index": index},
        }
    )


def start(config: dict[str, Any], env: dict[str, str] | None = None) -> subprocess.Popen:
    """Starts one worker process; its output goes to a log file next to `config["out"]`."""
    log = open(Path(config["out"]).with_suffix(".log"), "w")
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    full_env.pop("TF_CONFIG", None)
    full_env.update(env or {})
    return subprocess.Popen(
        [sys.executable, str(WORKLOAD), json.dumps(config)],
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait(
    processes: list[subprocess.Popen], timeout: float, expect: list[int] | None = None
) -> None:
    """Waits for every process; kills all of them on timeout or an unexpected exit code."""
    expect = expect or [0] * len(processes)
    deadline = time.monotonic() + timeout
    try:
        for process, code in zip(processes, expect, strict=True):
            remaining = max(deadline - time.monotonic(), 0.1)
            returncode = process.wait(timeout=remaining)
            if returncode != code:
                raise AssertionError(
                    f"worker exited with {returncode}, expected {code}:\n{_log(process)}"
                )
    except subprocess.TimeoutExpired:
        raise AssertionError(
            f"workers timed out after {timeout}s:\n" + "\n".join(_log(p) for p in processes)
        ) from None
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def _log(process: subprocess.Popen) -> str:
    config = json.loads(process.args[-1])
    path = Path(config["out"]).with_suffix(".log")
    return f"--- {path}\n" + path.read_text()[-4000:]


def read_result(path: str | os.PathLike) -> dict[str, Any]:
    result = json.loads(Path(path).read_text())
    result["weights"] = [np.array(w, dtype="float32") for w in result["weights"]]
    return result


def main(config: dict[str, Any]) -> None:
    """Trains as `config` says and writes the result to `config["out"]`.

    Keys: `trainer` ("kerasdl" for kerasdl.distribute.fit, "keras" for model.fit),
    `epochs`, `backup_dir` and `save_freq` (a BackupAndRestore), `exit_at_step`
    (`ExitAtStep`), `checkpoint` (a ModelCheckpoint filepath), `probe_model_fit` (also try
    model.fit and record its error).
    """
    from kerasdl.distribute import fit, get_strategy

    keras.utils.set_random_seed(0)
    tf.config.experimental.enable_op_determinism()
    strategy = get_strategy()
    model = build_model(strategy)
    callbacks: list[keras.callbacks.Callback] = []
    if config.get("backup_dir"):
        callbacks.append(
            keras.callbacks.BackupAndRestore(
                config["backup_dir"], save_freq=config.get("save_freq", "epoch")
            )
        )
    if config.get("checkpoint"):
        callbacks.append(keras.callbacks.ModelCheckpoint(config["checkpoint"]))
    if config.get("exit_at_step"):
        callbacks.append(ExitAtStep(config["exit_at_step"]))
    epochs = config.get("epochs", EPOCHS)
    if config["trainer"] == "kerasdl":
        history = fit(
            model,
            dataset_fn,
            epochs=epochs,
            steps_per_epoch=STEPS_PER_EPOCH,
            callbacks=callbacks,
            verbose=0,
        )
    else:
        history = keras_fit(model, epochs, callbacks=callbacks)
    result = {
        "weights": [w.tolist() for w in model.get_weights()],
        "history": history.history,
        "num_replicas": strategy.num_replicas_in_sync,
        "multi_worker": isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy),
        "is_chief": bool(strategy.extended.should_checkpoint),
    }
    if config.get("probe_model_fit"):
        try:
            model.fit(dataset_fn(tf.distribute.InputContext()), steps_per_epoch=1, verbose=0)
            result["model_fit_error"] = None
        except Exception as e:  # recorded for the test to inspect
            result["model_fit_error"] = f"{type(e).__name__}: {e}"
    Path(config["out"]).write_text(json.dumps(result))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
