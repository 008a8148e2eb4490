"""The word2vec pipeline against numpy re-derivations and statistical tests: the f^(3/4)
distribution (chi-square on the sampler and on the pipeline's negatives), dynamic-window
statistics, sentence boundaries, subsampling (formulas from the C tool and the paper,
and observed keep rates), determinism with a seed, the output layout and the errors."""

import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from kerasdl.data.skipgrams import (
    alias_table,
    cbow_dataset,
    keep_probabilities,
    sample_negatives,
    sampling_distribution,
    skipgram_dataset,
    window_pairs,
)

ZIPF_COUNTS = (1000 / np.arange(1, 41)).round().astype(int)


def zipf_corpus(n, seed=0, counts=ZIPF_COUNTS):
    rng = np.random.default_rng(seed)
    return rng.choice(len(counts), size=n, p=counts / counts.sum())


def collect(dataset):
    words, candidates, labels = [], [], []
    for (w, c), y in dataset:
        words.append(w.numpy())
        candidates.append(c.numpy())
        labels.append(y.numpy())
    return np.concatenate(words), np.concatenate(candidates), np.concatenate(labels)


class TestDistributions:
    def test_sampling_distribution_formula(self):
        counts = np.array([5, 0, 120, 7, 1])
        expected = np.array([5**0.75, 0, 120**0.75, 7**0.75, 1]) / sum(c**0.75 for c in counts)
        np.testing.assert_allclose(sampling_distribution(counts), expected, rtol=1e-12)
        np.testing.assert_allclose(sampling_distribution(counts, 1.0), counts / counts.sum())
        np.testing.assert_allclose(sampling_distribution(counts, 0), [0.25, 0, 0.25, 0.25, 0.25])

    def test_keep_probabilities_match_the_c_tool_and_the_paper(self):
        counts = np.array([50000, 3000, 700, 40, 0, 2])
        total, t = counts.sum(), 1e-3
        # word2vec.c: ran = (sqrt(cn / (sample * train_words)) + 1) * (sample * train_words) / cn
        with np.errstate(divide="ignore"):
            c_tool = (np.sqrt(counts / (t * total)) + 1) * (t * total) / counts
            paper = np.sqrt(t / (counts / total))
        np.testing.assert_allclose(keep_probabilities(counts, t), np.minimum(c_tool, 1))
        np.testing.assert_allclose(
            keep_probabilities(counts, t, formula="paper"), np.minimum(paper, 1)
        )
        assert keep_probabilities(counts, t)[0] < 0.2

    def test_alias_table_is_exact(self):
        rng = np.random.default_rng(9)
        for size in (1, 2, 7, 500):
            p = rng.exponential(size=size) * (rng.uniform(size=size) < 0.7)
            p[rng.integers(size)] += 0.1
            threshold, alias = alias_table(p)
            mass = threshold + np.bincount(alias, weights=1 - threshold, minlength=size)
            np.testing.assert_allclose(mass / size, p / p.sum(), atol=1e-12)
            assert np.all(threshold[p == 0] == 0) and np.all(p[alias[threshold < 1]] > 0)
        with pytest.raises(ValueError, match=r"`distribution` must be a non-empty \[V\]"):
            alias_table([0.0, 0.0])

    def test_sampler_chi_square(self):
        p = sampling_distribution(ZIPF_COUNTS)
        ids = sample_negatives(alias_table(p), [20000, 5], tf.constant([3, 4])).numpy()
        observed = np.bincount(ids.ravel(), minlength=len(p))
        assert stats.chisquare(observed, p * ids.size).pvalue > 1e-3
        # ... and fails against the plain unigram distribution the notes reject.
        unigram = ZIPF_COUNTS / ZIPF_COUNTS.sum()
        assert stats.chisquare(observed, unigram * ids.size).pvalue < 1e-12

    def test_zero_count_words_never_drawn_and_avoid(self):
        p = sampling_distribution([0, 3, 0, 5, 2, 0])
        avoid = np.tile([3, 1], 5000)
        ids = sample_negatives(alias_table(p), [10000, 4], tf.constant([1, 2]), avoid)
        ids = ids.numpy()
        assert set(np.unique(ids)) <= {1, 3, 4}
        assert not np.any(ids == avoid[:, None])
        # Rows avoiding word 3 sample P conditioned on w != 3.
        rows = ids[avoid == 3].ravel()
        conditional = np.where(np.arange(6) == 3, 0, p) / (1 - p[3])
        observed = np.bincount(rows, minlength=6)[[1, 4]]
        assert stats.chisquare(observed, conditional[[1, 4]] * rows.size).pvalue > 1e-3


