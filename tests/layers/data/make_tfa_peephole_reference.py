"""Writes tfa_peephole_lstm_reference.json: tfa.rnn.PeepholeLSTMCell on fixed inputs.

Run with tensorflow-addons 0.23 (TF 2.15, Keras 2), which cannot be installed beside
Keras 3, so the reference numbers are stored and tests/layers/test_recurrent.py compares
kerasdl's PeepholeLSTMCell against them:

    python tests/layers/data/make_tfa_peephole_reference.py

`reference_inputs` is shared with the test, so both sides see the same inputs and weights.
"""

from __future__ import annotations

import json
import os

import numpy as np


def reference_inputs() -> dict[str, np.ndarray]:
    """Inputs (2, 6, 3), an initial state and every weight of a 4-unit cell, in the
    order `get_weights()` returns them (kernel, recurrent kernel, bias, peepholes)."""
    rng = np.random.default_rng(11)
    batch, time, input_dim, units = 2, 6, 3, 4
    return {
        "x": rng.normal(size=(batch, time, input_dim)).astype("float32"),
        "h0": rng.normal(size=(batch, units)).astype("float32"),
        "c0": rng.normal(size=(batch, units)).astype("float32"),
        "kernel": rng.normal(scale=0.5, size=(input_dim, 4 * units)).astype("float32"),
        "recurrent_kernel": rng.normal(scale=0.5, size=(units, 4 * units)).astype("float32"),
        "bias": rng.normal(scale=0.5, size=(4 * units,)).astype("float32"),
        "input_peephole": rng.normal(size=(units,)).astype("float32"),
        "forget_peephole": rng.normal(size=(units,)).astype("float32"),
        "output_peephole": rng.normal(size=(units,)).astype("float32"),
    }


WEIGHT_ORDER = (
    "kernel",
    "recurrent_kernel",
    "bias",
    "input_peephole",
    "forget_peephole",
    "output_peephole",
)


def main() -> None:
    import tensorflow as tf
    import tensorflow_addons as tfa

    d = {k: tf.constant(v) for k, v in reference_inputs().items()}
    units = d["h0"].shape[1]
    rnn = tf.keras.layers.RNN(
        tfa.rnn.PeepholeLSTMCell(units), return_sequences=True, return_state=True
    )
    rnn(d["x"], initial_state=[d["h0"], d["c0"]])
    rnn.set_weights([d[name].numpy() for name in WEIGHT_ORDER])
    names = [w.name for w in rnn.weights]
    sequence, h, c = rnn(d["x"], initial_state=[d["h0"], d["c0"]])
    out = {
        "versions": {"tensorflow_addons": tfa.__version__, "tensorflow": tf.__version__},
        "weight_names": names,
        "sequence": sequence.numpy().tolist(),
        "h": h.numpy().tolist(),
        "c": c.numpy().tolist(),
    }
    path = os.path.join(os.path.dirname(__file__), "tfa_peephole_lstm_reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
