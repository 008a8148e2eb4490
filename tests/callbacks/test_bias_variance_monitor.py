"""BiasVarianceMonitor inside model.fit: each logged error against numpy on the model's
own predictions, each gap against the arithmetic by hand, the logs fallback, TensorBoard
scalars, the plot, MirroredStrategy, config round trips."""

import glob

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.callbacks.diagnostics import BiasVarianceMonitor
from tests.strategies import two_cpu_strategy


def data(seed=0, n=160):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int32") + (x[:, 2] > 1).astype("int32")
    return x, y


def make_model():
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8, "relu"), keras.layers.Dense(3)]
    )
    model.compile(
        keras.optimizers.Adam(0.02),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def numpy_error(model, x, y):
    return float(np.mean(model.predict(x, verbose=0).argmax(-1) != y))


def test_errors_and_gaps_match_numpy_every_epoch():
    keras.utils.set_random_seed(0)
    x, y = data()
    # Shift the "dev/test" distribution so a data-mismatch gap appears.
    x_shift, y_shift = data(1, 64)
    x_shift = x_shift[:, ::-1].copy()
    split = {"train": slice(0, 96), "train_dev": slice(96, 160)}
    monitor = BiasVarianceMonitor(
        0.02,
        train_data=(x[split["train"]], y[split["train"]]),
        train_dev_data=(x[split["train_dev"]], y[split["train_dev"]]),
        dev_data=(x_shift[:32], y_shift[:32]),
        test_data=(x_shift[32:], y_shift[32:]),
        verbose=0,
    )
    model = make_model()
    history = model.fit(
        x[split["train"]],
        y[split["train"]],
        epochs=4,
        batch_size=32,
        callbacks=[monitor],
        verbose=0,
    ).history
    expected = {
        "train_error": numpy_error(model, x[:96], y[:96]),
        "train_dev_error": numpy_error(model, x[96:], y[96:]),
        "dev_error": numpy_error(model, x_shift[:32], y_shift[:32]),
        "test_error": numpy_error(model, x_shift[32:], y_shift[32:]),
    }
    for key, value in expected.items():
        assert history[key][-1] == pytest.approx(value), key
    for epoch in range(4):
        h = {k: v[epoch] for k, v in history.items()}
        assert h["avoidable_bias"] == pytest.approx(h["train_error"] - 0.02)
        assert h["variance"] == pytest.approx(h["train_dev_error"] - h["train_error"])
        assert h["data_mismatch"] == pytest.approx(h["dev_error"] - h["train_dev_error"])
        assert h["dev_overfitting"] == pytest.approx(h["test_error"] - h["dev_error"])
    gaps = monitor.report.gaps()
    assert monitor.report.largest == max(gaps, key=gaps.get)
    assert monitor.history["dev_error"] == history["dev_error"]


def test_falls_back_on_logged_accuracy():
    keras.utils.set_random_seed(1)
    x, y = data()
    monitor = BiasVarianceMonitor(0.0, verbose=0)
    history = (
        make_model()
        .fit(
            x[:96],
            y[:96],
            validation_data=(x[96:], y[96:]),
            epochs=2,
            callbacks=[monitor],
            verbose=0,
        )
        .history
    )
    np.testing.assert_allclose(history["train_error"], 1 - np.array(history["accuracy"]))
    np.testing.assert_allclose(history["dev_error"], 1 - np.array(history["val_accuracy"]))
    np.testing.assert_allclose(
        history["variance"], np.array(history["dev_error"]) - history["train_error"]
    )
    assert "data_mismatch" not in history


def test_missing_dev_error_is_a_clear_error():
    x, y = data()
    with pytest.raises(ValueError, match=r"needs the dev error: pass `dev_data`"):
        make_model().fit(x, y, epochs=1, callbacks=[BiasVarianceMonitor(0.0, verbose=0)], verbose=0)
    with pytest.raises(ValueError, match=r"`human_level_error` must be in \[0, 1\]"):
        BiasVarianceMonitor(1.5)


def test_tensorboard_scalars_plot_and_printout(tmp_path, capsys):
    keras.utils.set_random_seed(2)
    x, y = data()
    monitor = BiasVarianceMonitor(
        0.01,
        train_data=(x[:96], y[:96]),
        train_dev_data=(x[96:128], y[96:128]),
        dev_data=tf.data.Dataset.from_tensor_slices((x[128:], y[128:])).batch(8),
        log_dir=tmp_path / "logs",
        verbose=1,
    )
    make_model().fit(x[:96], y[:96], epochs=2, callbacks=[monitor], verbose=0)
    printed = capsys.readouterr().out
    assert "Epoch 2: train_error" in printed and "Largest gap:" in printed
    scalars = {}
    for path in glob.glob(str(tmp_path / "logs" / "events*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append(float(tf.make_ndarray(value.tensor)))
    np.testing.assert_allclose(scalars["bias_variance/dev_error"], monitor.history["dev_error"])
    assert set(scalars) >= {"bias_variance/avoidable_bias", "bias_variance/data_mismatch"}
    path = monitor.plot(tmp_path / "bias_variance.png")
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_under_mirrored_strategy():
    keras.utils.set_random_seed(3)
    x, y = data()
    with two_cpu_strategy().scope():
        model = make_model()
    monitor = BiasVarianceMonitor(
        0.0, train_data=(x[:96], y[:96]), dev_data=(x[96:], y[96:]), verbose=0
    )
    model.fit(x[:96], y[:96], epochs=2, batch_size=32, callbacks=[monitor], verbose=0)
    assert monitor.history["dev_error"][-1] == pytest.approx(numpy_error(model, x[96:], y[96:]))


def test_config_and_serialization_round_trip():
    x, y = data(n=8)
    monitor = BiasVarianceMonitor(0.05, dev_data=(x, y), threshold=0.4, log_dir="logs", verbose=0)
    config = monitor.get_config()
    assert set(config) == {
        "human_level_error",
        "train_data",
        "train_dev_data",
        "dev_data",
        "test_data",
        "threshold",
        "batch_size",
        "log_dir",
        "verbose",
    }
    clone = BiasVarianceMonitor.from_config(config)
    assert clone.human_level_error == 0.05 and clone.log_dir == "logs"
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(monitor))
    # By name: a doctest run may have imported the module a second time under its file
    # name, and the registry then holds that copy of the class.
    assert type(restored).__name__ == "BiasVarianceMonitor"
    np.testing.assert_array_equal(restored.dev_data[0], x)
    assert keras.saving.get_registered_name(BiasVarianceMonitor) == "kerasdl>BiasVarianceMonitor"