class TestWindows:
    def test_fixed_window_pairs_match_numpy(self):
        tokens = np.array([3, 1, 4, 1, 5, 9, 2])
        centre, context, distance = window_pairs(tokens, 3, dynamic_window=False)
        expected = [
            (tokens[i], tokens[j], abs(i - j))
            for i in range(7)
            for j in range(i - 3, i + 4)
            if j != i and 0 <= j < 7
        ]
        got = list(zip(centre.numpy(), context.numpy(), distance.numpy(), strict=True))
        assert got == expected

    def test_dynamic_window_statistics(self):
        window, n = 5, 20000
        tokens = np.arange(n)  # ids are positions, so each pair's offset is known
        centre, context, _ = window_pairs(tokens, window, seed=tf.constant([0, 7]))
        centre, context = centre.numpy(), context.numpy()
        offsets = context - centre
        inner = (centre >= window) & (centre < n - window)
        # Each centre's contexts are exactly -b..-1, 1..b for one b in 1..window.
        per_centre = np.bincount(centre[inner] - window, minlength=n - 2 * window)
        assert np.all(per_centre % 2 == 0)
        reach = per_centre // 2
        assert reach.min() == 1 and reach.max() == window
        sums = np.bincount(centre[inner], weights=np.abs(offsets[inner]))[window:]
        np.testing.assert_array_equal(sums, reach * (reach + 1))
        assert stats.chisquare(np.bincount(reach)[1:]).pvalue > 1e-3
        # A word at distance d is a context with probability (window - d + 1) / window.
        observed = np.bincount(np.abs(offsets[inner]), minlength=window + 1)[1:]
        expected = 2 * len(reach) * (window - np.arange(1, window + 1) + 1) / window
        assert stats.chisquare(observed, expected * observed.sum() / expected.sum()).pvalue > 1e-3
        assert abs(observed.sum() / expected.sum() - 1) < 0.02

    def test_windows_stay_in_sentences(self):
        sentences = [np.arange(0, 4), np.arange(4, 5), np.arange(5, 12)]
        sentence_ids = np.repeat([0, 1, 2], [4, 1, 7])
        centre, context, _ = window_pairs(
            np.arange(12), 4, sentence_ids=sentence_ids, dynamic_window=False
        )
        centre, context = centre.numpy(), context.numpy()
        assert np.all(sentence_ids[centre] == sentence_ids[context])
        assert 4 not in centre
        expected = sum(
            sum(1 for i in range(len(s)) for j in range(len(s)) if 0 < abs(i - j) <= 4)
            for s in sentences
        )
        assert len(centre) == expected

    def test_dynamic_window_needs_seed(self):
        with pytest.raises(ValueError, match=r"`seed` is needed when `dynamic_window=True`"):
            window_pairs([1, 2, 3], 2)


