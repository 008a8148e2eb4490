"""GradientNormMonitor: norms against the closed-form gradient of linear regression,
no side effects on training (batch norm, dropout), vanishing gradients in a deep sigmoid
net, exploding-gradient and NaN warnings that stop training, TensorBoard, the plot."""

import glob
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.callbacks.gradients import GradientNormMonitor, GradientWarning


def regression(seed=0, n=32):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5], [3.0]]) + 0.3).astype("float32")
    return x, y


def test_norms_match_closed_form_linear_regression_gradient():
    x, y = regression()
    w = np.random.default_rng(1).uniform(0.0, 0.3, size=(32,)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="linear")])
    model.compile("sgd", "mse")
    kernel, bias = model.get_weights()
    residual = (x @ kernel + bias - y)[:, 0]
    # L = 1/B sum_i w_i r_i^2  ->  dL/dW = 2/B sum_i w_i r_i x_i,  dL/db = 2/B sum_i w_i r_i
    for weights in (None, w):
        scale = np.ones(32) if weights is None else weights
        g_kernel = 2 / 32 * (x * (scale * residual)[:, None]).sum(0)
        g_bias = 2 / 32 * (scale * residual).sum()
        data = (x, y) if weights is None else (x, y, weights)
        monitor = GradientNormMonitor(data, verbose=0)
        monitor.set_model(model)
        record = monitor.compute()
        assert record["variables"]["linear/kernel"] == pytest.approx(
            np.linalg.norm(g_kernel), rel=1e-5
        )
        assert record["variables"]["linear/bias"] == pytest.approx(abs(g_bias), rel=1e-5)
        expected = math.sqrt(np.sum(g_kernel**2) + g_bias**2)
        assert record["layers"]["linear"] == pytest.approx(expected, rel=1e-5)
        assert record["global"] == pytest.approx(expected, rel=1e-5)
        assert record["finite"]


def conv_net():
    inputs = keras.Input((6, 6, 1))
    h = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = keras.layers.Dropout(0.3, seed=1)(keras.layers.Flatten()(h))
    outputs = keras.layers.Dense(3, name="head", kernel_regularizer=keras.regularizers.L2(0.01))(h)
    model = keras.Model(inputs, outputs)
    model.compile(
        keras.optimizers.SGD(0.05), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    return model


def test_monitoring_leaves_training_untouched():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 6, 6, 1)).astype("float32")
    y = rng.integers(0, 3, size=48)
    results = []
    for monitored in (False, True):
        keras.utils.set_random_seed(0)
        model = conv_net()
        callbacks = [GradientNormMonitor((x[:16], y[:16]), every_n_batches=2, verbose=0)]
        model.fit(
            x,
            y,
            batch_size=16,
            epochs=2,
            shuffle=False,
            verbose=0,
            callbacks=callbacks if monitored else [],
        )
        results.append(model.get_weights())
    for plain, watched in zip(*results, strict=True):
        np.testing.assert_array_equal(plain, watched)
    record = callbacks[0].records[-1]
    assert set(record["layers"]) == {"conv", "bn", "head"}
    # 3 batches x 2 epochs: checks at steps 2, 4, 6 plus two epoch ends.
    assert len(callbacks[0].records) == 5


def test_regularization_loss_is_included():
    x, y = np.zeros((4, 6, 6, 1), "float32"), np.zeros(4, "int64")
    keras.utils.set_random_seed(0)
    model = conv_net()
    monitor = GradientNormMonitor((x, y), verbose=0)
    monitor.set_model(model)
    record = monitor.compute()
    # All-zero inputs: the head's kernel gradient is only the L2 term's 2 * 0.01 * W.
    kernel = model.get_layer("head").kernel.numpy()
    assert record["variables"]["head/kernel"] == pytest.approx(
        np.linalg.norm(2 * 0.01 * kernel), rel=1e-4
    )


def test_vanishing_gradients_in_a_deep_sigmoid_network():
    keras.utils.set_random_seed(0)
    layers = [keras.Input((8,))]
    layers += [keras.layers.Dense(8, "sigmoid", name=f"d{i}") for i in range(12)]
    layers += [keras.layers.Dense(1, name="out")]
    model = keras.Sequential(layers)
    model.compile("sgd", "mse")
    x, y = np.random.default_rng(0).normal(size=(32, 8)).astype("float32"), np.ones((32, 1))
    monitor = GradientNormMonitor((x, y), vanish_threshold=1e-6, verbose=0)
    with pytest.warns(GradientWarning, match=r"vanishing gradients .*d0"):
        model.fit(x, y, epochs=1, callbacks=[monitor], verbose=0)
    norms = monitor.records[-1]["layers"]
    assert norms["d0"] < 1e-6 < norms["out"]
    assert all(norms[f"d{i}"] < norms[f"d{i + 1}"] for i in range(11))


