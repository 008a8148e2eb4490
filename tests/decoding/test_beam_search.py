"""beam_search against numpy exhaustive search (a wide beam is exact) and numpy greedy search
(beam width 1), on Markov chains and a small RNN; finished hypotheses, num_return order,
eager / graph / XLA, dynamic batch, and argument errors."""

import numpy as np
import pytest
import tensorflow as tf

from kerasdl.decoding.beam_search import beam_search
from kerasdl.decoding.greedy import greedy_search
from tests.decoding.reference import MarkovChain, TinyRNN, exhaustive, greedy, log_prob, trim

VOCAB, END, MAX_LENGTH = 5, 4, 4
# Enough for every candidate of every step but the last (16 * 5 + 5 = 85 at step 3), so the
# search is exhaustive.
WIDE = 85


def markov_case(seed):
    chain = MarkovChain(VOCAB, seed)
    starts = np.array([0, 1, 2])
    return chain, (), tf.constant(starts), [(s, None) for s in starts]


def rnn_case(seed):
    rnn = TinyRNN(VOCAB, 6, seed)
    h = rnn.initial_state(3, seed)
    return rnn, {"h": tf.constant(h, tf.float32)}, 0, [(0, row) for row in h]


def check_hypotheses(result, model, examples, alpha, pad_id=END):
    """Every returned hypothesis: padding after its end, Ty, log P and score by numpy."""
    max_length = result.sequences.shape[-1]
    seqs, lengths = result.sequences.numpy(), result.lengths.numpy()
    for b, (start, state) in enumerate(examples):
        for k in range(seqs.shape[1]):
            row = seqs[b, k].tolist()
            ty = int(lengths[b, k])
            body = row[:ty]
            if END in body:
                assert body.index(END) == ty - 1
            else:
                assert ty == max_length
            assert all(t == pad_id for t in row[ty:])
            want = log_prob(model, state, start, END, body)
            np.testing.assert_allclose(result.log_probs[b, k], want, atol=2e-5)
            np.testing.assert_allclose(result.scores[b, k], want / ty**alpha, atol=2e-5)


@pytest.mark.parametrize("case", [markov_case, rnn_case])
@pytest.mark.parametrize("alpha", [0.0, 0.7, 1.0])
def test_wide_beam_is_exhaustive_search(case, alpha):
    num_return = 6
    for seed in range(2):
        model, state, start, examples = case(seed)
        result = beam_search(
            model.step_fn, state, start, END, WIDE, MAX_LENGTH, alpha, num_return=num_return
        )
        check_hypotheses(result, model, examples, alpha)
        for b, (s, st) in enumerate(examples):
            want = exhaustive(model, st, s, END, MAX_LENGTH, alpha)[:num_return]
            # A Markov chain ties sequences that use the same transitions in another
            # order, so compare scores; check_hypotheses ties each row to its score.
            np.testing.assert_allclose(result.scores[b], [h[3] for h in want], atol=2e-5)
            got = [trim(row, END) for row in result.sequences[b].numpy()]
            assert len(set(got)) == num_return
            if want[0][3] - want[1][3] > 1e-4:
                assert got[0] == want[0][0]


def test_narrow_beam_is_a_heuristic():
    """A narrow beam never beats exhaustive search, and on some chains it loses."""
    worse = 0
    for seed in range(12):
        model, state, start, examples = markov_case(seed)
        narrow = beam_search(model.step_fn, state, start, END, 2, MAX_LENGTH, 0.7)
        for b, (s, st) in enumerate(examples):
            best = exhaustive(model, st, s, END, MAX_LENGTH, 0.7)[0][3]
            assert narrow.scores[b, 0] <= best + 1e-5
            worse += bool(narrow.scores[b, 0] < best - 1e-4)
    assert worse > 0


@pytest.mark.parametrize("case", [markov_case, rnn_case])
def test_beam_width_one_equals_greedy(case):
    for seed in range(4):
        model, state, start, examples = case(seed)
        beam = beam_search(model.step_fn, state, start, END, 1, 6, length_penalty_alpha=0.7)
        plain = greedy_search(model.step_fn, state, start, END, 6)
        for field in ("sequences", "lengths", "log_probs"):
            np.testing.assert_array_equal(getattr(beam, field), getattr(plain, field))
        for b, (s, st) in enumerate(examples):
            tokens, logp = greedy(model, st, s, END, 6)
            assert trim(plain.sequences[b, 0].numpy(), END) == tokens
            np.testing.assert_allclose(plain.log_probs[b, 0], logp, atol=2e-5)
        np.testing.assert_array_equal(plain.scores, plain.log_probs)


