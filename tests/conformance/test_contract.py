"""The component contract, checked for every registered example (see examples.py)."""

import keras
import pytest

from tests.conformance import checks
from tests.conformance.examples import EXAMPLES


def ids(example):
    return example.name


def with_kind(*kinds):
    return [e for e in EXAMPLES if e.kind in kinds]


@pytest.mark.parametrize("example", EXAMPLES, ids=ids)
def test_config_round_trip(example):
    checks.check_config(example)


@pytest.mark.parametrize("example", EXAMPLES, ids=ids)
def test_keras_file_round_trip(example, tmp_path):
    checks.check_keras_file(example, tmp_path)


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.bad], ids=ids)
def test_bad_inputs_raise_clear_errors(example):
    checks.check_bad_inputs(example)


@pytest.mark.parametrize("example", EXAMPLES, ids=ids)
def test_eager_jit_and_mirrored_agree(example):
    checks.check_execution_modes(example)


@pytest.mark.parametrize("example", with_kind("layer"), ids=ids)
def test_saved_model_serving_signature(example, tmp_path):
    checks.check_saved_model(example, tmp_path)


@pytest.mark.parametrize("example", [e for e in with_kind("layer") if e.device_ready], ids=ids)
def test_tflite_parity(example, tmp_path):
    checks.check_tflite(example, tmp_path)


def test_every_public_component_has_an_example():
    import kerasdl

    registered = {e.cls for e in EXAMPLES}
    public = {
        getattr(package, name)
        for package in (
            getattr(kerasdl, name, None) for name in ("layers", "losses", "metrics", "callbacks")
        )
        if package is not None
        for name in package.__all__
        if isinstance(getattr(package, name), type)
        and issubclass(
            getattr(package, name), (keras.layers.Layer, keras.losses.Loss, keras.metrics.Metric)
        )
    }
    # An RNN cell is called with (inputs, states): it joins through the RNN layer wrapping it.
    registered |= {
        type(e.make().cell)
        for e in EXAMPLES
        if e.kind == "layer" and issubclass(e.cls, keras.layers.RNN)
    }
    missing = sorted(cls.__name__ for cls in public - registered)
    assert not missing, f"public components without a conformance example: {missing}"
