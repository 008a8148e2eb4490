"""Decoders for sequence models: greedy search, beam search, sampling, and beam error analysis.

Every decoder drives the model through one step function (see `kerasdl.decoding.step`):

    log_probs, new_state = step_fn(tokens, state)

with `tokens` the last token of each live hypothesis `[batch * beams]`, `log_probs`
`[batch * beams, vocab]` and `state` any nest of tensors with leading dim `batch * beams`.
All decoders are batched and in-graph (`tf.while_loop` with fixed shapes): they run
eagerly, under `tf.function` and under `tf.function(jit_compile=True)`, and return a
`DecodeResult(sequences, lengths, log_probs, scores)`.

Example, a GRU decoder whose initial state would come from an encoder:

>>> import keras, numpy as np, tensorflow as tf
>>> from kerasdl.decoding import beam_search, sequence_log_prob
>>> keras.utils.set_random_seed(0)
>>> vocab, units, start_id, end_id = 12, 16, 0, 1
>>> embedding = keras.layers.Embedding(vocab, 8)
>>> cell = keras.layers.GRUCell(units)
>>> head = keras.layers.Dense(vocab)
>>> def step_fn(tokens, state):
...     h, _ = cell(embedding(tokens), state)
...     return tf.nn.log_softmax(head(h)), h
>>> encoded = tf.random.normal([2, units])  # the encoder's summary of 2 source sentences
>>> decode = tf.function(lambda h: beam_search(
...     step_fn, h, start_id, end_id, beam_width=4, max_length=6, num_return=2),
...     jit_compile=True)
>>> result = decode(encoded)
>>> tuple(result.sequences.shape), tuple(result.scores.shape)
((2, 2, 6), (2, 2))
>>> bool(np.all(result.scores[:, 0] >= result.scores[:, 1]))
True
>>> # Teacher forcing gives back each hypothesis' score.
>>> rescored = sequence_log_prob(step_fn, encoded, result.sequences[:, 0], start_id, end_id,
...                              length_penalty_alpha=0.7)
>>> bool(np.allclose(rescored, result.scores[:, 0], atol=1e-5))
True
"""

from kerasdl.decoding.beam_search import beam_search
from kerasdl.decoding.error_analysis import BeamErrorAnalysis, beam_error_analysis
from kerasdl.decoding.greedy import greedy_search
from kerasdl.decoding.sampling import sample
from kerasdl.decoding.scoring import sequence_log_prob
from kerasdl.decoding.step import DecodeResult, StepFn

__all__ = ["DecodeResult", "StepFn", "beam_search", "greedy_search", "sample"]
__all__ += ["BeamErrorAnalysis", "beam_error_analysis", "sequence_log_prob"]
