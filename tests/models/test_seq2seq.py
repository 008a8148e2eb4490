"""seq2seq_attention: the decoder against a numpy re-derivation of the notes' formulas,
the step function against the teacher-forced model (every attention and cell), greedy
and beam search through kerasdl.decoding, masking of padded source positions, `.keras`
round trips, errors, and a short fit on dates."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.data.dates import date_pairs, date_vocabularies
from kerasdl.data.vocabulary import seq2seq_arrays
from kerasdl.decoding.beam_search import beam_search
from kerasdl.decoding.greedy import greedy_search
from kerasdl.decoding.scoring import sequence_log_prob
from kerasdl.models.seq2seq import AttentionDecoder, Seq2SeqInference, seq2seq_attention

SOURCE_VOCAB, TARGET_VOCAB = 13, 9


def small_model(attention="context", cell="lstm", seed=0):
    keras.utils.set_random_seed(seed)
    return seq2seq_attention(
        SOURCE_VOCAB,
        TARGET_VOCAB,
        embedding_dim=6,
        encoder_units=5,
        decoder_units=7,
        attention=attention,
        attention_units=4,
        decoder_cell=cell,
    )


def batch(seed=0):
    """Sources of lengths 6, 3 and 1 padded with 0, and random decoder inputs."""
    rng = np.random.default_rng(seed)
    source = rng.integers(4, SOURCE_VOCAB, size=(3, 6)).astype("int32")
    source[1, 3:] = 0
    source[2, 1:] = 0
    decoder_inputs = rng.integers(3, TARGET_VOCAB, size=(3, 5)).astype("int32")
    decoder_inputs[:, 0] = 1
    return source, decoder_inputs


def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def numpy_decoder(decoder, embedded, a, valid):
    """The notes' attention decoder step by step in float64, from the layer's weights."""
    w = {v.path.split("/")[-2] + "/" + v.name: np.asarray(v, np.float64) for v in decoder.weights}
    kernel, bias, energy = w["attention/kernel"], w["attention/bias"], w["attention/energy_kernel"]
    units = decoder.units
    s = np.zeros(units)
    m = np.zeros(units)
    logits, alphas = [], []
    for x in embedded:
        # e<t,t'> = w_e^T tanh(W [s<t-1>; a<t'>] + b), softmax over the real positions.
        hidden = np.tanh(np.concatenate([np.repeat(s[None], len(a), 0), a], 1) @ kernel + bias)
        energies = (hidden @ energy)[:, 0]
        alpha = np.where(valid, np.exp(energies - energies[valid].max()), 0.0)
        alpha /= alpha.sum()
        context = alpha @ a
        z = np.concatenate([x, context]) @ w["lstm_cell/kernel"]
        z = z + s @ w["lstm_cell/recurrent_kernel"] + w["lstm_cell/bias"]
        i, f, g, o = np.split(z, 4)
        m = sigmoid(f) * m + sigmoid(i) * np.tanh(g)
        s = sigmoid(o) * np.tanh(m)
        out = np.concatenate([s, context]) @ w["output/kernel"] + w["output/bias"]
        logits.append(out)
        alphas.append(alpha)
    return np.array(logits), np.array(alphas)


def test_decoder_matches_numpy_formulas():
    model = small_model()
    source, decoder_inputs = batch()
    inference = Seq2SeqInference(model)
    logits = np.asarray(model([source, decoder_inputs]))
    weights = inference.attention_weights(source, decoder_inputs)
    a = np.asarray(inference.encoder(source), np.float64)
    embedded = np.asarray(model.get_layer("target_embedding")(decoder_inputs), np.float64)
    for b in range(len(source)):
        expected_logits, expected_alpha = numpy_decoder(
            model.get_layer("decoder"), embedded[b], a[b], source[b] != 0
        )
        np.testing.assert_allclose(logits[b], expected_logits, atol=2e-5)
        np.testing.assert_allclose(weights[b], expected_alpha, atol=2e-6)


@pytest.mark.parametrize(
    "attention, cell",
    [("context", "lstm"), ("bahdanau", "lstm"), ("luong", "lstm"), ("context", "peephole")],
)
def test_step_fn_equals_teacher_forced_model(attention, cell):
    model = small_model(attention, cell)
    source, decoder_inputs = batch(1)
    inference = Seq2SeqInference(model)
    expected = log_softmax(np.asarray(model([source, decoder_inputs]), np.float64))
    state = inference.initial_state(source)
    for t in range(decoder_inputs.shape[1]):
        log_probs, state, weights = inference.step_with_attention(decoder_inputs[:, t], state)
        np.testing.assert_allclose(log_probs, expected[:, t], atol=1e-5)
        assert np.all(np.asarray(weights)[source == 0] == 0.0)
    # Scoring the targets through the step function equals the model's summed log-probs.
    targets = np.concatenate([decoder_inputs[:, 1:], np.full((3, 1), 2)], axis=1)
    picked = np.take_along_axis(expected, targets[..., None], -1)[..., 0].sum(-1)
    scored = sequence_log_prob(inference.step_fn, inference.initial_state(source), targets, 1, 2)
    np.testing.assert_allclose(scored, picked, atol=1e-4)


def test_greedy_and_beam_search_agree_with_the_model():
    model = small_model(seed=3)
    source, _ = batch(2)
    inference = Seq2SeqInference(model)
    greedy = inference.decode(source, max_length=6)
    again = greedy_search(inference.step_fn, inference.initial_state(source), 1, 2, 6)
    np.testing.assert_array_equal(greedy.sequences, again.sequences)
    # Feeding the greedy output back with teacher forcing: the model's argmax at every
    # step is the greedy token, and the summed log-probabilities are its log P(y|x).
    sequences = greedy.sequences.numpy()[:, 0]
    decoder_inputs = np.concatenate([np.ones((3, 1), "int32"), sequences[:, :-1]], axis=1)
    expected = log_softmax(np.asarray(model([source, decoder_inputs]), np.float64))
    for b in range(3):
        length = int(greedy.lengths[b, 0])
        np.testing.assert_array_equal(expected[b, :length].argmax(-1), sequences[b, :length])
        total = expected[b, np.arange(length), sequences[b, :length]].sum()
        np.testing.assert_allclose(greedy.log_probs[b, 0], total, atol=1e-4)
    beams = inference.decode(source, max_length=6, beam_width=4, num_return=2)
    assert np.all(beams.scores.numpy()[:, 0] >= beams.scores.numpy()[:, 1])
    rescored = sequence_log_prob(
        inference.step_fn,
        inference.initial_state(source),
        beams.sequences[:, 0],
        1,
        2,
        length_penalty_alpha=0.7,
    )
    np.testing.assert_allclose(rescored, beams.scores[:, 0], atol=1e-4)
    # With no length normalisation a beam never ends below greedy.
    plain = inference.decode(source, max_length=6, beam_width=4, length_penalty_alpha=0.0)
    assert np.all(plain.log_probs.numpy() >= greedy.log_probs.numpy() - 1e-5)


def test_padding_is_masked():
    model = small_model("bahdanau")
    source, decoder_inputs = batch(4)
    logits = np.asarray(model([source, decoder_inputs]))
    inference = Seq2SeqInference(model)
    weights = inference.attention_weights(source, decoder_inputs)
    assert np.all(weights[source[:, None, :].repeat(5, 1) == 0] == 0.0)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)
    # More padding changes nothing, and each example's outputs are those it has alone,
    # without any padding.
    wider = np.concatenate([source, np.zeros((3, 4), "int32")], axis=1)
    np.testing.assert_allclose(model([wider, decoder_inputs]), logits, atol=1e-6)
    for b, length in enumerate((6, 3, 1)):
        alone = np.asarray(model([source[b : b + 1, :length], decoder_inputs[b : b + 1]]))
        np.testing.assert_allclose(alone[0], logits[b], atol=1e-5)


def test_keras_round_trip(tmp_path):
    model = small_model("luong", "peephole")
    source, decoder_inputs = batch(5)
    path = str(tmp_path / "seq2seq.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(
        loaded([source, decoder_inputs]), model([source, decoder_inputs]), atol=1e-6
    )
    original = Seq2SeqInference(model).decode(source, max_length=5, beam_width=3)
    reloaded = Seq2SeqInference(loaded).decode(source, max_length=5, beam_width=3)
    np.testing.assert_array_equal(original.sequences, reloaded.sequences)


def test_decoder_config_round_trip():
    decoder = AttentionDecoder(8, 5, attention="bahdanau", attention_units=3, cell="peephole")
    config = decoder.get_config()
    assert {k: config[k] for k in ("units", "vocab_size", "attention", "attention_units")} == {
        "units": 8,
        "vocab_size": 5,
        "attention": "bahdanau",
        "attention_units": 3,
    }
    again = AttentionDecoder.from_config(config)
    assert again.get_config() == config


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"`attention` must be one of \('context', 'bahdanau'"):
        seq2seq_attention(10, 10, attention="dot")
    with pytest.raises(ValueError, match=r"`decoder_cell` must be one of|`cell` must be one of"):
        seq2seq_attention(10, 10, decoder_cell="gru")
    with pytest.raises(ValueError, match=r"`encoder_units` must be > 0"):
        seq2seq_attention(10, 10, encoder_units=0)
    with pytest.raises(ValueError, match=r"`inputs` must have shape \(batch, Ty, embedding_dim\)"):
        AttentionDecoder(4, 5)(np.zeros((2, 3), "float32"), np.zeros((2, 4, 3), "float32"))
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"`model` must be a seq2seq_attention model"):
        Seq2SeqInference(plain)


def test_short_fit_on_dates_reduces_loss():
    keras.utils.set_random_seed(0)
    human, machine = date_vocabularies()
    pairs = date_pairs(384, seed=0)
    x, decoder_in, y = seq2seq_arrays([h for h, _ in pairs], [m for _, m in pairs], human, machine)
    model = seq2seq_attention(
        len(human), len(machine), embedding_dim=8, encoder_units=16, decoder_units=32
    )
    model.compile(
        keras.optimizers.Adam(1e-2),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
    )
    history = model.fit([x, decoder_in], y, batch_size=64, epochs=3, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.85 * losses[0], losses
    assert np.isfinite(losses).all()


def test_decoding_runs_under_xla():
    model = small_model(seed=6)
    source, _ = batch(6)
    inference = Seq2SeqInference(model)

    @tf.function(jit_compile=True)
    def decode(source):
        state = inference.initial_state(source)
        return beam_search(inference.step_fn, state, 1, 2, beam_width=3, max_length=5)

    compiled = decode(tf.constant(source))
    eager = inference.decode(source, max_length=5, beam_width=3)
    np.testing.assert_array_equal(compiled.sequences, eager.sequences)
    np.testing.assert_allclose(compiled.scores, eager.scores, atol=1e-5)


def test_one_training_step_under_mirrored_strategy_equals_one_device():
    from tests.strategies import two_cpu_strategy

    source, decoder_inputs = batch(7)
    source, decoder_inputs = np.tile(source, (2, 1)), np.tile(decoder_inputs, (2, 1))
    targets = np.roll(decoder_inputs, -1, axis=1)
    targets[:, -1] = 2

    def trained(strategy):
        with strategy.scope():
            model = small_model(seed=8)
            model.compile(
                keras.optimizers.SGD(0.5),
                keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
            )
        model.fit([source, decoder_inputs], targets, batch_size=6, epochs=1, verbose=0)
        return [np.asarray(w) for w in model.weights]

    single = trained(tf.distribute.get_strategy())
    mirrored = trained(two_cpu_strategy())
    for a, b in zip(single, mirrored, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert not np.allclose(single[-1], np.asarray(small_model(seed=8).weights[-1]))
