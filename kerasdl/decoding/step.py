"""The step-function interface every decoder drives, and the result every decoder returns.

A decoder grows hypotheses one token at a time. At each step it calls

    log_probs, new_state = step_fn(tokens, state)

with `tokens` the last token id of every live hypothesis, an int32 tensor of shape
`[batch * beams]` (the start token at the first step), and `state` any nest of tensors
(dict, tuple, list, single tensor, or an empty tuple) whose leading dimension is
`batch * beams`. `log_probs[i, v] = log P(y<t> = v | x, y<1..t-1>)` is a float tensor of
shape `[batch * beams, vocab]` and `new_state` has the structure and shapes of `state`.
Rows are laid out example-major: hypothesis `k` of example `b` is row `b * beams + k`, so a
decoder that tiles the caller's `initial_state` (leading dimension `batch`) repeats each
example's row `beams` times, and reorders rows with a gather when the beam moves.

A step function is usually a few lines around a Keras decoder cell, e.g. for a GRU
language model with encoder state `h`:

    def step_fn(tokens, state):
        h, _ = cell(embedding(tokens), state["h"])
        return keras.ops.log_softmax(head(h)), {"h": h}

Step functions are traced into `tf.while_loop` bodies (all decoders run eagerly, under
`tf.function` and under `tf.function(jit_compile=True)`), so they must be built from
TensorFlow ops and keep the state's shapes fixed.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any, NamedTuple

import tensorflow as tf

from kerasdl._validation import check_count  # noqa: F401  (the decoding modules import it from here)

StepFn = Callable[[tf.Tensor, Any], tuple[tf.Tensor, Any]]

NEG_INF = float("-inf")


class DecodeResult(NamedTuple):
    """What `greedy_search`, `beam_search` and `sample` return (all tensors).

    Attributes:
        sequences: int32 `[batch, num_return, max_length]`, the generated tokens after the
            start token, best hypothesis first. A hypothesis that emitted `end_id` keeps it
            at position `length - 1`; every later position holds `pad_id` (by default
            `end_id`). A hypothesis that never emitted `end_id` fills all `max_length`
            positions (it was cut at `max_length`).
        lengths: int32 `[batch, num_return]`, `Ty`: the number of generated tokens,
            counting the end token when it was emitted (so `Ty` is the number of terms in
            the log-probability sum).
        log_probs: float32 `[batch, num_return]`,
            `log P(y|x) = sum_{t=1..Ty} log P(y<t> | x, y<1..t-1>)` under the model (before
            any temperature or top-k reshaping of the distribution).
        scores: float32 `[batch, num_return]`, the objective the hypotheses are ranked by:
            `log_probs / Ty^alpha` for `beam_search`, `log_probs` itself for
            `greedy_search` and `sample`.

    A row with score `-inf` is not a hypothesis (the search space held fewer than
    `num_return`); it has length 0 and only `pad_id` tokens.
    """

    sequences: tf.Tensor
    lengths: tf.Tensor
    log_probs: tf.Tensor
    scores: tf.Tensor


def check_token_id(name: str, value: Any) -> int:
    """Returns a token id as a Python int >= 0 (numpy ints accepted), else raises."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(
            f"`{name}` must be a token id (an int >= 0). Received: {name}={value!r} "
            f"of type {type(value).__name__}"
        )
    if value < 0:
        raise ValueError(f"`{name}` must be >= 0. Received: {name}={value}")
    return value


def check_alpha(value: Any) -> float:
    """Returns the length-penalty exponent as a float >= 0, else raises."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            "`length_penalty_alpha` must be a number >= 0. "
            f"Received: length_penalty_alpha={value!r}"
        )
    if not value >= 0:
        raise ValueError(
            f"`length_penalty_alpha` must be >= 0. Received: length_penalty_alpha={value}"
        )
    return float(value)


def check_step_fn(step_fn: Any) -> StepFn:
    if not callable(step_fn):
        raise TypeError(
            "`step_fn` must be a callable `step_fn(tokens, state) -> (log_probs, new_state)`. "
            f"Received: step_fn={step_fn!r}"
        )
    return step_fn


def prepare_inputs(initial_state: Any, start_id: Any) -> tuple[Any, Any, Any]:
    """Converts the state's leaves to tensors and returns `(state, start, batch_size)`.

    `start_id` is an int or an int tensor `[batch]` (one start token per example, e.g. a
    target-language tag). The batch size comes from the state's first leaf, else from a
    tensor `start_id`; it is a Python int when static, else a scalar tensor.
    """
    state = tf.nest.map_structure(tf.convert_to_tensor, initial_state)
    leaves = tf.nest.flatten(state)
    if isinstance(start_id, numbers.Integral) and not isinstance(start_id, bool):
        start = check_token_id("start_id", start_id)
    else:
        start = tf.convert_to_tensor(start_id)
        if not start.dtype.is_integer or start.shape.rank != 1:
            raise ValueError(
                "`start_id` must be an int or an int tensor of shape [batch]. "
                f"Received: start_id with dtype {start.dtype.name} and shape "
                f"{tuple(start.shape)}"
            )
        start = tf.cast(start, tf.int32)
    reference = leaves[0] if leaves else start
    if isinstance(reference, int):
        raise ValueError(
            "`initial_state` has no tensors, so the batch size is unknown: pass at least "
            "one state tensor or `start_id` as an int tensor of shape [batch]. "
            f"Received: initial_state={initial_state!r}, start_id={start_id!r}"
        )
    for leaf in leaves:
        if leaf.shape.rank is None or leaf.shape.rank == 0:
            raise ValueError(
                "Every tensor of `initial_state` must have a leading batch dimension. "
                f"Received: a state tensor of shape {tuple(leaf.shape)}"
            )
    static = reference.shape[0]
    for tensor in leaves + ([] if isinstance(start, int) else [start]):
        if static is not None and tensor.shape[0] is not None and tensor.shape[0] != static:
            raise ValueError(
                "Every tensor of `initial_state` (and a tensor `start_id`) must have the "
                f"same leading batch dimension {static}. Received: a tensor of shape "
                f"{tuple(tensor.shape)}"
            )
    batch = static if static is not None else tf.shape(reference)[0]
    return state, start, batch


def start_tokens(start: Any, batch: Any, beams: int) -> tf.Tensor:
    """The first step's `tokens`, int32 `[batch * beams]`."""
    if isinstance(start, int):
        return tf.fill([batch * beams], tf.constant(start, tf.int32))
    return tf.repeat(start, beams)


