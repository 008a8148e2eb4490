"""PeepholeLSTMCell and PeepholeLSTM against a numpy step-by-step LSTM with peepholes,
keras.layers.LSTMCell (peepholes at 0) and tfa.rnn.PeepholeLSTMCell's numbers; config,
saving, masking, dropout and TFLite export."""

import json
import os

import keras
import numpy as np
import pytest

import kerasdl
from kerasdl.layers.recurrent import PeepholeLSTM, PeepholeLSTMCell
from tests.layers.data.make_tfa_peephole_reference import WEIGHT_ORDER, reference_inputs

HERE = os.path.dirname(__file__)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def np_peephole_lstm(x, weights, h0=None, c0=None, mask=None):
    """The notes' LSTM with peepholes, one step at a time in float64:
    Gamma_u, Gamma_f see c<t-1>; Gamma_o sees c<t>. Masked steps keep the state."""
    kernel, recurrent, bias, p_u, p_f, p_o = (np.asarray(w, "float64") for w in weights)
    batch, time, _ = x.shape
    units = recurrent.shape[0]
    h = np.zeros((batch, units)) if h0 is None else np.asarray(h0, "float64")
    c = np.zeros((batch, units)) if c0 is None else np.asarray(c0, "float64")
    outputs = []
    for t in range(time):
        z = x[:, t] @ kernel + h @ recurrent + bias
        z_u, z_f, z_c, z_o = np.split(z, 4, axis=-1)
        gamma_u = sigmoid(z_u + p_u * c)
        gamma_f = sigmoid(z_f + p_f * c)
        c_new = gamma_u * np.tanh(z_c) + gamma_f * c
        gamma_o = sigmoid(z_o + p_o * c_new)
        h_new = gamma_o * np.tanh(c_new)
        if mask is not None:
            keep = mask[:, t : t + 1]
            h_new = np.where(keep, h_new, h)
            c_new = np.where(keep, c_new, c)
        h, c = h_new, c_new
        outputs.append(h)
    return np.stack(outputs, 1), h, c


def random_weights(cell, rng, peephole_scale=1.0):
    weights = [rng.normal(scale=0.5, size=w.shape) for w in cell.weights]
    for i in (3, 4, 5):
        weights[i] = weights[i] * 2 * peephole_scale
    cell.set_weights(weights)
    return weights


def test_matches_numpy_step_by_step():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 7, 5)).astype("float32")
    h0, c0 = (rng.normal(size=(3, 4)).astype("float32") for _ in range(2))
    cell = PeepholeLSTMCell(4)
    rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    rnn(x)
    weights = random_weights(cell, rng)
    sequence, h, c = rnn(x, initial_state=[h0, c0])
    expected = np_peephole_lstm(x, weights, h0, c0)
    for got, want in zip((sequence, h, c), expected, strict=True):
        np.testing.assert_allclose(np.asarray(got), want, atol=1e-5)


def test_single_step_formula_uses_c_prev_for_update_and_forget_and_c_new_for_output():
    # A hand-built step: only one peephole at a time is non-zero, all else 0, so each
    # gate's reading of the cell state shows directly.
    units = 1
    x = np.zeros((1, 1), "float32")
    h0 = np.zeros((1, units), "float32")
    c0 = np.full((1, units), 2.0, "float32")
    cell = PeepholeLSTMCell(units, unit_forget_bias=False)
    cell.build((1, 1))
    zeros = [np.zeros(w.shape, "float32") for w in cell.weights]
    for peephole in (3, 4, 5):
        weights = list(zeros)
        weights[peephole] = np.array([1.5], "float32")
        cell.set_weights(weights)
        h, (_, c) = cell(x, [h0, c0])
        gamma = {i: 0.5 for i in (3, 4, 5)}
        if peephole in (3, 4):
            gamma[peephole] = sigmoid(1.5 * 2.0)
        # c~ = tanh(0) = 0, so c<t> = Gamma_f * c<t-1>
        c_expected = gamma[4] * 2.0
        if peephole == 5:
            gamma[5] = sigmoid(1.5 * c_expected)
        np.testing.assert_allclose(np.asarray(c), [[c_expected]], rtol=1e-6)
        np.testing.assert_allclose(np.asarray(h), [[gamma[5] * np.tanh(c_expected)]], rtol=1e-6)