def test_exploding_gradients_warn_and_can_stop_training(tmp_path):
    x, y = regression()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="dense")])
    model.compile(keras.optimizers.SGD(0.01), "mse")
    monitor = GradientNormMonitor(
        (x, y), explode_threshold=0.5, stop_on_explode=True, log_dir=tmp_path / "tb", verbose=0
    )
    with pytest.warns(GradientWarning, match=r"exploding gradients .*clipnorm"):
        history = model.fit(x, y, epochs=5, callbacks=[monitor], verbose=0)
    assert len(history.history["loss"]) == 1
    assert history.history["grad_norm"][0] == pytest.approx(monitor.records[-1]["global"])
    tags = set()
    for path in glob.glob(str(tmp_path / "tb" / "events*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags |= {v.tag for v in event.summary.value}
    assert {"gradients/global_norm", "gradients/dense", "gradient_values/dense/kernel"} <= tags
    png = monitor.plot(tmp_path / "gradients.png")
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_nan_injected_into_training_data_stops_training():
    x, y = regression(n=64)
    x[40] = np.nan  # batch 5 of 8 in the first epoch
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    monitor = GradientNormMonitor((x[:8], y[:8]), verbose=0)
    with pytest.warns(GradientWarning, match=r"the training loss is nan"):
        history = model.fit(
            x, y, batch_size=8, epochs=4, shuffle=False, callbacks=[monitor], verbose=0
        )
    assert len(history.history["loss"]) == 1
    assert model.stop_training
    assert monitor.records[0]["problems"] == ["nan"] and "batch 5" in monitor.records[0]["where"]
    # The epoch-end check then finds the poisoned weights' gradients non-finite too.
    assert monitor.records[-1]["finite"] is False


def test_nan_weights_are_caught_on_the_held_batch():
    x, y = regression()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="linear")])
    model.compile("sgd", "mse")

    def poison(epoch, logs):
        if epoch == 1:
            kernel, bias = model.get_weights()
            model.set_weights([np.full_like(kernel, np.nan), bias])

    monitor = GradientNormMonitor((x, y), verbose=0)
    inject = keras.callbacks.LambdaCallback(on_epoch_end=poison)
    with pytest.warns(GradientWarning, match=r"non-finite gradients .*linear/kernel"):
        history = model.fit(x, y, epochs=5, callbacks=[inject, monitor], verbose=0)
    assert len(history.history["loss"]) == 2


def test_errors_and_config_round_trip():
    x, y = regression(n=4)
    with pytest.raises(ValueError, match=r"`every_n_batches` must be a positive int or None"):
        GradientNormMonitor((x, y), every_n_batches=0)
    with pytest.raises(ValueError, match=r"`explode_threshold` must be a number >= 0"):
        GradientNormMonitor((x, y), explode_threshold=-1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1), keras.layers.Dense(1)])
    model.compile("sgd", loss=["mse"])
    monitor = GradientNormMonitor((x, y), verbose=0)
    monitor.set_model(model)
    with pytest.raises(ValueError, match=r"needs one loss: pass `loss`"):
        monitor.compute()
    monitor = GradientNormMonitor((x, y), loss=keras.losses.Huber(name="robust"), every_n_batches=3)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(monitor))
    assert isinstance(restored.loss, keras.losses.Huber) and restored.loss.name == "robust"
    np.testing.assert_array_equal(restored.data[0], x)
    assert restored.every_n_batches == 3


def test_same_norms_under_mirrored_strategy():
    from tests.strategies import two_cpu_strategy

    x, y = regression()

    def build():
        model = keras.Sequential(
            [keras.Input((4,)), keras.layers.Dense(8, name="hidden"), keras.layers.Dense(1)]
        )
        model.compile("sgd", "mse")
        return model

    keras.utils.set_random_seed(0)
    single = build()
    with two_cpu_strategy().scope():
        mirrored = build()
    mirrored.set_weights(single.get_weights())
    records = []
    for model in (single, mirrored):
        monitor = GradientNormMonitor((x, y), verbose=0)
        monitor.set_model(model)
        records.append(monitor.compute())
    assert records[1]["global"] == pytest.approx(records[0]["global"], rel=1e-6)
    assert records[1]["layers"]["hidden"] == pytest.approx(records[0]["layers"]["hidden"], rel=1e-6)
    monitor = GradientNormMonitor((x, y), every_n_batches=1, verbose=0)
    mirrored.fit(x, y, batch_size=16, epochs=1, callbacks=[monitor], verbose=0)
    assert len(monitor.records) == 3 and all(r["finite"] for r in monitor.records)


def test_embedding_gradients_arrive_as_slices_and_are_densified():
    keras.utils.set_random_seed(4)
    tokens = np.random.default_rng(4).integers(0, 20, size=(16, 5))
    labels = np.random.default_rng(5).integers(0, 2, size=(16,))
    model = keras.Sequential(
        [
            keras.Input((5,), dtype="int32"),
            keras.layers.Embedding(20, 3, name="embed"),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(2, name="head"),
        ]
    )
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    monitor = GradientNormMonitor((tokens, labels), verbose=0)
    monitor.set_model(model)
    record = monitor.compute()
    embedding = model.get_layer("embed").embeddings
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x=tokens, y=labels, y_pred=model(tokens))
    dense = tf.convert_to_tensor(tape.gradient(loss, embedding)).numpy()
    assert record["layers"]["embed"] == pytest.approx(np.linalg.norm(dense), rel=1e-5)