class TestSkipgramDataset:
    def test_layout_and_exact_pairs_with_window_one(self):
        corpus = zipf_corpus(3000)
        ds = skipgram_dataset(corpus, window=1, num_negatives=4, batch_size=256, subsample=None)
        words, candidates, labels = collect(ds)
        assert words.dtype == np.int32 and candidates.shape == (len(words), 5)
        np.testing.assert_array_equal(labels, np.tile([1, 0, 0, 0, 0], (len(words), 1)))
        # Window 1 is not random: the epoch holds each neighbouring pair exactly once.
        expected = sorted(
            [(corpus[i], corpus[i + 1]) for i in range(2999)]
            + [(corpus[i + 1], corpus[i]) for i in range(2999)]
        )
        assert sorted(zip(words, candidates[:, 0], strict=True)) == expected
        assert not np.any(candidates[:, 1:] == candidates[:, :1])

    def test_negatives_follow_three_quarter_power(self):
        corpus = zipf_corpus(8000, seed=1)
        counts = np.bincount(corpus, minlength=40)
        ds = skipgram_dataset(corpus, window=2, num_negatives=5, subsample=None, seed=3)
        _, candidates, _ = collect(ds)
        p = sampling_distribution(counts)
        # Each row draws from P conditioned on w != its true target.
        positives = candidates[:, 0]
        conditional = np.tile(p, (len(positives), 1))
        conditional[np.arange(len(positives)), positives] = 0
        conditional /= conditional.sum(axis=1, keepdims=True)
        expected = 5 * conditional.sum(axis=0)
        observed = np.bincount(candidates[:, 1:].ravel(), minlength=40)
        assert stats.chisquare(observed, expected).pvalue > 1e-3

    def test_subsampling_keep_rate(self):
        counts = np.array([6000, 2000, 600, 200, 100, 50, 30, 20])
        corpus = np.repeat(np.arange(8), counts)
        np.random.default_rng(0).shuffle(corpus)
        keep = keep_probabilities(counts, threshold=0.01)
        ds = cbow_dataset(corpus, window=3, num_negatives=1, batch_size=4096, subsample=0.01)
        kept = np.bincount(collect(ds)[1][:, 0], minlength=8)
        # Each occurrence is kept independently with probability keep[w].
        z = (kept - counts * keep) / np.sqrt(counts * keep * (1 - keep) + 1e-12)
        assert np.all(np.abs(z) < 4.5), z
        assert kept[0] < 0.2 * counts[0] and np.all(kept[keep == 1] == counts[keep == 1])

    def test_determinism_and_new_draws_each_epoch(self):
        corpus = zipf_corpus(2000, seed=2)

        def make(seed):
            return skipgram_dataset(corpus, window=3, batch_size=512, seed=seed, chunk_size=700)

        first, again = make(5), make(5)
        epoch1, epoch1_again = collect(first), collect(again)
        for a, b in zip(epoch1, epoch1_again, strict=True):
            np.testing.assert_array_equal(a, b)
        epoch2 = collect(first)
        assert len(epoch2[0]) != len(epoch1[0]) or not np.array_equal(epoch2[1], epoch1[1])
        other = collect(make(6))
        assert len(other[0]) != len(epoch1[0]) or not np.array_equal(other[1], epoch1[1])
        # Re-iterating a fresh copy replays the same sequence of epochs.
        np.testing.assert_array_equal(collect(again)[1], epoch2[1])

    def test_sentences_dict_and_static_batches(self):
        sentences = [np.array([1, 2, 3]), np.array([4]), np.array([5, 6, 7, 8])]
        ds = skipgram_dataset(
            sentences, window=4, batch_size=3, subsample=None, drop_remainder=True, as_dict=True
        )
        spec = ds.element_spec
        assert set(spec[0]) == {"word", "candidates"}
        assert tuple(spec[0]["candidates"].shape) == (3, 6)
        pairs = []
        for inputs, _ in ds:
            pairs += list(
                zip(inputs["word"].numpy(), inputs["candidates"].numpy()[:, 0], strict=True)
            )
        group = {1: 0, 2: 0, 3: 0, 5: 1, 6: 1, 7: 1, 8: 1}
        assert all(group[a] == group[b] for a, b in pairs)
        assert 4 not in {a for a, _ in pairs}

    def test_ragged_and_two_d_corpora(self):
        ragged = tf.ragged.constant([[1, 2, 3], [4, 5]])
        words, candidates, _ = collect(
            skipgram_dataset(ragged, window=1, subsample=None, vocab_size=6)
        )
        assert sorted(zip(words, candidates[:, 0], strict=True)) == [
            (1, 2), (2, 1), (2, 3), (3, 2), (4, 5), (5, 4)
        ]  # fmt: skip
        words, _, _ = collect(
            skipgram_dataset(np.array([[1, 2], [3, 4]]), window=1, subsample=None)
        )
        assert sorted(words) == [1, 2, 3, 4]

    def test_errors(self):
        with pytest.raises(ValueError, match=r"`corpus` token ids must be >= 0"):
            skipgram_dataset([1, -2, 3])
        with pytest.raises(ValueError, match=r"`corpus` token ids must be < vocab_size=3"):
            skipgram_dataset([1, 2, 3], vocab_size=3)
        with pytest.raises(TypeError, match=r"`corpus` must hold int token ids"):
            skipgram_dataset([1.0, 2.0])
        with pytest.raises(ValueError, match=r"`corpus` must hold at least 2 tokens"):
            skipgram_dataset([1])
        with pytest.raises(
            ValueError,
            match=r"`counts` must have one entry per word, "
            r"vocab_size=5. Received: counts.shape=\(3,\)",
        ):
            skipgram_dataset([1, 2, 3], counts=[1, 1, 1], vocab_size=5)
        with pytest.raises(ValueError, match=r"`window` must be > 0. Received: window=0"):
            skipgram_dataset([1, 2, 3], window=0)
        with pytest.raises(TypeError, match=r"`seed` must be an int. Received: seed=None"):
            cbow_dataset([1, 2, 3], seed=None)
        with pytest.raises(ValueError, match=r"`subsample_formula` must be one of"):
            skipgram_dataset([1, 2, 3], subsample_formula="gensim")
        with pytest.raises(ValueError, match=r"`threshold` must be in \[0.0, 1.0\]"):
            skipgram_dataset([1, 2, 3], subsample=2.0)
        with pytest.raises(ValueError, match=r"`counts` must be finite and >= 0.*counts\[1\]"):
            sampling_distribution([1, -1])
        with pytest.raises(ValueError, match=r"`power` must be >= 0"):
            sampling_distribution([1, 2], power=-0.75)


class TestCbowDataset:
    def test_context_rows_match_windows(self):
        corpus = np.arange(50)  # ids are positions
        ds = cbow_dataset(corpus, window=3, num_negatives=2, batch_size=16, subsample=None)
        (context, candidates), labels = next(iter(ds))
        assert tuple(context.shape) == (16, 6) and tuple(candidates.shape) == (16, 3)
        assert tuple(labels.shape) == (16, 3)
        context, candidates, _ = collect(ds)
        np.testing.assert_array_equal(np.sort(candidates[:, 0]), corpus)
        offsets = np.array([-3, -2, -1, 1, 2, 3])
        expected = candidates[:, :1] + offsets
        real = context >= 0
        np.testing.assert_array_equal(context[real], expected[real])
        np.testing.assert_array_equal(context[~real], -1)
        # Away from the ends the window reaches as far left as right, and is never empty.
        interior = (candidates[:, 0] >= 3) & (candidates[:, 0] < 47)
        np.testing.assert_array_equal(real[interior], real[interior][:, ::-1])
        assert np.all(real[:, 2] | real[:, 3])
