"""The checks of the component contract (DESIGN.md), one function per clause.

Each check takes an `Example` and raises (AssertionError or pytest's failure) when the
component breaks the contract, so test_catches_broken.py can prove that each check
catches a broken component.
"""

from __future__ import annotations

import inspect
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasdl
from tests.conformance.registry import Example
from tests.strategies import two_cpu_strategy

# Mirrored runs the default (graph, no XLA) step, so graph mode is covered by it.
MODES = ("eager", "jit", "mirrored")


@keras.saving.register_keras_serializable(package="kerasdl_tests")
class Affine(keras.layers.Layer):
    """y = x * w + b elementwise, starting at the identity: carries a loss's or a
    metric's example `y_pred` through a trainable model unchanged at first."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=input_shape[1:], initializer="ones", name="w")
        self.b = self.add_weight(shape=input_shape[1:], initializer="zeros", name="b")

    def call(self, x):
        return x * self.w + self.b


@keras.saving.register_keras_serializable(package="kerasdl_tests")
def per_example_mse(y_true, y_pred):
    """Squared error averaged over every axis but the batch: one loss per example.

    Keras' "mse" averages over the last axis only, so on a rank-1 output (e.g. a count per
    image) it averages over the batch, and MirroredStrategy then adds the replicas' averages.
    """
    error = keras.ops.square(keras.ops.cast(y_pred, "float32") - keras.ops.cast(y_true, "float32"))
    if len(error.shape) == 1:
        return error
    return keras.ops.mean(error, axis=tuple(range(1, len(error.shape))))


@keras.saving.register_keras_serializable(package="kerasdl_tests")
def zero_loss(y_true, y_pred):
    """0 for every example, yet a function of y_pred: Keras 3 does not fit or evaluate a
    model compiled without a loss, and a metric's model has nothing to learn."""
    y_pred = keras.ops.cast(y_pred, "float32")
    return 0.0 * keras.ops.mean(y_pred, axis=tuple(range(1, len(y_pred.shape))))


def call_component(component, kind: str, args: tuple):
    """Calls a layer or a loss, or updates a metric and returns its result."""
    if kind == "metric":
        component.update_state(*args)
        return component.result()
    return component(*args)


def build_model(example: Example, component=None) -> tuple[keras.Model, tuple]:
    """A functional model around the component, and the (x, y) it trains on.

    Layers: Input -> layer, trained towards fixed random targets (one per output) with
    `per_example_mse`.
    Losses and metrics: Input(y_pred) -> Affine, so the model's first prediction is the
    example's `y_pred`, compiled with the loss or the metric.
    """
    component = component if component is not None else example.make()
    if example.kind == "layer":
        (x,) = example.inputs()
        inputs = keras.Input(shape=x.shape[1:], dtype=str(x.dtype))
        outputs = component(inputs)
        model = keras.Model(inputs, outputs)
        rng = np.random.default_rng(1)
        y = keras.tree.map_structure(
            lambda o: rng.normal(size=(len(x), *o.shape[1:])).astype(o.dtype), outputs
        )
        return model, (x, y)
    y_true, y_pred = example.inputs()
    inputs = keras.Input(shape=y_pred.shape[1:], dtype="float32")
    model = keras.Model(inputs, Affine()(inputs))
    return model, (y_pred, y_true)


def compile_model(model: keras.Model, example: Example, component=None, **kwargs) -> None:
    component = component if component is not None else example.make()
    optimizer = keras.optimizers.SGD(learning_rate=0.05)
    if example.kind == "layer":
        model.compile(optimizer=optimizer, loss=per_example_mse, **kwargs)
    elif example.kind == "loss":
        model.compile(optimizer=optimizer, loss=component, **kwargs)
    else:
        model.compile(optimizer=optimizer, loss=zero_loss, metrics=[component], **kwargs)


def outputs_of(component, example: Example, args: tuple):
    """The component's outputs as numpy: one array, or a dict of them for a dict output."""
    return keras.tree.map_structure(
        keras.ops.convert_to_numpy, call_component(component, example.kind, args)
    )


def assert_close(actual, expected, **tolerances) -> None:
    """np.testing.assert_allclose on one array or on each entry of equal structures."""
    keras.tree.assert_same_structure(actual, expected)
    for a, e in zip(keras.tree.flatten(actual), keras.tree.flatten(expected), strict=True):
        np.testing.assert_allclose(a, e, **tolerances)


# Clause 1: config and serialization ------------------------------------------------------