def test_num_return_best_first():
    model, state, start, examples = rnn_case(3)
    result = beam_search(model.step_fn, state, start, END, 8, 6, 0.7, num_return=5)
    assert tuple(result.sequences.shape) == (3, 5, 6)
    scores = result.scores.numpy()
    assert np.all(np.diff(scores, axis=1) <= 0)
    check_hypotheses(result, model, examples, 0.7)
    for b in range(3):
        rows = {trim(r, END) for r in result.sequences[b].numpy()}
        assert len(rows) == 5
    # The best of num_return=5 is the num_return=1 answer.
    one = beam_search(model.step_fn, state, start, END, 8, 6, 0.7, num_return=1)
    np.testing.assert_array_equal(one.sequences[:, 0], result.sequences[:, 0])


def test_finished_hypotheses_are_never_extended():
    """The end token is likely and P(anything | end) is tiny: extending a finished
    hypothesis would show as extra tokens or a lower log P. The search also stops as
    soon as every beam entry has finished."""
    table = np.full((VOCAB, VOCAB), -6.0)
    table[:, END] = -0.05
    table[0, 1] = -0.1
    table[END] = -20.0
    table = table - np.log(np.exp(table).sum(1, keepdims=True))
    chain = MarkovChain(VOCAB, 0)
    chain.table, chain._table = table, tf.constant(table, tf.float32)
    calls = []

    def counting(tokens, state):
        calls.append(1)
        return chain.step_fn(tokens, state)

    result = beam_search(counting, (), tf.constant([0, 2]), END, 3, 10, 0.7, num_return=3, pad_id=7)
    assert len(calls) < 10
    seqs = result.sequences.numpy()
    for b, start in enumerate([0, 2]):
        for k in range(3):
            ty = int(result.lengths[b, k])
            assert seqs[b, k, ty - 1] == END and END not in seqs[b, k, : ty - 1]
            assert np.all(seqs[b, k, ty:] == 7)
            want = log_prob(chain, None, start, END, seqs[b, k, :ty].tolist())
            np.testing.assert_allclose(result.log_probs[b, k], want, atol=1e-5)


def test_kept_finished_hypothesis_survives_eviction():
    """[end] finishes at step 1 and is pushed out of the width-2 beam at step 2 by [1, 2]
    and [1, 3] (better averaged log P while growing); their continuations then all score
    worse, so [end] is still the answer."""
    p = np.full((VOCAB, VOCAB), 1e-4)
    p[0, 1], p[0, END] = 0.55, 0.45
    p[1, 2] = p[1, 3] = 0.5
    p[2] = p[3] = p[END] = 0.2
    table = np.log(p / p.sum(1, keepdims=True))
    chain = MarkovChain(VOCAB, 0)
    chain.table, chain._table = table, tf.constant(table, tf.float32)
    best = exhaustive(chain, None, 0, END, 3, 1.0)
    assert best[0][0] == (END,)
    result = beam_search(chain.step_fn, (), tf.constant([0]), END, 2, 3, 1.0, num_return=2)
    assert trim(result.sequences[0, 0].numpy(), END) == (END,)
    np.testing.assert_allclose(result.scores[0, 0], best[0][3], atol=1e-5)
    # The runner-up is one of the hypotheses that evicted it, cut at max_length.
    assert result.lengths[0, 1] == 3 and tuple(result.sequences[0, 1, :2].numpy()) in {
        (1, 2),
        (1, 3),
    }


def rnn_decode(model, state):
    return beam_search(model.step_fn, state, 0, END, 4, 5, 0.7, num_return=2)


def test_eager_graph_and_xla_agree():
    model, state, _, examples = rnn_case(5)
    eager = rnn_decode(model, state)
    graph = tf.function(lambda s: rnn_decode(model, s))(state)
    xla = tf.function(lambda s: rnn_decode(model, s), jit_compile=True)(state)
    for other in (graph, xla):
        np.testing.assert_array_equal(other.sequences, eager.sequences)
        np.testing.assert_array_equal(other.lengths, eager.lengths)
        np.testing.assert_allclose(other.scores, eager.scores, atol=1e-5)
    check_hypotheses(xla, model, examples, 0.7)


