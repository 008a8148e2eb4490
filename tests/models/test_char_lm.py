"""char_lm: a numpy GRU language model from the layer weights, the step function against
the model on the same prefix (LSTM and GRU, stacked), sampling through kerasdl.decoding,
`.keras` round trips, errors, and a short fit on names."""

import keras
import numpy as np
import pytest

from kerasdl.data.vocabulary import Vocabulary
from kerasdl.decoding.greedy import greedy_search
from kerasdl.decoding.sampling import sample
from kerasdl.decoding.scoring import sequence_log_prob
from kerasdl.models.char_lm import LanguageModelStep, char_lm

VOCAB = 11


def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def tokens(seed=0, shape=(3, 6)):
    ids = np.random.default_rng(seed).integers(3, VOCAB, size=shape).astype("int32")
    ids[:, 0] = 1
    return ids


def test_gru_model_matches_numpy_formulas():
    keras.utils.set_random_seed(0)
    model = char_lm(VOCAB, units=5, embedding_dim=4, cell="gru")
    ids = tokens()
    logits = np.asarray(model(ids), np.float64)
    E = np.asarray(model.get_layer("embedding").embeddings, np.float64)
    cell = model.get_layer("rnn_0").cell
    W, U, bias = (
        np.asarray(v, np.float64) for v in (cell.kernel, cell.recurrent_kernel, cell.bias)
    )
    Wy, by = (np.asarray(v, np.float64) for v in model.get_layer("logits").weights)
    for b in range(len(ids)):
        a = np.zeros(5)
        for t, token in enumerate(ids[b]):
            # Keras' GRU (reset_after=True): gates update z, reset r, candidate h~.
            x = E[token] @ W + bias[0]
            h = a @ U + bias[1]
            z = sigmoid(x[:5] + h[:5])
            r = sigmoid(x[5:10] + h[5:10])
            candidate = np.tanh(x[10:] + r * h[10:])
            a = z * a + (1 - z) * candidate
            np.testing.assert_allclose(logits[b, t], a @ Wy + by, atol=1e-5)


@pytest.mark.parametrize("cell, num_layers", [("lstm", 1), ("gru", 2), ("lstm", 2)])
def test_step_fn_equals_model_on_the_same_prefix(cell, num_layers):
    keras.utils.set_random_seed(1)
    model = char_lm(VOCAB, units=6, embedding_dim=4, cell=cell, num_layers=num_layers)
    ids = tokens(1)
    expected = log_softmax(np.asarray(model(ids), np.float64))
    step = LanguageModelStep(model)
    state = step.initial_state(3)
    assert len(state) == num_layers
    assert all(len(s) == (2 if cell == "lstm" else 1) for s in state)
    for t in range(ids.shape[1]):
        log_probs, state = step.step_fn(ids[:, t], state)
        np.testing.assert_allclose(log_probs, expected[:, t], atol=1e-5)
    # log P(y) through the step function equals the model's teacher-forced sum.
    targets = np.concatenate([ids[:, 1:], np.full((3, 1), 2)], axis=1)
    picked = np.take_along_axis(expected, targets[..., None], -1)[..., 0].sum(-1)
    scored = sequence_log_prob(step.step_fn, step.initial_state(3), targets, 1, 2)
    np.testing.assert_allclose(scored, picked, atol=1e-4)


def test_sampling_follows_the_model():
    keras.utils.set_random_seed(2)
    model = char_lm(VOCAB, units=6, embedding_dim=4)
    step = LanguageModelStep(model)
    # top_k=1 is greedy search.
    greedy = greedy_search(step.step_fn, step.initial_state(2), 1, 2, max_length=7)
    top1 = sample(step.step_fn, step.initial_state(2), 1, 2, max_length=7, top_k=1, seed=0)
    np.testing.assert_array_equal(top1.sequences, greedy.sequences)
    # The first token's frequencies over many samples follow the model's softmax.
    first = sample(step.step_fn, step.initial_state(4000), 1, 2, max_length=1, seed=3)
    counts = np.bincount(first.sequences.numpy()[:, 0, 0], minlength=VOCAB) / 4000
    expected = np.exp(log_softmax(np.asarray(model(np.ones((1, 1), "int32")), np.float64)))
    np.testing.assert_allclose(counts, expected[0, 0], atol=0.03)
    # Same seed, same samples; the log-probabilities are the model's own.
    again = sample(step.step_fn, step.initial_state(2), 1, 2, max_length=7, seed=5)
    once = sample(step.step_fn, step.initial_state(2), 1, 2, max_length=7, seed=5)
    np.testing.assert_array_equal(again.sequences, once.sequences)
    rescored = sequence_log_prob(step.step_fn, step.initial_state(2), once.sequences[:, 0], 1, 2)
    np.testing.assert_allclose(rescored, once.log_probs[:, 0], atol=1e-4)


def test_keras_round_trip(tmp_path):
    keras.utils.set_random_seed(3)
    model = char_lm(VOCAB, units=6, embedding_dim=4, cell="gru", num_layers=2, dropout=0.1)
    path = str(tmp_path / "lm.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    ids = tokens(3)
    np.testing.assert_allclose(loaded(ids), model(ids), atol=1e-6)
    step = LanguageModelStep(loaded)
    log_probs, _ = step.step_fn(ids[:, 0], step.initial_state(3))
    np.testing.assert_allclose(
        log_probs, log_softmax(np.asarray(model(ids[:, :1])))[:, 0], atol=1e-5
    )


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"`cell` must be one of \('lstm', 'gru'\)"):
        char_lm(10, cell="rnn")
    with pytest.raises(ValueError, match=r"`dropout` must be in \[0, 1\)"):
        char_lm(10, dropout=1.0)
    with pytest.raises(TypeError, match=r"`units` must be a positive int"):
        char_lm(10, units=2.5)
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"`model` must be a char_lm model"):
        LanguageModelStep(plain)


def test_short_fit_reduces_loss():
    keras.utils.set_random_seed(4)
    names = ["anna", "anne", "hannah", "joanna", "ann", "nan", "hanna", "johanna"] * 16
    vocab = Vocabulary.from_texts(names)
    inputs = vocab.encode(names, start=True)
    targets = vocab.encode(names, end=True)
    model = char_lm(len(vocab), units=16, embedding_dim=8)
    model.compile(
        keras.optimizers.Adam(2e-2),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
    )
    losses = model.fit(inputs, targets, batch_size=32, epochs=6, verbose=0).history["loss"]
    assert losses[-1] < 0.6 * losses[0], losses
