"""Picking the `tf.distribute` strategy that fits the machine or cluster.

`get_strategy` returns, in this order of preference:

1. `tf.distribute.MultiWorkerMirroredStrategy` when a cluster resolver is passed, or when
   the `TF_CONFIG` environment variable describes a cluster with more than one worker
   (counting a `chief`);
2. `tf.distribute.MirroredStrategy` over all visible GPUs when there are two or more;
3. `tf.distribute.MirroredStrategy` over `num_cpu_devices` logical CPU devices when that
   argument is given (the physical CPU is split with `split_cpu`);
4. the default strategy (`tf.distribute.get_strategy()` outside any scope).

Cluster set-up. Every process of a multi-worker job runs the same script; `TF_CONFIG` tells
each process the whole cluster and which task it is. Task 0 of type `"worker"` is the chief
(it writes checkpoints) unless the cluster has a `"chief"` task. For two machines:

>>> import json, os
>>> os.environ["TF_CONFIG"] = json.dumps({  # doctest: +SKIP
...     "cluster": {"worker": ["host-a:12345", "host-b:12345"]},
...     "task": {"type": "worker", "index": 0},  # 1 on host-b
... })
>>> strategy = get_strategy()  # doctest: +SKIP

Kubernetes: run one pod per worker (a StatefulSet `trainer` with `replicas: 2` and a
headless Service `trainer`, `clusterIP: None`, gives each pod the stable DNS name
`trainer-<i>.trainer`). Build `TF_CONFIG` from the pod's ordinal in its entrypoint, e.g.
`index = int(os.environ["HOSTNAME"].rsplit("-", 1)[1])` and
`"cluster": {"worker": ["trainer-0.trainer:2222", "trainer-1.trainer:2222"]}`, or let the
Kubeflow training operator (`TFJob`) inject `TF_CONFIG` into each pod's environment; expose
the port in the pod spec. Every worker needs the same `backup_dir`/checkpoint storage
(a shared volume or a bucket).

Slurm: skip `TF_CONFIG` and pass a resolver, which reads the job's node list and task ids:

>>> resolver = tf.distribute.cluster_resolver.SlurmClusterResolver(  # doctest: +SKIP
...     port_base=15000)
>>> strategy = get_strategy(cluster_resolver=resolver)  # doctest: +SKIP

launched with one task per node, e.g. `srun --nodes=2 --ntasks-per-node=1 python train.py`.
"""

from __future__ import annotations

import json
import os

import tensorflow as tf
from absl import logging

from kerasdl._validation import check_positive_int


def split_cpu(n: int) -> list[str]:
    """Splits the physical CPU into `n` logical CPU devices.

    TensorFlow fixes its devices the first time it runs an op, so this must be called at
    the start of the program. Calling it again with the same `n` is a no-op, also after
    TensorFlow has initialised; the devices it returns can be passed to
    `tf.distribute.MirroredStrategy(devices=...)` to test data-parallel code on one machine.
    It does not initialise TensorFlow itself, so GPU options can still be set after it.

    Args:
        n: number of logical CPU devices, > 0.

    Returns:
        The device names, `["/device:CPU:0", ..., f"/device:CPU:{n - 1}"]`.

    Raises:
        TypeError: if `n` is not an int.
        ValueError: if `n` <= 0.
        RuntimeError: if TensorFlow has already initialised with a different number of
            logical CPU devices; call `split_cpu` before any TensorFlow op then.

    Example:

    >>> split_cpu(2)  # doctest: +SKIP
    ['/device:CPU:0', '/device:CPU:1']
    """
    check_positive_int("n", n)
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        # TF accepts a configuration equal to the current one even after initialisation.
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)]
        )
    except RuntimeError:
        existing = len(tf.config.list_logical_devices("CPU"))
        if existing != n:
            raise RuntimeError(
                f"`n` logical CPU devices can only be set up before TensorFlow initialises "
                f"its devices, and it has already initialised with {existing} logical CPU "
                f"device(s). Call `kerasdl.distribute.split_cpu({n})` (or "
                f"`get_strategy(num_cpu_devices={n})`) at the start of the program, before "
                f"creating any tensor, model or strategy. Received: n={n}"
            ) from None
    return [f"/device:CPU:{i}" for i in range(n)]


