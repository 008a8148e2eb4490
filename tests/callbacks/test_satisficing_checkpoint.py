"""SatisficingCheckpoint on a scripted metric history (the best feasible epoch, not the
best overall), the saved and restored weights, its own latency and size measurements
inside model.fit, errors and config round trips."""

import os
import warnings

import keras
import numpy as np
import pytest

from kerasdl.callbacks.checkpoint import SatisficingCheckpoint, model_bytes

# epoch:           0     1     2     3     4
VAL_ACCURACY = [0.80, 0.90, 0.95, 0.93, 0.97]
LATENCY_MS = [50.0, 90.0, 120.0, 80.0, 150.0]
VAL_LOSS = [0.6, 0.4, 0.3, 0.35, 0.2]


def tiny_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile("sgd", "mse")
    return model


def run_script(callback, model, metrics):
    """Plays a metric history: before each epoch's end, the kernel is set to the epoch
    number so the saved weights tell which epoch they come from."""
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, logs in enumerate(metrics):
        kernel, bias = model.get_weights()
        model.set_weights([np.full_like(kernel, epoch), bias])
        callback.on_epoch_end(epoch, dict(logs))
    callback.on_train_end()


def scripted(**extra):
    return [
        {"val_accuracy": a, "latency_ms": t, "val_loss": v, **extra}
        for a, t, v in zip(VAL_ACCURACY, LATENCY_MS, VAL_LOSS, strict=True)
    ]


def test_picks_best_feasible_epoch_and_restores_it(tmp_path):
    model = tiny_model()
    path = os.fspath(tmp_path / "best.keras")
    callback = SatisficingCheckpoint(
        path, "val_accuracy", constraints={"latency_ms": ("<=", 100)}, restore_best_weights=True
    )
    run_script(callback, model, scripted())
    # Feasible: epochs 0, 1, 3 -> best 0.93 at epoch 3 (epoch 4's 0.97 is too slow).
    assert [r["feasible"] for r in callback.records] == [True, True, False, True, False]
    assert callback.best_epoch == 3 and callback.best == pytest.approx(0.93)
    assert np.all(model.get_weights()[0] == 3)
    saved = keras.saving.load_model(path)
    assert np.all(saved.get_weights()[0] == 3)


def test_min_mode_several_constraints_and_strict_operators():
    model = tiny_model()
    callback = SatisficingCheckpoint(
        None,
        "val_loss",
        constraints={"latency_ms": ("<", 120), "val_accuracy": (">", 0.85)},
    )
    run_script(callback, model, scripted())
    # Feasible: 1 (0.90, 90ms) and 3 (0.93, 80ms); lowest val_loss 0.35 at epoch 3.
    assert [r["feasible"] for r in callback.records] == [False, True, False, True, False]
    assert callback.best_epoch == 3 and callback.best == pytest.approx(0.35)
    assert np.all(callback.best_weights[0] == 3)
    assert callback._direction == "min"


def test_no_feasible_epoch_warns_and_saves_nothing(tmp_path):
    path = tmp_path / "never.weights.h5"
    callback = SatisficingCheckpoint(path, constraints={"latency_ms": ("<=", 10)})
    with pytest.warns(UserWarning, match=r"no epoch met the constraints"):
        run_script(callback, tiny_model(), scripted())
    assert callback.best_epoch is None and not path.exists()


def test_weights_only_file(tmp_path):
    path = tmp_path / "best.weights.h5"
    callback = SatisficingCheckpoint(
        path, constraints={"latency_ms": ("<=", 95), "val_accuracy": ("<=", 0.92)}
    )
    run_script(callback, tiny_model(), scripted())
    restored = tiny_model()
    restored.load_weights(path)
    assert np.all(restored.get_weights()[0] == 1)


def test_measures_latency_and_size_inside_fit():
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    y = np.zeros((64, 2), "float32")
    model = tiny_model()
    # A Dense(3 -> 2) in float32: (3 * 2 + 2) * 4 bytes.
    assert model_bytes(model) == 32
    callback = SatisficingCheckpoint(
        None,
        "val_loss",
        constraints={"latency_ms": ("<=", 10_000), "model_bytes": ("<=", 32)},
        latency_data=x,
        latency_examples=5,
    )
    history = model.fit(
        x, y, validation_split=0.25, epochs=3, callbacks=[callback], verbose=0
    ).history
    assert history["model_bytes"] == [32.0] * 3
    assert all(0 < t < 10_000 for t in history["latency_ms"])
    assert len(set(history["latency_ms"])) == 1  # measured once per fit
    assert callback.best_epoch == int(np.argmin(history["val_loss"]))
    tight = SatisficingCheckpoint(None, "val_loss", constraints={"model_bytes": ("<", 32)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tiny_model().fit(x, y, validation_split=0.25, epochs=1, callbacks=[tight], verbose=0)
    assert tight.best_epoch is None and any("no epoch met" in str(w.message) for w in caught)


def test_clear_errors():
    with pytest.raises(ValueError, match=r"`constraints\['latency_ms'\]` must be \(operator"):
        SatisficingCheckpoint(constraints={"latency_ms": ("=<", 100)})
    with pytest.raises(TypeError, match=r"`constraints` must be a dict"):
        SatisficingCheckpoint(constraints=[("latency_ms", "<=", 100)])
    with pytest.raises(ValueError, match=r"`mode` must be one of"):
        SatisficingCheckpoint(mode="best")
    callback = SatisficingCheckpoint(constraints={"memory_mb": ("<=", 5)})
    with pytest.raises(ValueError, match=r"names 'memory_mb', which is neither logged"):
        run_script(callback, tiny_model(), scripted())
    callback = SatisficingCheckpoint(optimizing="val_f1")
    with pytest.raises(ValueError, match=r"`optimizing`='val_f1' is not in the epoch's logs"):
        run_script(callback, tiny_model(), scripted())


def test_config_and_serialization_round_trip():
    x = np.ones((4, 3), "float32")
    callback = SatisficingCheckpoint(
        "best.keras",
        "val_recall",
        "max",
        {"latency_ms": ("<=", 100), "model_bytes": ("<=", 1e6)},
        latency_data=x,
        latency_examples=4,
        restore_best_weights=True,
    )
    config = callback.get_config()
    clone = SatisficingCheckpoint.from_config(config)
    assert clone.constraints == callback.constraints and clone.optimizing == "val_recall"
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(callback))
    np.testing.assert_array_equal(restored.latency_data, x)
    assert restored.get_config()["constraints"] == config["constraints"]