def test_equals_keras_lstm_cell_when_peepholes_are_zero():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 6, 3)).astype("float32")
    peephole = keras.layers.RNN(PeepholeLSTMCell(5), return_sequences=True)
    plain = keras.layers.RNN(keras.layers.LSTMCell(5), return_sequences=True)
    layer = keras.layers.LSTM(5, return_sequences=True)
    for rnn in (peephole, plain, layer):
        rnn(x)
    weights = random_weights(peephole.cell, rng, peephole_scale=0.0)
    plain.set_weights(weights[:3])
    layer.set_weights(weights[:3])
    expected = np.asarray(plain(x))
    np.testing.assert_allclose(np.asarray(peephole(x)), expected, atol=1e-6)
    np.testing.assert_allclose(np.asarray(layer(x)), expected, atol=1e-6)


def test_same_numbers_as_tfa_peephole_lstm_cell():
    # tfa 0.23 stored by data/make_tfa_peephole_reference.py (tfa needs Keras 2).
    d = reference_inputs()
    with open(os.path.join(HERE, "data", "tfa_peephole_lstm_reference.json")) as f:
        expected = json.load(f)
    units = d["h0"].shape[1]
    rnn = keras.layers.RNN(PeepholeLSTMCell(units), return_sequences=True, return_state=True)
    rnn(d["x"])
    # Same weights in the same order, under the same names.
    assert [w.name for w in rnn.weights] == [
        name.split("/")[-1].removesuffix(":0") for name in expected["weight_names"]
    ]
    rnn.set_weights([d[name] for name in WEIGHT_ORDER])
    sequence, h, c = rnn(d["x"], initial_state=[d["h0"], d["c0"]])
    np.testing.assert_allclose(np.asarray(sequence), expected["sequence"], atol=1e-6)
    np.testing.assert_allclose(np.asarray(h), expected["h"], atol=1e-6)
    np.testing.assert_allclose(np.asarray(c), expected["c"], atol=1e-6)
    # And the numpy re-derivation agrees with both.
    np.testing.assert_allclose(
        np_peephole_lstm(d["x"], [d[n] for n in WEIGHT_ORDER], d["h0"], d["c0"])[0],
        expected["sequence"],
        atol=1e-5,
    )


def test_peephole_lstm_layer_equals_rnn_of_the_cell_and_masks_padded_steps():
    rng = np.random.default_rng(2)
    tokens = np.array([[3, 1, 4, 1, 5], [9, 2, 0, 0, 0]], "int32")
    embedded = rng.normal(size=(2, 5, 3)).astype("float32")
    layer = PeepholeLSTM(4, return_sequences=True, return_state=True)
    layer(embedded)
    weights = random_weights(layer.cell, rng)
    mask = tokens != 0
    sequence, h, c = layer(embedded, mask=mask)
    expected_sequence, expected_h, expected_c = np_peephole_lstm(embedded, weights, mask=mask)
    np.testing.assert_allclose(np.asarray(h), expected_h, atol=1e-5)
    np.testing.assert_allclose(np.asarray(c), expected_c, atol=1e-5)
    np.testing.assert_allclose(np.asarray(sequence)[mask], expected_sequence[mask], atol=1e-5)
    # The second sequence's state stops at its last real step.
    np.testing.assert_allclose(np.asarray(h)[1], expected_sequence[1, 1], atol=1e-5)


