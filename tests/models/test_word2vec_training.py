"""word2vec training recipe: the expected number of examples per epoch against brute
force and the datasets' own counts, one training step against word2vec's per-pair SGD
updates re-derived in numpy, and training that recovers planted analogies."""

import itertools

import keras
import numpy as np
import pytest

from kerasdl.data.skipgrams import cbow_dataset, skipgram_dataset
from kerasdl.models.word2vec import word2vec
from kerasdl.models.word2vec_training import (
    _contexts_per_sentence,
    expected_examples_per_epoch,
    train_word2vec,
)
from tests.models.test_word2vec import analogy_accuracy, planted_corpus


@pytest.mark.parametrize("window", [1, 2, 3, 5])
def test_contexts_per_sentence_by_brute_force(window):
    lengths = np.arange(0, 8)
    expected = []
    for length in lengths:
        # Every combination of the centres' windows, each equally likely.
        combos = list(itertools.product(range(1, window + 1), repeat=int(length)))
        total = sum(
            min(reach[p], p) + min(reach[p], length - 1 - p)
            for reach in combos
            for p in range(length)
        )
        expected.append(total / len(combos))
    np.testing.assert_allclose(_contexts_per_sentence(lengths, window), expected, rtol=1e-12)


def test_expected_examples_match_the_datasets():
    rng = np.random.default_rng(0)
    sentences = [rng.integers(0, 50, rng.integers(1, 25)) for _ in range(300)]
    for subsample in (None, 0.02):
        expected = expected_examples_per_epoch(sentences, 4, subsample=subsample)
        data = skipgram_dataset(sentences, window=4, batch_size=4096, subsample=subsample)
        counts = [sum(int(y.shape[0]) for _, y in data) for _ in range(3)]
        assert np.mean(counts) == pytest.approx(expected, rel=0.03)
    cbow = cbow_dataset(sentences, window=4, batch_size=4096, subsample=None)
    assert sum(int(y.shape[0]) for _, y in cbow) == expected_examples_per_epoch(
        sentences, 4, mode="cbow", subsample=None
    )
    # Centres of [0, 1, 2]: 1.5 + 2 + 1.5 pairs on average; of [3, 4]: 1 + 1.
    assert expected_examples_per_epoch([[0, 1, 2], [3, 4]], 2, subsample=None) == 7.0


def test_two_steps_are_word2vecs_per_pair_sgd():
    """With the summed loss, a batch moves each row by the sum of its pairs' word2vec
    updates `g = alpha (label - sigmoid(theta_t . e_c))`: `e_c += g theta_t`,
    `theta_t += g e_c`, all from the parameters before the step; alpha falls linearly."""
    corpus = np.random.default_rng(1).integers(0, 30, size=(12, 8))
    examples = expected_examples_per_epoch(corpus, 3, subsample=None, seed=4)
    batch = int(examples / 2.5)  # two full batches in the epoch
    keras.utils.set_random_seed(4)
    data = skipgram_dataset(
        corpus, window=3, num_negatives=4, batch_size=batch, subsample=None, seed=4,
        drop_remainder=True,
    )  # fmt: skip
    batches = [(w.numpy(), c.numpy(), y.numpy()) for (w, c), y in data]
    assert len(batches) == 2
    start = word2vec(30, 6, num_negatives=4, window=3)
    e = start.get_layer("embedding").get_weights()[0].astype(np.float64)
    theta = start.get_layer("theta").get_weights()[0].astype(np.float64)
    run = train_word2vec(
        corpus, dim=6, window=3, num_negatives=4, epochs=1, batch_size=batch,
        learning_rate=0.05, min_learning_rate=0.0, subsample=None, seed=4, jit_compile=False,
    )  # fmt: skip
    for alpha, (word, candidates, labels) in zip((0.05, 0.025), batches, strict=True):
        z = np.einsum("bkd,bd->bk", theta[candidates], e[word])
        g = alpha * (labels - 1 / (1 + np.exp(-z)))
        new_e, new_theta = e.copy(), theta.copy()
        np.add.at(new_e, word, np.einsum("bk,bkd->bd", g, theta[candidates]))
        np.add.at(
            new_theta, candidates.reshape(-1), (g[..., None] * e[word][:, None]).reshape(-1, 6)
        )
        e, theta = new_e, new_theta
    np.testing.assert_allclose(run.vectors, e, atol=1e-6)
    np.testing.assert_allclose(run.model.get_layer("theta").get_weights()[0], theta, atol=1e-6)
    # theta starts at 0, so only the second step moves the word vectors.
    assert not np.allclose(e, start.get_layer("embedding").get_weights()[0], atol=1e-4)


@pytest.mark.slow
def test_training_recovers_planted_analogies():
    vocab, sentences = planted_corpus(1500)
    run = train_word2vec(
        sentences, dim=16, window=4, epochs=8, batch_size=256, subsample=None, seed=0
    )
    losses = run.history.history["loss"]
    assert losses[-1] < 0.8 * losses[0]
    assert analogy_accuracy(run.vectors, vocab) >= 0.9
    # The schedule ends at the last learning rate.
    final = run.model.optimizer.learning_rate
    assert float(final) == pytest.approx(1e-4, abs=0.002)
    tokens = sentences.size
    assert run.words_per_second == pytest.approx(tokens * 8 / run.seconds)


def test_bad_arguments():
    corpus = np.arange(40).reshape(4, 10) % 7
    with pytest.raises(ValueError, match="`mode` must be one of"):
        train_word2vec(corpus, mode="glove")
    with pytest.raises(ValueError, match="`min_learning_rate` must be in"):
        train_word2vec(corpus, learning_rate=0.01, min_learning_rate=0.1)
    with pytest.raises(ValueError, match="`epochs` must be > 0"):
        train_word2vec(corpus, epochs=0)
    with pytest.raises(ValueError, match="`window` must be > 0"):
        expected_examples_per_epoch(corpus, window=0)
