"""The suite must fail components that break the contract, or it proves nothing."""

import keras
import numpy as np
import pytest

from tests.conformance import checks
from tests.conformance.registry import Bad, Example, random_floats


@keras.saving.register_keras_serializable(package="kerasdl")
class ForgetfulScale(keras.layers.Layer):
    """Stores `factor` but leaves it out of get_config."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return super().get_config()


@keras.saving.register_keras_serializable(package="kerasdl")
class SilentScale(ForgetfulScale):
    """Complete config, but accepts a negative `factor` without a word."""

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class UnregisteredScale(SilentScale):
    """Not registered with keras.saving, so a .keras file cannot name it."""


@keras.saving.register_keras_serializable(package="kerasdl")
class ReplicaDependentNoise(keras.layers.Layer):
    """Adds noise in training drawn per call: eager, XLA and two replicas disagree."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=input_shape[1:], initializer="ones")

    def call(self, x, training=False):
        if training:
            x = x + keras.random.normal(keras.ops.shape(x))
        return x * self.w


def example_of(cls, init=None, **fields):
    return Example(
        cls=cls,
        kind="layer",
        kwargs=init or {},
        inputs=lambda: (random_floats(4, 3),),
        **fields,
    )


def test_incomplete_get_config_is_caught():
    with pytest.raises(AssertionError, match=r"misses __init__ arguments \['factor'\]"):
        checks.check_config(example_of(ForgetfulScale))


def test_missing_argument_check_is_caught():
    example = example_of(
        SilentScale, bad=(Bad(ValueError, "`factor` must be >= 0", kwargs={"factor": -1.0}),)
    )
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        checks.check_bad_inputs(example)


def test_unregistered_class_is_caught(tmp_path):
    with pytest.raises(AssertionError, match="is not registered"):
        checks.check_config(example_of(UnregisteredScale))
    with pytest.raises(TypeError, match="UnregisteredScale"):
        checks.check_keras_file(example_of(UnregisteredScale), tmp_path)


def test_nondeterministic_training_is_caught():
    with pytest.raises(AssertionError, match="Not equal to tolerance"):
        checks.check_execution_modes(example_of(ReplicaDependentNoise))


def test_good_component_passes_all_checks(tmp_path):
    # The same layer with a complete config and its documented check passes, so the
    # failures above come from the defects and not from the harness.
    example = example_of(SilentScale, init={"factor": 3.0})
    checks.check_config(example)
    checks.check_keras_file(example, tmp_path)
    checks.check_execution_modes(example)
    np.testing.assert_allclose(
        checks.outputs_of(example.make(), example, example.inputs()),
        example.inputs()[0] * 3.0,
    )
