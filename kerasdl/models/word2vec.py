"""word2vec (skip-gram and CBOW) with negative sampling, hierarchical softmax or sampled
softmax, as a Keras model."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from kerasdl._validation import check_one_of, check_positive_int

WORD2VEC_MODES = ("skipgram", "cbow")
WORD2VEC_OBJECTIVES = ("negative_sampling", "hierarchical_softmax", "sampled_softmax")


def word2vec(
    vocab_size: int,
    dim: int = 100,
    mode: str = "skipgram",
    num_negatives: int | None = 5,
    window: int = 5,
    name: str | None = None,
    objective: str = "negative_sampling",
) -> keras.Model:
    """word2vec's two embedding matrices and the logits of the candidate targets.

    The notes' skip-gram scores a target `t` for an input word `c` with
    `theta_t^T e_c`; negative sampling scores only the true target and `k` negatives,
    so the model maps an input and `1 + k` candidate targets to `1 + k` logits

        z_j = theta_{t_j}^T e_c                      (mode="skipgram")
        z_j = theta_{t_j}^T mean_{c in window} e_c    (mode="cbow")

    for `kerasdl.losses.NegativeSamplingLoss`. The notes' two ways around the softmax over
    all `V` words, and a third, are the `objective`, each scoring its own candidates:

    - "negative_sampling" (default): the true target and `k` negatives from
      `f(w)^(3/4)` (`skipgram_dataset`), for `NegativeSamplingLoss`; `theta` `[V, dim]`.
    - "hierarchical_softmax" (word2vec's `-hs 1`, gensim's `hs=1`): the inner nodes
      `n_j` of the target's Huffman path (`kerasdl.data.huffman`), ids < 0 padding;
      `theta` holds one vector per inner node, `[V - 1, dim]`, and
      `HierarchicalSoftmaxLoss` turns the `z_j` into `-log p(t | c)`, a normalised
      softmax at `O(log V)` cost. What gensim users pick for rare words.
    - "sampled_softmax" (Jean et al.): the true target and `s` classes from a proposal
      `Q` (`kerasdl.data.candidate_sampling`), for `SampledSoftmaxLoss` (softmax over
      the candidates with `log Q` subtracted, `tf.nn.sampled_softmax_loss`'s
      semantics); `theta` `[V, dim]`, no bias.

    CBOW "uses the surrounding words to try to predict the middle word": `e_c` is the
    average of the context words' embeddings (ids < 0 are padding and left out, as
    `cbow_dataset` pads).

    The word vectors are the rows of the embedding matrix `E` (the layer named
    "embedding", `[V, dim]`, the notes' `E` transposed); `word_vectors(model)` returns
    them. `theta` (the layer named "theta") holds the output vectors. As in the word2vec
    C tool, `E` starts uniform in `[-0.5 / dim, 0.5 / dim]` and `theta` at 0.

    Args:
        vocab_size: `V`, the number of words.
        dim: the embedding size (the notes' 300, word2vec's 100 by default).
        mode: "skipgram" (default) or "cbow".
        num_negatives: `k` negatives (or `s` sampled classes with
            `objective="sampled_softmax"`), fixing the candidates' shape `[B, 1 + k]`;
            None for any. Unused by "hierarchical_softmax", whose paths may have any
            length.
        window: CBOW's largest window: the context input is `[B, 2 * window]`. Unused
            for skip-gram.
        name: model name; default "word2vec_<mode>".
        objective: "negative_sampling" (default), "hierarchical_softmax" or
            "sampled_softmax".

    Returns:
        A `keras.Model` with inputs `{"word": [B], "candidates": [B, 1 + k]}` (skip-gram)
        or `{"context": [B, 2 * window], "candidates": [B, 1 + k]}` (CBOW), int ids, in
        that order, as `skipgram_dataset`/`cbow_dataset` yield them (tuple or dict), and
        the logits `[B, 1 + k]`. With "hierarchical_softmax" the candidates are node
        ids `[B, L]` (`hierarchical_softmax_dataset`) and the logits `[B, L]`.

    Raises:
        ValueError/TypeError: for a bad size, mode or count.

    Example:

    >>> model = word2vec(vocab_size=50, dim=8, num_negatives=4)
    >>> model.output_shape
    (None, 5)
    >>> tuple(word_vectors(model).shape)
    (50, 8)
    >>> hs = word2vec(vocab_size=50, dim=8, objective="hierarchical_softmax")
    >>> tuple(word_vectors(hs, "theta").shape)  # one vector per inner node
    (49, 8)
    """
    check_positive_int("vocab_size", vocab_size)
    check_positive_int("dim", dim)
    check_one_of("mode", mode, WORD2VEC_MODES)
    if num_negatives is not None:
        check_positive_int("num_negatives", num_negatives)
    check_positive_int("window", window)
    check_one_of("objective", objective, WORD2VEC_OBJECTIVES)
    hierarchical = objective == "hierarchical_softmax"
    if hierarchical and vocab_size < 2:
        raise ValueError(
            "`vocab_size` must be >= 2 for a hierarchical softmax (a tree needs two "
            f"leaves). Received: vocab_size={vocab_size}"
        )
    candidates_length = None if num_negatives is None or hierarchical else 1 + num_negatives
    embedding = layers.Embedding(
        vocab_size,
        dim,
        embeddings_initializer=keras.initializers.RandomUniform(-0.5 / dim, 0.5 / dim),
        name="embedding",
    )
    theta = layers.Embedding(
        vocab_size - 1 if hierarchical else vocab_size,
        dim,
        embeddings_initializer="zeros",
        name="theta",
    )
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
    # Paths are padded with -1; their logits are computed on node 0 and left out by
    # HierarchicalSoftmaxLoss.
    nodes = ops.maximum(candidates, 0) if hierarchical else candidates
    logits = layers.Dot(axes=(2, 1), name="logits")([theta(nodes), e_c])
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
