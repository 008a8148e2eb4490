"""GloVe model: scores against numpy, the GloVe tool's initialisation, final vectors
w + w~, `.keras` round trips, errors, full-batch AdaGrad training step for step equal
to mittens' numpy GloVe, and training on a corpus with planted structure whose analogies
`complete_analogy` must recover."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.data.glove import cooccurrence_matrix, cooccurrence_triples, glove_dataset
from kerasdl.losses.glove import GloVeLoss
from kerasdl.models.glove import glove, glove_vectors
from tests.losses.test_glove import numpy_mittens
from tests.models.test_word2vec import (
    GENDER_WORDS,
    ROLE_WORDS,
    ROLES,
    analogy_accuracy,
    planted_corpus,
)


def randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])


def parameters(model):
    return {name: keras.ops.convert_to_numpy(model.get_layer(name).embeddings) for name in (
        "w", "w_tilde", "b", "b_tilde"
    )}  # fmt: skip


def test_scores_are_dot_products_plus_biases():
    model = glove(25, 6)
    randomize(model)
    p = parameters(model)
    rng = np.random.default_rng(1)
    i, j = rng.integers(0, 25, 16), rng.integers(0, 25, 16)
    got = np.asarray(model.predict([i, j], verbose=0))
    expected = np.einsum("bd,bd->b", p["w"][i], p["w_tilde"][j]) + p["b"][i, 0] + p["b_tilde"][j, 0]
    assert got.shape == (16,)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    as_dict = model.predict({"word": i, "context": j}, verbose=0)
    np.testing.assert_array_equal(as_dict, got)


def test_initialisation_as_the_glove_tool_and_final_vectors():
    keras.utils.set_random_seed(0)
    model = glove(400, 10)
    p = parameters(model)
    for name, value in p.items():
        assert np.abs(value).max() <= 0.05 and value.std() > 0.02, name
    assert not np.allclose(p["w"], p["w_tilde"])
    np.testing.assert_array_equal(glove_vectors(model), p["w"] + p["w_tilde"])
    np.testing.assert_allclose(glove_vectors(model, "mean"), (p["w"] + p["w_tilde"]) / 2)
    np.testing.assert_array_equal(glove_vectors(model, "word"), p["w"])
    np.testing.assert_array_equal(glove_vectors(model, "context"), p["w_tilde"])


def test_keras_round_trip(tmp_path):
    model = glove(12, 4)
    randomize(model, seed=3)
    inputs = [np.array([0, 5, 11]), np.array([3, 3, 7])]
    path = tmp_path / "glove.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_array_equal(
        restored.predict(inputs, verbose=0), model.predict(inputs, verbose=0)
    )
    np.testing.assert_array_equal(glove_vectors(restored), glove_vectors(model))


def test_errors():
    with pytest.raises(ValueError, match=r"`vocab_size` must be > 0. Received: vocab_size=0"):
        glove(0, 3)
    with pytest.raises(TypeError, match=r"`dim` must be a positive int"):
        glove(10, 2.5)
    with pytest.raises(ValueError, match=r"`combine` must be one of \('sum', 'mean'"):
        glove_vectors(glove(10, 3), "max")
    other = keras.Sequential([keras.Input((2,)), keras.layers.Embedding(5, 2, name="w")])
    with pytest.raises(ValueError, match=r"must have the Embedding layers 'w' and 'w_tilde'"):
        glove_vectors(other)


def test_full_batch_adagrad_matches_mittens():
    """From the same start, AdaGrad on J / 2 over every non-zero X_ij follows mittens'
    numpy GloVe (full-matrix gradients, AdaGrad with accumulators starting at 0.1)."""
    mittens = numpy_mittens()
    rng = np.random.default_rng(0)
    vocab_size, dim, steps = 15, 4, 12
    X = cooccurrence_matrix(rng.integers(0, vocab_size, 400), vocab_size, window=3).toarray()
    start = {
        "W": rng.uniform(-0.5, 0.5, (vocab_size, dim)),
        "C": rng.uniform(-0.5, 0.5, (vocab_size, dim)),
        "bw": rng.uniform(-0.5, 0.5, (vocab_size, 1)),
        "bc": rng.uniform(-0.5, 0.5, (vocab_size, 1)),
    }
    reference = mittens.GloVe(
        n=dim, xmax=20, alpha=0.75, max_iter=steps, learning_rate=0.05,
        display_progress=0, test_mode=True,
    )  # fmt: skip
    expected = reference.fit(X, fixed_initialization={k: v.copy() for k, v in start.items()})

    model = glove(vocab_size, dim)
    for layer, key in (("w", "W"), ("w_tilde", "C"), ("b", "bw"), ("b_tilde", "bc")):
        model.get_layer(layer).embeddings.assign(start[key].astype("float32"))
    i, j, x = cooccurrence_triples(X)
    loss = GloVeLoss(x_max=20, alpha=0.75, reduction="sum")
    optimizer = keras.optimizers.Adagrad(0.05, initial_accumulator_value=0.1, epsilon=1e-12)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            value = 0.5 * loss(x, model([i, j]))
        gradients = tape.gradient(value, model.trainable_variables)
        # Dense gradients: Keras' AdaGrad squares the rows of an IndexedSlices gradient
        # before their duplicates are summed, i.e. accumulates sum g^2 instead of (sum g)^2.
        gradients = [tf.convert_to_tensor(g) for g in gradients]
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return value

    errors = [float(step()) for _ in range(steps)]
    np.testing.assert_allclose(errors, reference.errors, rtol=1e-4)
    assert errors[-1] < 0.7 * errors[0]
    np.testing.assert_allclose(glove_vectors(model), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(parameters(model)["b"], reference.bw, rtol=1e-4, atol=1e-5)


def noisy_planted_corpus(num_sentences, noise=0.2, seed=0):
    """test_word2vec's planted sentences (a role word, two words of its gender, two of its
    role) where each gender or role word comes from another gender or role with
    probability `noise`. GloVe fits only the pairs that occur, so a corpus where king
    never meets "she" leaves the gender direction of king unconstrained; with noise
    every pair occurs and the log counts carry the gender and role as additive parts."""
    rng = np.random.default_rng(seed)
    vocab = sorted({*ROLES, *ROLES.values(), *sum(ROLE_WORDS.values(), []), *sum(GENDER_WORDS, [])})
    index = {w: i for i, w in enumerate(vocab)}
    roles = list(ROLES)
    sentences = []
    for _ in range(num_sentences):
        role, gender = roles[rng.integers(len(roles))], int(rng.integers(2))
        words = [role if gender == 0 else ROLES[role]]
        for _ in range(2):
            words.append(rng.choice(GENDER_WORDS[gender if rng.random() >= noise else 1 - gender]))
        for _ in range(2):
            source = role if rng.random() >= noise else roles[rng.integers(len(roles))]
            words.append(rng.choice(ROLE_WORDS[source]))
        rng.shuffle(words)
        sentences.append([index[w] for w in words])
    return vocab, np.array(sentences)


def test_noisy_corpus_keeps_the_planted_vocabulary():
    vocab, sentences = noisy_planted_corpus(300)
    assert vocab == planted_corpus(1)[0] and sentences.shape == (300, 5)
    X = cooccurrence_matrix(sentences, len(vocab), window=4)
    he, she, king = vocab.index("he"), vocab.index("she"), vocab.index("king")
    assert X[king, he] > 2 * X[king, she] > 0


@pytest.mark.slow
def test_training_recovers_planted_analogies():
    keras.utils.set_random_seed(0)
    vocab, sentences = noisy_planted_corpus(2000)
    X = cooccurrence_matrix(sentences, len(vocab), window=4)
    model = glove(len(vocab), 16)
    model.compile(keras.optimizers.Adam(0.02), GloVeLoss(x_max=10.0))
    before = analogy_accuracy(glove_vectors(model), vocab)
    data = glove_dataset(X, batch_size=128, seed=0)
    history = model.fit(data, epochs=30, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert losses[-1] < 0.05 * losses[0]
    assert before < 0.3
    assert analogy_accuracy(glove_vectors(model), vocab) >= 0.9
