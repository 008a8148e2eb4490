"""beam_error_analysis: verdicts and scores against a numpy re-derivation of the notes' rule,
on a trained-looking Markov chain and on a small RNN decoded with a narrow beam; scorer mode,
correct outputs, the summary, the table, and argument errors."""

import numpy as np
import pytest
import tensorflow as tf

from kerasdl.decoding.beam_search import beam_search
from kerasdl.decoding.error_analysis import BeamErrorAnalysis, beam_error_analysis
from tests.decoding.reference import TinyRNN, exhaustive, log_prob, trim

VOCAB, END = 5, 4


def numpy_verdicts(model, states, start, human, decoded, alpha):
    verdicts, human_scores, decoded_scores = [], [], []
    for b, state in enumerate(states):
        y_star, y_hat = trim(human[b], END), trim(decoded[b], END)
        s_star = log_prob(model, state, start, END, y_star) / len(y_star) ** alpha
        s_hat = log_prob(model, state, start, END, y_hat) / len(y_hat) ** alpha
        human_scores.append(s_star)
        decoded_scores.append(s_hat)
        if y_star == y_hat:
            verdicts.append("correct")
        else:
            verdicts.append("beam search" if s_star > s_hat else "model")
    return verdicts, np.array(human_scores), np.array(decoded_scores)


def rnn_dev_set(batch=24, seed=2, alpha=0.7):
    """An RNN "model", greedy (width-1 beam) outputs, and human translations: for half of
    the examples the model's exhaustive best (so a narrow beam's misses are beam-search
    errors), for the rest a random sentence (mostly model errors), and a few copies of
    the output (not errors)."""
    rng = np.random.default_rng(seed)
    rnn = TinyRNN(VOCAB, 6, seed, scale=1.0)
    h = rnn.initial_state(batch, seed)
    state = {"h": tf.constant(h, tf.float32)}
    decoded = beam_search(rnn.step_fn, state, 0, END, 1, 4, alpha)
    out = decoded.sequences.numpy()[:, 0]
    human = np.full((batch, 4), END)
    for b in range(batch):
        if b % 2 == 0:
            tokens = exhaustive(rnn, h[b], 0, END, 4, alpha)[0][0]
        elif b % 5 == 1:
            tokens = trim(out[b], END)
        else:
            tokens = tuple(rng.integers(0, END, rng.integers(1, 4))) + (END,)
        human[b, : len(tokens)] = tokens
    return rnn, h, state, human, decoded


def test_verdicts_match_numpy_rule():
    rnn, h, state, human, decoded = rnn_dev_set()
    analysis = beam_error_analysis(
        rnn.step_fn,
        [f"source {i}" for i in range(len(h))],
        human,
        decoded,
        end_id=END,
        start_id=0,
        initial_state=state,
    )
    assert isinstance(analysis, BeamErrorAnalysis)
    verdicts, human_scores, decoded_scores = numpy_verdicts(
        rnn, h, 0, human, decoded.sequences.numpy()[:, 0], 0.7
    )
    assert analysis.at_fault == tuple(verdicts)
    np.testing.assert_allclose(analysis.human_scores, human_scores, atol=1e-5)
    np.testing.assert_allclose(analysis.decoded_scores, decoded_scores, atol=1e-5)
    # The set-up produces every verdict.
    assert {"beam search", "model", "correct"} <= set(verdicts)
    summary = analysis.summary
    errors = sum(v != "correct" for v in verdicts)
    assert summary["examples"] == len(h) and summary["errors"] == errors
    assert summary["beam_search_fraction"] == pytest.approx(verdicts.count("beam search") / errors)
    assert summary["beam_search_fraction"] + summary["model_fraction"] == pytest.approx(1.0)
    np.testing.assert_array_equal(analysis.is_error, [v != "correct" for v in verdicts])


