"""greedy_search against a numpy greedy loop on a Markov chain and a small RNN; padding,
early stop, eager / graph / XLA, and argument errors."""

import numpy as np
import pytest
import tensorflow as tf

from kerasdl.decoding.greedy import greedy_search
from tests.decoding.reference import MarkovChain, TinyRNN, greedy, trim

VOCAB, END = 6, 5


def test_matches_numpy_greedy_markov():
    for seed in range(3):
        chain = MarkovChain(VOCAB, seed)
        starts = np.arange(VOCAB)
        result = greedy_search(chain.step_fn, (), tf.constant(starts), END, 7)
        assert tuple(result.sequences.shape) == (VOCAB, 1, 7)
        for b, start in enumerate(starts):
            tokens, logp = greedy(chain, None, int(start), END, 7)
            assert trim(result.sequences[b, 0].numpy(), END) == tokens
            assert result.lengths[b, 0] == len(tokens)
            np.testing.assert_allclose(result.log_probs[b, 0], logp, atol=1e-5)


def test_matches_numpy_greedy_rnn_with_pad_id():
    rnn = TinyRNN(VOCAB, 8, 1)
    h = rnn.initial_state(4, 1)
    result = greedy_search(rnn.step_fn, {"h": tf.constant(h, tf.float32)}, 0, END, 9, pad_id=0)
    for b in range(4):
        tokens, logp = greedy(rnn, h[b], 0, END, 9)
        row = result.sequences[b, 0].numpy()
        assert tuple(row[: len(tokens)]) == tokens
        assert np.all(row[len(tokens) :] == 0)
        np.testing.assert_allclose(result.log_probs[b, 0], logp, atol=1e-5)


def test_stops_when_every_example_ended():
    chain = MarkovChain(VOCAB, 0)
    table = np.full((VOCAB, VOCAB), -9.0)
    table[:, END] = -0.01
    chain._table = tf.constant(table, tf.float32)
    calls = []

    def counting(tokens, state):
        calls.append(tokens.shape)
        return chain.step_fn(tokens, state)

    result = greedy_search(counting, (), tf.constant([0, 1, 2]), END, 50)
    assert len(calls) == 1
    np.testing.assert_array_equal(result.lengths, [[1], [1], [1]])


def test_eager_graph_and_xla_agree():
    rnn = TinyRNN(VOCAB, 8, 2)
    state = {"h": tf.constant(rnn.initial_state(3, 2), tf.float32)}

    def decode(s):
        return greedy_search(rnn.step_fn, s, 0, END, 6)

    eager = decode(state)
    for compiled in (tf.function(decode), tf.function(decode, jit_compile=True)):
        got = compiled(state)
        np.testing.assert_array_equal(got.sequences, eager.sequences)
        np.testing.assert_array_equal(got.lengths, eager.lengths)
        np.testing.assert_allclose(got.log_probs, eager.log_probs, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"max_length": 0}, ValueError, r"`max_length` must be >= 1. Received: max_length=0"),
        ({"max_length": None}, TypeError, r"`max_length` must be a Python int"),
        ({"end_id": 1.5}, TypeError, r"`end_id` must be a token id"),
        ({"end_id": 6}, ValueError, r"`end_id` must be < the vocabulary size 6"),
        ({"start_id": tf.zeros([2, 1], tf.int32)}, ValueError, r"`start_id` must be an int"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    chain = MarkovChain(VOCAB, 0)
    args = dict(step_fn=chain.step_fn, initial_state=(), start_id=tf.constant([0, 1]), end_id=END)
    args["max_length"] = 4
    args.update(kwargs)
    with pytest.raises(error, match=match):
        greedy_search(**args)


def test_wrong_log_probs_shape():
    with pytest.raises(ValueError, match=r"\[2, vocab\]. Received: log_probs.shape=\(2, 3, 6\)"):
        greedy_search(lambda t, s: (tf.zeros([2, 3, 6]), s), tf.zeros([2, 4]), 0, END, 3)
