"""Inputs and model set-up shared by the trigger-word model and CLI tests."""

import keras
import numpy as np


def randomize_batch_norm(model, seed=0, affine=True):
    """Moving statistics away from (0, 1) (and, with `affine`, gamma and beta away from
    1 and 0), so batch norm is not the identity."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.normal(0, 0.5, n))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, n))
            if affine:
                layer.gamma.assign(rng.uniform(0.5, 1.5, n))
                layer.beta.assign(rng.normal(0, 0.3, n))


def noise(shape, seed=0, scale=0.2):
    """Uniform noise in [-scale, scale): audio for models whose weights are random."""
    return np.random.default_rng(seed).uniform(-scale, scale, shape).astype("float32")
