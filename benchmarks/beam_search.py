"""Beam search: kerasdl.decoding.beam_search vs keras_hub.samplers.BeamSampler, same model.

The model is a GRU language model (vocabulary 1000, embedding 128, 256 units) decoding a
batch of 32 sequences of 32 tokens from a given initial state (an encoder's summary). Both
decoders drive the very same Keras layers: kerasdl through `step_fn(tokens, state)`,
keras_hub through `next(prompt, cache, index)` with the GRU state as the cache, one model
call on `batch * beam_width` rows per generated token.

Comparable work: keras_hub's BeamSampler has no notion of finished hypotheses and always
runs all steps, while kerasdl stops once every hypothesis has emitted the end token. The
end token's logit is therefore pushed down by 1e4 so that no hypothesis ends: both run all
32 steps, and (all hypotheses having the same length at each step, so the length
normalisation does not reorder them) both return the same best sequences, which is
checked before timing. kerasdl's extra per-step work over keras_hub's is what the ratio
measures: a top-k over the carried finished hypotheses, the kept finished set, and the
bookkeeping of lengths and scores. Both are compiled the same way, as one `tf.function`
(graph) and as `tf.function(jit_compile=True)` (XLA). Throughput is output tokens
(batch x length) per second.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras_hub.samplers import BeamSampler

from benchmarks.timing import compare
from kerasdl.decoding.beam_search import beam_search

VOCAB, EMBED, UNITS = 1000, 128, 256
START, END = 1, 2


class GRULanguageModel:
    """Embedding -> GRUCell -> Dense logits, one token at a time."""

    def __init__(self, seed: int = 0):
        keras.utils.set_random_seed(seed)
        self.embedding = keras.layers.Embedding(VOCAB, EMBED)
        self.cell = keras.layers.GRUCell(UNITS)
        self.head = keras.layers.Dense(VOCAB)
        self.head.build((None, UNITS))
        bias = self.head.bias.numpy()
        bias[END] = -1e4  # no hypothesis ends: both decoders run every step
        self.head.bias.assign(bias)

    def logits(self, tokens, h):
        h, _ = self.cell(self.embedding(tokens), h)
        return self.head(h), h

    def step_fn(self, tokens, h):
        logits, h = self.logits(tokens, h)
        return tf.nn.log_softmax(logits), h

    def next(self, prompt, cache, index):
        logits, cache = self.logits(prompt[:, index - 1], cache)
        return logits, None, cache


def decoders(model: GRULanguageModel, beam_width: int, length: int):
    def ours(h):
        return beam_search(
            model.step_fn, h, START, END, beam_width, length, num_return=1
        ).sequences[:, 0]

    sampler = BeamSampler(num_beams=beam_width)

    def peer(h):
        prompt = tf.concat(
            [tf.fill([tf.shape(h)[0], 1], START), tf.zeros([tf.shape(h)[0], length], tf.int32)],
            axis=1,
        )
        return sampler(model.next, prompt, cache=h, index=1)[:, 1:]

    return ours, peer


def tokens_row(name: str, peer_name: str, ours: float, peer: float, tokens: int) -> str:
    return (
        f"| {name} | {peer_name} | {ours * 1e3:.1f} ms ({tokens / ours:,.0f} tok/s) "
        f"| {peer * 1e3:.1f} ms ({tokens / peer:,.0f} tok/s) | {ours / peer:.3f} | <= 1.2 |"
    )


def run(batch: int = 32, length: int = 32, beam_widths: tuple[int, ...] = (4, 10)):
    model = GRULanguageModel()
    h = tf.constant(np.random.default_rng(0).normal(size=(batch, UNITS)), tf.float32)
    for beam_width in beam_widths:
        ours, peer = decoders(model, beam_width, length)
        for mode, jit in (("graph", False), ("XLA", True)):
            ours_fn = tf.function(ours, jit_compile=jit)
            peer_fn = tf.function(peer, jit_compile=jit)
            got, want = ours_fn(h).numpy(), peer_fn(h).numpy()
            same = np.mean(np.all(got == want, axis=1))
            # Float rounding may flip a near-tie between two beams in a rare example.
            assert same >= 0.9, f"best sequences agree in only {same:.0%} of examples"
            t_ours, t_peer = compare(lambda f=ours_fn: f(h), lambda f=peer_fn: f(h), repeats=7)
            yield tokens_row(
                f"beam search, width {beam_width}, GRU LM V={VOCAB}, batch {batch} x "
                f"{length} tokens, {mode} (same output: {same:.0%})",
                f"keras_hub BeamSampler ({mode})",
                t_ours,
                t_peer,
                batch * length,
            )
