"""Attention layers that return their attention weights: the course's attention model
(`ContextAttention`), Bahdanau's additive and Luong's multiplicative attention.

Every layer maps a query (the decoder state `s<t-1>`, one step `(batch, query_dim)` or
many `(batch, Tq, query_dim)`) and the values (the encoder activations `a<t'>`,
`(batch, Tv, value_dim)`) to energies `e<t,t'>`, normalises them over `t'` into the
attention weights `alpha<t,t'>` and returns the context `c<t> = sum_t' alpha<t,t'> a<t'>`
together with the weights.

Padded source positions are masked: their weights are exactly 0 and each row of weights
sums to 1 over the remaining positions (a row whose positions are all masked is all 0,
and its context is 0). The padding comes from `values`' Keras mask (an `Embedding` with
`mask_zero=True` upstream), an explicit `values_mask`, or tfa's `memory_sequence_length`;
when several are given a position counts only if every one keeps it.

The numbers of `BahdanauAttention` and `LuongAttention` are those of
`tfa.seq2seq.BahdanauAttention` and `tfa.seq2seq.LuongAttention` for the same weights:
tfa's `alignments` are the weights here and tfa's `AttentionWrapper` context is the
context here.
"""

from __future__ import annotations

import abc
import math

import keras
import numpy as np
from keras import layers, ops

from kerasdl._validation import check_one_of, check_positive_int

PROBABILITY_FNS = ("softmax", "hardmax")
LUONG_SCORE_MODES = ("general", "dot")


def _is_shape(shape) -> bool:
    """Whether `shape` is one shape (ints and None), not a list of shapes."""
    return all(d is None or isinstance(d, int | np.integer) for d in shape)


def _split_shapes(query_shape, values_shape):
    """The query and values shapes from `build`'s arguments (any of the call forms)."""
    if not _is_shape(query_shape):
        if values_shape is not None or len(query_shape) != 2:
            raise ValueError(
                "`query` given as a list must be `[query, values]` with no separate "
                f"`values`. Received: shapes {query_shape!r} and values={values_shape!r}"
            )
        query_shape, values_shape = query_shape
    query_shape = tuple(query_shape)
    if len(query_shape) not in (2, 3):
        raise ValueError(
            "`query` must have rank 2 with shape (batch, query_dim) or rank 3 with shape "
            f"(batch, Tq, query_dim). Received: query.shape={query_shape}"
        )
    if values_shape is None:
        if len(query_shape) != 3:
            raise ValueError(
                "`values` must be given when `query` has rank 2 (self-attention needs a "
                f"sequence). Received: query.shape={query_shape} and values=None"
            )
        values_shape = query_shape
    values_shape = tuple(values_shape)
    if len(values_shape) != 3:
        raise ValueError(
            "`values` must have rank 3 with shape (batch, Tv, value_dim). "
            f"Received: values.shape={values_shape}"
        )
    for name, shape in (("query", query_shape), ("values", values_shape)):
        if shape[-1] is None:
            raise ValueError(
                f"`{name}` must have a known last dimension. Received: {name}.shape={shape}"
            )
    if None not in (query_shape[0], values_shape[0]) and query_shape[0] != values_shape[0]:
        raise ValueError(
            "`query` and `values` must have the same batch size. Received: "
            f"query.shape={query_shape} and values.shape={values_shape}"
        )
    return query_shape, values_shape


def _lowest(dtype) -> float:
    return float(np.finfo(keras.backend.standardize_dtype(dtype)).min)


def _normalize(scores, valid, probability_fn: str):
    """Attention weights over the last axis of `scores` (batch, Tq, Tv); `valid` is None
    or a boolean (batch, 1, Tv) mask. Masked weights are exactly 0, rows sum to 1, and
    an all-masked row is all 0 (not NaN)."""
    filled = scores if valid is None else ops.where(valid, scores, _lowest(scores.dtype))
    if probability_fn == "softmax":
        if valid is None:
            return ops.softmax(scores, axis=-1)
        exp = ops.where(valid, ops.exp(filled - ops.max(filled, axis=-1, keepdims=True)), 0.0)
        # The row's maximum contributes exp(0) = 1, so the sum is >= 1 unless every
        # position is masked; then dividing by 1 keeps the row at 0.
        return exp / ops.maximum(ops.sum(exp, axis=-1, keepdims=True), 1.0)
    # Hardmax: one-hot at the first maximum, the index tf.argmax (and tfa's hardmax)
    # picks. Built from comparisons and a cumulative sum rather than argmax, whose Keras
    # form (a sign-bit test for -0.0) needs a TFLite Flex op.
    is_max = ops.equal(filled, ops.max(filled, axis=-1, keepdims=True))
    first = ops.equal(ops.cumsum(ops.cast(is_max, "int32"), axis=-1), 1)
    hard = ops.cast(ops.logical_and(is_max, first), scores.dtype)
    return hard if valid is None else ops.where(valid, hard, 0.0)


