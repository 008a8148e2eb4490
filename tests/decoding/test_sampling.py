"""sample(): chi-square goodness of fit of the drawn tokens (first token and token pairs)
against the temperature / top-k distribution computed in numpy; top_k=1 is greedy; model
log-probabilities; seeds reproduce in eager, graph and XLA; argument errors."""

import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from kerasdl.decoding.greedy import greedy_search
from kerasdl.decoding.sampling import sample
from tests.decoding.reference import MarkovChain, TinyRNN, log_prob, trim

VOCAB, END = 6, 5
DRAWS = 6000


def reshaped(log_probs, temperature, top_k):
    """Q(v) ∝ exp(log P(v) / T) on the top_k most likely tokens, 0 elsewhere."""
    logits = np.asarray(log_probs, np.float64) / temperature
    if top_k is not None:
        kth = np.sort(logits)[-top_k]
        logits = np.where(logits >= kth, logits, -np.inf)
    q = np.exp(logits - logits.max())
    return q / q.sum()


def chi_square_p(observed, expected_probs):
    """p-value of observed counts under expected probabilities (zero-probability cells
    must be empty; they are dropped)."""
    observed = np.asarray(observed, np.float64)
    support = expected_probs > 0
    assert observed[~support].sum() == 0
    expected = expected_probs[support] * observed.sum()
    return stats.chisquare(observed[support], expected).pvalue


@pytest.mark.parametrize("temperature, top_k", [(1.0, None), (0.6, None), (1.7, 3)])
def test_token_frequencies_match_the_reshaped_distribution(temperature, top_k):
    chain = MarkovChain(VOCAB, 4, scale=1.0)
    result = sample(
        chain.step_fn,
        (),
        tf.zeros([DRAWS], tf.int32),
        END,
        2,
        temperature=temperature,
        top_k=top_k,
        seed=11,
    )
    seqs = result.sequences.numpy()[:, 0]
    q = np.array([reshaped(row, temperature, top_k) for row in chain.table])
    # First tokens.
    first = np.bincount(seqs[:, 0], minlength=VOCAB)
    assert chi_square_p(first, q[0]) > 1e-3
    # Pairs (y1, y2): Q(y1) Q(y2 | y1); after the end token only padding follows.
    pairs = np.zeros((VOCAB, VOCAB))
    np.add.at(pairs, (seqs[:, 0], seqs[:, 1]), 1)
    joint = q[0][:, None] * q
    joint[END] = 0
    joint[END, END] = q[0][END]
    assert chi_square_p(pairs.ravel(), joint.ravel()) > 1e-3
    # The test can fail: the untempered distribution is rejected when T != 1.
    if temperature != 1.0 and top_k is None:
        assert chi_square_p(first, np.exp(chain.table[0])) < 1e-6


def test_rnn_frequencies_and_model_log_probs():
    rnn = TinyRNN(VOCAB, 4, 3, scale=1.0)
    h = np.repeat(rnn.initial_state(1, 3), 3000, axis=0)
    result = sample(
        rnn.step_fn, {"h": tf.constant(h, tf.float32)}, 0, END, 3, temperature=0.8, seed=5
    )
    seqs = result.sequences.numpy()[:, 0]
    first_probs, _ = rnn.np_step(0, h[0])
    q = reshaped(first_probs, 0.8, None)
    assert chi_square_p(np.bincount(seqs[:, 0], minlength=VOCAB), q) > 1e-3
    # Log P is the model's own (not the tempered one), summed up to the end token.
    for b in range(0, 3000, 500):
        tokens = trim(seqs[b], END)
        assert result.lengths[b, 0] == len(tokens)
        want = log_prob(rnn, h[b], 0, END, tokens)
        np.testing.assert_allclose(result.log_probs[b, 0], want, atol=1e-5)


def test_top_k_one_is_greedy():
    rnn = TinyRNN(VOCAB, 8, 6)
    state = {"h": tf.constant(rnn.initial_state(5, 6), tf.float32)}
    drawn = sample(rnn.step_fn, state, 0, END, 7, temperature=3.0, top_k=1, seed=2)
    plain = greedy_search(rnn.step_fn, state, 0, END, 7)
    for field in ("sequences", "lengths", "log_probs"):
        np.testing.assert_array_equal(getattr(drawn, field), getattr(plain, field))


def test_seed_reproduces_in_eager_graph_and_xla():
    rnn = TinyRNN(VOCAB, 8, 7, scale=0.5)
    state = {"h": tf.constant(rnn.initial_state(40, 7), tf.float32)}

    def draw(s):
        return sample(rnn.step_fn, s, 0, END, 6, temperature=1.3, top_k=4, seed=123)

    eager = draw(state)
    np.testing.assert_array_equal(draw(state).sequences, eager.sequences)
    for compiled in (tf.function(draw), tf.function(draw, jit_compile=True)):
        got = compiled(state)
        np.testing.assert_array_equal(got.sequences, eager.sequences)
        np.testing.assert_allclose(got.log_probs, eager.log_probs, atol=1e-5)
    other = sample(rnn.step_fn, state, 0, END, 6, temperature=1.3, top_k=4, seed=124)
    assert not np.array_equal(other.sequences, eager.sequences)
    fresh = [sample(rnn.step_fn, state, 0, END, 6).sequences.numpy() for _ in range(2)]
    assert not np.array_equal(*fresh)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"temperature": 0.0}, ValueError, r"`temperature` must be > 0. Received: temperature=0"),
        ({"temperature": -1}, ValueError, r"`temperature` must be > 0"),
        ({"temperature": "hot"}, TypeError, r"`temperature` must be a number"),
        ({"top_k": 0}, ValueError, r"`top_k` must be >= 1. Received: top_k=0"),
        ({"seed": 1.5}, TypeError, r"`seed` must be an int or None"),
        ({"max_length": 0}, ValueError, r"`max_length` must be >= 1"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    chain = MarkovChain(VOCAB, 0)
    args = dict(step_fn=chain.step_fn, initial_state=(), start_id=tf.constant([0]), end_id=END)
    args["max_length"] = 3
    args.update(kwargs)
    with pytest.raises(error, match=match):
        sample(**args)
