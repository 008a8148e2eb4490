"""The LSTM with peephole connections: a cell for `keras.layers.RNN` and its layer."""

from __future__ import annotations

import inspect

import keras
from keras import ops

from kerasdl._validation import check_in_range, check_positive_int


@keras.saving.register_keras_serializable(package="kerasdl")
class PeepholeLSTMCell(keras.layers.LSTMCell):
    """An LSTM cell whose gates also see the memory cell `c` (peephole connections).

    In the notes' symbols, with `sigma` the recurrent activation, `*` elementwise and
    `p_u`, `p_f`, `p_o` the (diagonal) peephole weights:

        Gamma_u = sigma(W_u [a<t-1>, x<t>] + p_u * c<t-1> + b_u)
        Gamma_f = sigma(W_f [a<t-1>, x<t>] + p_f * c<t-1> + b_f)
        c~<t>   = tanh(W_c [a<t-1>, x<t>] + b_c)
        c<t>    = Gamma_u * c~<t> + Gamma_f * c<t-1>
        Gamma_o = sigma(W_o [a<t-1>, x<t>] + p_o * c<t> + b_o)
        a<t>    = Gamma_o * tanh(c<t>)

    The notes describe the peephole as letting the gates see `c<t-1>`. The update and
    forget gates do; the output gate sees the cell state `c<t>` just computed, as in Gers,
    Schraudolph & Schmidhuber (2002), whose output gate is computed after the cell
    update, and as `tf.keras.experimental.PeepholeLSTMCell` and
    `tfa.rnn.PeepholeLSTMCell` do (same weights, same numbers).

    Weights: those of `keras.layers.LSTMCell` (`kernel`, `recurrent_kernel`, `bias`, gates
    in the order update (input), forget, candidate, output) plus
    `input_gate_peephole_weights` `p_u`, `forget_gate_peephole_weights` `p_f` and
    `output_gate_peephole_weights` `p_o`, each `(units,)`. With the peephole weights at 0
    the cell is exactly `keras.layers.LSTMCell`.

    Args:
        units: int, dimension of `a<t>` and `c<t>`.
        activation: the activation of `c~<t>` and of `c<t>` in `a<t>` (tanh).
        recurrent_activation: the gates' activation `sigma` (sigmoid).
        use_bias: bool, whether the gates and `c~` have biases `b`.
        kernel_initializer: initializer of `kernel` (the `x<t>` part of `W`).
        recurrent_initializer: initializer of `recurrent_kernel` (the `a<t-1>` part).
        bias_initializer: initializer of `bias`.
        peephole_initializer: initializer of the three peephole weights (tfa used
            `kernel_initializer`, "glorot_uniform" by default, for them).
        unit_forget_bias: bool, add 1 to the forget gate's bias at initialisation.
        kernel_regularizer, recurrent_regularizer, bias_regularizer,
        peephole_regularizer: optional regularizers of those weights.
        kernel_constraint, recurrent_constraint, bias_constraint, peephole_constraint:
            optional constraints of those weights.
        dropout: float in [0, 1), dropout of `x<t>` in training (one mask per sequence).
        recurrent_dropout: float in [0, 1), dropout of `a<t-1>` in training.
        seed: optional int, seed of the dropout masks.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `x<t>`, `(batch, input_dim)`.
        states: `[a<t-1>, c<t-1>]`, each `(batch, units)`.
        training: bool, applies dropout when True.

    Returns:
        `(a<t>, [a<t>, c<t>])`.

    Example:

    >>> import numpy as np
    >>> rnn = keras.layers.RNN(PeepholeLSTMCell(4), return_sequences=True)
    >>> tuple(rnn(np.ones((2, 5, 3), "float32")).shape)
    (2, 5, 4)

    Reference:
        Gers, Schraudolph & Schmidhuber, "Learning Precise Timing with LSTM Recurrent
        Networks", JMLR 2002.
    """

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        peephole_initializer="glorot_uniform",
        unit_forget_bias=True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        peephole_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        peephole_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(
            check_positive_int("units", units),
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=check_in_range("dropout", dropout, 0, 1),
            recurrent_dropout=check_in_range("recurrent_dropout", recurrent_dropout, 0, 1),
            seed=seed,
            **kwargs,
        )
        self.peephole_initializer = keras.initializers.get(peephole_initializer)
        self.peephole_regularizer = keras.regularizers.get(peephole_regularizer)
        self.peephole_constraint = keras.constraints.get(peephole_constraint)

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError(
                "`inputs` must have a known last dimension. "
                f"Received: inputs.shape={tuple(input_shape)}"
            )
        super().build(input_shape)
        for gate in ("input", "forget", "output"):
            weight = self.add_weight(
                shape=(self.units,),
                initializer=self.peephole_initializer,
                regularizer=self.peephole_regularizer,
                constraint=self.peephole_constraint,
                name=f"{gate}_gate_peephole_weights",
            )
            setattr(self, f"{gate}_gate_peephole_weights", weight)

    def call(self, inputs, states, training=False):
        h_tm1, c_tm1 = states[0], states[1]
        x_mask = h_mask = None
        if training and self.dropout > 0:
            x_mask = self.get_dropout_mask(inputs)
        if training and self.recurrent_dropout > 0:
            h_mask = self.get_recurrent_dropout_mask(h_tm1)
        z = _project(inputs, x_mask, self.kernel) + _project(h_tm1, h_mask, self.recurrent_kernel)
        if self.use_bias:
            z = z + self.bias
        z_u, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        update = self.recurrent_activation(z_u + self.input_gate_peephole_weights * c_tm1)
        forget = self.recurrent_activation(z_f + self.forget_gate_peephole_weights * c_tm1)
        c = forget * c_tm1 + update * self.activation(z_c)
        output = self.recurrent_activation(z_o + self.output_gate_peephole_weights * c)
        h = output * self.activation(c)
        return h, [h, c]

    def get_config(self):
        return {
            **super().get_config(),
            "peephole_initializer": keras.initializers.serialize(self.peephole_initializer),
            "peephole_regularizer": keras.regularizers.serialize(self.peephole_regularizer),
            "peephole_constraint": keras.constraints.serialize(self.peephole_constraint),
        }


