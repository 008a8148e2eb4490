"""The notes' attention model for translation: a bidirectional-LSTM encoder and an LSTM
decoder that attends over the encoder's activations at every output step.

Training uses teacher forcing: the decoder reads the previous correct token `y<t-1>`
(`<s>` at t = 1) and the model maps `(source_ids, decoder_input_ids)` to one logit vector
per output step. Decoding uses the same layers one step at a time through
`Seq2SeqInference`, whose `step_fn` plugs into `kerasdl.decoding` (greedy search, beam
search, sampling, beam error analysis).
"""

from __future__ import annotations

import functools
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from kerasdl._validation import check_one_of, check_positive_int
from kerasdl.decoding.beam_search import beam_search
from kerasdl.decoding.greedy import greedy_search
from kerasdl.decoding.step import DecodeResult
from kerasdl.layers.attention import BahdanauAttention, ContextAttention, LuongAttention
from kerasdl.layers.recurrent import PeepholeLSTMCell

ATTENTIONS = ("context", "bahdanau", "luong")
DECODER_CELLS = ("lstm", "peephole")


@keras.saving.register_keras_serializable(package="kerasdl")
class AttentionDecoder(layers.Layer):
    """The post-attention LSTM: at every step it attends over `a<t'>` with its state.

    For output step `t`, with `s<t-1>` the decoder's state (`s<0> = 0`, as in the
    course), `a<t'>` the encoder activations, `e(y<t-1>)` the embedding of the previous
    token and `[.;.]` concatenation:

        alpha<t,t'> = softmax_t'(score(s<t-1>, a<t'>))        (padded t' get 0)
        c<t> = sum_t' alpha<t,t'> a<t'>
        s<t>, m<t> = LSTM([e(y<t-1>); c<t>], (s<t-1>, m<t-1>))
        logits<t> = W_y [s<t>; c<t>] + b_y

    `score` is the course's small network (`ContextAttention`), Bahdanau's additive or
    Luong's "general" multiplicative attention (kerasdl.layers.attention). `m<t>` is the
    LSTM's memory cell. The output sees the context as well as the state, so characters
    the attention points at (digits of a date, names) can be copied directly.

    Args:
        units: int, the decoder LSTM's units (the size of `s<t>`).
        vocab_size: int, the target vocabulary size (the logits' last dimension).
        attention: "context" (the course's, default), "bahdanau" or "luong".
        attention_units: int, hidden units of the "context" energy network (10 in the
            course) or depth of "bahdanau"; unused by "luong" (its keys have the
            decoder's size).
        cell: "lstm" (`keras.layers.LSTMCell`) or "peephole"
            (`kerasdl.layers.recurrent.PeepholeLSTMCell`).
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: the embedded decoder inputs `e(y<t-1>)`, `(batch, Ty, embedding_dim)`.
        encoder_outputs: `a<t'>`, `(batch, Tx, value_dim)`.
        encoder_outputs_mask: optional boolean `(batch, Tx)`, False at padded source
            positions; Keras fills it from `encoder_outputs`' mask (an `Embedding` with
            `mask_zero=True` upstream).
        initial_state: optional `[s<0>, m<0>]`, each `(batch, units)`; zeros by default.
        return_attention: also return the weights `alpha`.

    Returns:
        The logits `(batch, Ty, vocab_size)`, and with `return_attention=True` also the
        weights `(batch, Ty, Tx)`.

    Example:

    >>> import numpy as np
    >>> decoder = AttentionDecoder(units=8, vocab_size=5, attention="bahdanau")
    >>> embedded = np.zeros((2, 3, 4), "float32")
    >>> a = np.random.default_rng(0).normal(size=(2, 6, 10)).astype("float32")
    >>> mask = np.arange(6) < np.array([[6], [2]])
    >>> logits, alpha = decoder(embedded, a, encoder_outputs_mask=mask, return_attention=True)
    >>> tuple(logits.shape), tuple(alpha.shape)
    ((2, 3, 5), (2, 3, 6))
    >>> float(np.asarray(alpha)[1, :, 2:].max())  # padded source positions get no weight
    0.0
    """

    def __init__(
        self,
        units,
        vocab_size,
        attention="context",
        attention_units=10,
        cell="lstm",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.vocab_size = check_positive_int("vocab_size", vocab_size)
        self.attention = check_one_of("attention", attention, ATTENTIONS)
        self.attention_units = check_positive_int("attention_units", attention_units)
        self.cell = check_one_of("cell", cell, DECODER_CELLS)
        if attention == "context":
            self.attention_layer = ContextAttention(attention_units, name="attention")
        elif attention == "bahdanau":
            self.attention_layer = BahdanauAttention(attention_units, name="attention")
        else:
            self.attention_layer = LuongAttention(name="attention")
        cell_class = keras.layers.LSTMCell if cell == "lstm" else PeepholeLSTMCell
        self.lstm_cell = cell_class(units, name="lstm_cell")
        self.output_layer = layers.Dense(vocab_size, name="output")
        # XLA cannot compile the gradient of the attention's tensordot inside the decoder
        # loop (its transpose permutation reaches the backward loop as a loop value, not a
        # constant), so `jit_compile="auto"` must resolve to False.
        self.supports_jit = False

    def build(self, inputs_shape, encoder_outputs_shape):
        inputs_shape, encoder_outputs_shape = tuple(inputs_shape), tuple(encoder_outputs_shape)
        if len(inputs_shape) != 3 or inputs_shape[-1] is None:
            raise ValueError(
                "`inputs` must have shape (batch, Ty, embedding_dim) with a known last "
                f"dimension. Received: inputs.shape={inputs_shape}"
            )
        if len(encoder_outputs_shape) != 3 or encoder_outputs_shape[-1] is None:
            raise ValueError(
                "`encoder_outputs` must have shape (batch, Tx, value_dim) with a known last "
                f"dimension. Received: encoder_outputs.shape={encoder_outputs_shape}"
            )
        value_dim = encoder_outputs_shape[-1]
        self.attention_layer.build((None, self.units), (None, None, value_dim))
        self.lstm_cell.build((None, inputs_shape[-1] + value_dim))
        self.output_layer.build((None, self.units + value_dim))
        self.built = True

    def step(self, inputs, states, encoder_outputs, encoder_outputs_mask=None):
        """One decoder step: `(logits<t>, [s<t>, m<t>], alpha<t>)` from `e(y<t-1>)`
        `(batch, embedding_dim)` and `states = [s<t-1>, m<t-1>]`."""
        out, states, weights = self._recur(inputs, states, encoder_outputs, encoder_outputs_mask)
        return self.output_layer(out), states, weights

    def _recur(self, inputs, states, encoder_outputs, encoder_outputs_mask):
        """`([s<t>; c<t>], [s<t>, m<t>], alpha<t>)`: the step before the output layer."""
        s_prev, m_prev = states
        context, weights = self.attention_layer(
            s_prev, encoder_outputs, values_mask=encoder_outputs_mask
        )
        x = ops.concatenate([inputs, context], axis=-1)
        output, (s, m) = self.lstm_cell(x, [s_prev, m_prev])
        return ops.concatenate([output, context], axis=-1), [s, m], weights

    def initial_state(self, batch_size) -> list:
        """`[s<0>, m<0>]`, zeros `(batch_size, units)`."""
        zeros = ops.zeros((batch_size, self.units), dtype=self.compute_dtype)
        return [zeros, zeros]

    def call(
        self,
        inputs,
        encoder_outputs,
        encoder_outputs_mask=None,
        initial_state=None,
        return_attention=False,
    ):
        inputs = ops.cast(inputs, self.compute_dtype)
        encoder_outputs = ops.cast(encoder_outputs, self.compute_dtype)
        batch = ops.shape(inputs)[0]
        if initial_state is None:
            initial_state = self.initial_state(batch)
        mask = None if encoder_outputs_mask is None else ops.cast(encoder_outputs_mask, "bool")
        steps = ops.shape(inputs)[1]
        # Each step's [s<t>; c<t>] and alpha<t> are written into buffers with a one-hot
        # `where`: differentiable, XLA-friendly (a bounded while loop of fixed shapes),
        # and the output layer then runs once on all steps.
        positions = ops.reshape(ops.arange(steps), (-1, 1, 1))
        hidden = ops.zeros(
            (steps, batch, self.units + ops.shape(encoder_outputs)[2]), dtype=self.compute_dtype
        )
        alphas = ops.zeros((steps, batch, ops.shape(encoder_outputs)[1]), dtype=self.compute_dtype)

        def body(t, s, m, hidden, alphas):
            x = ops.take(inputs, t, axis=1)
            out, (s, m), weights = self._recur(x, (s, m), encoder_outputs, mask)
            here = ops.equal(positions, t)
            hidden = ops.where(here, ops.expand_dims(out, 0), hidden)
            alphas = ops.where(here, ops.expand_dims(weights, 0), alphas)
            return t + 1, s, m, hidden, alphas

        s0, m0 = (ops.cast(x, self.compute_dtype) for x in initial_state)
        _, _, _, hidden, alphas = ops.while_loop(
            lambda t, *_: t < steps,
            body,
            (ops.convert_to_tensor(0, "int32"), s0, m0, hidden, alphas),
            maximum_iterations=steps,
        )
        logits = self.output_layer(ops.transpose(hidden, (1, 0, 2)))
        if not return_attention:
            return logits
        return logits, ops.transpose(alphas, (1, 0, 2))

    def compute_output_spec(
        self,
        inputs,
        encoder_outputs,
        encoder_outputs_mask=None,
        initial_state=None,
        return_attention=False,
    ):
        batch, steps = inputs.shape[0], inputs.shape[1]
        logits = keras.KerasTensor((batch, steps, self.vocab_size), dtype=self.compute_dtype)
        if not return_attention:
            return logits
        weights = keras.KerasTensor(
            (batch, steps, encoder_outputs.shape[1]), dtype=self.compute_dtype
        )
        return logits, weights

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "vocab_size": self.vocab_size,
            "attention": self.attention,
            "attention_units": self.attention_units,
            "cell": self.cell,
        }


