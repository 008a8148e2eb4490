"""Attention layers against numpy re-derivations of their formulas and against
tfa.seq2seq's numbers; masking, Keras mask propagation, fit, jit and export."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.layers.attention import BahdanauAttention, ContextAttention, LuongAttention
from tests.layers.data.make_tfa_attention_reference import reference_inputs, wrapper_inputs

HERE = os.path.dirname(__file__)


# numpy references --------------------------------------------------------------------


def np_weights(energies, valid):
    """softmax over t' of e<t,t'> (batch, Tq, Tv) restricted to valid positions; an
    all-masked row is 0."""
    energies = np.asarray(energies, "float64")
    if valid is None:
        valid = np.ones((energies.shape[0], energies.shape[-1]), bool)
    valid = np.broadcast_to(valid[:, None, :], energies.shape)
    shifted = np.where(valid, energies, -np.inf)
    row_max = shifted.max(-1, keepdims=True)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)
    exp = np.where(valid, np.exp(shifted - row_max), 0.0)
    total = exp.sum(-1, keepdims=True)
    return np.divide(exp, total, out=np.zeros_like(exp), where=total > 0)


def np_hardmax(energies, valid):
    energies = np.asarray(energies, "float64")
    if valid is not None:
        energies = np.where(valid[:, None, :], energies, -np.inf)
    hard = np.eye(energies.shape[-1])[energies.argmax(-1)]
    return hard if valid is None else hard * valid[:, None, :]


def np_attend(energy_fn, query, values, valid=None, probability_fn="softmax"):
    """(context, weights) from energies e = energy_fn(q (B, Tq, Dq), a (B, Tv, Dv))."""
    query = np.asarray(query, "float64")
    values = np.asarray(values, "float64")
    single = query.ndim == 2
    if single:
        query = query[:, None]
    if valid is not None:
        values = np.where(valid[..., None], values, 0.0)
    energies = energy_fn(query, values)
    norm = np_weights if probability_fn == "softmax" else np_hardmax
    weights = norm(energies, valid)
    context = weights @ values
    return (context[:, 0], weights[:, 0]) if single else (context, weights)


def context_energies(layer):
    """e<t,t'> = w_e^T g(W [s; a] + b), with the concatenation built explicitly."""
    kernel, bias, energy = (np.asarray(w, "float64") for w in layer.get_weights())
    g = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0)}[
        keras.activations.serialize(layer.activation)
    ]

    def energies(s, a):
        tq, tv = s.shape[1], a.shape[1]
        pairs = np.concatenate(
            [
                np.repeat(s[:, :, None], tv, axis=2),
                np.repeat(a[:, None], tq, axis=1),
            ],
            axis=-1,
        )
        return (g(pairs @ kernel + bias) @ energy)[..., 0]

    return energies


def bahdanau_energies(layer):
    w = {v.name: np.asarray(v, "float64") for v in layer.weights}

    def energies(q, a):
        pre = (q @ w["query_kernel"])[:, :, None] + (a @ w["memory_kernel"])[:, None]
        v = w["attention_v"]
        if layer.normalize:
            pre = pre + w["attention_b"]
            v = w["attention_g"] * v / np.linalg.norm(v)
        return (np.tanh(pre) * v).sum(-1)

    return energies


def luong_energies(layer):
    w = {v.name: np.asarray(v, "float64") for v in layer.weights}

    def energies(q, a):
        keys = a if layer.score_mode == "dot" else a @ w["memory_kernel"]
        e = np.einsum("bqd,bkd->bqk", q, keys)
        return w["attention_g"] * e if layer.scale else e

    return energies


def randomise(layer, rng):
    layer.set_weights([rng.normal(size=w.shape) for w in layer.weights])


CASES = [
    ("context", lambda: ContextAttention(units=5), context_energies),
    ("context-relu", lambda: ContextAttention(units=3, activation="relu"), context_energies),
    ("bahdanau", lambda: BahdanauAttention(4), bahdanau_energies),
    ("bahdanau-normalize", lambda: BahdanauAttention(4, normalize=True), bahdanau_energies),
    ("luong-general", lambda: LuongAttention(), luong_energies),
    ("luong-general-scale", lambda: LuongAttention(scale=True), luong_energies),
    ("luong-dot-scale", lambda: LuongAttention(score_mode="dot", scale=True), luong_energies),
]