def _project(x, masks, kernel):
    """x @ kernel for the four gates, with one dropout mask for all of them or one each
    (keras.layers.LSTMCell keeps four when recurrent dropout is on)."""
    if masks is None:
        return ops.matmul(x, kernel)
    if isinstance(masks, list | tuple):
        parts = ops.split(kernel, 4, axis=1)
        return ops.concatenate(
            [ops.matmul(x * m, k) for m, k in zip(masks, parts, strict=True)], axis=-1
        )
    return ops.matmul(x * masks, kernel)


CELL_ARGUMENTS = tuple(
    name
    for name, p in inspect.signature(PeepholeLSTMCell.__init__).parameters.items()
    if name not in ("self", "units") and p.kind is p.POSITIONAL_OR_KEYWORD
)


@keras.saving.register_keras_serializable(package="kerasdl")
class PeepholeLSTM(keras.layers.RNN):
    """`keras.layers.RNN(PeepholeLSTMCell(...))` as one layer, as `keras.layers.LSTM` is
    for `LSTMCell`.

    Runs the `PeepholeLSTMCell` recurrence (see its formula) over `x<1>, ..., x<T_x>`
    from `a<0> = c<0> = 0` (or `initial_state`).

    Args:
        units: int, dimension of `a<t>` and `c<t>`.
        return_sequences: bool, return every `a<t>` `(batch, T_x, units)` rather than
            the last.
        return_state: bool, also return the last `a<T_x>` and `c<T_x>`.
        go_backwards: bool, process the sequence backwards (and return it reversed).
        stateful: bool, each batch starts from the previous batch's last state.
        unroll: bool, unroll the time loop (static `T_x`; faster for short sequences,
            and what full-int8 TFLite conversion needs).
        **kwargs: every `PeepholeLSTMCell` argument (`activation`, `dropout`,
            `peephole_initializer`, ...) and the base layer arguments (`name`, `dtype`,
            `zero_output_for_mask`, ...).

    Call arguments:
        inputs: `(batch, T_x, input_dim)`.
        mask: optional boolean `(batch, T_x)`; masked steps keep the previous state.
        training: bool, applies dropout when True.
        initial_state: optional `[a<0>, c<0>]`.

    Example:

    >>> import numpy as np
    >>> layer = PeepholeLSTM(4, return_state=True)
    >>> a_last, a_state, c_state = layer(np.ones((2, 5, 3), "float32"))
    >>> tuple(a_last.shape), tuple(c_state.shape)
    ((2, 4), (2, 4))
    """

    def __init__(
        self,
        units,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        **kwargs,
    ):
        cell_kwargs = {name: kwargs.pop(name) for name in CELL_ARGUMENTS if name in kwargs}
        cell = PeepholeLSTMCell(
            units,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name="peephole_lstm_cell",
            **cell_kwargs,
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            **kwargs,
        )

    @property
    def units(self):
        return self.cell.units

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        cell_config = self.cell.get_config()
        return {
            **config,
            "units": cell_config["units"],
            **{name: cell_config[name] for name in CELL_ARGUMENTS},
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
