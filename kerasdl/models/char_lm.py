"""The notes' RNN language model over characters or words, and its step function for
sampling novel sequences with `kerasdl.decoding`."""

from __future__ import annotations

from typing import Any

import keras
from keras import layers, ops

from kerasdl._validation import check_in_range, check_one_of, check_positive_int

LM_CELLS = ("lstm", "gru")


def char_lm(
    vocab_size: int,
    units: int = 128,
    embedding_dim: int = 32,
    cell: str = "lstm",
    num_layers: int = 1,
    dropout: float = 0.0,
    name: str = "char_lm",
) -> keras.Model:
    """An RNN language model: Embedding -> LSTM/GRU (stacked) -> Dense, at every step.

    As in the notes, the model reads `y<0> = <s>, y<1>, ..., y<t-1>` and its softmax at
    step t predicts the next token:

        a<t> = RNN(e(y<t-1>), a<t-1>)          (a<0> = 0)
        P(y<t> | y<1..t-1>) = softmax(W_y a<t> + b_y)

    and the probability of a whole sequence is the product of these, ending with the EOS
    token. The model outputs the logits `W_y a<t> + b_y`, `(batch, T, vocab_size)`; train
    it on `(<s> y<1> ... y<T-1>) -> (y<1> ... y<T>)` with
    `SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)` (id 0 is padding).
    Characters or words: the model is the same, only the vocabulary differs.

    Layer names (used by `LanguageModelStep`): "embedding", "rnn_0", "rnn_1", ...,
    "logits".

    Args:
        vocab_size: the number of tokens (id 0 is padding).
        units: units of each recurrent layer.
        embedding_dim: the embedding size.
        cell: "lstm" or "gru".
        num_layers: how many recurrent layers are stacked.
        dropout: dropout on each recurrent layer's inputs in training, in [0, 1).
        name: the model's name.

    Returns:
        A `keras.Model` from token ids `(batch, T)` to logits `(batch, T, vocab_size)`.

    Example:

    >>> model = char_lm(vocab_size=30, units=16, cell="gru", num_layers=2)
    >>> model.output_shape
    (None, None, 30)
    >>> [layer.name for layer in model.layers]
    ['token_ids', 'embedding', 'rnn_0', 'rnn_1', 'logits']
    """
    check_positive_int("vocab_size", vocab_size)
    check_positive_int("units", units)
    check_positive_int("embedding_dim", embedding_dim)
    check_one_of("cell", cell, LM_CELLS)
    check_positive_int("num_layers", num_layers)
    check_in_range("dropout", dropout, 0, 1)
    rnn = layers.LSTM if cell == "lstm" else layers.GRU
    ids = keras.Input((None,), dtype="int32", name="token_ids")
    x = layers.Embedding(vocab_size, embedding_dim, name="embedding")(ids)
    for i in range(num_layers):
        x = rnn(units, return_sequences=True, dropout=dropout, name=f"rnn_{i}")(x)
    logits = layers.Dense(vocab_size, name="logits")(x)
    return keras.Model(ids, logits, name=name)


class LanguageModelStep:
    """A `char_lm` model one token at a time: `kerasdl.decoding`'s step function.

    The state is a tuple with one entry per recurrent layer: `(a<t>, c<t>)` for an LSTM,
    `(a<t>,)` for a GRU, each `(batch, units)`. `step_fn(tokens, state)` returns
    `log_softmax` of the next-token logits, the same numbers as the model's outputs for
    the same prefix. Sampling novel sequences, as in the notes, is
    `kerasdl.decoding.sample(step.step_fn, step.initial_state(n), start_id, end_id, ...)`.

    Args:
        model: a model built by `char_lm` (or loaded from its `.keras` file).

    Example:

    >>> import numpy as np
    >>> from kerasdl.decoding import sample
    >>> model = char_lm(vocab_size=10, units=8)
    >>> step = LanguageModelStep(model)
    >>> result = sample(step.step_fn, step.initial_state(4), start_id=1, end_id=2,
    ...                 max_length=6, temperature=0.8, seed=0)
    >>> tuple(result.sequences.shape)
    (4, 1, 6)
    """

    def __init__(self, model: keras.Model):
        self.model = model
        try:
            self.embedding = model.get_layer("embedding")
            self.head = model.get_layer("logits")
        except ValueError as error:
            raise ValueError(
                "`model` must be a char_lm model with layers named 'embedding', 'rnn_0', "
                f"... and 'logits'. Received: a model with layers "
                f"{[layer.name for layer in model.layers]}"
            ) from error
        self.rnns = []
        while any(layer.name == f"rnn_{len(self.rnns)}" for layer in model.layers):
            self.rnns.append(model.get_layer(f"rnn_{len(self.rnns)}"))
        if not self.rnns:
            raise ValueError(
                "`model` must have recurrent layers named 'rnn_0', 'rnn_1', ... "
                f"Received: a model with layers {[layer.name for layer in model.layers]}"
            )

    def initial_state(self, batch_size: Any) -> tuple:
        """`a<0> = 0` (and `c<0> = 0`) for every layer, `(batch_size, units)` each."""
        state = []
        for rnn in self.rnns:
            zeros = ops.zeros((batch_size, rnn.cell.units), dtype=rnn.compute_dtype)
            count = 2 if isinstance(rnn, layers.LSTM) else 1
            state.append((zeros,) * count)
        return tuple(state)

    def step_fn(self, tokens: Any, state: tuple) -> tuple[Any, tuple]:
        """`kerasdl.decoding`'s `step_fn(tokens, state) -> (log_probs, new_state)`."""
        x = self.embedding(tokens)
        new_state = []
        for rnn, layer_state in zip(self.rnns, state, strict=True):
            x, states = rnn.cell(x, list(layer_state))
            new_state.append(tuple(states) if isinstance(states, list | tuple) else (states,))
        return ops.log_softmax(ops.cast(self.head(x), "float32"), axis=-1), tuple(new_state)