def test_wide_beam_leaves_no_beam_search_errors():
    """Against exhaustive search's answers, a beam wide enough to be exhaustive is never at
    fault; every remaining error is the model's."""
    rnn, h, state, human, _ = rnn_dev_set(seed=1)
    wide = beam_search(rnn.step_fn, state, 0, END, 85, 4, 0.7)
    analysis = beam_error_analysis(
        rnn.step_fn,
        list(range(len(h))),
        human,
        wide,
        end_id=END,
        start_id=0,
        initial_state=state,
    )
    assert "beam search" not in analysis.at_fault
    assert analysis.summary["model_fraction"] == 1.0
    assert all(analysis.at_fault[b] == "correct" for b in range(0, len(h), 2))


def test_scorer_mode_equals_step_fn_mode():
    rnn, h, state, human, decoded = rnn_dev_set(seed=2, alpha=1.0)

    def scorer(sources, sequences):
        # Unnormalised log P(y|x), by numpy teacher forcing on the sources' states.
        return np.array(
            [
                log_prob(rnn, sources[b], 0, END, trim(row, END))
                for b, row in enumerate(sequences.numpy())
            ]
        )

    by_scorer = beam_error_analysis(scorer, h, human, decoded, end_id=END, length_penalty_alpha=1.0)
    by_step = beam_error_analysis(
        rnn.step_fn,
        h,
        human,
        decoded,
        end_id=END,
        start_id=0,
        initial_state=state,
        length_penalty_alpha=1.0,
    )
    assert by_scorer.at_fault == by_step.at_fault
    np.testing.assert_allclose(by_scorer.human_scores, by_step.human_scores, atol=1e-5)


def test_ragged_lists_padding_and_table():
    rnn, h, state, _, decoded = rnn_dev_set(batch=3, seed=3)
    out = decoded.sequences.numpy()[:, 0]
    human = [list(trim(out[0], END)), [1, 2, END], [3, END]]
    # A decoded row padded with something else after its end is still equal.
    padded = out.copy()
    ty = int(decoded.lengths[0, 0])
    padded[0, ty:] = 3
    analysis = beam_error_analysis(
        rnn.step_fn,
        ["a b", b"c d", np.array([7, 8])],
        human,
        padded,
        end_id=END,
        start_id=0,
        initial_state=state,
        vocabulary={0: "w0", 1: "w1", 2: "w2", 3: "w3"},
    )
    assert analysis.at_fault[0] == "correct"
    table = analysis.to_table()
    lines = table.splitlines()
    assert lines[0].split()[:4] == ["#", "source", "x", "human"]
    assert lines[2].split()[1:3] == ["a", "b"] and "7 8" in lines[4]
    assert "w1 w2" in lines[3] and "</s>" not in table
    assert lines[-2].startswith(f"{analysis.summary['errors']} errors in 3 examples")
    assert str(analysis) == table
    assert len(analysis.to_table(max_rows=1).splitlines()) == 2 + 1 + 1 + 2


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"human_translations": np.zeros((2, 3), np.int32)}, ValueError, r"same number"),
        ({"decoded": np.zeros((3, 0), np.int32)}, ValueError, r"`decoded` must be token ids"),
        ({"human_translations": np.zeros((3, 2))}, ValueError, r"`human_translations` must"),
        ({"start_id": None}, ValueError, r"`start_id` is required"),
        ({"sources": ["a"]}, ValueError, r"`sources` must hold one source per example \(3\)"),
        ({"step_fn_or_scorer": "model"}, TypeError, r"`step_fn_or_scorer` must be"),
        ({"length_penalty_alpha": -1}, ValueError, r"`length_penalty_alpha` must be >= 0"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    rnn = TinyRNN(VOCAB, 6, 0)
    args = dict(
        step_fn_or_scorer=rnn.step_fn,
        sources=["a", "b", "c"],
        human_translations=np.full((3, 2), END),
        decoded=np.full((3, 2), END),
        end_id=END,
        start_id=0,
        initial_state={"h": tf.zeros([3, 6])},
    )
    args.update(kwargs)
    with pytest.raises(error, match=match):
        beam_error_analysis(**args)


def test_scorer_must_return_one_score_per_example():
    with pytest.raises(ValueError, match=r"one log-probability per example, shape \[2\]"):
        beam_error_analysis(
            lambda x, y: np.zeros(3),
            ["a", "b"],
            [[END], [END]],
            [[1, END], [END]],
            end_id=END,
        )