def seq2seq_attention(
    source_vocab_size: int,
    target_vocab_size: int,
    embedding_dim: int = 32,
    encoder_units: int = 32,
    decoder_units: int = 64,
    attention: str = "context",
    attention_units: int = 10,
    decoder_cell: str = "lstm",
    source_length: int | None = None,
    target_length: int | None = None,
    name: str = "seq2seq_attention",
) -> keras.Model:
    """The attention model of the notes, trained with teacher forcing.

    Encoder: the source ids go through an `Embedding` (`mask_zero=True`: id 0 is
    padding) and a bidirectional LSTM, `a<t'> = [a_fwd<t'>; a_bwd<t'>]`. Decoder: an
    `AttentionDecoder` (see its formula) reads the embedded previous target tokens and
    attends over `a<t'>`, with padded source positions masked out.

    The model maps `[source_ids (batch, Tx), decoder_input_ids (batch, Ty)]` to logits
    `(batch, Ty, target_vocab_size)`. Train it on `seq2seq_arrays`' arrays with
    `keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)`, so
    target padding (id 0) counts for nothing. Decode with `Seq2SeqInference(model)`.

    Layer names (used by `Seq2SeqInference`, also after `.keras` loading):
    "source_embedding", "encoder", "target_embedding", "decoder".

    Args:
        source_vocab_size, target_vocab_size: vocabulary sizes, id 0 being padding.
        embedding_dim: size of both embeddings.
        encoder_units: units of each direction of the encoder LSTM (`a<t'>` has
            `2 * encoder_units`).
        decoder_units: units of the decoder LSTM.
        attention: "context" (the course's), "bahdanau" or "luong".
        attention_units: the "context" energy network's hidden units or the "bahdanau"
            depth.
        decoder_cell: "lstm" or "peephole".
        source_length, target_length: fixed `Tx`/`Ty`, or None for any length.
        name: the model's name.

    Returns:
        A `keras.Model`.

    Example:

    >>> model = seq2seq_attention(source_vocab_size=30, target_vocab_size=15)
    >>> model.output_shape
    (None, None, 15)
    >>> [layer.name for layer in model.layers[2:]]
    ['source_embedding', 'target_embedding', 'encoder', 'decoder']
    """
    for arg, value in (
        ("source_vocab_size", source_vocab_size),
        ("target_vocab_size", target_vocab_size),
        ("embedding_dim", embedding_dim),
        ("encoder_units", encoder_units),
        ("decoder_units", decoder_units),
    ):
        check_positive_int(arg, value)
    for arg, value in (("source_length", source_length), ("target_length", target_length)):
        if value is not None:
            check_positive_int(arg, value)
    source = keras.Input((source_length,), dtype="int32", name="source_ids")
    decoder_inputs = keras.Input((target_length,), dtype="int32", name="decoder_input_ids")
    embedded_source = layers.Embedding(
        source_vocab_size, embedding_dim, mask_zero=True, name="source_embedding"
    )(source)
    embedded_target = layers.Embedding(target_vocab_size, embedding_dim, name="target_embedding")(
        decoder_inputs
    )
    encoder_outputs = layers.Bidirectional(
        layers.LSTM(encoder_units, return_sequences=True), name="encoder"
    )(embedded_source)
    logits = AttentionDecoder(
        decoder_units,
        target_vocab_size,
        attention=attention,
        attention_units=attention_units,
        cell=decoder_cell,
        name="decoder",
    )(embedded_target, encoder_outputs)
    return keras.Model([source, decoder_inputs], logits, name=name)


