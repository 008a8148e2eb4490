"""Greedy search: pick the single most likely next token at every step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf

from kerasdl.decoding.step import (
    DecodeResult,
    StepFn,
    call_step_fn,
    check_count,
    check_step_fn,
    check_token_id,
    prepare_inputs,
    start_tokens,
    write_at,
)

# chooser(log_probs [rows, vocab], step) -> token ids [rows]
Chooser = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


def greedy_search(
    step_fn: StepFn,
    initial_state: Any,
    start_id: int | Any,
    end_id: int,
    max_length: int,
    pad_id: int | None = None,
) -> DecodeResult:
    """Greedy decoding: `y<t> = argmax_v P(v | x, y<1..t-1>)`, one hypothesis per example.

    Each example grows one hypothesis from `start_id`, taking the most likely token at
    every step (ties go to the lowest token id), until it emits `end_id` or has
    `max_length` tokens. A finished hypothesis is not extended; the loop stops as soon as
    every example has finished. Greedy search maximises each factor of

        P(y|x) = prod_{t=1..Ty} P(y<t> | x, y<1..t-1>)

    on its own, which does not maximise the product: `beam_search` keeps several
    candidates and usually finds a more likely sentence (with `beam_width=1` it is this).

    Args:
        step_fn: `step_fn(tokens, state) -> (log_probs, new_state)`, see
            `kerasdl.decoding.step`.
        initial_state: a nest of tensors with leading dimension `batch` (e.g. the
            encoder's output for the source sentences x), or `()`.
        start_id: the start token, an int or an int tensor `[batch]`.
        end_id: the end-of-sentence token; it counts in `Ty`.
        max_length: the most tokens generated per hypothesis (a Python int >= 1).
        pad_id: the token written after the end token; defaults to `end_id`.

    Returns:
        A `DecodeResult` with `num_return = 1`: `sequences [batch, 1, max_length]`,
        `lengths`, `log_probs` and `scores` (equal to `log_probs`) `[batch, 1]`.

    Example:

    >>> import numpy as np, tensorflow as tf
    >>> from kerasdl.decoding.greedy import greedy_search
    >>> # A Markov chain over 3 tokens: row i is P(next | previous token i); 2 is the end.
    >>> table = tf.math.log(tf.constant([[0.1, 0.6, 0.3],
    ...                                  [0.5, 0.1, 0.4],
    ...                                  [1/3, 1/3, 1/3]]))
    >>> step_fn = lambda tokens, state: (tf.gather(table, tokens), state)
    >>> result = greedy_search(step_fn, (), tf.constant([0, 1]), end_id=2, max_length=4)
    >>> result.sequences.numpy()[:, 0]
    array([[1, 0, 1, 0],
           [0, 1, 0, 1]], dtype=int32)
    >>> np.round(np.exp(result.log_probs.numpy()[:, 0]), 4)
    array([0.09, 0.09], dtype=float32)
    """
    check_token_id("end_id", end_id)
    return decode_single_path(
        step_fn,
        initial_state,
        start_id,
        end_id,
        max_length,
        pad_id,
        lambda log_probs, step: tf.argmax(log_probs, axis=-1, output_type=tf.int32),
    )


def decode_single_path(
    step_fn: StepFn,
    initial_state: Any,
    start_id: Any,
    end_id: int,
    max_length: int,
    pad_id: int | None,
    choose: Chooser,
) -> DecodeResult:
    """One hypothesis per example, extended by `choose(log_probs, step)` until it ends."""
    step_fn = check_step_fn(step_fn)
    end_id = check_token_id("end_id", end_id)
    max_length = check_count("max_length", max_length)
    pad_id = end_id if pad_id is None else check_token_id("pad_id", pad_id)
    state, start, batch = prepare_inputs(initial_state, start_id)
    tokens = start_tokens(start, batch, 1)

    sequences = tf.fill([batch, max_length], tf.constant(pad_id, tf.int32))
    log_probs = tf.zeros([batch], tf.float32)
    lengths = tf.zeros([batch], tf.int32)
    finished = tf.zeros([batch], tf.bool)

    def cond(step, tokens, state, sequences, log_probs, lengths, finished):
        return tf.logical_not(tf.reduce_all(finished))

    def body(step, tokens, state, sequences, log_probs, lengths, finished):
        token_log_probs, state = call_step_fn(step_fn, tokens, state, batch, end_id)
        chosen = tf.cast(choose(token_log_probs, step), tf.int32)
        live = tf.logical_not(finished)
        picked = tf.gather(token_log_probs, chosen, axis=1, batch_dims=1)
        log_probs = log_probs + tf.where(live, picked, 0.0)
        lengths = lengths + tf.cast(live, tf.int32)
        sequences = write_at(sequences, step, chosen, live)
        finished = tf.logical_or(finished, tf.equal(chosen, end_id))
        tokens = tf.where(finished, end_id, chosen)
        return step + 1, tokens, state, sequences, log_probs, lengths, finished

    _, _, _, sequences, log_probs, lengths, _ = tf.while_loop(
        cond,
        body,
        (tf.constant(0), tokens, state, sequences, log_probs, lengths, finished),
        maximum_iterations=max_length,
    )
    return DecodeResult(
        sequences=sequences[:, None, :],
        lengths=lengths[:, None],
        log_probs=log_probs[:, None],
        scores=log_probs[:, None],
    )