def test_config_is_complete_and_round_trips(tmp_path):
    cell = PeepholeLSTMCell(
        3,
        activation="relu",
        peephole_initializer="ones",
        peephole_regularizer="l2",
        peephole_constraint="non_neg",
        dropout=0.25,
        recurrent_dropout=0.5,
        seed=4,
        unit_forget_bias=False,
    )
    config = cell.get_config()
    assert keras.saving.get_registered_name(PeepholeLSTMCell) == "kerasdl>PeepholeLSTMCell"
    import inspect

    params = [
        p
        for p in inspect.signature(PeepholeLSTMCell.__init__).parameters
        if p not in ("self", "kwargs")
    ]
    assert not [p for p in params if p not in config]
    clone = PeepholeLSTMCell.from_config(config)
    assert clone.get_config() == config

    layer = PeepholeLSTM(3, return_sequences=True, go_backwards=True, peephole_initializer="ones")
    layer_config = layer.get_config()
    assert "cell" not in layer_config and layer_config["peephole_initializer"]["class_name"]
    assert PeepholeLSTM.from_config(layer_config).get_config() == layer_config

    # A model with the cell inside keras.layers.RNN survives .keras save/load.
    rng = np.random.default_rng(3)
    inputs = keras.Input((5, 2))
    outputs = keras.layers.RNN(PeepholeLSTMCell(3, dropout=0.25, seed=1))(inputs)
    model = keras.Model(inputs, outputs)
    random_weights(model.layers[1].cell, rng)
    x = rng.normal(size=(4, 5, 2)).astype("float32")
    path = os.fspath(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert isinstance(loaded.layers[1].cell, PeepholeLSTMCell)


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"units": 0}, ValueError, r"`units` must be > 0\. Received: units=0"),
        ({"units": 2.0}, TypeError, r"`units` must be a positive int"),
        ({"units": 2, "dropout": 1.5}, ValueError, r"`dropout` must be in \[0, 1\)"),
        ({"units": 2, "recurrent_dropout": -0.1}, ValueError, r"`recurrent_dropout` must be in"),
    ],
)
def test_bad_arguments_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        PeepholeLSTMCell(**kwargs)
    with pytest.raises(error, match=match):
        PeepholeLSTM(**kwargs)


@pytest.mark.parametrize("recurrent_dropout", [0.0, 0.3])
def test_dropout_only_in_training(recurrent_dropout):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(16, 4, 3)).astype("float32")
    layer = PeepholeLSTM(
        4, dropout=0.5, recurrent_dropout=recurrent_dropout, seed=3, return_sequences=True
    )
    inference = np.asarray(layer(x, training=False))
    np.testing.assert_array_equal(np.asarray(layer(x)), inference)
    np.testing.assert_allclose(
        inference, np_peephole_lstm(x, layer.cell.get_weights())[0], atol=1e-5
    )
    trained = np.asarray(layer(x, training=True))
    assert np.all(np.isfinite(trained)) and not np.allclose(trained, inference)


def test_trains_in_fit():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(64, 6, 2)).astype("float32")
    y = (x[:, :, 0].sum(1) > 0).astype("float32")
    inputs = keras.Input((6, 2))
    hidden = keras.layers.RNN(PeepholeLSTMCell(8))(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy")
    losses = model.fit(x, y, batch_size=32, epochs=5, verbose=0).history["loss"]
    assert losses[-1] < 0.7 * losses[0], losses


def test_converts_to_tflite_with_builtin_ops_unrolled(tmp_path):
    # The looped form converts in the conformance suite (PeepholeLSTM); the unrolled one,
    # which full-int8 conversion needs, here. The static signature (batch 1) is what
    # lets a recurrent layer convert with builtin ops.
    unroll = True
    rng = np.random.default_rng(6)
    inputs = keras.Input((7, 3))
    rnn = keras.layers.RNN(PeepholeLSTMCell(5), return_sequences=True, unroll=unroll)
    model = keras.Model(inputs, rnn(inputs))
    random_weights(rnn.cell, rng)
    x = rng.normal(size=(4, 7, 3)).astype("float32")
    path = os.fspath(tmp_path / "peephole.tflite")
    report = kerasdl.export.tflite(model, path, check_inputs=x)
    assert not report.uses_flex, report.ops
    assert report.max_abs_diff <= 1e-5, report
    got = kerasdl.export.TFLiteModel(path)(x)
    np.testing.assert_allclose(got, np_peephole_lstm(x, rnn.cell.get_weights())[0], atol=1e-5)
