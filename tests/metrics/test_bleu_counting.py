"""The in-graph clipped n-gram counts of the BLEU metric against a Counter-based numpy
re-derivation: random ids with many repeats, empty and very short sentences, several
references, ids across the whole int32 range (the rank and prefix-doubling fallbacks),
each counting path on its own and through the dispatcher, eagerly, in a graph (also
with unknown lengths) and under XLA."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import tensorflow as tf

from kerasdl.metrics.bleu import (
    BLEU,
    _bit_length,
    _clipped_matches_sorted,
    _count_doubling,
    _count_tokens,
    _dense_ranks,
    _sentence_rows,
    corpus_bleu,
)

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def reference_counts(hyp, hyp_len, ref, ref_len, max_order):
    """Sum over sentences and distinct hypothesis n-grams of min(count, max ref count)."""
    totals = [0] * max_order
    for b in range(len(hyp)):
        h = [int(t) for t in hyp[b, : hyp_len[b]]]
        refs = [[int(t) for t in ref[b, k, : ref_len[b, k]]] for k in range(ref.shape[1])]
        for n in range(1, max_order + 1):
            grams = Counter(tuple(h[i : i + n]) for i in range(len(h) - n + 1))
            ref_grams = [Counter(tuple(r[i : i + n]) for i in range(len(r) - n + 1)) for r in refs]
            for gram, count in grams.items():
                best = max((c[gram] for c in ref_grams), default=0)
                totals[n - 1] += min(count, best)
    return np.array(totals)


def random_case(seed, batch, length, ref_length, refs, ids):
    """Tokens drawn from `ids` (few distinct values: many repeated n-grams), the
    hypotheses sharing a prefix with their first reference, lengths from 0 to full
    (empty, one- and two-token sentences included)."""
    rng = np.random.default_rng(seed)
    ids = np.asarray(ids, dtype=np.int64)
    hyp = rng.choice(ids, size=(batch, length))
    ref = rng.choice(ids, size=(batch, refs, ref_length))
    shared = min(length, ref_length) // 2
    hyp[:, :shared] = ref[:, 0, :shared]
    hyp_len = rng.integers(0, length + 1, batch)
    ref_len = rng.integers(0, ref_length + 1, (batch, refs))
    hyp_len[:3] = [0, 1, 2][: len(hyp_len[:3])]
    ref_len[:2, -1] = [0, 1][: len(ref_len[:2, -1])]
    return (
        hyp.astype("int32"),
        hyp_len.astype("int32"),
        ref.astype("int32"),
        ref_len.astype("int32"),
    )


SMALL_IDS = [1, 2, 3]
HUGE_IDS = [INT32_MIN, INT32_MIN + 1, -7, 0, 5, INT32_MAX - 1, INT32_MAX]
# (seed, batch, hypothesis length, reference length, references, ids, max_order)
CASES = [
    (0, 7, 12, 15, 3, SMALL_IDS, 4),
    (1, 5, 30, 25, 2, [4, 9], 4),
    (2, 6, 9, 11, 1, HUGE_IDS, 4),  # ids need 33 bits: ranked within the row first
    (3, 4, 20, 20, 2, HUGE_IDS, 3),
    (4, 5, 8, 6, 3, SMALL_IDS, 1),
    (5, 3, 70, 60, 1, HUGE_IDS, 8),  # 8 orders of ranks < 131 need 65 bits: doubling
    (6, 4, 40, 50, 2, [1000, 50_000, 70_000], 5),
]


@pytest.mark.parametrize("case", CASES, ids=[f"seed{c[0]}" for c in CASES])
def test_sorted_counts_equal_reference(case):
    seed, batch, length, ref_length, refs, ids, max_order = case
    inputs = random_case(seed, batch, length, ref_length, refs, ids)
    expected = reference_counts(*inputs, max_order)
    assert expected.sum() > 0
    np.testing.assert_array_equal(_clipped_matches_sorted(*inputs, max_order), expected)
    graph = tf.function(lambda *x: _clipped_matches_sorted(*x, max_order))
    np.testing.assert_array_equal(graph(*inputs), expected)


def test_sorted_counts_with_unknown_lengths():
    """With unknown row widths the path is chosen when run: one traced function takes
    the bit-field key on ids, on ranks, and prefix doubling."""
    spec = [
        tf.TensorSpec([None, None], tf.int32),
        tf.TensorSpec([None], tf.int32),
        tf.TensorSpec([None, None, None], tf.int32),
        tf.TensorSpec([None, None], tf.int32),
    ]
    unknown = tf.function(lambda *x: _clipped_matches_sorted(*x, 8), input_signature=spec)
    for ids, length, refs in ((SMALL_IDS, 9, 2), (HUGE_IDS, 9, 1), (HUGE_IDS, 70, 1)):
        inputs = random_case(length, 5, length, length - 3, refs, ids)
        np.testing.assert_array_equal(unknown(*inputs), reference_counts(*inputs, 8))


@pytest.mark.parametrize("case", [CASES[0], CASES[2], CASES[5]], ids=["bits", "ranks", "doubling"])
def test_sorted_counts_under_xla(case):
    seed, batch, length, ref_length, refs, ids, max_order = case
    inputs = random_case(seed, batch, length, ref_length, refs, ids)
    xla = tf.function(lambda *x: _clipped_matches_sorted(*x, max_order), jit_compile=True)
    np.testing.assert_array_equal(xla(*inputs), reference_counts(*inputs, max_order))


@pytest.mark.parametrize("max_order", [1, 2, 3, 4, 5, 8])
def test_each_counting_path_on_its_own(max_order):
    """The bit-field key on ids, on ranks, and prefix doubling give the same counts."""
    inputs = random_case(10 + max_order, 6, 18, 21, 2, [3, 8, 11, 40])
    expected = reference_counts(*inputs, max_order)
    rows = _sentence_rows(*inputs, max_order)
    tokens, remaining = rows[0], rows[1]
    valid = np.asarray(remaining) > 0
    digits = np.where(valid, np.asarray(tokens, np.int64) - 2, 0)  # ids 3..40 -> 1..38
    batch, width = tokens.shape
    source_bits = _bit_length(rows[5] - 1)
    np.testing.assert_array_equal(
        _count_tokens(digits, np.int64(6), source_bits, rows, max_order), expected
    )
    ranks = np.where(valid, np.asarray(_dense_ranks(digits, batch, width, True, "int64")), 0)
    np.testing.assert_array_equal(
        _count_tokens(ranks, np.int64(_bit_length(width)), source_bits, rows, max_order), expected
    )
    np.testing.assert_array_equal(_count_doubling(rows, max_order), expected)


def test_dense_ranks_and_bit_length():
    rng = np.random.default_rng(3)
    keys = rng.integers(0, 6, (4, 9)).astype("int64")
    for packable in (True, False):
        ranks = np.asarray(_dense_ranks(keys, 4, 9, packable, "int32"))
        for row, rank in zip(keys, ranks, strict=True):
            distinct = np.unique(row)
            np.testing.assert_array_equal(rank, np.searchsorted(distinct, row) + 1)
    values = [0, 1, 2, 3, 4, 255, 256, 2**32 - 1, 2**32, 2**32 + 1, 2**53 + 1, 2**62 - 1]
    for value in values:
        assert _bit_length(value) == value.bit_length()
        assert int(_bit_length(np.int64(value))) == value.bit_length()


def test_metric_with_ids_across_the_int32_range():
    """Long rows of ids far apart (ranked in the row before the key is built) give
    corpus_bleu's score on the same ids written as words; padding id -1."""
    rng = np.random.default_rng(8)
    ids = np.array([INT32_MIN, -5, 3, 2**30, INT32_MAX])
    y_true = rng.choice(ids, size=(6, 2, 40)).astype("int32")
    y_pred = y_true[:, 0, :36].copy()
    y_pred[:, ::7] = rng.choice(ids, size=y_pred[:, ::7].shape)
    y_pred[1, 20:] = -1
    y_true[2, 1, 5:] = -1
    y_true[3, 0, :] = -1  # an empty reference

    def words(row):
        return " ".join(str(int(t)) for t in row if t != -1)

    expected = corpus_bleu(
        [words(r) for r in y_pred],
        [[words(r) for r in y_true[:, k]] for k in range(2)],
        tokenize="none",
    )
    metric = BLEU(pad_id=-1)
    tf.function(metric.update_state)(y_true, y_pred)
    assert metric.bleu_score().counts == expected.counts
    assert float(metric.result()) == pytest.approx(expected.score, abs=1e-4)