class Seq2SeqInference:
    """Decoding with a `seq2seq_attention` model: its encoder, a one-step decoder for
    `kerasdl.decoding`, and the attention weights.

    The step function's state is the dict

        {"s": s<t-1>, "m": m<t-1>,                       (batch, decoder_units) each
         "encoder_outputs": a<t'>,                       (batch, Tx, 2 * encoder_units)
         "source_mask": source_ids != 0}                 (batch, Tx), bool

    Beam search tiles every entry along the beams (row `b * B + k`) and reorders them
    with the beam, so each hypothesis attends over its own example's source.
    `step_fn(tokens, state)` returns `log_softmax(logits<t>)`, the same numbers as the
    teacher-forced model's logits at step t for the same prefix.

    Args:
        model: a model built by `seq2seq_attention` (or loaded from its `.keras` file).
        start_id: the target start token `<s>` (1 in `kerasdl.data.vocabulary`).
        end_id: the target end token `</s>` (2).

    Attributes:
        encoder: a `keras.Model` from `source_ids` to `a<t'>`.

    Example:

    >>> import numpy as np
    >>> from kerasdl.decoding import beam_search
    >>> model = seq2seq_attention(source_vocab_size=12, target_vocab_size=9)
    >>> inference = Seq2SeqInference(model)
    >>> source = np.array([[4, 5, 6, 0], [7, 8, 0, 0]], "int32")
    >>> state = inference.initial_state(source)
    >>> result = beam_search(inference.step_fn, state, start_id=1, end_id=2,
    ...                      beam_width=3, max_length=5)
    >>> tuple(result.sequences.shape)
    (2, 1, 5)
    >>> tuple(inference.attention_weights(source, np.ones((2, 3), "int32")).shape)
    (2, 3, 4)
    """

    def __init__(self, model: keras.Model, start_id: int = 1, end_id: int = 2):
        names = {layer.name for layer in model.layers}
        needed = ("source_embedding", "encoder", "target_embedding", "decoder")
        missing = [n for n in needed if n not in names]
        if missing:
            raise ValueError(
                "`model` must be a seq2seq_attention model with layers named "
                f"{needed}. Received: a model without {missing}"
            )
        self.model = model
        self.start_id = int(start_id)
        self.end_id = int(end_id)
        self.encoder = keras.Model(
            model.get_layer("source_embedding").input,
            model.get_layer("encoder").output,
            name="encoder",
        )
        self.target_embedding = model.get_layer("target_embedding")
        self.decoder: AttentionDecoder = model.get_layer("decoder")
        self._decoders: dict[tuple, Any] = {}

    def initial_state(self, source_ids: Any) -> dict[str, Any]:
        """The step function's state for a batch of source ids `(batch, Tx)`."""
        source_ids = ops.convert_to_tensor(source_ids, dtype="int32")
        encoder_outputs = self.encoder(source_ids)
        s, m = self.decoder.initial_state(ops.shape(source_ids)[0])
        return {
            "s": s,
            "m": m,
            "encoder_outputs": encoder_outputs,
            "source_mask": ops.not_equal(source_ids, 0),
        }

    def step_fn(self, tokens: Any, state: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """`kerasdl.decoding`'s `step_fn(tokens, state) -> (log_probs, new_state)`."""
        log_probs, new_state, _ = self.step_with_attention(tokens, state)
        return log_probs, new_state

    def step_with_attention(self, tokens: Any, state: dict[str, Any]):
        """`step_fn` that also returns this step's attention weights `(batch, Tx)`."""
        logits, (s, m), weights = self.decoder.step(
            self.target_embedding(tokens),
            (state["s"], state["m"]),
            state["encoder_outputs"],
            state["source_mask"],
        )
        new_state = {**state, "s": s, "m": m}
        return ops.log_softmax(ops.cast(logits, "float32"), axis=-1), new_state, weights

    def attention_weights(self, source_ids: Any, decoder_input_ids: Any) -> np.ndarray:
        """`alpha<t,t'>` of the teacher-forced model, `(batch, Ty, Tx)` (a heatmap per
        example: output steps t by source positions t')."""
        source_ids = ops.convert_to_tensor(source_ids, dtype="int32")
        _, weights = self.decoder(
            self.target_embedding(ops.convert_to_tensor(decoder_input_ids, dtype="int32")),
            self.encoder(source_ids),
            encoder_outputs_mask=ops.not_equal(source_ids, 0),
            return_attention=True,
        )
        return ops.convert_to_numpy(weights)

    def decode(
        self,
        source_ids: Any,
        max_length: int,
        beam_width: int = 1,
        length_penalty_alpha: float = 0.7,
        num_return: int = 1,
    ) -> DecodeResult:
        """Greedy search (`beam_width=1`) or beam search over a batch of sources, in one
        compiled `tf.function` per setting."""
        key = (max_length, beam_width, float(length_penalty_alpha), num_return)
        if key not in self._decoders:
            # A partial, not a closure: tf.function counts retracing per code object, and
            # one closure per setting would read as the same function retracing.
            self._decoders[key] = tf.function(
                functools.partial(self._decode, *key), reduce_retracing=True
            )
        return self._decoders[key](tf.convert_to_tensor(source_ids, tf.int32))

    def _decode(self, max_length, beam_width, length_penalty_alpha, num_return, source_ids):
        state = self.initial_state(source_ids)
        if beam_width == 1:
            return greedy_search(self.step_fn, state, self.start_id, self.end_id, max_length)
        return beam_search(
            self.step_fn,
            state,
            self.start_id,
            self.end_id,
            beam_width=beam_width,
            max_length=max_length,
            length_penalty_alpha=length_penalty_alpha,
            num_return=num_return,
        )
