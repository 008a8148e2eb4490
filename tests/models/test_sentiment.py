"""Sentiment builders: shapes, the averaging model against numpy, padding masked (it
changes no output, wherever it is), frozen embeddings unchanged by fit (and fine-tuned
ones changed), the embedding_layer layout, `.keras` round trips, errors, and learning a
synthetic labelled set: both models learn word polarity; only the LSTM learns negation
("not good"), which the notes' averaging model cannot, as it ignores word order."""

import keras
import numpy as np
import pytest

from kerasdl.data.word_vectors import embedding_layer
from kerasdl.models.sentiment import sentiment_average, sentiment_lstm

BUILDERS = {"average": sentiment_average, "lstm": sentiment_lstm}


def small(builder, *args, **kwargs):
    if builder is sentiment_lstm:
        kwargs.setdefault("units", 8)
    return builder(*args, **kwargs)


def random_embeddings(vocab_size=30, dim=6, seed=0):
    matrix = np.random.default_rng(seed).normal(size=(vocab_size, dim)).astype("float32")
    matrix[0] = 0.0
    return matrix


def np_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("kind", ["average", "lstm"])
@pytest.mark.parametrize("max_len", [None, 7])
def test_shapes_and_probabilities(kind, max_len):
    model = small(BUILDERS[kind], random_embeddings(), 4, max_len=max_len)
    assert model.input_shape == (None, max_len) and model.output_shape == (None, 4)
    ids = np.random.default_rng(1).integers(0, 30, (5, 7))
    probabilities = model.predict(ids, verbose=0)
    assert probabilities.shape == (5, 4)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_average_model_is_softmax_of_the_mean_embedding():
    matrix = random_embeddings()
    model = sentiment_average(matrix, 3)
    kernel, bias = model.get_layer("softmax").get_weights()
    ids = np.array([[3, 9, 4, 0, 0], [0, 0, 17, 1, 0], [5, 5, 5, 5, 5], [0, 0, 0, 0, 0]])
    means = np.stack(
        [matrix[row[row > 0]].mean(axis=0) if (row > 0).any() else np.zeros(6) for row in ids]
    )
    expected = np_softmax(means @ kernel + bias)
    np.testing.assert_allclose(model.predict(ids, verbose=0), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["average", "lstm"])
def test_padding_changes_nothing(kind):
    keras.utils.set_random_seed(0)
    model = small(BUILDERS[kind], random_embeddings(), 3)
    words = np.array([4, 11, 7, 2])
    short = words[None, :]
    post = np.pad(words, (0, 5))[None, :]
    pre = np.pad(words, (3, 0))[None, :]
    both = np.pad(words, (2, 2))[None, :]
    expected = model.predict(short, verbose=0)
    for padded in (post, pre, both):
        np.testing.assert_allclose(model.predict(padded, verbose=0), expected, atol=1e-6)
    # Not a vacuous check: a real word in place of the padding changes the output.
    filled = np.pad(words, (0, 5), constant_values=5)[None, :]
    assert not np.allclose(model.predict(filled, verbose=0), expected, atol=1e-4)


@pytest.mark.parametrize("kind", ["average", "lstm"])
def test_frozen_embedding_stays_unchanged_after_fit(kind):
    keras.utils.set_random_seed(0)
    matrix = random_embeddings()
    rng = np.random.default_rng(2)
    ids, labels = rng.integers(0, 30, (32, 6)), rng.integers(0, 3, 32)
    frozen = small(BUILDERS[kind], matrix, 3, max_len=6)
    assert not frozen.get_layer("embedding").trainable
    head_before = frozen.get_layer("softmax").get_weights()[0].copy()
    frozen.compile("adam", "sparse_categorical_crossentropy")
    frozen.fit(ids, labels, epochs=1, batch_size=8, verbose=0)
    np.testing.assert_array_equal(frozen.get_layer("embedding").get_weights()[0], matrix)
    assert not np.allclose(frozen.get_layer("softmax").get_weights()[0], head_before)

    tuned = small(BUILDERS[kind], matrix, 3, max_len=6, trainable=True)
    table = tuned.get_layer("embedding").embeddings
    assert any(w is table for w in tuned.trainable_weights)
    if kind == "average":  # one fit shows the tuned rows move (the LSTM's trace is slow)
        tuned.compile("adam", "sparse_categorical_crossentropy", run_eagerly=True)
        tuned.fit(ids, labels, epochs=1, batch_size=8, verbose=0)
        assert not np.allclose(keras.ops.convert_to_numpy(table)[1:], matrix[1:])


