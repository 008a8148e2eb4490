"""Beam search with the notes' length normalisation, batched and in-graph."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from kerasdl.decoding.step import (
    NEG_INF,
    DecodeResult,
    StepFn,
    call_step_fn,
    check_alpha,
    check_count,
    check_step_fn,
    check_token_id,
    length_normalize,
    prepare_inputs,
    start_tokens,
    tile_state,
    write_at,
)


def beam_search(
    step_fn: StepFn,
    initial_state: Any,
    start_id: int | Any,
    end_id: int,
    beam_width: int,
    max_length: int,
    length_penalty_alpha: float = 0.7,
    num_return: int = 1,
    pad_id: int | None = None,
) -> DecodeResult:
    """Beam search for `argmax_y P(y|x)`, ranking hypotheses by length-normalised log-likelihood.

    Every hypothesis `y = (y<1>, ..., y<Ty>)` is scored by the notes' normalised
    log-likelihood objective

        score(y) = (1 / Ty^alpha) * sum_{t=1..Ty} log P(y<t> | x, y<1..t-1>)

    with `alpha = length_penalty_alpha` (`alpha = 1` averages the log-probabilities per
    word, `alpha = 0` is the plain sum, i.e. no normalisation). `Ty` counts the generated
    tokens including the end token when one was emitted: it is the number of terms in the
    sum (the start token is given, not generated, and does not count).

    The beam holds `B = beam_width` hypotheses per example. At step t every unfinished
    hypothesis is extended by each of the V tokens of the vocabulary; these `B * V`
    candidates and the finished hypotheses already in the beam (carried over unchanged)
    are ranked by `score`, and the best B form the next beam. A hypothesis that emits
    `end_id` is finished: it keeps its place while it ranks in the top B, is never
    extended, and is also kept aside among the `num_return` best finished hypotheses, so
    it is not lost when better-scoring unfinished ones push it out of the beam. The search
    stops when every hypothesis in the beam is finished, or after `max_length` steps;
    unfinished hypotheses then count as finished at `Ty = max_length`. The `num_return`
    best of all finished hypotheses come back, best first. With `beam_width=1` this is
    greedy search; with a beam wider than the number of candidates it is exhaustive
    search (every sequence of at most `max_length` tokens); in between it is a heuristic
    that may miss the argmax (see `beam_error_analysis`).

    At the first step only the start hypothesis is live, so no two beam entries repeat.
    `step_fn` runs on all `batch * beam_width` rows each step (finished rows included), so
    shapes stay fixed under `tf.function(jit_compile=True)`.

    Args:
        step_fn: `step_fn(tokens, state) -> (log_probs, new_state)` on
            `batch * beam_width` rows, see `kerasdl.decoding.step`. It must return
            normalised log-probabilities (e.g. `log_softmax` of the logits).
        initial_state: a nest of tensors with leading dimension `batch`, or `()`; each
            example's rows are repeated `beam_width` times (row `b * beam_width + k`).
        start_id: the start token, an int or an int tensor `[batch]`.
        end_id: the end-of-sentence token.
        beam_width: B, the number of hypotheses kept per example (an int >= 1; production
            systems often use about 10).
        max_length: the most tokens generated per hypothesis (an int >= 1).
        length_penalty_alpha: alpha >= 0 in `Ty^alpha`; the notes' default 0.7.
        num_return: how many of the best hypotheses to return (1 <= num_return <= B).
        pad_id: the token written after the end token; defaults to `end_id`.

    Returns:
        A `DecodeResult`: `sequences [batch, num_return, max_length]`, `lengths`,
        `log_probs` and `scores` `[batch, num_return]`, ordered by decreasing score.

    Example:

    >>> import numpy as np, tensorflow as tf
    >>> from kerasdl.decoding.beam_search import beam_search
    >>> from kerasdl.decoding.greedy import greedy_search
    >>> # P(next | previous) of a Markov chain over 3 tokens; token 2 ends the sentence.
    >>> table = tf.math.log(tf.constant([[0.1, 0.6, 0.3],
    ...                                  [0.5, 0.1, 0.4],
    ...                                  [0.1, 0.8, 0.1]]))
    >>> step_fn = lambda tokens, state: (tf.gather(table, tokens), state)
    >>> start = tf.constant([0])
    >>> greedy = greedy_search(step_fn, (), start, end_id=2, max_length=3)
    >>> greedy.sequences.numpy()[0, 0], float(np.round(np.exp(greedy.log_probs[0, 0]), 3))
    (array([1, 0, 1], dtype=int32), 0.18)
    >>> beams = beam_search(step_fn, (), start, end_id=2, beam_width=3, max_length=3,
    ...                     length_penalty_alpha=0.0, num_return=3)
    >>> beams.sequences.numpy()[0]
    array([[2, 2, 2],
           [1, 2, 2],
           [1, 0, 1]], dtype=int32)
    >>> np.round(np.exp(beams.log_probs.numpy()[0]), 3)
    array([0.3 , 0.24, 0.18], dtype=float32)
    >>> beams.lengths.numpy()[0]
    array([1, 2, 3], dtype=int32)
    """
    step_fn = check_step_fn(step_fn)
    end_id = check_token_id("end_id", end_id)
    beam_width = check_count("beam_width", beam_width)
    max_length = check_count("max_length", max_length)
    alpha = check_alpha(length_penalty_alpha)
    num_return = check_count("num_return", num_return)
    if num_return > beam_width:
        raise ValueError(
            f"`num_return` must be <= beam_width={beam_width}. Received: num_return={num_return}"
        )
    pad_id = end_id if pad_id is None else check_token_id("pad_id", pad_id)
    state, start, batch = prepare_inputs(initial_state, start_id)
    beams, keep = beam_width, num_return
    rows = batch * beams
    state = tile_state(state, beams)
    tokens = start_tokens(start, batch, beams)

    # The beam: per example `beams` hypotheses with raw log P, Ty, normalised score and a
    # finished flag. Only entry 0 is live at first; the others score -inf.
    first = tf.concat([[0.0], tf.fill([beams - 1], NEG_INF)], axis=0)
    beam_log_probs = tf.tile(first[None, :], [batch, 1])
    beam = (
        tf.fill([batch, beams, max_length], tf.constant(pad_id, tf.int32)),
        tf.zeros([batch, beams], tf.int32),
        beam_log_probs,
        beam_log_probs,
        tf.zeros([batch, beams], tf.bool),
    )
    # The `keep` best finished hypotheses seen so far: sequences, Ty, log P, score.
    kept = (
        tf.fill([batch, keep, max_length], tf.constant(pad_id, tf.int32)),
        tf.zeros([batch, keep], tf.int32),
        tf.fill([batch, keep], NEG_INF),
        tf.fill([batch, keep], NEG_INF),
    )

    def cond(step, tokens, state, beam, kept):
        sequences, lengths, log_probs, scores, finished = beam
        done = tf.logical_or(finished, tf.equal(scores, NEG_INF))
        return tf.logical_not(tf.reduce_all(done))

    def body(step, tokens, state, beam, kept):
        sequences, lengths, log_probs, scores, finished = beam
        token_log_probs, state = call_step_fn(step_fn, tokens, state, rows, end_id)
        vocab = tf.shape(token_log_probs)[-1]
        token_log_probs = tf.reshape(token_log_probs, [-1, beams, vocab])

        # The best `beams` extensions of the unfinished hypotheses (finished ones get a
        # -inf base). They all have Ty = step + 1, so ranking them by raw log P is ranking
        # them by score, and the [batch, beams, vocab] tensor sees one add and one top-k.
        extended = tf.where(finished, NEG_INF, log_probs)[:, :, None] + token_log_probs
        grown_log_probs, index = tf.math.top_k(
            tf.reshape(extended, [-1, beams * vocab]), beams, sorted=False
        )
        grown_scores = length_normalize(grown_log_probs, step + 1, alpha)
        # Then those against the finished hypotheses, carried over unchanged.
        candidates = (
            tf.concat([grown_scores, tf.where(finished, scores, NEG_INF)], axis=1),
            tf.concat([index // vocab, tf.broadcast_to(tf.range(beams), tf.shape(index))], axis=1),
            tf.concat([index % vocab, tf.fill(tf.shape(index), end_id)], axis=1),
            tf.concat([grown_log_probs, log_probs], axis=1),
            tf.concat([tf.fill(tf.shape(index), step + 1), lengths], axis=1),
            tf.concat([tf.zeros_like(finished), finished], axis=1),
        )
        new_scores, pick = tf.math.top_k(candidates[0], beams, sorted=False)
        parent, token, new_log_probs, new_lengths, was_finished = (
            tf.gather(x, pick, batch_dims=1) for x in candidates[1:]
        )
        extending = tf.logical_not(was_finished)
        new_sequences = write_at(tf.gather(sequences, parent, batch_dims=1), step, token, extending)
        ends = tf.logical_and(extending, tf.equal(token, end_id))
        new_finished = tf.logical_or(was_finished, ends)

        # Hypotheses finished at this step join the kept ones.
        kept = _best(
            keep,
            kept,
            (new_sequences, new_lengths, new_log_probs, tf.where(ends, new_scores, NEG_INF)),
        )
        flat_parent = tf.reshape(parent + beams * tf.range(tf.shape(parent)[0])[:, None], [-1])
        state = tf.nest.map_structure(lambda x: tf.gather(x, flat_parent), state)
        tokens = tf.reshape(tf.where(new_finished, end_id, token), [-1])
        beam = (new_sequences, new_lengths, new_log_probs, new_scores, new_finished)
        return step + 1, tokens, state, beam, kept

    _, _, _, beam, kept = tf.while_loop(
        cond,
        body,
        (tf.constant(0), tokens, state, beam, kept),
        maximum_iterations=max_length,
    )
    # Hypotheses still unfinished were cut at max_length; the finished ones are in `kept`.
    sequences, lengths, log_probs, scores, finished = beam
    cut = (sequences, lengths, log_probs, tf.where(finished, NEG_INF, scores))
    sequences, lengths, log_probs, scores = _best(keep, kept, cut)
    missing = tf.equal(scores, NEG_INF)
    return DecodeResult(
        sequences=tf.where(missing[:, :, None], pad_id, sequences),
        lengths=tf.where(missing, 0, lengths),
        log_probs=tf.where(missing, NEG_INF, log_probs),
        scores=scores,
    )


def _best(keep: int, first: tuple, second: tuple) -> tuple:
    """The `keep` best-scoring hypotheses of two sets `(sequences, lengths, log P, score)`,
    best first; on equal scores `first`'s come before `second`'s."""
    joined = [tf.concat([a, b], axis=1) for a, b in zip(first, second, strict=True)]
    scores, index = tf.math.top_k(joined[3], keep)
    sequences, lengths, log_probs = (tf.gather(x, index, batch_dims=1) for x in joined[:3])
    return sequences, lengths, log_probs, scores