class _Attention(layers.Layer, metaclass=abc.ABCMeta):
    """Shared call logic: inputs, masks, normalisation and context. Subclasses create
    their weights in `_build_score` and compute energies (batch, Tq, Tv) in `_score`."""

    def __init__(self, probability_fn="softmax", return_weights=True, **kwargs):
        super().__init__(**kwargs)
        self.probability_fn = check_one_of("probability_fn", probability_fn, PROBABILITY_FNS)
        self.return_weights = bool(return_weights)
        self.supports_masking = True

    def build(self, query_shape, values_shape=None):
        query_shape, values_shape = _split_shapes(query_shape, values_shape)
        self._build_score(query_shape[-1], values_shape[-1])
        self.built = True

    @abc.abstractmethod
    def _build_score(self, query_dim, value_dim):
        """Creates the scoring weights for these query and value depths."""

    @abc.abstractmethod
    def _score(self, query, values):
        """The energies e<t,t'>, shape (batch, Tq, Tv)."""

    def call(
        self,
        query,
        values=None,
        values_mask=None,
        memory_sequence_length=None,
        mask=None,
    ):
        list_form = isinstance(query, list | tuple)
        if list_form:
            if values is not None or len(query) != 2:
                raise ValueError(
                    "`query` given as a list must be `[query, values]` with no separate "
                    f"`values`. Received: a list of {len(query)} and values={values!r}"
                )
            query, values = query
        self_attention = values is None
        query_shape, _ = _split_shapes(
            tuple(query.shape), None if self_attention else tuple(values.shape)
        )
        query = ops.cast(query, self.compute_dtype)
        values = query if self_attention else ops.cast(values, self.compute_dtype)

        valid = None

        def keep(new):
            nonlocal valid
            new = ops.cast(new, "bool")
            valid = new if valid is None else ops.logical_and(valid, new)

        if mask is not None:
            # `mask` is Keras' slot for the first argument's mask: the input's mask in
            # self-attention, a [query_mask, values_mask] pair for list inputs.
            if isinstance(mask, list | tuple):
                if len(mask) != 2:
                    raise ValueError(
                        "`mask` as a list must be [query_mask, values_mask]. "
                        f"Received: a list of {len(mask)} masks"
                    )
                if mask[1] is not None:
                    keep(mask[1])
            elif self_attention:
                keep(mask)
            else:
                raise ValueError(
                    "`mask` with separate `query` and `values` is ambiguous: pass the "
                    "padding of `values` as `values_mask` (batch, Tv). Received: a "
                    f"mask of shape {tuple(mask.shape)}"
                )
        if values_mask is not None:
            keep(values_mask)
        if memory_sequence_length is not None:
            lengths = ops.cast(memory_sequence_length, "int32")
            positions = ops.arange(ops.shape(values)[1], dtype="int32")
            keep(ops.expand_dims(positions, 0) < ops.reshape(lengths, (-1, 1)))

        if valid is not None:
            # Padded values are zeroed before scoring, as tfa does, so that whatever the
            # padding holds (even NaN) reaches neither the context nor the gradients.
            values = ops.where(ops.expand_dims(valid, -1), values, 0.0)
            valid = ops.expand_dims(valid, 1)
        single_step = len(query_shape) == 2
        if single_step:
            query = ops.expand_dims(query, 1)
        weights = _normalize(self._score(query, values), valid, self.probability_fn)
        context = ops.matmul(weights, values)
        if single_step:
            context, weights = ops.squeeze(context, 1), ops.squeeze(weights, 1)
        return (context, weights) if self.return_weights else context

    def compute_output_shape(self, query_shape, values_shape=None):
        query_shape, values_shape = _split_shapes(query_shape, values_shape)
        context = (*query_shape[:-1], values_shape[-1])
        if not self.return_weights:
            return context
        return context, (*query_shape[:-1], values_shape[1])

    def compute_mask(self, inputs, previous_mask=None):
        # The outputs have the query's time axis, so they carry the query's mask.
        query = inputs[0] if isinstance(inputs, list | tuple) else inputs
        query_mask = previous_mask
        if isinstance(previous_mask, list | tuple):
            query_mask = previous_mask[0]
        if len(query.shape) != 3:
            query_mask = None
        return (query_mask, query_mask) if self.return_weights else query_mask

    def get_config(self):
        return {
            **super().get_config(),
            "probability_fn": self.probability_fn,
            "return_weights": self.return_weights,
        }