def test_embedding_layer_from_pretrained_vectors():
    vocab = ["good", "bad", "movie", "not"]
    vectors = np.random.default_rng(3).normal(size=(4, 5)).astype("float32")
    lookup, embedding = embedding_layer(vectors, vocab, mask_token="")
    model = sentiment_average(embedding, 2)
    assert model.layers[1] is embedding and not embedding.trainable
    ids = lookup(np.array([["good", "movie", "", ""], ["good", "movie", "zebra", ""]]))
    probabilities = model.predict(ids, verbose=0)
    # The row of an unknown word (the mean vector) counts; padding does not.
    kernel, bias = model.get_layer("softmax").get_weights()
    first = vectors[[0, 2]].mean(axis=0)
    second = np.concatenate([vectors[[0, 2]], vectors.mean(axis=0, keepdims=True)]).mean(axis=0)
    expected = np_softmax(np.stack([first, second]) @ kernel + bias)
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5, atol=1e-6)
    # trainable=None keeps the layer's setting; a bool overrides it.
    _, tunable = embedding_layer(vectors, vocab, trainable=True, mask_token="")
    assert sentiment_lstm(tunable, 2, units=4).layers[1].trainable
    assert not sentiment_lstm(tunable, 2, units=4, trainable=False).layers[1].trainable


@pytest.mark.parametrize("kind", ["average", "lstm"])
def test_keras_round_trip(kind, tmp_path):
    keras.utils.set_random_seed(0)
    model = small(BUILDERS[kind], random_embeddings(), 3, max_len=5)
    ids = np.array([[1, 2, 3, 0, 0], [4, 0, 0, 0, 0]])
    path = tmp_path / f"{kind}.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_allclose(
        restored.predict(ids, verbose=0), model.predict(ids, verbose=0), rtol=1e-6
    )
    assert not restored.get_layer("embedding").trainable


def test_errors():
    matrix = random_embeddings()
    with pytest.raises(ValueError, match=r"`embeddings` must be a \[V, d\] matrix with V >= 2"):
        sentiment_average(np.ones(5), 2)
    with pytest.raises(ValueError, match=r"`embeddings` must be finite"):
        sentiment_average(np.full((3, 2), np.nan), 2)
    with pytest.raises(TypeError, match=r"`embeddings` must be a \[V, d\] matrix or a keras"):
        sentiment_lstm("glove.txt", 2)
    with pytest.raises(ValueError, match=r"`num_classes` must be > 0. Received: num_classes=0"):
        sentiment_average(matrix, 0)
    with pytest.raises(ValueError, match=r"`dropout` must be in \[0.0, 1.0\). Received: dropout=1"):
        sentiment_lstm(matrix, 2, dropout=1)
    with pytest.raises(TypeError, match=r"`max_len` must be a positive int"):
        sentiment_lstm(matrix, 2, max_len=4.0)
    with pytest.raises(TypeError, match=r"`trainable` must be a bool or None"):
        sentiment_average(matrix, 2, trainable="no")


# Synthetic reviews: neutral filler words and one polar word, sometimes negated by "not"
# just before it. As in pretrained vectors, the polar words share a direction u (+u for
# positive, -u for negative) that no other word has; the labels must teach its sign.
NOT, POSITIVE, NEGATIVE, NEUTRAL = 1, range(2, 7), range(7, 12), range(12, 30)


def polar_embeddings(dim=16, seed=4):
    rng = np.random.default_rng(seed)
    matrix = rng.normal(size=(30, dim))
    u = rng.normal(size=dim)
    u /= np.linalg.norm(u)
    matrix -= np.outer(matrix @ u, u)
    matrix[list(POSITIVE)] += 3 * u
    matrix[list(NEGATIVE)] -= 3 * u
    matrix[0] = 0.0
    return matrix.astype("float32")


def reviews(count, negation, seed=0, max_len=8):
    rng = np.random.default_rng(seed)
    ids = np.zeros((count, max_len), np.int32)
    labels = np.zeros(count, np.int32)
    for row in range(count):
        length = int(rng.integers(3, max_len + 1))
        words = list(rng.choice(NEUTRAL, length))
        positive = bool(rng.integers(2))
        negated = negation and bool(rng.integers(2))
        spot = int(rng.integers(1 if negated else 0, length))
        words[spot] = rng.choice(POSITIVE if positive else NEGATIVE)
        if negated:
            words[spot - 1] = NOT
        ids[row, :length] = words
        labels[row] = int(positive != negated)
    return ids, labels


def fit_and_score(model, negation, epochs):
    keras.utils.set_random_seed(0)
    x, y = reviews(400, negation, seed=1)
    test_x, test_y = reviews(300, negation, seed=2)
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    return float(np.mean(model.predict(test_x, verbose=0).argmax(axis=1) == test_y))


@pytest.mark.slow
def test_both_models_learn_polarity_and_only_the_lstm_learns_negation():
    matrix = polar_embeddings()
    assert fit_and_score(sentiment_average(matrix, 2), False, 10) >= 0.97
    # polarity XOR negated is not linear in the average: 3/4 at best, here near chance.
    assert fit_and_score(sentiment_average(matrix, 2), True, 10) < 0.75
    assert fit_and_score(sentiment_lstm(matrix, 2, units=16, dropout=0.2), True, 8) >= 0.95