def cluster_size(tf_config: str | None = None) -> int:
    """Returns the number of training tasks (`chief` + `worker`) that `TF_CONFIG` names.

    Parameter servers and evaluators are not counted: they do not run synchronous
    training steps.

    Args:
        tf_config: the `TF_CONFIG` JSON string; defaults to the environment variable.
            An unset or empty `TF_CONFIG` means a single process.

    Returns:
        The number of tasks that train together, 1 without a cluster.

    Raises:
        ValueError: if `tf_config` is not a JSON object with a dict `cluster`.

    Example:

    >>> cluster_size('{"cluster": {"worker": ["a:1", "b:1"]}, '
    ...              '"task": {"type": "worker", "index": 0}}')
    2
    >>> cluster_size("")
    1
    """
    if tf_config is None:
        tf_config = os.environ.get("TF_CONFIG", "")
    if not tf_config.strip():
        return 1
    try:
        config = json.loads(tf_config)
    except json.JSONDecodeError as e:
        raise ValueError(
            f"`TF_CONFIG` must be a JSON object such as "
            f'{{"cluster": {{"worker": ["host:port", ...]}}, '
            f'"task": {{"type": "worker", "index": 0}}}} ({e}). '
            f"Received: TF_CONFIG={tf_config!r}"
        ) from None
    cluster = config.get("cluster", {}) if isinstance(config, dict) else None
    if not isinstance(cluster, dict):
        raise ValueError(
            f"`TF_CONFIG` must be a JSON object whose `cluster` maps task types to lists "
            f"of addresses. Received: TF_CONFIG={tf_config!r}"
        )
    return sum(len(cluster.get(task_type, [])) for task_type in ("chief", "worker")) or 1


def get_strategy(
    num_cpu_devices: int | None = None,
    cluster_resolver: tf.distribute.cluster_resolver.ClusterResolver | None = None,
) -> tf.distribute.Strategy:
    """Returns the `tf.distribute` strategy that fits this process.

    The first that applies wins: a multi-worker cluster (`cluster_resolver`, or a
    `TF_CONFIG` with more than one `chief`/`worker` task) gives
    `MultiWorkerMirroredStrategy`; two or more visible GPUs give `MirroredStrategy` over
    them; `num_cpu_devices` gives `MirroredStrategy` over that many logical CPU devices;
    otherwise the default strategy. Create the model and compile it inside
    `with strategy.scope():`. Call it once per program and share the strategy: two
    `MirroredStrategy` objects over the same devices in one process reuse collective
    instance keys, and their all-reduces then fail with "Shape mismatch in the collective
    instance". See the module docstring for `TF_CONFIG`, Kubernetes and Slurm set-ups.

    Args:
        num_cpu_devices: when given and there is no cluster and fewer than two GPUs,
            split the CPU into this many logical devices (see `split_cpu`) and mirror
            over them; useful to test data-parallel code on a laptop or in CI.
        cluster_resolver: a `tf.distribute.cluster_resolver.ClusterResolver`, e.g.
            `SlurmClusterResolver()`, for clusters not described by `TF_CONFIG`.

    Returns:
        A `tf.distribute.Strategy`.

    Raises:
        TypeError: if `num_cpu_devices` is not an int.
        ValueError: if `num_cpu_devices` <= 0 or `TF_CONFIG` is malformed.
        RuntimeError: if `num_cpu_devices` is used after TensorFlow has initialised with
            another number of CPU devices; call `get_strategy` before any TensorFlow op.

    Example:

    >>> strategy = get_strategy()
    >>> strategy.num_replicas_in_sync >= 1
    True
    """
    if num_cpu_devices is not None:
        check_positive_int("num_cpu_devices", num_cpu_devices)
    if cluster_resolver is not None:
        return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=cluster_resolver)
    num_tasks = cluster_size()
    if num_tasks > 1:
        if num_cpu_devices is not None:
            logging.info(
                "TF_CONFIG describes %d workers; ignoring num_cpu_devices=%d "
                "(MultiWorkerMirroredStrategy uses all local GPUs, or one CPU).",
                num_tasks,
                num_cpu_devices,
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    if num_cpu_devices is not None:
        return tf.distribute.MirroredStrategy(devices=split_cpu(num_cpu_devices))
    return tf.distribute.get_strategy()