def test_dynamic_batch_and_per_example_start():
    model, state, _, _ = rnn_case(6)
    decode = tf.function(
        lambda h, start: beam_search(model.step_fn, {"h": h}, start, END, 3, 4, 0.7),
        input_signature=[tf.TensorSpec([None, 6]), tf.TensorSpec([None], tf.int32)],
    )
    starts = tf.constant([0, 2, 1])
    got = decode(state["h"], starts)
    want = beam_search(model.step_fn, state, starts, END, 3, 4, 0.7)
    np.testing.assert_array_equal(got.sequences, want.sequences)
    assert tuple(decode(state["h"][:2], starts[:2]).sequences.shape) == (2, 1, 4)


def test_fewer_hypotheses_than_num_return():
    """With max_length 1 and 3 tokens there are only 3 hypotheses: the 4th row is empty."""
    chain = MarkovChain(3, 0)
    result = beam_search(chain.step_fn, (), tf.constant([0]), 2, 4, 1, num_return=4)
    assert np.isneginf(result.scores[0, 3]) and result.lengths[0, 3] == 0
    assert sorted(result.sequences[0, :3, 0].numpy().tolist()) == [0, 1, 2]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"beam_width": 0}, ValueError, r"`beam_width` must be >= 1. Received: beam_width=0"),
        ({"beam_width": 2.0}, TypeError, r"`beam_width` must be a Python int"),
        ({"num_return": 4}, ValueError, r"`num_return` must be <= beam_width=3. Received"),
        ({"num_return": 0}, ValueError, r"`num_return` must be >= 1"),
        ({"max_length": 0}, ValueError, r"`max_length` must be >= 1. Received: max_length=0"),
        ({"length_penalty_alpha": -0.5}, ValueError, r"`length_penalty_alpha` must be >= 0"),
        ({"end_id": -1}, ValueError, r"`end_id` must be >= 0. Received: end_id=-1"),
        ({"end_id": 9}, ValueError, r"`end_id` must be < the vocabulary size 5"),
        ({"start_id": "a"}, ValueError, r"`start_id` must be an int or an int tensor"),
        ({"pad_id": -2}, ValueError, r"`pad_id` must be >= 0"),
        ({"step_fn": 3}, TypeError, r"`step_fn` must be a callable"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    chain = MarkovChain(VOCAB, 0)
    args = dict(
        step_fn=chain.step_fn,
        initial_state=(),
        start_id=tf.constant([0, 1]),
        end_id=END,
        beam_width=3,
        max_length=4,
    )
    args.update(kwargs)
    with pytest.raises(error, match=match):
        beam_search(**args)


@pytest.mark.parametrize(
    "step_fn, match",
    [
        (
            lambda t, s: (tf.zeros([2, 5]), s),
            r"log_probs of shape \[batch \* beams, vocab\] = "
            r"\[6, vocab\]. Received: log_probs.shape=\(2, 5\)",
        ),
        (lambda t, s: (tf.zeros([6]), s), r"Received: log_probs.shape=\(6,\)"),
        (lambda t, s: tf.zeros([6, 5]), r"must return a pair"),
        (lambda t, s: (tf.zeros([6, 5], tf.int32), s), r"float `log_probs`"),
        (lambda t, s: (tf.zeros([6, 5]), (s, s)), r"structure of `state`"),
        (lambda t, s: (tf.zeros([6, 5]), s[:, :1]), r"shapes and dtypes of `state`"),
    ],
)
def test_bad_step_fn_outputs(step_fn, match):
    with pytest.raises((ValueError, TypeError), match=match):
        beam_search(step_fn, tf.zeros([2, 3]), 0, END, 3, 4)


def test_state_without_batch():
    chain = MarkovChain(VOCAB, 0)
    with pytest.raises(ValueError, match=r"batch size is unknown"):
        beam_search(chain.step_fn, (), 0, END, 3, 4)
    with pytest.raises(ValueError, match=r"same leading batch dimension 2"):
        beam_search(chain.step_fn, (tf.zeros([2, 3]), tf.zeros([3, 3])), 0, END, 3, 4)
