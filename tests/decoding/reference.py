"""Small models as TF step functions with float64 numpy twins, and numpy decoders:
greedy search and exhaustive search over every sequence of at most `max_length` tokens."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


class MarkovChain:
    """State = the previous token: log P(next | previous) is a row of a random table."""

    def __init__(self, vocab: int, seed: int, scale: float = 1.5):
        rng = np.random.default_rng(seed)
        self.table = log_softmax(rng.normal(size=(vocab, vocab)) * scale)
        self._table = tf.constant(self.table, tf.float32)

    def step_fn(self, tokens, state):
        return tf.gather(self._table, tokens), state

    def np_step(self, token: int, state):
        return self.table[token], state


class TinyRNN:
    """A real recurrent state: h' = tanh(E[y] + h W), log P = log_softmax(h' U + c)."""

    def __init__(self, vocab: int, units: int, seed: int, scale: float = 2.0):
        rng = np.random.default_rng(seed)
        self.E = rng.normal(size=(vocab, units))
        self.W = rng.normal(size=(units, units)) / np.sqrt(units)
        self.U = rng.normal(size=(units, vocab)) * scale / np.sqrt(units)
        self.c = rng.normal(size=vocab)
        self.tf = [tf.constant(a, tf.float32) for a in (self.E, self.W, self.U, self.c)]

    def step_fn(self, tokens, state):
        E, W, U, c = self.tf
        h = tf.tanh(tf.gather(E, tokens) + tf.matmul(state["h"], W))
        return tf.nn.log_softmax(tf.matmul(h, U) + c), {"h": h}

    def np_step(self, token: int, h: np.ndarray):
        h = np.tanh(self.E[token] + h @ self.W)
        return log_softmax(h @ self.U + self.c), h

    def initial_state(self, batch: int, seed: int) -> np.ndarray:
        return np.random.default_rng(seed).normal(size=(batch, self.W.shape[0]))


def exhaustive(model, state, start_id, end_id, max_length, alpha):
    """Every complete hypothesis of one example, best first: (tokens, log P, Ty, score).

    A hypothesis is complete when it ends with `end_id` (Ty counts it) or has
    `max_length` tokens; scores are log P / Ty^alpha.
    """
    vocab = len(model.np_step(start_id, state)[0])
    done = []
    frontier = [((), 0.0, start_id, state)]
    for t in range(max_length):
        grown = []
        for tokens, logp, last, st in frontier:
            log_probs, st2 = model.np_step(last, st)
            for v in range(vocab):
                hyp = (tokens + (v,), logp + log_probs[v])
                if v == end_id or t == max_length - 1:
                    done.append(hyp)
                else:
                    grown.append((*hyp, v, st2))
        frontier = grown
    scored = [(tokens, logp, len(tokens), logp / len(tokens) ** alpha) for tokens, logp in done]
    return sorted(scored, key=lambda h: -h[3])


def greedy(model, state, start_id, end_id, max_length):
    """Numpy greedy search for one example: (tokens, log P)."""
    tokens, logp, last = [], 0.0, start_id
    for _ in range(max_length):
        log_probs, state = model.np_step(last, state)
        last = int(np.argmax(log_probs))
        tokens.append(last)
        logp += log_probs[last]
        if last == end_id:
            break
    return tuple(tokens), logp


def log_prob(model, state, start_id, end_id, tokens):
    """log P(tokens) by teacher forcing, up to and including the first end token."""
    total, last = 0.0, start_id
    for token in tokens:
        log_probs, state = model.np_step(last, state)
        total += log_probs[token]
        last = token
        if token == end_id:
            break
    return total


def trim(row, end_id):
    """The tokens of a padded row up to and including the first end token."""
    row = [int(t) for t in row]
    return tuple(row[: row.index(end_id) + 1]) if end_id in row else tuple(row)
