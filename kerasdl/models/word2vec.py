"""word2vec (skip-gram and CBOW) with negative sampling, as a Keras model."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from kerasdl._validation import check_one_of, check_positive_int

WORD2VEC_MODES = ("skipgram", "cbow")


def word2vec(
    vocab_size: int,
    dim: int = 100,
    mode: str = "skipgram",
    num_negatives: int | None = 5,
    window: int = 5,
    name: str | None = None,
) -> keras.Model:
    """word2vec's two embedding matrices and the negative-sampling logits.

    The notes' skip-gram scores a target `t` for an input word `c` with
    `theta_t^T e_c`; negative sampling scores only the true target and `k` negatives,
    so the model maps an input and `1 + k` candidate targets to `1 + k` logits

        z_j = theta_{t_j}^T e_c                      (mode="skipgram")
        z_j = theta_{t_j}^T mean_{c in window} e_c    (mode="cbow")

    for `kerasdl.losses.NegativeSamplingLoss`. CBOW "uses the surrounding words to try to
    predict the middle word": `e_c` is the average of the context words' embeddings
    (ids < 0 are padding and left out, as `cbow_dataset` pads).

    The word vectors are the rows of the embedding matrix `E` (the layer named
    "embedding", `[V, dim]`, the notes' `E` transposed); `word_vectors(model)` returns
    them. `theta` (the layer named "theta") holds the output vectors. As in the word2vec
    C tool, `E` starts uniform in `[-0.5 / dim, 0.5 / dim]` and `theta` at 0.

    Args:
        vocab_size: `V`, the number of words.
        dim: the embedding size (the notes' 300, word2vec's 100 by default).
        mode: "skipgram" (default) or "cbow".
        num_negatives: `k`, fixing the candidates' shape `[B, 1 + k]`; None for any `k`.
        window: CBOW's largest window: the context input is `[B, 2 * window]`. Unused
            for skip-gram.
        name: model name; default "word2vec_<mode>".

    Returns:
        A `keras.Model` with inputs `{"word": [B], "candidates": [B, 1 + k]}` (skip-gram)
        or `{"context": [B, 2 * window], "candidates": [B, 1 + k]}` (CBOW), int ids, in
        that order, as `skipgram_dataset`/`cbow_dataset` yield them (tuple or dict), and
        the logits `[B, 1 + k]`.

    Raises:
        ValueError/TypeError: for a bad size, mode or count.

    Example:

    >>> model = word2vec(vocab_size=50, dim=8, num_negatives=4)
    >>> model.output_shape
    (None, 5)
    >>> tuple(word_vectors(model).shape)
    (50, 8)
    """
    check_positive_int("vocab_size", vocab_size)
    check_positive_int("dim", dim)
    check_one_of("mode", mode, WORD2VEC_MODES)
    if num_negatives is not None:
        check_positive_int("num_negatives", num_negatives)
    check_positive_int("window", window)
    candidates_length = None if num_negatives is None else 1 + num_negatives
    embedding = layers.Embedding(
        vocab_size,
        dim,
        embeddings_initializer=keras.initializers.RandomUniform(-0.5 / dim, 0.5 / dim),
        name="embedding",
    )
    theta = layers.Embedding(vocab_size, dim, embeddings_initializer="zeros", name="theta")
    candidates = keras.Input((candidates_length,), dtype="int32", name="candidates")
    if mode == "skipgram":
        word = keras.Input((), dtype="int32", name="word")
        inputs = [word, candidates]
        e_c = embedding(word)
    else:
        context = keras.Input((2 * window,), dtype="int32", name="context")
        inputs = [context, candidates]
        present = ops.cast(ops.greater_equal(context, 0), embedding.dtype)
        vectors = embedding(ops.maximum(context, 0)) * present[..., None]
        count = ops.maximum(ops.sum(present, axis=1, keepdims=True), 1.0)
        e_c = ops.sum(vectors, axis=1) / count
    logits = layers.Dot(axes=(2, 1), name="logits")([theta(candidates), e_c])
    return keras.Model(inputs, logits, name=name or f"word2vec_{mode}")


def word_vectors(model: keras.Model, layer: str = "embedding") -> np.ndarray:
    """The embedding matrix `[V, dim]` of a `word2vec` (or any) model's embedding layer.

    Args:
        model: a model built by `word2vec`, or loaded from its `.keras` file.
        layer: "embedding" (the word vectors `E`, default) or "theta" (the output
            vectors), or the name of any `keras.layers.Embedding` of the model.

    Returns:
        The matrix as a numpy array, one row per word id.

    Raises:
        ValueError: when the model has no embedding layer of that name.
    """
    names = [x.name for x in model.layers if isinstance(x, layers.Embedding)]
    if layer not in names:
        raise ValueError(
            f"`layer` must name one of the model's Embedding layers {names}. "
            f"Received: layer={layer!r}"
        )
    return ops.convert_to_numpy(model.get_layer(layer).embeddings)
