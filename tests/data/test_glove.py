"""GloVe co-occurrence counting against a plain-Python re-derivation of the GloVe tool's
`cooccur.c` loop (1/distance weighting, window edges, sentence boundaries, symmetric and
left-only windows, min_count/max_vocab), chunked counting equal to unchunked, and the
(i, j, X_ij) tf.data pipeline: every entry once per epoch, a new order each epoch,
determinism with a seed, cardinality and errors."""

from collections import defaultdict

import numpy as np
import pytest
import scipy.sparse
import tensorflow as tf

import kerasdl.data.glove as glove_data
from kerasdl.data.glove import (
    cooccurrence_matrix,
    cooccurrence_triples,
    glove_dataset,
    vocabulary_mask,
)


def reference_counts(sentences, vocab_size, window, symmetric=True, weighting=True, keep=None):
    """cooccur.c's loop: for each word, its `window` predecessors in the (filtered)
    sentence add 1/(j - k) to X[left, right] (and X[right, left] if symmetric)."""
    counts = defaultdict(float)
    for sentence in sentences:
        words = [w for w in sentence if keep is None or keep[w]]
        for j, right in enumerate(words):
            for k in range(max(0, j - window), j):
                left = words[k]
                increment = 1.0 / (j - k) if weighting else 1.0
                counts[left, right] += increment
                if symmetric:
                    counts[right, left] += increment
    dense = np.zeros((vocab_size, vocab_size))
    for (i, j), value in counts.items():
        dense[i, j] = value
    return dense


def zipf_sentences(num_sentences, vocab_size=30, seed=0, max_length=25):
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, vocab_size + 1)
    return [
        rng.choice(vocab_size, size=rng.integers(1, max_length), p=p / p.sum())
        for _ in range(num_sentences)
    ]