def check_config(example: Example) -> None:
    """get_config holds every __init__ argument; from_config(get_config()) rebuilds an
    equal component; the class is registered under the "kerasdl" package."""
    cls = example.cls
    assert keras.saving.get_registered_name(cls) == f"kerasdl>{cls.__name__}", (
        f"{cls.__name__} is not registered with "
        'keras.saving.register_keras_serializable(package="kerasdl")'
    )
    component = example.make()
    config = component.get_config()
    params = [
        p.name
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    missing = [name for name in params if name not in config]
    assert not missing, f"{cls.__name__}.get_config() misses __init__ arguments {missing}"

    clone = cls.from_config(config)
    assert clone.get_config() == config, f"{cls.__name__}: from_config(get_config()) differs"
    args = example.inputs()
    expected = outputs_of(component, example, args)
    if example.kind == "layer":
        clone.build(args[0].shape)
        clone.set_weights(component.get_weights())
    assert_close(outputs_of(clone, example, args), expected, rtol=0, atol=0)


def check_keras_file(example: Example, tmp_path) -> None:
    """A model using the component survives a .keras save/load with identical outputs."""
    model, (x, y) = build_model(example)
    compile_model(model, example)
    # A loss's or a metric's round trip is its compiled evaluation: evaluate before saving.
    before = model.evaluate(x, y, verbose=0, return_dict=True) if example.kind != "layer" else {}
    prediction = model.predict(x, verbose=0)
    path = os.fspath(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert_close(loaded.predict(x, verbose=0), prediction, rtol=0, atol=0)
    if example.kind != "layer":
        after = loaded.evaluate(x, y, verbose=0, return_dict=True)
        assert after.keys() == before.keys(), (before, after)
        for key in before:
            np.testing.assert_allclose(after[key], before[key], rtol=1e-6, err_msg=key)


# Clause 2: bad input -------------------------------------------------------------------


def check_bad_inputs(example: Example) -> None:
    """Every documented bad argument or input raises the documented error and message."""
    assert example.bad, f"{example.name} documents no bad input"
    for bad in example.bad:
        with pytest.raises(bad.error, match=bad.match):
            component = example.make(**bad.kwargs)
            args = bad.inputs() if bad.inputs is not None else example.inputs()
            call_component(component, example.kind, args)


# Clause 3: eager, jit_compile and MirroredStrategy -------------------------------------


def train_in_mode(example: Example, mode: str, initial_weights) -> dict[str, np.ndarray]:
    """Two full-batch training steps in one execution mode; returns what they produced."""
    flags = {
        "eager": {"run_eagerly": True},
        "jit": {"jit_compile": True},
        "mirrored": {"jit_compile": False},
    }[mode]
    strategy = two_cpu_strategy() if mode == "mirrored" else tf.distribute.get_strategy()
    with strategy.scope():
        model, (x, y) = build_model(example)
        model.set_weights(initial_weights)
        compile_model(model, example, **flags)
    results = {}
    if example.batch_statistics:
        # Evaluation (inference statistics) is what the two-replica run can be compared on;
        # for every other component the first epoch's full-batch history already holds the
        # loss and metrics at the initial weights, so a second compiled function adds cost
        # and no check.
        results["initial_eval"] = np.array(
            list(model.evaluate(x, y, verbose=0, return_dict=True).values())
        )
    history = model.fit(x, y, batch_size=len(x), epochs=2, shuffle=False, verbose=0)
    results["history"] = np.array([v for _, v in sorted(history.history.items())])
    results["weights"] = [np.asarray(w) for w in model.get_weights()]
    return results


def check_execution_modes(example: Example) -> None:
    """Eager, XLA and two-replica MirroredStrategy (graph) training runs agree."""
    model, _ = build_model(example)
    initial = model.get_weights()
    reference = train_in_mode(example, "eager", initial)
    for mode in MODES[1:]:
        got = train_in_mode(example, mode, initial)
        keys = ["initial_eval"] if example.batch_statistics else []
        if not (mode == "mirrored" and example.batch_statistics):
            keys += ["history", "weights"]
        else:
            for w in got["weights"]:
                assert np.all(np.isfinite(w)), f"{example.name}: non-finite weights in {mode}"
        for key in keys:
            expected, actual = reference[key], got[key]
            if key == "weights":
                for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
                    np.testing.assert_allclose(
                        a, e, atol=example.atol, rtol=1e-5, err_msg=f"{mode}: weight {i}"
                    )
            else:
                assert_close(
                    actual, expected, atol=example.atol, rtol=1e-5, err_msg=f"{mode}: {key}"
                )


# Clauses 4 and 5: SavedModel and TFLite -----------------------------------------------


def inference_model(example: Example) -> tuple[keras.Model, np.ndarray]:
    model, (x, _) = build_model(example)
    return model, x


def check_saved_model(example: Example, tmp_path) -> None:
    """Exported and reloaded with tf.saved_model.load, serving_default gives the same
    outputs as Keras."""
    model, x = inference_model(example)
    expected = model.predict(x, verbose=0)
    version_dir = kerasdl.export.saved_model(model, os.fspath(tmp_path / "serving"))
    signature = tf.saved_model.load(version_dir).signatures["serving_default"]
    _, input_specs = signature.structured_input_signature
    assert len(input_specs) == 1, input_specs
    (name,) = input_specs
    outputs = {key: value.numpy() for key, value in signature(**{name: tf.constant(x)}).items()}
    if isinstance(expected, dict):
        # A dict-output model serves its outputs under the dict's keys.
        assert_close(outputs, expected, atol=1e-6, rtol=1e-6)
        return
    assert len(outputs) == 1, list(outputs)
    (actual,) = outputs.values()
    np.testing.assert_allclose(actual, expected, atol=1e-6, rtol=1e-6)


def check_tflite(example: Example, tmp_path) -> None:
    """Converts with builtin ops only and matches Keras within the stated tolerance."""
    model, x = inference_model(example)
    path = os.fspath(tmp_path / "model.tflite")
    report = kerasdl.export.tflite(model, path, check_inputs=x)
    assert not report.uses_flex, report.ops
    assert report.max_abs_diff <= example.tflite_atol, report
    runner = kerasdl.export.TFLiteModel(path)
    assert_close(runner(x), model.predict(x, verbose=0), atol=example.tflite_atol)
