"""GloVe as a Keras model: two embedding matrices, two biases and their scores."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from kerasdl._validation import check_one_of, check_positive_int

GLOVE_COMBINE = ("sum", "mean", "word", "context")


def glove(vocab_size: int, dim: int = 100, name: str = "glove") -> keras.Model:
    """GloVe's scores `w_i^T w~_j + b_i + b~_j` for pairs of word ids.

    Trained with `kerasdl.losses.GloVeLoss` on `kerasdl.data.glove.glove_dataset`, the
    scores fit `log X_ij`. The word vectors `w` (layer "w"), the context vectors `w~`
    ("w_tilde") and the biases `b` ("b"), `b~` ("b_tilde") are `keras.layers.Embedding`
    layers; as in the GloVe tool, all start uniform in `[-0.5 / dim, 0.5 / dim]`. `X`
    is symmetric for a symmetric window, so `w` and `w~` play the same role and differ
    only by their random start: the final vectors are `w + w~` (`glove_vectors`).

    Optimiser: the GloVe tool uses AdaGrad. Keras' `Adagrad` on Embedding gradients
    (`IndexedSlices`) squares each looked-up row before rows of the same word are
    summed, so a batch that repeats a word accumulates `sum g^2` instead of `(sum g)^2`;
    `Adam` trains these models well (see tests/models/test_glove.py).

    Args:
        vocab_size: `V`, the number of words.
        dim: the embedding size (GloVe's 100 in its demo; 50-300 for its released vectors).
        name: the model name.

    Returns:
        A `keras.Model` with inputs `{"word": [B], "context": [B]}` (int ids `i` and `j`,
        in that order, as `glove_dataset` yields them, tuple or dict) and the scores `[B]`.

    Raises:
        ValueError/TypeError: for a bad size.

    Example:

    >>> model = glove(vocab_size=50, dim=8)
    >>> model.output_shape
    (None,)
    >>> tuple(glove_vectors(model).shape)
    (50, 8)
    """
    check_positive_int("vocab_size", vocab_size)
    check_positive_int("dim", dim)

    def table(layer_name, width):
        return layers.Embedding(
            vocab_size,
            width,
            embeddings_initializer=keras.initializers.RandomUniform(-0.5 / dim, 0.5 / dim),
            name=layer_name,
        )

    word = keras.Input((), dtype="int32", name="word")
    context = keras.Input((), dtype="int32", name="context")
    dot = layers.Dot(axes=1, name="dot")([table("w", dim)(word), table("w_tilde", dim)(context)])
    score = layers.Add(name="score")([dot, table("b", 1)(word), table("b_tilde", 1)(context)])
    return keras.Model([word, context], ops.squeeze(score, axis=-1), name=name)


def glove_vectors(model: keras.Model, combine: str = "sum") -> np.ndarray:
    """The word vectors `[V, dim]` of a trained `glove` model.

    Args:
        model: a model built by `glove`, or loaded from its `.keras` file.
        combine: "sum" (default), `w + w~`, GloVe's final vectors; "mean", `(w + w~) / 2`
            (the course's `e_w = (e_w + theta_w) / 2`: the same directions, so the same
            cosine similarities and analogies); "word", `w` alone; "context", `w~` alone.

    Returns:
        The matrix as a float numpy array, one row per word id.

    Raises:
        ValueError: for a bad `combine`, or a model without the "w" and "w_tilde" layers.
    """
    check_one_of("combine", combine, GLOVE_COMBINE)
    names = {x.name for x in model.layers if isinstance(x, layers.Embedding)}
    if not {"w", "w_tilde"} <= names:
        raise ValueError(
            "`model` must have the Embedding layers 'w' and 'w_tilde' of `glove`. "
            f"Received: a model with Embedding layers {sorted(names)}"
        )
    w = ops.convert_to_numpy(model.get_layer("w").embeddings)
    w_tilde = ops.convert_to_numpy(model.get_layer("w_tilde").embeddings)
    if combine == "word":
        return w
    if combine == "context":
        return w_tilde
    total = w + w_tilde
    return total / 2 if combine == "mean" else total
