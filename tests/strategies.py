"""The one two-replica MirroredStrategy that every test in a process shares.

A second MirroredStrategy in the same process reuses collective instance keys, and its
all-reduces then collide with the first one's ("Shape mismatch in the collective
instance"), so tests must not create their own.
"""

import functools

import tensorflow as tf


@functools.cache
def two_cpu_strategy() -> tf.distribute.MirroredStrategy:
    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    assert len(devices) >= 2, f"tests/conftest.py should have made two logical CPUs: {devices}"
    return tf.distribute.MirroredStrategy(devices[:2])
