"""The notes' sentiment classifiers over pretrained word embeddings.

"With word embeddings, you're able to build good sentiment classifiers even with only
modest-size label training sets." Two builders, as in the course's "Emojify":

- `sentiment_average`: the average of the sentence's word embeddings, then a softmax.
  It "ignores word order" ("not good" and "good" average alike).
- `sentiment_lstm`: the "more sophisticated model": Embedding -> LSTM -> Dropout ->
  LSTM -> Dropout -> Dense softmax, which reads the words in order.

Both take int word ids `[B, T]` padded with 0 and an embedding matrix whose row 0 is the
padding row, which is what `kerasdl.data.word_vectors.embedding_layer(vectors, vocab,
mask_token="")` builds (its lookup maps words to these ids and "" to 0). Padding is
masked: it changes neither the average nor the LSTMs' outputs.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import layers, ops

from kerasdl._validation import check_in_range, check_positive_int


def _embedding(embeddings: Any, trainable: bool | None, name: str) -> keras.layers.Embedding:
    if trainable is not None and not isinstance(trainable, bool):
        raise TypeError(f"`trainable` must be a bool or None. Received: trainable={trainable!r}")
    if isinstance(embeddings, keras.layers.Embedding):
        if trainable is not None:
            embeddings.trainable = trainable
        return embeddings
    try:
        matrix = np.asarray(embeddings, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise TypeError(
            "`embeddings` must be a [V, d] matrix or a keras.layers.Embedding. "
            f"Received: embeddings of type {type(embeddings).__name__}"
        ) from error
    if matrix.ndim != 2 or matrix.shape[0] < 2 or matrix.shape[1] < 1:
        raise ValueError(
            "`embeddings` must be a [V, d] matrix with V >= 2 (row 0 is the padding row). "
            f"Received: embeddings.shape={matrix.shape}"
        )
    if not np.all(np.isfinite(matrix)):
        raise ValueError("`embeddings` must be finite. Received: a matrix with NaN or inf")
    return layers.Embedding(
        matrix.shape[0],
        matrix.shape[1],
        mask_zero=True,
        weights=[matrix],
        trainable=bool(trainable),
        name=name,
    )


def _inputs(max_len: int | None) -> keras.KerasTensor:
    if max_len is not None:
        check_positive_int("max_len", max_len)
    return keras.Input((max_len,), dtype="int32", name="word_ids")


def sentiment_average(
    embeddings: Any,
    num_classes: int,
    max_len: int | None = None,
    trainable: bool | None = None,
    name: str = "sentiment_average",
) -> keras.Model:
    """The notes' averaging classifier: `softmax(W avg + b)`, `avg` the mean embedding.

    For a sentence of word ids `x^<1>..x^<T>` (0 = padding, left out of the mean):

        avg = (1 / T') sum_{t: x^<t> != 0} e_{x^<t>},   y_hat = softmax(W avg + b)

    with `T'` the number of real words (an all-padding row gives `avg = 0`).

    Args:
        embeddings: the `[V, d]` embedding matrix, row 0 the padding row (zeros), e.g.
            `embedding_layer(vectors, vocab, mask_token="")[1].embeddings`; or a
            `keras.layers.Embedding` to use as is (its `mask_zero` decides whether id 0
            is padding).
        num_classes: the number of classes of the softmax (the notes' 5 emojis).
        max_len: the padded sentence length `T`; None for any length.
        trainable: fine-tune the embeddings; None (default) freezes a matrix and keeps
            a given layer's own setting.
        name: the model name.

    Returns:
        A `keras.Model` from int ids `[B, T]` to class probabilities `[B, num_classes]`.

    Raises:
        ValueError/TypeError: for a bad matrix, class count or length.

    Example:

    >>> vectors = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], "float32")
    >>> model = sentiment_average(vectors, num_classes=3)
    >>> probabilities = model.predict(np.array([[1, 2, 0, 0]]), verbose=0)
    >>> probabilities.shape, bool(np.isclose(probabilities.sum(), 1.0))
    ((1, 3), True)
    """
    check_positive_int("num_classes", num_classes)
    ids = _inputs(max_len)
    embedding = _embedding(embeddings, trainable, "embedding")
    vectors = embedding(ids)
    if embedding.mask_zero:
        present = ops.cast(ops.not_equal(ids, 0), vectors.dtype)
    else:
        present = ops.ones_like(ops.cast(ids, vectors.dtype))
    count = ops.maximum(ops.sum(present, axis=1, keepdims=True), 1.0)
    average = ops.sum(vectors * present[..., None], axis=1) / count
    probabilities = layers.Dense(num_classes, activation="softmax", name="softmax")(average)
    return keras.Model(ids, probabilities, name=name)


def sentiment_lstm(
    embeddings: Any,
    num_classes: int,
    max_len: int | None = None,
    units: int = 128,
    dropout: float = 0.5,
    trainable: bool | None = None,
    name: str = "sentiment_lstm",
) -> keras.Model:
    """The notes' LSTM classifier: Embedding -> LSTM -> Dropout -> LSTM -> Dropout -> softmax.

    The first LSTM returns its whole sequence `a^<1>..a^<T>`, the second only its last
    state, which a Dense softmax turns into class probabilities. The embedding layer
    masks id 0, so both LSTMs skip padding wherever it is (before or after the words).

    Args:
        embeddings: the `[V, d]` embedding matrix, row 0 the padding row, or a
            `keras.layers.Embedding` (see `sentiment_average`).
        num_classes: the number of classes.
        max_len: the padded sentence length `T`; None for any length. A static length
            is what TFLite conversion of recurrent layers needs.
        units: the size of each LSTM's state (the course's 128).
        dropout: the rate of both Dropout layers (the course's 0.5), in [0, 1).
        trainable: fine-tune the embeddings; None (default) freezes a matrix and keeps
            a given layer's own setting.
        name: the model name.

    Returns:
        A `keras.Model` from int ids `[B, T]` to class probabilities `[B, num_classes]`.

    Raises:
        ValueError/TypeError: for a bad matrix, class count, size, rate or length.

    Example:

    >>> vectors = np.random.default_rng(0).normal(size=(20, 4)).astype("float32")
    >>> model = sentiment_lstm(vectors, num_classes=5, max_len=6, units=8)
    >>> model.output_shape
    (None, 5)
    >>> [layer.name for layer in model.layers][1:]
    ['embedding', 'lstm_1', 'dropout_1', 'lstm_2', 'dropout_2', 'softmax']
    """
    check_positive_int("num_classes", num_classes)
    check_positive_int("units", units)
    dropout = check_in_range("dropout", dropout, 0.0, 1.0)
    ids = _inputs(max_len)
    x = _embedding(embeddings, trainable, "embedding")(ids)
    x = layers.LSTM(units, return_sequences=True, name="lstm_1")(x)
    x = layers.Dropout(dropout, name="dropout_1")(x)
    x = layers.LSTM(units, name="lstm_2")(x)
    x = layers.Dropout(dropout, name="dropout_2")(x)
    probabilities = layers.Dense(num_classes, activation="softmax", name="softmax")(x)
    return keras.Model(ids, probabilities, name=name)
