"""sequence_log_prob against numpy teacher forcing (end token, padding, rows without an end,
length normalisation), agreement with beam_search's scores, XLA, and argument errors."""

import numpy as np
import pytest
import tensorflow as tf

from kerasdl.decoding.beam_search import beam_search
from kerasdl.decoding.scoring import sequence_log_prob
from tests.decoding.reference import TinyRNN, log_prob, trim

VOCAB, END, T = 7, 6, 6


def random_sequences(rng, batch):
    """Rows with an end token at a random place (then padding -1) or none at all."""
    seqs = rng.integers(0, END, (batch, T))
    for row in seqs:
        cut = rng.integers(0, T + 1)
        if cut < T:
            row[cut] = END
            row[cut + 1 :] = -1
    return seqs


@pytest.mark.parametrize("alpha", [0.0, 0.7, 1.0])
def test_matches_numpy_teacher_forcing(alpha):
    rng = np.random.default_rng(0)
    rnn = TinyRNN(VOCAB, 8, 0)
    h = rnn.initial_state(12, 0)
    seqs = random_sequences(rng, 12)
    got = sequence_log_prob(
        rnn.step_fn, {"h": tf.constant(h, tf.float32)}, seqs, 0, END, length_penalty_alpha=alpha
    )
    for b in range(12):
        tokens = [t for t in trim(seqs[b], END) if t >= 0]
        want = log_prob(rnn, h[b], 0, END, tokens) / len(tokens) ** alpha
        np.testing.assert_allclose(got[b], want, atol=1e-5)


def test_equals_beam_search_scores_and_runs_under_xla():
    rnn = TinyRNN(VOCAB, 8, 1)
    state = {"h": tf.constant(rnn.initial_state(4, 1), tf.float32)}
    result = beam_search(rnn.step_fn, state, 0, END, 3, T, 0.7, num_return=3)
    score = tf.function(
        lambda s, y: sequence_log_prob(rnn.step_fn, s, y, 0, END, 0.7), jit_compile=True
    )
    for k in range(3):
        np.testing.assert_allclose(
            score(state, result.sequences[:, k]), result.scores[:, k], atol=1e-5
        )
        raw = sequence_log_prob(rnn.step_fn, state, result.sequences[:, k], 0, END)
        np.testing.assert_allclose(raw, result.log_probs[:, k], atol=1e-5)


def test_bad_sequences():
    rnn = TinyRNN(VOCAB, 8, 0)
    state = {"h": tf.zeros([2, 8])}
    with pytest.raises(ValueError, match=r"must be an int tensor of shape \[batch, T\]"):
        sequence_log_prob(rnn.step_fn, state, tf.zeros([2, 3]), 0, END)
    with pytest.raises(ValueError, match=r"`sequences` must be an int tensor"):
        sequence_log_prob(rnn.step_fn, state, np.zeros([2, 3, 1], np.int32), 0, END)
    with pytest.raises(ValueError, match=r"batch size 2 of `initial_state`"):
        sequence_log_prob(rnn.step_fn, state, np.zeros([3, 4], np.int32), 0, END)
    with pytest.raises(ValueError, match=r"at least one token"):
        sequence_log_prob(rnn.step_fn, state, np.zeros([2, 0], np.int32), 0, END)
    with pytest.raises(ValueError, match=r"`length_penalty_alpha` must be >= 0"):
        sequence_log_prob(rnn.step_fn, state, np.zeros([2, 3], np.int32), 0, END, -1.0)
