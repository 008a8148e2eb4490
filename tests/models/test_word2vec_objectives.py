"""word2vec with hierarchical softmax and sampled softmax: node logits against numpy,
a normalised distribution over the vocabulary, `.keras` round trips, model.fit, word2vec's
per-pair hierarchical-softmax SGD, and the planted analogies."""

import keras
import numpy as np
import pytest

from kerasdl.data.candidate_sampling import sampled_softmax_dataset
from kerasdl.data.huffman import hierarchical_softmax_dataset, huffman_tree
from kerasdl.data.skipgrams import cbow_dataset, skipgram_dataset
from kerasdl.losses.hierarchical_softmax import HierarchicalSoftmaxLoss
from kerasdl.losses.sampled_softmax import SampledSoftmaxLoss
from kerasdl.models.word2vec import word2vec, word_vectors
from kerasdl.models.word2vec_training import expected_examples_per_epoch, train_word2vec
from tests.models.test_word2vec import analogy_accuracy, planted_corpus, randomize


def test_hierarchical_model_scores_the_path_nodes():
    tree = huffman_tree(np.random.default_rng(0).integers(1, 100, 30))
    model = word2vec(30, 6, objective="hierarchical_softmax")
    randomize(model)
    e, theta = word_vectors(model), word_vectors(model, "theta")
    assert theta.shape == (29, 6)
    targets = np.arange(30)
    word = np.random.default_rng(1).integers(0, 30, 30)
    points = tree.points[targets]
    got = np.asarray(model.predict([word, points], verbose=0))
    on_path = points >= 0
    expected = np.einsum("bld,bd->bl", theta[np.maximum(points, 0)], e[word])
    np.testing.assert_allclose(got[on_path], expected[on_path], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", ["skipgram", "cbow"])
def test_hierarchical_probabilities_sum_to_one(mode):
    counts = np.random.default_rng(2).zipf(1.4, 50)
    tree = huffman_tree(counts)
    model = word2vec(50, 8, mode=mode, window=2, objective="hierarchical_softmax")
    randomize(model, seed=4)
    loss = HierarchicalSoftmaxLoss(reduction=None)
    for first in ([3], [[3, 7, -1, 9]]):
        if (mode == "cbow") != (len(np.shape(first)) == 2):
            continue
        inputs = np.repeat(np.asarray(first), 50, axis=0)
        logits = model.predict([inputs, tree.points], verbose=0)
        probabilities = np.exp(-np.asarray(loss(tree.codes, logits), np.float64))
        assert probabilities.sum() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("objective", ["hierarchical_softmax", "sampled_softmax"])
@pytest.mark.parametrize("mode", ["skipgram", "cbow"])
def test_keras_round_trip(objective, mode, tmp_path):
    model = word2vec(12, 4, mode=mode, num_negatives=3, window=2, objective=objective)
    randomize(model, seed=3)
    first = np.array([[1, 2, -1, 3], [4, -1, -1, -1]]) if mode == "cbow" else np.array([1, 4])
    candidates = np.array([[10, 5, -1, -1], [10, 6, 2, 0]])
    labels = np.array([[1, 0, -1, -1], [0, 1, 1, 0]], "float32")
    loss = HierarchicalSoftmaxLoss()
    if objective == "sampled_softmax":
        candidates = np.array([[0, 5, 6, 11], [7, 8, 9, 7]])
        labels = np.log(np.float32([[0.5, 0.2, 0.1, 0.1], [0.3, 0.2, 0.1, np.inf]]))
        loss = SampledSoftmaxLoss()
    model.compile("sgd", loss)
    before = model.evaluate([first, candidates], labels, verbose=0)
    path = tmp_path / f"{objective}_{mode}.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    inputs = [first, candidates]
    np.testing.assert_array_equal(
        restored.predict(inputs, verbose=0), model.predict(inputs, verbose=0)
    )
    assert type(restored.loss) is type(loss)
    assert restored.evaluate(inputs, labels, verbose=0) == pytest.approx(before, rel=1e-6)


def test_errors():
    with pytest.raises(ValueError, match=r"`objective` must be one of .*Received: objective='nce'"):
        word2vec(10, 3, objective="nce")
    with pytest.raises(ValueError, match=r"`vocab_size` must be >= 2 for a hierarchical softmax"):
        word2vec(1, 3, objective="hierarchical_softmax")
    corpus = np.arange(40).reshape(4, 10) % 7
    with pytest.raises(ValueError, match=r"`objective` must be one of"):
        train_word2vec(corpus, objective="hs")
    with pytest.raises(ValueError, match=r"`sampler` must be one of .*Received: sampler='zipf'"):
        train_word2vec(corpus, objective="sampled_softmax", sampler="zipf")


def test_two_hierarchical_steps_are_word2vecs_per_pair_sgd():
    """word2vec.c's hierarchical softmax per pair and path node `n` with code `d`:
    `g = alpha (1 - d - sigmoid(theta_n . e_c))`, `e_c += g theta_n`, `theta_n += g e_c`;
    with the summed loss a batch applies all its pairs' updates from the same parameters."""
    corpus = np.random.default_rng(1).integers(0, 30, size=(12, 8))
    counts = np.bincount(corpus.ravel(), minlength=30)
    tree = huffman_tree(counts)
    examples = expected_examples_per_epoch(corpus, 3, subsample=None, seed=4)
    batch = int(examples / 2.5)
    keras.utils.set_random_seed(4)
    data = hierarchical_softmax_dataset(
        skipgram_dataset(corpus, window=3, num_negatives=1, batch_size=batch, subsample=None,
                         seed=4, drop_remainder=True),
        tree,
    )  # fmt: skip
    batches = [(w.numpy(), p.numpy(), c.numpy()) for (w, p), c in data]
    assert len(batches) == 2
    start = word2vec(30, 6, objective="hierarchical_softmax")
    e = start.get_layer("embedding").get_weights()[0].astype(np.float64)
    theta = np.zeros((29, 6))
    run = train_word2vec(
        corpus, dim=6, window=3, epochs=1, batch_size=batch, learning_rate=0.05,
        min_learning_rate=0.0, subsample=None, seed=4, jit_compile=False,
        objective="hierarchical_softmax",
    )  # fmt: skip
    for alpha, (word, points, codes) in zip((0.05, 0.025), batches, strict=True):
        new_e, new_theta = e.copy(), theta.copy()
        for c, path, code in zip(word, points, codes, strict=True):
            for n, d in zip(path, code, strict=True):
                if d < 0:
                    break
                g = alpha * (1 - d - 1 / (1 + np.exp(-theta[n] @ e[c])))
                new_e[c] += g * theta[n]
                new_theta[n] += g * e[c]
        e, theta = new_e, new_theta
    np.testing.assert_allclose(run.vectors, e, atol=1e-6)
    np.testing.assert_allclose(run.model.get_layer("theta").get_weights()[0], theta, atol=1e-6)
    assert not np.allclose(theta, 0.0)


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["hierarchical_softmax", "sampled_softmax"])
@pytest.mark.parametrize("mode", ["skipgram", "cbow"])
def test_training_recovers_planted_analogies(objective, mode):
    vocab, sentences = planted_corpus(1500)
    run = train_word2vec(
        sentences, dim=16, window=4, epochs=8, batch_size=256, subsample=None, seed=0,
        mode=mode, objective=objective, num_negatives=8, sampler="unigram",
    )  # fmt: skip
    losses = run.history.history["loss"]
    # A normalised softmax cannot go below the entropy of the contexts (about 0.55x the
    # first epoch's loss for skip-gram with hierarchical softmax here).
    assert losses[-1] < 0.85 * losses[0]
    assert analogy_accuracy(run.vectors, vocab) >= 0.9


def test_fit_with_the_datasets():
    keras.utils.set_random_seed(0)
    vocab, sentences = planted_corpus(300)
    counts = np.bincount(sentences.ravel(), minlength=len(vocab))
    source = cbow_dataset(sentences, window=2, num_negatives=1, batch_size=64, subsample=None,
                          drop_remainder=True, as_dict=True)  # fmt: skip
    for objective, data, loss in [
        ("hierarchical_softmax", hierarchical_softmax_dataset(source, huffman_tree(counts)),
         HierarchicalSoftmaxLoss()),
        ("sampled_softmax", sampled_softmax_dataset(source, len(vocab), 6, "uniform"),
         SampledSoftmaxLoss()),
    ]:  # fmt: skip
        model = word2vec(len(vocab), 8, mode="cbow", window=2, num_negatives=6, objective=objective)
        model.compile(keras.optimizers.Adam(0.02), loss)
        history = model.fit(data.repeat(), steps_per_epoch=6, epochs=3, verbose=0, shuffle=False)
        losses = history.history["loss"]
        assert np.all(np.isfinite(losses)) and losses[-1] < losses[0], (objective, losses)