def make_case(make, query_shape, values_shape, rng):
    layer = make()
    layer.build(query_shape, values_shape)
    randomise(layer, rng)
    query = rng.normal(size=query_shape).astype("float32")
    values = rng.normal(size=values_shape).astype("float32")
    return layer, query, values


# Formulas ------------------------------------------------------------------------------


@pytest.mark.parametrize("name,make,energies", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("query_rank", [2, 3])
@pytest.mark.parametrize("probability_fn", ["softmax", "hardmax"])
def test_matches_numpy_formula(name, make, energies, query_rank, probability_fn):
    rng = np.random.default_rng(0)
    dim = 3  # "dot" needs query_dim == value_dim
    query_shape = (3, dim) if query_rank == 2 else (3, 4, dim)
    layer, query, values = make_case(make, query_shape, (3, 6, dim), rng)
    layer.probability_fn = probability_fn
    lengths = np.array([6, 3, 1])
    valid = np.arange(6)[None] < lengths[:, None]
    for kwargs, mask in (({}, None), ({"memory_sequence_length": lengths}, valid)):
        context, weights = layer(query, values, **kwargs)
        expected_context, expected_weights = np_attend(
            energies(layer), query, values, mask, probability_fn
        )
        np.testing.assert_allclose(np.asarray(weights), expected_weights, atol=2e-6, rtol=1e-5)
        np.testing.assert_allclose(np.asarray(context), expected_context, atol=2e-5, rtol=1e-5)


def test_context_attention_kernel_is_the_dense_layer_on_the_concatenation():
    # The course builds e<t,t'> with Dense(units, "tanh") on Concatenate([s, a]) and
    # Dense(1): copying those weights into ContextAttention gives the same energies.
    rng = np.random.default_rng(1)
    s = rng.normal(size=(2, 5)).astype("float32")
    a = rng.normal(size=(2, 4, 3)).astype("float32")
    hidden = keras.layers.Dense(6, activation="tanh")
    energy = keras.layers.Dense(1, bias_initializer="ones")
    concat = np.concatenate([np.repeat(s[:, None], 4, axis=1), a], axis=-1)
    e = np.asarray(energy(hidden(concat)))[..., 0]
    attention = ContextAttention(units=6)
    attention.build((2, 5), (2, 4, 3))
    attention.set_weights([*hidden.get_weights(), energy.get_weights()[0]])
    context, alpha = attention(s, a)
    expected = np.exp(e - e.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    np.testing.assert_allclose(np.asarray(alpha), expected, atol=1e-6)
    np.testing.assert_allclose(np.asarray(context), np.einsum("bt,btd->bd", expected, a), atol=1e-5)


def tfa_reference():
    with open(os.path.join(HERE, "data", "tfa_attention_reference.json")) as f:
        return json.load(f)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("probability_fn", ["softmax", "hardmax"])
@pytest.mark.parametrize(
    "variant",
    [
        "bahdanau-normalize=False",
        "bahdanau-normalize=True",
        "luong-scale=False",
        "luong-scale=True",
    ],
)
def test_same_numbers_as_tfa_seq2seq(variant, probability_fn, masked):
    # tfa 0.23's BahdanauAttention / LuongAttention alignments and AttentionWrapper
    # context, stored by data/make_tfa_attention_reference.py (tfa needs Keras 2).
    d = reference_inputs()
    expected = tfa_reference()[f"{variant}-{probability_fn}-masked={masked}"]
    query_dim = d["query"].shape[1]
    flag = variant.endswith("True")
    if variant.startswith("bahdanau"):
        layer = BahdanauAttention(4, normalize=flag, probability_fn=probability_fn)
        layer.build(d["query"].shape, d["memory"].shape)
        layer.query_kernel.assign(d["w_query"])
        layer.memory_kernel.assign(d["w_memory"])
        layer.attention_v.assign(d["v"])
        if flag:
            layer.attention_g.assign(d["g"])
            layer.attention_b.assign(d["b"])
    else:
        layer = LuongAttention(query_dim, scale=flag, probability_fn=probability_fn)
        layer.build(d["query"].shape, d["memory"].shape)
        layer.memory_kernel.assign(d["w_memory"][:, :query_dim])
        if flag:
            layer.attention_g.assign(d["g"])
    lengths = d["lengths"] if masked else None
    context, weights = layer(d["query"], d["memory"], memory_sequence_length=lengths)
    np.testing.assert_allclose(np.asarray(weights), expected["weights"], atol=1e-6)
    np.testing.assert_allclose(np.asarray(context), expected["context"], atol=1e-6)


# Masking -------------------------------------------------------------------------------


@pytest.mark.parametrize("name,make,energies", CASES[::2], ids=[c[0] for c in CASES[::2]])
def test_masked_weights_are_exactly_zero_and_rows_sum_to_one(name, make, energies):
    rng = np.random.default_rng(2)
    layer, query, values = make_case(make, (4, 3, 3), (4, 5, 3), rng)
    # Rows keep 5, 3, 1 (all but one masked) and 0 positions.
    lengths = np.array([5, 3, 1, 0])
    valid = np.arange(5)[None] < lengths[:, None]
    context, weights = (np.asarray(x) for x in layer(query, values, values_mask=valid))
    assert np.all(weights[~np.broadcast_to(valid[:, None], weights.shape)] == 0.0)
    np.testing.assert_allclose(weights[:3].sum(-1), 1.0, atol=1e-6)
    # One valid position: its weight is exactly 1 and the context is exactly that value.
    assert np.all(weights[2, :, 0] == 1.0)
    np.testing.assert_array_equal(context[2], np.repeat(values[2, :1], 3, axis=0))
    # Nothing valid: weights and context are 0, never NaN.
    assert np.all(weights[3] == 0.0) and np.all(context[3] == 0.0)


def test_padding_content_does_not_leak_into_outputs_or_gradients():
    # Padded positions holding NaN or huge values change neither outputs nor gradients.
    rng = np.random.default_rng(3)
    layer, query, values = make_case(lambda: BahdanauAttention(4), (2, 3), (2, 4, 3), rng)
    lengths = np.array([4, 2])
    poisoned = values.copy()
    poisoned[1, 2:] = np.nan
    poisoned[1, 3, 0] = 1e30

    def run(v):
        v = tf.constant(v)
        with tf.GradientTape() as tape:
            tape.watch(v)
            context, weights = layer(query, v, memory_sequence_length=lengths)
            loss = tf.reduce_sum(context**2) + tf.reduce_sum(weights[:, 0])
        grads = tape.gradient(loss, [v, *layer.trainable_variables])
        return context.numpy(), weights.numpy(), [g.numpy() for g in grads]

    clean, poisoned_run = run(values), run(poisoned)
    np.testing.assert_array_equal(poisoned_run[0], clean[0])
    np.testing.assert_array_equal(poisoned_run[1], clean[1])
    for g_clean, g_poisoned in zip(clean[2][1:], poisoned_run[2][1:], strict=True):
        np.testing.assert_allclose(g_poisoned, g_clean, rtol=1e-6)
    assert np.all(np.isfinite(poisoned_run[2][0][0]))


def test_every_mask_source_gives_the_same_result():
    rng = np.random.default_rng(4)
    layer, query, values = make_case(lambda: LuongAttention(scale=True), (3, 2, 3), (3, 5, 3), rng)
    lengths = np.array([5, 2, 4])
    valid = np.arange(5)[None] < lengths[:, None]
    expected = layer(query, values, memory_sequence_length=lengths)
    for got in (
        layer(query, values, values_mask=valid),
        layer([query, values], mask=[None, valid]),
        # Masks combine: a position counts only when every source keeps it.
        layer(query, values, values_mask=np.ones_like(valid), memory_sequence_length=lengths),
    ):
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_array_equal(np.asarray(g), np.asarray(e))
    unmasked = layer(query, values)[1]
    assert not np.allclose(np.asarray(unmasked), np.asarray(expected[1]))


def test_keras_mask_propagates_from_embedding_into_the_weights():
    # Source tokens 0 are padding: Embedding(mask_zero=True) masks them, the encoder
    # carries the mask, and the attention reads it from `values`.
    rng = np.random.default_rng(5)
    source = keras.Input((6,), dtype="int32")
    query = keras.Input((3, 4))
    encoded = keras.layers.Embedding(10, 4, mask_zero=True)(source)
    encoded = keras.layers.LSTM(4, return_sequences=True)(encoded)
    for attention in (BahdanauAttention(3), ContextAttention(3), LuongAttention()):
        context, weights = attention(query, encoded)
        model = keras.Model([source, query], [context, weights, encoded])
        tokens = np.array([[3, 4, 5, 6, 7, 8], [2, 9, 0, 0, 0, 0]], "int32")
        q = rng.normal(size=(2, 3, 4)).astype("float32")
        context_v, weights_v, encoded_v = model.predict([tokens, q], verbose=0)
        assert np.all(weights_v[1, :, 2:] == 0.0)
        np.testing.assert_allclose(weights_v.sum(-1), 1.0, atol=1e-6)
        explicit = attention(q, encoded_v, values_mask=tokens != 0)
        np.testing.assert_allclose(explicit[1], weights_v, atol=1e-6)
        np.testing.assert_allclose(explicit[0], context_v, atol=1e-5)


def test_self_attention_reads_the_input_mask_and_outputs_carry_the_query_mask():
    seen = {}

    class RecordMask(keras.layers.Layer):
        def __init__(self, key, **kwargs):
            super().__init__(**kwargs)
            self.key = key
            self.supports_masking = True

        def call(self, x, mask=None):
            seen[self.key] = mask
            return x

    tokens = keras.Input((5,), dtype="int32")
    x = keras.layers.Embedding(8, 3, mask_zero=True)(tokens)
    context, weights = BahdanauAttention(4)(x)
    model = keras.Model(tokens, [RecordMask("context")(context), RecordMask("weights")(weights)])
    batch = np.array([[1, 2, 3, 0, 0], [4, 5, 6, 7, 1]], "int32")
    _, weights_v = model(batch)
    expected_mask = batch != 0
    assert np.all(np.asarray(weights_v)[0, :, 3:] == 0.0)
    for key in ("context", "weights"):
        np.testing.assert_array_equal(np.asarray(seen[key]), expected_mask)


def test_list_inputs_and_return_weights_false():
    rng = np.random.default_rng(6)
    layer, query, values = make_case(lambda: BahdanauAttention(3), (2, 4), (2, 5, 3), rng)
    context, weights = layer([query, values])
    only_context = BahdanauAttention.from_config({**layer.get_config(), "return_weights": False})
    only_context.build((2, 4), (2, 5, 3))
    only_context.set_weights(layer.get_weights())
    np.testing.assert_array_equal(np.asarray(only_context(query, values)), np.asarray(context))
    assert tuple(weights.shape) == (2, 5)


@pytest.mark.parametrize(
    "layer",
    [
        ContextAttention(7, activation="relu", probability_fn="hardmax", bias_initializer="ones"),
        BahdanauAttention(3, normalize=True, kernel_initializer="he_normal", return_weights=False),
        LuongAttention(score_mode="dot", scale=True, probability_fn="hardmax"),
        LuongAttention(4),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_config_holds_every_argument_and_round_trips(layer):
    import inspect

    cls = type(layer)
    assert keras.saving.get_registered_name(cls) == f"kerasdl>{cls.__name__}"
    config = layer.get_config()
    params = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "kwargs")]
    assert [p for p in params if p not in config] == []
    assert cls.from_config(config).get_config() == config


# Errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: BahdanauAttention(0), r"`units` must be > 0\. Received: units=0"),
        (lambda: BahdanauAttention(2.5), r"`units` must be a positive int"),
        (lambda: ContextAttention(probability_fn="sparsemax"), r"`probability_fn` must be one of"),
        (lambda: LuongAttention(score_mode="concat"), r"`score_mode` must be one of"),
        (lambda: LuongAttention(4, score_mode="dot"), r"`units` must be None with score_mode"),
    ],
)
def test_bad_arguments_raise(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


@pytest.mark.parametrize(
    "layer,args,kwargs,match",
    [
        (
            BahdanauAttention(2),
            (np.zeros((2, 3)), np.zeros((2, 4))),
            {},
            r"`values` must have rank 3",
        ),
        (BahdanauAttention(2), (np.zeros((2, 3)),), {}, r"`values` must be given when `query`"),
        (
            BahdanauAttention(2),
            (np.zeros((2, 1, 1, 3)), np.zeros((2, 4, 3))),
            {},
            r"`query` must have rank 2 .* or rank 3",
        ),
        (BahdanauAttention(2), (np.zeros((3, 3)), np.zeros((2, 4, 3))), {}, r"same batch size"),
        (
            LuongAttention(5),
            (np.zeros((2, 3)), np.zeros((2, 4, 3))),
            {},
            r"`units` must equal the query's last dimension.*units=5 and query_dim=3",
        ),
        (
            LuongAttention(score_mode="dot"),
            (np.zeros((2, 2)), np.zeros((2, 4, 3))),
            {},
            r"same last dimension.*query_dim=2 and value_dim=3",
        ),
        (
            ContextAttention(),
            (np.zeros((2, 3)), np.zeros((2, 4, 3))),
            {"mask": np.ones((2, 4), bool)},
            r"`mask` with separate `query` and `values`",
        ),
    ],
)
def test_bad_inputs_raise(layer, args, kwargs, match):
    args = tuple(np.asarray(a, "float32") for a in args)
    with pytest.raises(ValueError, match=match):
        layer(*args, **kwargs)


# In models: fit, jit, save, export -----------------------------------------------------


def translation_model(attention):
    """Source tokens -> Embedding(mask_zero) -> tanh projection as the encoder; decoder
    states (teacher forcing) query the attention; a softmax over the vocabulary per step."""
    source = keras.Input((6,), dtype="int32", name="source")
    decoder_states = keras.Input((4, 8), name="decoder_states")
    encoded = keras.layers.Embedding(12, 8, mask_zero=True)(source)
    encoded = keras.layers.Dense(8, activation="tanh")(encoded)
    context, weights = attention(decoder_states, encoded)
    merged = keras.layers.Concatenate()([decoder_states, context])
    logits = keras.layers.Dense(12, activation="softmax")(merged)
    return keras.Model([source, decoder_states], [logits, weights])


def copy_task(n=64, seed=0):
    """Target step t is the source token at position t + 1: attention must find it."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(5, 7, size=n)
    source = rng.integers(1, 12, size=(n, 6))
    source[np.arange(6)[None] >= lengths[:, None]] = 0
    positions = np.eye(4, 8, dtype="float32")[None].repeat(n, 0)
    return [source.astype("int32"), positions], source[:, 1:5]


MODEL_CASES = {
    "bahdanau": lambda: BahdanauAttention(8),
    "luong": lambda: LuongAttention(),
    "context": lambda: ContextAttention(8),
}


def fit_losses(model, x, y, initial, jit_compile):
    model.set_weights(initial)
    model.compile(
        optimizer=keras.optimizers.Adam(0.02),
        loss=["sparse_categorical_crossentropy", None],
        jit_compile=jit_compile,
    )
    return model.fit(x, y, batch_size=32, epochs=4, shuffle=False, verbose=0).history["loss"]


@pytest.mark.parametrize("name", MODEL_CASES)
def test_trains_in_fit_with_padded_sources(name):
    keras.utils.set_random_seed(0)
    x, y = copy_task()
    model = translation_model(MODEL_CASES[name]())
    losses = fit_losses(model, x, y, model.get_weights(), jit_compile=False)
    assert np.all(np.diff(losses) < 0), losses
    weights = model.predict(x, batch_size=64, verbose=0)[1]
    padded = np.broadcast_to((x[0] == 0)[:, None, :], weights.shape)
    assert padded.any() and np.all(weights[padded] == 0.0)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)


def test_fit_under_jit_compile_matches_graph_mode():
    # The conformance suite trains every layer under XLA too (self-attention form).
    keras.utils.set_random_seed(0)
    x, y = copy_task()
    model = translation_model(BahdanauAttention(8, normalize=True))
    initial = model.get_weights()
    graph = fit_losses(model, x, y, initial, jit_compile=False)
    graph_weights = model.get_weights()
    xla = fit_losses(model, x, y, initial, jit_compile=True)
    np.testing.assert_allclose(xla, graph, rtol=1e-4)
    for a, b in zip(model.get_weights(), graph_weights, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_keras_file_and_saved_model_keep_both_outputs(tmp_path):
    import kerasdl

    keras.utils.set_random_seed(1)
    model = translation_model(BahdanauAttention(8, normalize=True, probability_fn="softmax"))
    x, _ = copy_task(n=4)
    expected = model.predict(x, verbose=0)
    path = os.fspath(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    for got, want in zip(loaded.predict(x, verbose=0), expected, strict=True):
        np.testing.assert_array_equal(got, want)
    version_dir = kerasdl.export.saved_model(model, os.fspath(tmp_path / "serving"))
    serving = tf.saved_model.load(version_dir).signatures["serving_default"]
    outputs = serving(source=tf.constant(x[0]), decoder_states=tf.constant(x[1]))
    served = sorted((v.numpy() for v in outputs.values()), key=lambda a: a.shape[-1])
    np.testing.assert_allclose(served[0], expected[1], atol=1e-6)
    np.testing.assert_allclose(served[1], expected[0], atol=1e-6)


@pytest.mark.parametrize("probability_fn", ["softmax", "hardmax"])
def test_decoder_step_converts_to_tflite_with_builtin_ops(tmp_path, probability_fn):
    # One decoder step with the source lengths as an input: what runs on a device.
    import kerasdl

    query = keras.Input((6,), name="query")
    values = keras.Input((7, 5), name="values")
    lengths = keras.Input((), dtype="int32", name="lengths")
    context, weights = BahdanauAttention(4, normalize=True, probability_fn=probability_fn)(
        query, values, memory_sequence_length=lengths
    )
    model = keras.Model([query, values, lengths], [context, weights])
    rng = np.random.default_rng(0)
    x = [
        rng.normal(size=(4, 6)).astype("float32"),
        rng.normal(size=(4, 7, 5)).astype("float32"),
        np.array([7, 3, 1, 5], "int32"),
    ]
    report = kerasdl.export.tflite(model, os.fspath(tmp_path / "step.tflite"), check_inputs=x)
    assert not report.uses_flex, report.ops
    assert report.max_abs_diff <= 1e-5, report
    runner = kerasdl.export.TFLiteModel(os.fspath(tmp_path / "step.tflite"))
    got = runner(dict(zip(["query", "values", "lengths"], x, strict=True)))
    expected = model.predict(x, verbose=0)
    got = sorted(got.values() if isinstance(got, dict) else got, key=lambda a: a.shape[-1])
    np.testing.assert_allclose(got[0], expected[0], atol=1e-5)
    assert np.all(got[1][1, 3:] == 0.0)


def test_decoder_loop_reproduces_tfa_attention_wrapper():
    # tfa.seq2seq.AttentionWrapper(LSTMCell, BahdanauAttention, output_attention=True):
    # the cell reads [y<t>; attention<t-1>], its output queries the attention, and the
    # context is the step's output and the next step's attention input. Four steps
    # against tfa's stored outputs and alignment history.
    w = wrapper_inputs()
    expected = tfa_reference()["attention_wrapper"]
    batch, time, value_dim = w["memory"].shape
    cell_units = w["recurrent_kernel"].shape[0]
    attention = BahdanauAttention(w["v"].shape[0])
    attention.build((batch, cell_units), (batch, time, value_dim))
    attention.query_kernel.assign(w["w_query"])
    attention.memory_kernel.assign(w["w_memory"])
    attention.attention_v.assign(w["v"])
    cell = keras.layers.LSTMCell(cell_units)
    cell.build((batch, w["kernel"].shape[0]))
    cell.set_weights([w["kernel"], w["recurrent_kernel"], w["bias"]])

    state = cell.get_initial_state(batch_size=batch)
    attention_vector = keras.ops.zeros((batch, value_dim))
    outputs, alignments = [], []
    for t in range(w["y"].shape[1]):
        output, state = cell(keras.ops.concatenate([w["y"][:, t], attention_vector], -1), state)
        attention_vector, alpha = attention(
            output, w["memory"], memory_sequence_length=w["lengths"]
        )
        outputs.append(np.asarray(attention_vector))
        alignments.append(np.asarray(alpha))
    np.testing.assert_allclose(np.stack(outputs, 1), expected["outputs"], atol=1e-6)
    np.testing.assert_allclose(np.stack(alignments, 1), expected["alignments"], atol=1e-6)
    assert np.all(np.stack(alignments, 1)[1, :, 2:] == 0.0)
