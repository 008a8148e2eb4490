"""Scoring given sequences under the model with teacher forcing."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from kerasdl.decoding.step import (
    StepFn,
    call_step_fn,
    check_alpha,
    check_step_fn,
    check_token_id,
    first_end_lengths,
    length_normalize,
    prepare_inputs,
    start_tokens,
)


def sequence_log_prob(
    step_fn: StepFn,
    initial_state: Any,
    sequences: Any,
    start_id: int | Any,
    end_id: int,
    length_penalty_alpha: float = 0.0,
) -> tf.Tensor:
    """`log P(y|x)` of given sequences under the model, by teacher forcing.

    The step function is fed the start token and then the sequence's own tokens
    (teacher forcing), and the log-probabilities of the sequence's tokens are summed:

        score(y) = (1 / Ty^alpha) * sum_{t=1..Ty} log P(y<t> | x, y<1..t-1>)

    `Ty` is the position of the first `end_id` in the row (the end token counts, as in
    `beam_search`), or the row's full length T when it has no end token; tokens after the
    first end token are padding and are ignored. With `alpha = 0` (the default) this is
    the plain `log P(y|x)`; with the `length_penalty_alpha` of `beam_search` it is the
    score `beam_search` ranks by, so `sequence_log_prob` of a decoded hypothesis equals its
    `DecodeResult.scores` entry. All examples are scored together, in one
    `tf.while_loop` of at most T steps.

    Args:
        step_fn: `step_fn(tokens, state) -> (log_probs, new_state)` on `batch` rows.
        initial_state: a nest of tensors with leading dimension `batch` (the source
            sentences' encoding), or `()`.
        sequences: int tensor `[batch, T]` of token ids (without the start token), e.g.
            human translations `y*` or decoded ones `y_hat` (`result.sequences[:, 0]`).
        start_id: the start token, an int or an int tensor `[batch]`.
        end_id: the end-of-sentence token.
        length_penalty_alpha: alpha >= 0 in `Ty^alpha`.

    Returns:
        float32 `[batch]`, the (normalised) log-probability of each sequence.

    Example:

    >>> import numpy as np, tensorflow as tf
    >>> from kerasdl.decoding.scoring import sequence_log_prob
    >>> table = tf.math.log(tf.constant([[0.1, 0.6, 0.3],
    ...                                  [0.5, 0.1, 0.4],
    ...                                  [0.1, 0.8, 0.1]]))
    >>> step_fn = lambda tokens, state: (tf.gather(table, tokens), state)
    >>> # P(1 | 0) P(2 | 1) = 0.6 * 0.4 (padding after the end is ignored), and P(2 | 0).
    >>> y = tf.constant([[1, 2, 2, 2], [2, 2, 2, 2]])
    >>> logp = sequence_log_prob(step_fn, (), y, tf.constant([0, 0]), end_id=2)
    >>> np.round(np.exp(logp.numpy()), 3)
    array([0.24, 0.3 ], dtype=float32)
    """
    step_fn = check_step_fn(step_fn)
    end_id = check_token_id("end_id", end_id)
    alpha = check_alpha(length_penalty_alpha)
    state, start, batch = prepare_inputs(initial_state, start_id)
    sequences = tf.convert_to_tensor(sequences)
    if not sequences.dtype.is_integer or sequences.shape.rank != 2:
        raise ValueError(
            "`sequences` must be an int tensor of shape [batch, T]. Received: sequences "
            f"with dtype {sequences.dtype.name} and shape {tuple(sequences.shape)}"
        )
    static_batch = batch if isinstance(batch, int) else None
    if static_batch is not None and sequences.shape[0] not in (None, static_batch):
        raise ValueError(
            f"`sequences` must have the batch size {static_batch} of `initial_state`. "
            f"Received: sequences.shape={tuple(sequences.shape)}"
        )
    if sequences.shape[1] == 0:
        raise ValueError(
            "`sequences` must hold at least one token per row. "
            f"Received: sequences.shape={tuple(sequences.shape)}"
        )
    sequences = tf.cast(sequences, tf.int32)
    lengths = first_end_lengths(sequences, end_id)
    steps = tf.reduce_max(lengths)
    total = tf.zeros(tf.shape(sequences)[:1], tf.float32)
    tokens = start_tokens(start, tf.shape(sequences)[0] if static_batch is None else batch, 1)

    def cond(step, tokens, state, total):
        return step < steps

    def body(step, tokens, state, total):
        token_log_probs, state = call_step_fn(step_fn, tokens, state, batch, end_id)
        # Padding after a row's end may hold any id (e.g. -1): feed and read the end
        # token there instead.
        live = step < lengths
        target = tf.where(live, sequences[:, step], end_id)
        picked = tf.gather(token_log_probs, target, axis=1, batch_dims=1)
        total = total + tf.where(live, picked, 0.0)
        return step + 1, target, state, total

    _, _, _, total = tf.while_loop(
        cond, body, (tf.constant(0), tokens, state, total), maximum_iterations=sequences.shape[1]
    )
    return length_normalize(total, lengths, alpha)
