"""Sampling: draw each next token from the model's (reshaped) distribution."""

from __future__ import annotations

import numbers
from typing import Any

import tensorflow as tf

from kerasdl.decoding.greedy import decode_single_path
from kerasdl.decoding.step import DecodeResult, StepFn, check_count

_MASK = 0xFFFFFFFF


def sample(
    step_fn: StepFn,
    initial_state: Any,
    start_id: int | Any,
    end_id: int,
    max_length: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int | None = None,
    pad_id: int | None = None,
) -> DecodeResult:
    """Samples one hypothesis per example, token by token, from the model's distribution.

    At every step the next token is drawn from

        Q(v) = exp(log P(v | x, y<1..t-1>) / T) / sum_{u in K} exp(log P(u | ...) / T)

    for `v` in `K`, the `top_k` most likely tokens (all tokens when `top_k` is None), and
    `Q(v) = 0` outside `K`. `T = temperature`: `T < 1` sharpens the distribution towards
    greedy search, `T > 1` flattens it; `top_k=1` is greedy search. A hypothesis stops
    after emitting `end_id` (not extended further) or at `max_length` tokens.

    Draws use the Gumbel-max trick, `y<t> = argmax_v (log Q(v) + G_v)` with independent
    `G_v = -log(-log U_v)`, where the uniforms `U_v` are a counter-based hash of
    `(seed, step, row, v)`: a given `seed` gives the same samples eagerly, under
    `tf.function` and under XLA. `seed=None` draws a fresh seed on every call.

    Args:
        step_fn: `step_fn(tokens, state) -> (log_probs, new_state)`, see
            `kerasdl.decoding.step`.
        initial_state: a nest of tensors with leading dimension `batch`, or `()`.
        start_id: the start token, an int or an int tensor `[batch]`.
        end_id: the end-of-sentence token; it counts in `Ty`.
        max_length: the most tokens generated per hypothesis (a Python int >= 1).
        temperature: `T > 0`, dividing the log-probabilities before sampling.
        top_k: sample among the `top_k` most likely tokens only (an int >= 1), or None.
        seed: an int seed for reproducible samples, or None.
        pad_id: the token written after the end token; defaults to `end_id`.

    Returns:
        A `DecodeResult` with `num_return = 1`; `log_probs` (and `scores`, equal to it)
        is `log P(y|x)` under the model itself, not under the reshaped distribution `Q`.

    Example:

    >>> import numpy as np, tensorflow as tf
    >>> from kerasdl.decoding.sampling import sample
    >>> table = tf.math.log(tf.constant([[0.1, 0.6, 0.3],
    ...                                  [0.5, 0.1, 0.4],
    ...                                  [1/3, 1/3, 1/3]]))
    >>> step_fn = lambda tokens, state: (tf.gather(table, tokens), state)
    >>> result = sample(step_fn, (), tf.zeros([1000], tf.int32), end_id=2, max_length=1,
    ...                 temperature=0.5, seed=1)
    >>> # Q = softmax(log P / 0.5) ∝ P^2 = (0.01, 0.36, 0.09) / 0.46
    >>> counts = np.bincount(result.sequences.numpy()[:, 0, 0], minlength=3) / 1000
    >>> bool(np.all(np.abs(counts - np.array([0.01, 0.36, 0.09]) / 0.46) < 0.05))
    True
    """
    temperature = _check_temperature(temperature)
    if top_k is not None:
        top_k = check_count("top_k", top_k)
    if seed is not None:
        seed = _check_seed(seed)

    if seed is None:
        key = tf.random.uniform([], maxval=_MASK + 1, dtype=tf.int64)
    else:
        key = tf.constant(seed, tf.int64)
    # Seeds of any size fold into one 32-bit key.
    key = _mix(tf.bitwise.bitwise_xor(_mix(_low32(key)), _low32(_shift(key, 32))))

    def choose(log_probs: tf.Tensor, step: tf.Tensor) -> tf.Tensor:
        logits = log_probs / temperature if temperature != 1.0 else log_probs
        vocab = logits.shape[-1]
        if top_k is not None and (vocab is None or top_k < vocab):
            kth = tf.math.top_k(logits, k=top_k).values[:, -1:]
            logits = tf.where(logits >= kth, logits, float("-inf"))
        gumbel = -tf.math.log(-tf.math.log(_uniform(tf.shape(logits), key, step)))
        return tf.argmax(logits + gumbel, axis=-1, output_type=tf.int32)

    return decode_single_path(step_fn, initial_state, start_id, end_id, max_length, pad_id, choose)


def _mix(x: tf.Tensor) -> tf.Tensor:
    """A bijective 32-bit integer hash (the "triple32" xorshift-multiply chain), on int64
    tensors holding values in [0, 2^32); products wrap and are masked back to 32 bits."""
    for shift, multiplier in ((17, 0xED5AD4BB), (11, 0xAC4C1B51), (15, 0x31848BAB)):
        x = tf.bitwise.bitwise_xor(x, _shift(x, shift))
        x = _low32(x * multiplier)
    return tf.bitwise.bitwise_xor(x, _shift(x, 14))


def _shift(x: tf.Tensor, bits: int) -> tf.Tensor:
    return tf.bitwise.right_shift(x, tf.constant(bits, x.dtype))


def _low32(x: tf.Tensor) -> tf.Tensor:
    return tf.bitwise.bitwise_and(x, tf.constant(_MASK, x.dtype))


def _uniform(shape: tf.Tensor, key: tf.Tensor, step: tf.Tensor) -> tf.Tensor:
    """Uniform(0, 1) float32 draws, a pure function of (key, step, element index).

    `tf.random.stateless_uniform` gives other numbers under XLA than without it; integer
    hashing gives the same bits everywhere, so a seed reproduces across eager, graph and
    XLA. Each element gets `hash(hash(index xor hash(key xor step)))`; both hashes are
    bijections, so the elements of one step never share a value.
    """
    step_key = _mix(tf.bitwise.bitwise_xor(key, tf.cast(step, tf.int64)))
    index = tf.reshape(tf.range(tf.reduce_prod(tf.cast(shape, tf.int64))), shape)
    bits = _mix(_mix(tf.bitwise.bitwise_xor(_low32(index), step_key)))
    # The top 24 bits, centred in their bin: exact in float32 and strictly inside (0, 1).
    return (tf.cast(_shift(bits, 8), tf.float32) + 0.5) * 2.0**-24


def _check_temperature(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`temperature` must be a number > 0. Received: temperature={value!r}")
    if not value > 0:
        raise ValueError(f"`temperature` must be > 0. Received: temperature={value}")
    return float(value)


def _check_seed(value: Any) -> int:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    raise TypeError(f"`seed` must be an int or None. Received: seed={value!r}")