def tile_state(state: Any, beams: int) -> Any:
    """Repeats each example's state row `beams` times (row `b * beams + k`)."""
    if beams == 1:
        return state
    return tf.nest.map_structure(lambda x: tf.repeat(x, beams, axis=0), state)


def call_step_fn(
    step_fn: StepFn, tokens: tf.Tensor, state: Any, rows: Any, end_id: int
) -> tuple[tf.Tensor, Any]:
    """Calls `step_fn` and checks what it returns against the interface."""
    out = step_fn(tokens, state)
    if not isinstance(out, tuple | list) or len(out) != 2:
        raise ValueError(
            "`step_fn` must return a pair `(log_probs, new_state)`. "
            f"Received: a {type(out).__name__}"
            + (f" of length {len(out)}" if isinstance(out, tuple | list) else "")
        )
    log_probs, new_state = out
    log_probs = tf.convert_to_tensor(log_probs)
    if not log_probs.dtype.is_floating:
        raise TypeError(
            "`step_fn` must return float `log_probs`. "
            f"Received: log_probs with dtype {log_probs.dtype.name}"
        )
    shape = tuple(log_probs.shape)
    static_rows = rows if isinstance(rows, int) else None
    if len(shape) != 2 or (
        static_rows is not None and shape[0] is not None and shape[0] != static_rows
    ):
        expected = static_rows if static_rows is not None else "batch * beams"
        raise ValueError(
            f"`step_fn` must return log_probs of shape [batch * beams, vocab] = "
            f"[{expected}, vocab]. Received: log_probs.shape={shape}"
        )
    vocab = shape[1]
    if vocab is not None and end_id >= vocab:
        raise ValueError(
            f"`end_id` must be < the vocabulary size {vocab} of step_fn's log_probs. "
            f"Received: end_id={end_id}"
        )
    try:
        tf.nest.assert_same_structure(state, new_state)
    except (ValueError, TypeError) as error:
        raise ValueError(
            "`step_fn` must return a `new_state` with the structure of `state`. "
            f"Received: state={_structure(state)}, new_state={_structure(new_state)}"
        ) from error
    new_state = tf.nest.map_structure(tf.convert_to_tensor, new_state)
    for old, new in zip(tf.nest.flatten(state), tf.nest.flatten(new_state), strict=True):
        if not old.shape.is_compatible_with(new.shape) or old.dtype != new.dtype:
            raise ValueError(
                "`step_fn` must return a `new_state` with the shapes and dtypes of `state`. "
                f"Received: a state tensor {old.dtype.name}{tuple(old.shape)} became "
                f"{new.dtype.name}{tuple(new.shape)}"
            )
    return tf.cast(log_probs, tf.float32), new_state


def _structure(nest: Any) -> Any:
    return tf.nest.map_structure(lambda x: "Tensor", nest)


def write_at(sequences: tf.Tensor, step: tf.Tensor, tokens: tf.Tensor, where: tf.Tensor):
    """Writes `tokens` at position `step` of `sequences` (last axis) where `where` holds."""
    length = sequences.shape[-1]
    here = tf.equal(tf.range(length), step)
    return tf.where(tf.logical_and(here, where[..., None]), tokens[..., None], sequences)


def first_end_lengths(sequences: tf.Tensor, end_id: int) -> tf.Tensor:
    """`Ty` of each row of `sequences` `[..., T]`: the index of its first `end_id` plus one
    (the end token counts), or `T` when the row has none."""
    length = tf.shape(sequences)[-1]
    positions = tf.range(1, length + 1)
    is_end = tf.equal(sequences, tf.cast(end_id, sequences.dtype))
    return tf.reduce_min(tf.where(is_end, positions, length), axis=-1)


def length_normalize(log_probs: tf.Tensor, lengths: tf.Tensor, alpha: float) -> tf.Tensor:
    """`log_probs / Ty^alpha`; `alpha = 0` leaves them unchanged."""
    if alpha == 0:
        return log_probs
    return log_probs / tf.pow(tf.cast(lengths, log_probs.dtype), alpha)
