"""word2vec models: logits against numpy dot products (skip-gram, and CBOW's masked mean
of the context), initialisation, `.keras` round trips, errors, and training on a corpus
with planted structure whose analogies `complete_analogy` must recover."""

import keras
import numpy as np
import pytest

from kerasdl.data.skipgrams import cbow_dataset, skipgram_dataset
from kerasdl.losses.sampling import NegativeSamplingLoss
from kerasdl.models.word2vec import word2vec, word_vectors
from kerasdl.ops.embeddings import complete_analogy

# Each sentence is one role word (king or queen, ...) with two words of its gender and two
# words of its role, so a word's contexts are the sum of a gender part and a role part.
ROLES = {
    "king": "queen",
    "man": "woman",
    "boy": "girl",
    "prince": "princess",
    "father": "mother",
    "uncle": "aunt",
}
ROLE_WORDS = {
    "king": ["throne", "crown", "reign"],
    "man": ["work", "office", "adult"],
    "boy": ["school", "toys", "play"],
    "prince": ["castle", "heir", "young"],
    "father": ["children", "family", "home"],
    "uncle": ["visit", "nephew", "relative"],
}
GENDER_WORDS = (["he", "him", "his"], ["she", "her", "hers"])


def planted_corpus(num_sentences, seed=0):
    rng = np.random.default_rng(seed)
    words = {*ROLES, *ROLES.values(), *sum(ROLE_WORDS.values(), []), *sum(GENDER_WORDS, [])}
    vocab = sorted(words)
    index = {w: i for i, w in enumerate(vocab)}
    roles = list(ROLES)
    sentences = []
    for _ in range(num_sentences):
        role = roles[rng.integers(len(roles))]
        gender = rng.integers(2)
        word = role if gender == 0 else ROLES[role]
        sentence = [word, *rng.choice(GENDER_WORDS[gender], 2), *rng.choice(ROLE_WORDS[role], 2)]
        rng.shuffle(sentence)
        sentences.append([index[w] for w in sentence])
    return vocab, np.array(sentences)


def analogy_accuracy(vectors, vocab):
    """male_i : female_i :: male_j : female_j and the reverse, over all role pairs."""
    a, b, c, expected = [], [], [], []
    for male_i, female_i in ROLES.items():
        for male_j, female_j in ROLES.items():
            if male_i != male_j:
                a += [male_i, female_i]
                b += [female_i, male_i]
                c += [male_j, female_j]
                expected += [female_j, male_j]
    return float(np.mean(complete_analogy(a, b, c, vectors, vocab) == np.array(expected)))


def randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])


def test_skipgram_logits_are_dot_products():
    model = word2vec(20, 6, num_negatives=3)
    randomize(model)
    e, theta = word_vectors(model), word_vectors(model, "theta")
    rng = np.random.default_rng(1)
    word = rng.integers(0, 20, 8)
    candidates = rng.integers(0, 20, (8, 4))
    got = np.asarray(model.predict([word, candidates], verbose=0))
    expected = np.einsum("bkd,bd->bk", theta[candidates], e[word])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_cbow_logits_use_the_mean_of_the_real_context():
    model = word2vec(15, 4, mode="cbow", num_negatives=2, window=2)
    randomize(model, seed=2)
    e, theta = word_vectors(model), word_vectors(model, "theta")
    context = np.array([[1, 2, 3, 4], [-1, 5, 6, -1], [-1, -1, 7, -1], [0, 0, 0, 0]])
    candidates = np.array([[5, 1, 2], [0, 3, 3], [9, 10, 11], [14, 13, 12]])
    got = np.asarray(model.predict({"context": context, "candidates": candidates}, verbose=0))
    means = np.stack([e[row[row >= 0]].mean(axis=0) for row in context])
    expected = np.einsum("bkd,bd->bk", theta[candidates], means)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_initialisation_as_the_c_tool():
    keras.utils.set_random_seed(0)
    model = word2vec(300, 10)
    e = word_vectors(model)
    assert np.abs(e).max() <= 0.05 and e.std() > 0.02
    assert not np.any(word_vectors(model, "theta"))


def test_any_number_of_negatives_and_inputs_named_as_the_datasets():
    model = word2vec(10, 3, num_negatives=None)
    assert [x.name for x in model.inputs] == ["word", "candidates"]
    assert np.asarray(model.predict([np.arange(2), np.ones((2, 7), int)], verbose=0)).shape == (
        2,
        7,
    )
    assert [x.name for x in word2vec(10, 3, mode="cbow").inputs] == ["context", "candidates"]


@pytest.mark.parametrize("mode", ["skipgram", "cbow"])
def test_keras_round_trip(mode, tmp_path):
    model = word2vec(12, 4, mode=mode, num_negatives=2, window=2)
    randomize(model, seed=3)
    first = np.array([[1, 2, -1, 3], [4, -1, -1, -1]]) if mode == "cbow" else np.array([1, 4])
    inputs = [first, np.array([[0, 5, 6], [7, 8, 9]])]
    path = tmp_path / f"{mode}.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_array_equal(
        restored.predict(inputs, verbose=0), model.predict(inputs, verbose=0)
    )
    np.testing.assert_array_equal(word_vectors(restored), word_vectors(model))


def test_errors():
    with pytest.raises(ValueError, match=r"`mode` must be one of \('skipgram', 'cbow'\)"):
        word2vec(10, 3, mode="glove")
    with pytest.raises(ValueError, match=r"`vocab_size` must be > 0. Received: vocab_size=0"):
        word2vec(0, 3)
    with pytest.raises(TypeError, match=r"`num_negatives` must be a positive int"):
        word2vec(10, 3, num_negatives=2.5)
    with pytest.raises(ValueError, match=r"`layer` must name one of the model's Embedding"):
        word_vectors(word2vec(10, 3), "E")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["skipgram", "cbow"])
def test_training_recovers_planted_analogies(mode):
    keras.utils.set_random_seed(0)
    vocab, sentences = planted_corpus(600)
    make = skipgram_dataset if mode == "skipgram" else cbow_dataset
    data = make(
        sentences,
        window=4,
        num_negatives=5,
        batch_size=256,
        subsample=None,
        seed=0,
        as_dict=mode == "cbow",
    )
    model = word2vec(len(vocab), 16, mode=mode, num_negatives=5, window=4)
    model.compile(keras.optimizers.Adam(0.01), NegativeSamplingLoss())
    before = analogy_accuracy(word_vectors(model), vocab)
    with pytest.warns(UserWarning, match="ran out of data"):
        # The number of batches varies per epoch, so the cardinality is unknown: Keras
        # learns the first epoch's length when the dataset runs out.
        history = model.fit(data, epochs=3, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert losses[-1] < 0.8 * losses[0]
    assert before < 0.3
    assert analogy_accuracy(word_vectors(model), vocab) >= 0.9