_CALL_DOC = """
    Call arguments:
        query: the decoder state, `(batch, query_dim)` for one step `t` or
            `(batch, Tq, query_dim)` for `Tq` steps at once; or a list
            `[query, values]`.
        values: the encoder activations `a<t'>`, `(batch, Tv, value_dim)`. Omitted:
            self-attention, the values are `query` (then of rank 3).
        values_mask: optional boolean `(batch, Tv)`, True at real (not padded)
            positions. Keras fills it from `values`' mask in `layer(query, values)`.
        memory_sequence_length: optional int `(batch,)`, tfa's way to mask: positions
            `t' >= length` are padding.
        mask: Keras' mask slot for the first argument (filled by Keras): the input's
            mask in self-attention, a `[query_mask, values_mask]` pair for list
            inputs. With separate `query` and `values` use `values_mask` instead.

    Returns:
        `(context, weights)`: the context `c<t>`, `(batch, value_dim)` or
        `(batch, Tq, value_dim)`, and the weights `alpha<t,t'>`, `(batch, Tv)` or
        `(batch, Tq, Tv)`; only the context when `return_weights=False`. With a rank-3
        query both outputs carry the query's Keras mask.
"""


@keras.saving.register_keras_serializable(package="kerasdl")
class ContextAttention(_Attention):
    """The course's attention model: a small network scores `a<t'>` against `s<t-1>`.

    For output step `t` and input step `t'`, with `[.;.]` concatenation and `g` the
    hidden activation (tanh by default):

        e<t,t'> = w_e^T g(W [s<t-1>; a<t'>] + b)
        alpha<t,t'> = exp(e<t,t'>) / sum_t'' exp(e<t,t''>)
        c<t> = sum_t' alpha<t,t'> a<t'>

    `W [s; a] + b` is a dense layer of `units` units on the concatenation (the weight
    `kernel` has the rows of `s` first, then those of `a`; `bias` is `b`) followed by a
    single linear unit `w_e` (`energy_kernel`, `(units, 1)`). It is computed as
    `W_s s<t-1> + W_a a<t'>`, never materialising the concatenation for every pair. The
    energy unit has no bias: the softmax over `t'` cancels any constant.

    Args:
        units: int, hidden units of the energy network (the notes' small network; 10 in
            the course's translation exercise).
        activation: the hidden activation `g`, a name or a callable.
        probability_fn: "softmax" (the notes), or "hardmax" (one-hot at the largest
            energy).
        kernel_initializer: initializer of `kernel` and `energy_kernel`.
        bias_initializer: initializer of `bias`.
        return_weights: bool, return `(context, weights)`; False returns the context.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).
    {call}
    Example:

    >>> import numpy as np
    >>> attention = ContextAttention(units=10)
    >>> s_prev = np.ones((2, 16), "float32")
    >>> a = np.random.default_rng(0).normal(size=(2, 7, 8)).astype("float32")
    >>> context, alpha = attention(s_prev, a, memory_sequence_length=np.array([7, 3]))
    >>> tuple(context.shape), tuple(alpha.shape)
    ((2, 8), (2, 7))
    >>> np.round(np.asarray(alpha, "float64").sum(axis=-1), 5).tolist()
    [1.0, 1.0]
    >>> float(np.asarray(alpha)[1, 3:].max())  # t' >= 3 is padding in the second row
    0.0

    Reference:
        Bahdanau et al., "Neural Machine Translation by Jointly Learning to Align and
        Translate", ICLR 2015 (the alignment model the course teaches).
    """

    def __init__(
        self,
        units=10,
        activation="tanh",
        probability_fn="softmax",
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        return_weights=True,
        **kwargs,
    ):
        super().__init__(probability_fn=probability_fn, return_weights=return_weights, **kwargs)
        self.units = check_positive_int("units", units)
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def _build_score(self, query_dim, value_dim):
        self.query_dim = query_dim
        self.kernel = self.add_weight(
            shape=(query_dim + value_dim, self.units),
            initializer=self.kernel_initializer,
            name="kernel",
        )
        self.bias = self.add_weight(
            shape=(self.units,), initializer=self.bias_initializer, name="bias"
        )
        self.energy_kernel = self.add_weight(
            shape=(self.units, 1), initializer=self.kernel_initializer, name="energy_kernel"
        )

    def _score(self, query, values):
        from_query = ops.matmul(query, self.kernel[: self.query_dim])
        from_values = ops.matmul(values, self.kernel[self.query_dim :])
        hidden = self.activation(
            ops.expand_dims(from_query, 2) + ops.expand_dims(from_values, 1) + self.bias
        )
        return ops.squeeze(ops.matmul(hidden, self.energy_kernel), -1)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }


@keras.saving.register_keras_serializable(package="kerasdl")
class BahdanauAttention(_Attention):
    """Bahdanau (additive) attention, with tfa's optional weight normalisation.

    With `q` the query `s<t-1>` and `k<t'> = W_2 a<t'>` the keys:

        e<t,t'> = v^T tanh(W_1 q + W_2 a<t'>)                      normalize=False
        e<t,t'> = g v^T / ||v|| tanh(W_1 q + W_2 a<t'> + b)        normalize=True
        alpha<t,t'> = softmax_t'(e<t,t'>)      c<t> = sum_t' alpha<t,t'> a<t'>

    Weights, as in `tfa.seq2seq.BahdanauAttention`: `query_kernel` `W_1`
    `(query_dim, units)` (tfa's `query_layer` kernel), `memory_kernel` `W_2`
    `(value_dim, units)` (tfa's `memory_layer` kernel), `attention_v` `(units,)`, and with
    `normalize=True` the scalar `attention_g` (initially `sqrt(1 / units)`) and
    `attention_b` `(units,)` (initially 0).

    Args:
        units: int, depth of the attention (the keys' size).
        normalize: bool, the weight-normalised form (Salimans & Kingma 2016).
        probability_fn: "softmax" or "hardmax" (one-hot at the largest energy), as tfa.
        kernel_initializer: initializer of `query_kernel`, `memory_kernel` and
            `attention_v` (tfa applied it to `attention_v` only; both default to
            "glorot_uniform").
        return_weights: bool, return `(context, weights)`; False returns the context.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).
    {call}
    Example:

    >>> import numpy as np
    >>> attention = BahdanauAttention(units=4, normalize=True)
    >>> decoder_state = np.ones((2, 6), "float32")
    >>> encoder_outputs = np.ones((2, 5, 3), "float32")
    >>> context, alpha = attention(decoder_state, encoder_outputs,
    ...                            memory_sequence_length=np.array([5, 2]))
    >>> tuple(context.shape), np.round(np.asarray(alpha, "float64"), 2).tolist()
    ((2, 3), [[0.2, 0.2, 0.2, 0.2, 0.2], [0.5, 0.5, 0.0, 0.0, 0.0]])

    Reference:
        Bahdanau et al., "Neural Machine Translation by Jointly Learning to Align and
        Translate", ICLR 2015.
    """

    def __init__(
        self,
        units,
        normalize=False,
        probability_fn="softmax",
        kernel_initializer="glorot_uniform",
        return_weights=True,
        **kwargs,
    ):
        super().__init__(probability_fn=probability_fn, return_weights=return_weights, **kwargs)
        self.units = check_positive_int("units", units)
        self.normalize = bool(normalize)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def _build_score(self, query_dim, value_dim):
        self.memory_kernel = self.add_weight(
            shape=(value_dim, self.units),
            initializer=self.kernel_initializer,
            name="memory_kernel",
        )
        self.query_kernel = self.add_weight(
            shape=(query_dim, self.units),
            initializer=self.kernel_initializer,
            name="query_kernel",
        )
        self.attention_v = self.add_weight(
            shape=(self.units,), initializer=self.kernel_initializer, name="attention_v"
        )
        if self.normalize:
            self.attention_g = self.add_weight(
                shape=(),
                initializer=keras.initializers.Constant(math.sqrt(1.0 / self.units)),
                name="attention_g",
            )
            self.attention_b = self.add_weight(
                shape=(self.units,), initializer="zeros", name="attention_b"
            )

    def _score(self, query, values):
        keys = ops.matmul(values, self.memory_kernel)
        processed_query = ops.matmul(query, self.query_kernel)
        pre_activation = ops.expand_dims(processed_query, 2) + ops.expand_dims(keys, 1)
        v = self.attention_v
        if self.normalize:
            pre_activation = pre_activation + self.attention_b
            v = self.attention_g * v * ops.rsqrt(ops.sum(ops.square(v)))
        return ops.sum(v * ops.tanh(pre_activation), axis=-1)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "normalize": self.normalize,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }


