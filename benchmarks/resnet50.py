"""Training step of kerasdl.models.resnet50 vs keras.applications.ResNet50."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from benchmarks.timing import compare, row
from kerasdl.models import resnet50


def train_step_of(model: keras.Model, x: np.ndarray, y: np.ndarray):
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
    dataset = tf.data.Dataset.from_tensors((x, y)).repeat().prefetch(2)
    iterator = iter(dataset)
    model.train_on_batch(x, y)  # builds the optimizer and traces the step
    return lambda: model.train_on_batch(*next(iterator))


def run(batch: int = 8, size: int = 224) -> list[str]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, size, size, 3)).astype("float32")
    y = rng.integers(0, 1000, size=(batch,))
    ours = resnet50(input_shape=(size, size, 3))
    peer = keras.applications.ResNet50(weights=None, input_shape=(size, size, 3))
    peer.set_weights(ours.get_weights())
    t_ours, t_peer = compare(train_step_of(ours, x, y), train_step_of(peer, x, y))
    return [
        row(
            f"ResNet-50 training step, batch {batch}, {size}x{size}",
            "keras.applications.ResNet50",
            t_ours,
            t_peer,
            "<= 1.05",
        )
    ]