class TestCounts:
    def test_known_answer_with_distance_weighting_and_window_edges(self):
        # Ids 0 and 3 are exactly `window` = 3 apart: counted with weight 1/3. Ids 0 and 4
        # are 4 apart: outside the window.
        X = cooccurrence_matrix([0, 1, 2, 3, 4], window=3).toarray()
        assert X[0, 3] == X[3, 0] == pytest.approx(1 / 3)
        assert X[0, 4] == 0 and X[4, 0] == 0
        assert X[0, 1] == 1 and X[0, 2] == 0.5 and X[1, 4] == pytest.approx(1 / 3)
        np.testing.assert_allclose(X, reference_counts([[0, 1, 2, 3, 4]], 5, 3), rtol=1e-15)
        # The same word twice, 2 apart, lands on the diagonal (once per direction).
        X = cooccurrence_matrix([7, 1, 7], vocab_size=8, window=2).toarray()
        assert X[7, 7] == 1.0 and X[7, 1] == 2.0 and X.shape == (8, 8)

    @pytest.mark.parametrize("window", [1, 2, 5, 10])
    @pytest.mark.parametrize("symmetric", [True, False])
    @pytest.mark.parametrize("weighting", [True, False])
    def test_matches_the_reference_loop(self, window, symmetric, weighting):
        sentences = zipf_sentences(40, seed=window)
        got = cooccurrence_matrix(
            sentences, 30, window=window, symmetric=symmetric, distance_weighting=weighting
        )
        expected = reference_counts(sentences, 30, window, symmetric, weighting)
        np.testing.assert_allclose(got.toarray(), expected, rtol=1e-12)
        assert scipy.sparse.isspmatrix_csr(got) and got.has_sorted_indices
        assert got.nnz == np.count_nonzero(expected)
        if symmetric:
            assert abs(got - got.T).max() < 1e-12

    def test_left_only_window_is_the_transpose_half(self):
        stream = np.random.default_rng(3).integers(0, 12, 300)
        left = cooccurrence_matrix(stream, 12, window=4, symmetric=False)
        both = cooccurrence_matrix(stream, 12, window=4)
        np.testing.assert_allclose((left + left.T).toarray(), both.toarray(), rtol=1e-12)
        # Row i, column j: j came after i. In [0, 5] the pair is only (0, 5).
        X = cooccurrence_matrix([0, 5], window=3, symmetric=False).toarray()
        assert X[0, 5] == 1 and X[5, 0] == 0

    def test_windows_stay_inside_sentences(self):
        sentences = [[0, 1], [2, 3, 4]]
        X = cooccurrence_matrix(sentences, window=5).toarray()
        assert X[1, 2] == 0 and X[0, 4] == 0 and X[2, 4] == 0.5
        ragged = tf.ragged.constant(sentences)
        np.testing.assert_array_equal(cooccurrence_matrix(ragged, window=5).toarray(), X)
        padded = np.array([[0, 1, 2], [3, 4, 0]])  # a 2-D array is equal-length sentences
        np.testing.assert_allclose(
            cooccurrence_matrix(padded, window=5).toarray(),
            reference_counts(padded.tolist(), 5, 5),
        )

    def test_vocabulary_cut_drops_words_and_windows_reach_past_them(self):
        sentences = zipf_sentences(60, seed=7)
        counts = np.bincount(np.concatenate(sentences), minlength=30)
        for min_count, max_vocab in [(5, None), (1, 8), (3, 12)]:
            keep = vocabulary_mask(counts, min_count, max_vocab)
            got = cooccurrence_matrix(
                sentences, 30, window=3, min_count=min_count, max_vocab=max_vocab
            )
            expected = reference_counts(sentences, 30, 3, keep=keep)
            np.testing.assert_allclose(got.toarray(), expected, rtol=1e-12)
            assert not got[~keep].nnz and not got[:, ~keep].nnz
        # Dropping word 9 brings 0 and 1 to distance 1.
        X = cooccurrence_matrix([0, 9, 1, 0, 1], window=1, min_count=2).toarray()
        assert X[0, 1] == 3 and X[9].sum() == 0

    def test_vocabulary_mask_ranks_by_count_then_id(self):
        counts = np.array([4, 9, 4, 0, 4, 2])
        assert vocabulary_mask(counts).tolist() == [True, True, True, False, True, True]
        assert vocabulary_mask(counts, max_vocab=3).tolist() == [
            True, True, True, False, False, False,
        ]  # fmt: skip
        assert vocabulary_mask(counts, min_count=3, max_vocab=10).sum() == 4

    @pytest.mark.parametrize("chunk_size", [1, 3, 7, 64, 100000])
    def test_chunked_equals_unchunked(self, chunk_size, monkeypatch):
        sentences = zipf_sentences(80, seed=11)
        whole = cooccurrence_matrix(sentences, 30, window=6, chunk_size=10**6)
        # Merge the pending chunks often, so that path is exercised on a small corpus.
        monkeypatch.setattr(glove_data, "MERGE_FLOOR", 16)
        chunked = cooccurrence_matrix(sentences, 30, window=6, chunk_size=chunk_size)
        assert chunked.nnz == whole.nnz
        np.testing.assert_array_equal(chunked.indices, whole.indices)
        np.testing.assert_allclose(chunked.data, whole.data, rtol=1e-13)
        # Unit weights are exact whatever the summation order.
        exact = cooccurrence_matrix(
            sentences, 30, window=6, distance_weighting=False, chunk_size=chunk_size
        )
        np.testing.assert_array_equal(
            exact.toarray(), reference_counts(sentences, 30, 6, weighting=False)
        )

    def test_total_weight(self):
        # A stream of n tokens has n - d pairs at distance d, each counted twice.
        n, window = 1000, 10
        X = cooccurrence_matrix(np.random.default_rng(0).integers(0, 50, n), 50, window)
        expected = 2 * sum((n - d) / d for d in range(1, window + 1))
        assert X.sum() == pytest.approx(expected, rel=1e-12)

    def test_errors(self):
        with pytest.raises(ValueError, match=r"`corpus` token ids must be < vocab_size=3"):
            cooccurrence_matrix([0, 1, 5], vocab_size=3)
        with pytest.raises(ValueError, match=r"`corpus` token ids must be >= 0"):
            cooccurrence_matrix([0, -1, 2])
        with pytest.raises(ValueError, match=r"`window` must be > 0. Received: window=0"):
            cooccurrence_matrix([0, 1], window=0)
        with pytest.raises(TypeError, match=r"`symmetric` must be a bool"):
            cooccurrence_matrix([0, 1], symmetric="yes")
        with pytest.raises(ValueError, match=r"`min_count` must be > 0"):
            cooccurrence_matrix([0, 1], min_count=0)
        with pytest.raises(TypeError, match=r"`corpus` must hold int token ids"):
            cooccurrence_matrix([0.5, 1.0])
        # Every word below min_count: an empty matrix, not an error.
        assert cooccurrence_matrix([0, 1, 2], min_count=2).nnz == 0