@keras.saving.register_keras_serializable(package="kerasdl")
class LuongAttention(_Attention):
    """Luong (multiplicative) attention, "general" or "dot", with tfa's optional scale.

    With `q` the query (the decoder state) and `a<t'>` the values:

        e<t,t'> = q^T W_a a<t'>          score_mode="general" (tfa's LuongAttention)
        e<t,t'> = q^T a<t'>              score_mode="dot"
        e<t,t'> <- g e<t,t'>             scale=True (`attention_g`, initially 1)
        alpha<t,t'> = softmax_t'(e<t,t'>)      c<t> = sum_t' alpha<t,t'> a<t'>

    `W_a` is the weight `memory_kernel` `(value_dim, units)`, tfa's `memory_layer`
    kernel; as in tfa the query is not projected, so `units` must equal `query_dim`
    ("general" infers it when `units` is None). "dot" has no weights (but `attention_g`)
    and needs `query_dim == value_dim`.

    Args:
        units: int or None, depth of the keys `W_a a<t'>` ("general" only).
        scale: bool, multiply the energies by a learned scalar `g`.
        probability_fn: "softmax" or "hardmax" (one-hot at the largest energy), as tfa.
        score_mode: "general" (`q^T W_a a`) or "dot" (`q^T a`).
        kernel_initializer: initializer of `memory_kernel`.
        return_weights: bool, return `(context, weights)`; False returns the context.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).
    {call}
    Example:

    >>> import numpy as np
    >>> attention = LuongAttention(score_mode="dot")
    >>> decoder_outputs = np.array([[[1.0, 0.0], [0.0, 9.0]]], "float32")
    >>> encoder_outputs = np.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]], "float32")
    >>> context, alpha = attention(decoder_outputs, encoder_outputs)
    >>> tuple(context.shape), np.round(np.asarray(alpha, "float64"), 3).tolist()
    ((1, 2, 2), [[[0.422, 0.155, 0.422], [0.0, 0.5, 0.5]]])

    Reference:
        Luong et al., "Effective Approaches to Attention-based Neural Machine
        Translation", EMNLP 2015.
    """

    def __init__(
        self,
        units=None,
        scale=False,
        probability_fn="softmax",
        score_mode="general",
        kernel_initializer="glorot_uniform",
        return_weights=True,
        **kwargs,
    ):
        super().__init__(probability_fn=probability_fn, return_weights=return_weights, **kwargs)
        self.score_mode = check_one_of("score_mode", score_mode, LUONG_SCORE_MODES)
        if units is not None:
            check_positive_int("units", units)
            if score_mode == "dot":
                raise ValueError(
                    "`units` must be None with score_mode='dot' (the values are not "
                    f"projected). Received: units={units}"
                )
        self.units = units
        self.scale = bool(scale)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def _build_score(self, query_dim, value_dim):
        if self.score_mode == "dot":
            if query_dim != value_dim:
                raise ValueError(
                    "score_mode='dot' needs `query` and `values` of the same last "
                    f"dimension. Received: query_dim={query_dim} and value_dim={value_dim}"
                )
        else:
            if self.units is not None and self.units != query_dim:
                raise ValueError(
                    "`units` must equal the query's last dimension (Luong attention does "
                    f"not project the query). Received: units={self.units} and "
                    f"query_dim={query_dim}"
                )
            self.memory_kernel = self.add_weight(
                shape=(value_dim, query_dim),
                initializer=self.kernel_initializer,
                name="memory_kernel",
            )
        if self.scale:
            self.attention_g = self.add_weight(shape=(), initializer="ones", name="attention_g")

    def _score(self, query, values):
        keys = values if self.score_mode == "dot" else ops.matmul(values, self.memory_kernel)
        score = ops.matmul(query, ops.transpose(keys, (0, 2, 1)))
        return self.attention_g * score if self.scale else score

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "scale": self.scale,
            "score_mode": self.score_mode,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }


for _cls in (ContextAttention, BahdanauAttention, LuongAttention):
    _cls.__doc__ = _cls.__doc__.replace("{call}", _CALL_DOC)
