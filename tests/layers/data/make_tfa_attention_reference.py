"""Writes tfa_attention_reference.json: tfa.seq2seq attention outputs on fixed inputs.

Run with tensorflow-addons 0.23 (TF 2.15, Keras 2), which cannot be installed beside
Keras 3, so the reference numbers are stored and tests/layers/test_attention.py compares
kerasdl's layers against them:

    python tests/layers/data/make_tfa_attention_reference.py

`reference_inputs` is shared with the test, so both sides see the same inputs and weights.
Contexts are computed by tfa's own `_compute_attention` (what `AttentionWrapper` runs);
"attention_wrapper" holds four steps of `AttentionWrapper(LSTMCell, BahdanauAttention)`.
"""

from __future__ import annotations

import json
import os

import numpy as np


def reference_inputs() -> dict[str, np.ndarray]:
    """Query (3, 4), memory (3, 5, 3), lengths, and the attention weights."""
    rng = np.random.default_rng(7)
    batch, time, query_dim, value_dim, units = 3, 5, 4, 3, 4
    return {
        "query": rng.normal(size=(batch, query_dim)).astype("float32"),
        "memory": rng.normal(size=(batch, time, value_dim)).astype("float32"),
        "lengths": np.array([5, 2, 1], "int32"),
        "w_query": rng.normal(size=(query_dim, units)).astype("float32"),
        "w_memory": rng.normal(size=(value_dim, units)).astype("float32"),
        "v": rng.normal(size=(units,)).astype("float32"),
        "g": np.float32(0.7),
        "b": rng.normal(size=(units,)).astype("float32"),
    }


def wrapper_inputs() -> dict[str, np.ndarray]:
    """Memory (2, 5, 3) with lengths, decoder inputs (2, 4, 2), and the weights of a
    4-unit Bahdanau attention and a 6-unit LSTMCell reading [y<t>; attention<t-1>]."""
    rng = np.random.default_rng(21)
    batch, time, value_dim, units, cell_units, input_dim, steps = 2, 5, 3, 4, 6, 2, 4
    return {
        "memory": rng.normal(size=(batch, time, value_dim)).astype("float32"),
        "lengths": np.array([5, 2], "int32"),
        "y": rng.normal(size=(batch, steps, input_dim)).astype("float32"),
        "w_query": rng.normal(scale=0.5, size=(cell_units, units)).astype("float32"),
        "w_memory": rng.normal(scale=0.5, size=(value_dim, units)).astype("float32"),
        "v": rng.normal(size=(units,)).astype("float32"),
        "kernel": rng.normal(scale=0.5, size=(input_dim + value_dim, 4 * cell_units)).astype(
            "float32"
        ),
        "recurrent_kernel": rng.normal(scale=0.5, size=(cell_units, 4 * cell_units)).astype(
            "float32"
        ),
        "bias": rng.normal(scale=0.5, size=(4 * cell_units,)).astype("float32"),
    }


def main() -> None:
    import tensorflow as tf
    import tensorflow_addons as tfa
    from tensorflow_addons.seq2seq import attention_wrapper

    d = reference_inputs()
    batch, _, _ = d["memory"].shape
    units = d["v"].shape[0]
    query_dim = d["query"].shape[1]
    constant = tf.keras.initializers.Constant

    def dense(kernel):
        return tf.keras.layers.Dense(
            kernel.shape[1], use_bias=False, kernel_initializer=constant(kernel)
        )

    def attend(mechanism):
        state = mechanism.initial_state(batch, tf.float32)
        context, weights, _ = attention_wrapper._compute_attention(
            mechanism, tf.constant(d["query"]), state, None
        )
        return {"context": context.numpy().tolist(), "weights": weights.numpy().tolist()}

    out = {"versions": {"tensorflow_addons": tfa.__version__, "tensorflow": tf.__version__}}
    for masked in (False, True):
        lengths = d["lengths"] if masked else None
        for probability_fn in ("softmax", "hardmax"):
            for normalize in (False, True):
                mechanism = tfa.seq2seq.BahdanauAttention(
                    units,
                    memory=d["memory"],
                    memory_sequence_length=lengths,
                    normalize=normalize,
                    probability_fn=probability_fn,
                    kernel_initializer=constant(d["v"]),
                    query_layer=dense(d["w_query"]),
                    memory_layer=dense(d["w_memory"]),
                )
                attend(mechanism)  # builds attention_g and attention_b
                if normalize:
                    mechanism.attention_g.assign(d["g"])
                    mechanism.attention_b.assign(d["b"])
                key = f"bahdanau-normalize={normalize}-{probability_fn}-masked={masked}"
                out[key] = attend(mechanism)
            for scale in (False, True):
                mechanism = tfa.seq2seq.LuongAttention(
                    query_dim,
                    memory=d["memory"],
                    memory_sequence_length=lengths,
                    scale=scale,
                    probability_fn=probability_fn,
                    memory_layer=dense(d["w_memory"][:, :query_dim]),
                )
                attend(mechanism)
                if scale:
                    mechanism.scale_weight.assign(d["g"])
                key = f"luong-scale={scale}-{probability_fn}-masked={masked}"
                out[key] = attend(mechanism)
    w = wrapper_inputs()
    batch = w["memory"].shape[0]
    cell_units = w["recurrent_kernel"].shape[0]
    mechanism = tfa.seq2seq.BahdanauAttention(
        w["v"].shape[0],
        memory=w["memory"],
        memory_sequence_length=w["lengths"],
        kernel_initializer=constant(w["v"]),
        query_layer=dense(w["w_query"]),
        memory_layer=dense(w["w_memory"]),
    )
    cell = tf.keras.layers.LSTMCell(
        cell_units,
        kernel_initializer=constant(w["kernel"]),
        recurrent_initializer=constant(w["recurrent_kernel"]),
        bias_initializer=constant(w["bias"]),
        unit_forget_bias=False,
    )
    wrapper = tfa.seq2seq.AttentionWrapper(
        cell, mechanism, output_attention=True, alignment_history=True
    )
    state = wrapper.get_initial_state(batch_size=batch, dtype=tf.float32)
    outputs = []
    for t in range(w["y"].shape[1]):
        output, state = wrapper(tf.constant(w["y"][:, t]), state)
        outputs.append(output.numpy())
    out["attention_wrapper"] = {
        "outputs": np.stack(outputs, 1).tolist(),
        "alignments": state.alignment_history.stack().numpy().transpose(1, 0, 2).tolist(),
    }
    path = os.path.join(os.path.dirname(__file__), "tfa_attention_reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