def collect(dataset):
    i, j, x = [], [], []
    for (a, b), c in dataset:
        i.append(a.numpy())
        j.append(b.numpy())
        x.append(c.numpy())
    return np.concatenate(i), np.concatenate(j), np.concatenate(x)


class TestDataset:
    def matrix(self):
        return cooccurrence_matrix(zipf_sentences(50, seed=2), 30, window=5)

    def test_triples_are_the_nonzero_entries(self):
        X = self.matrix()
        i, j, x = cooccurrence_triples(X)
        assert i.dtype == np.int32 and x.dtype == np.float32 and i.size == X.nnz
        np.testing.assert_allclose(x, X.toarray()[i, j], rtol=1e-7)
        dense_i, dense_j, dense_x = cooccurrence_triples(X.toarray())
        np.testing.assert_array_equal(dense_i, i)
        np.testing.assert_array_equal(dense_j, j)
        np.testing.assert_array_equal(dense_x, x)

    def test_each_epoch_visits_every_entry_once_in_a_new_order(self):
        X = self.matrix()
        expected = sorted(zip(*(a.tolist() for a in cooccurrence_triples(X)), strict=True))
        data = glove_dataset(X, batch_size=50, seed=3)
        assert int(data.cardinality()) == -(-X.nnz // 50)
        epochs = [collect(data) for _ in range(2)]
        for i, j, x in epochs:
            assert sorted(zip(i.tolist(), j.tolist(), x.tolist(), strict=True)) == expected
        assert not np.array_equal(epochs[0][0], epochs[1][0])
        again = collect(glove_dataset(X, batch_size=50, seed=3))
        for a, b in zip(again, epochs[0], strict=True):
            np.testing.assert_array_equal(a, b)
        other = collect(glove_dataset(X, batch_size=50, seed=4))
        assert not np.array_equal(other[0], epochs[0][0])

    def test_unshuffled_dict_and_drop_remainder(self):
        X = self.matrix()
        i, j, x = cooccurrence_triples(X)
        data = glove_dataset(X, batch_size=32, shuffle=False, drop_remainder=True, as_dict=True)
        assert int(data.cardinality()) == X.nnz // 32
        batches = list(data)
        inputs, counts = batches[0]
        assert set(inputs) == {"word", "context"}
        assert all(tuple(b[1].shape) == (32,) for b in batches)
        got_i = np.concatenate([b[0]["word"].numpy() for b in batches])
        np.testing.assert_array_equal(got_i, i[: got_i.size])
        got_x = np.concatenate([b[1].numpy() for b in batches])
        np.testing.assert_array_equal(got_x, x[: got_x.size])

    def test_errors(self):
        with pytest.raises(ValueError, match=r"`cooccurrence` must be square"):
            glove_dataset(np.ones((2, 3)))
        with pytest.raises(ValueError, match=r"entries must be finite and >= 0.*X\[0, 1\]=-1"):
            glove_dataset(np.array([[0.0, -1.0], [1.0, 0.0]]))
        with pytest.raises(ValueError, match=r"at least one entry > 0"):
            glove_dataset(scipy.sparse.csr_matrix((3, 3)))
        with pytest.raises(ValueError, match=r"`batch_size` must be <= the 2 non-zero"):
            glove_dataset(np.array([[0.0, 1.0], [1.0, 0.0]]), batch_size=4, drop_remainder=True)
        with pytest.raises(TypeError, match=r"`seed` must be an int"):
            glove_dataset(np.eye(2), seed=None)
