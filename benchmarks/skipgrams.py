"""Skip-gram training pairs: kerasdl's tf.data pipeline vs the classic `skipgrams`.

Keras 3 removed `keras.preprocessing.sequence.skipgrams`; what users ran before (and the
TensorFlow word2vec tutorial still runs) is tf-keras's, a Python loop over the words
that returns lists of `[word, context]` couples and 0/1 labels, with negatives drawn
uniformly from the vocabulary. The peer is tf-keras's own function when tf-keras is
installed, else `classic_skipgrams` below, which does the same thing step by step (the
same calls to Python's `random`, so the same couples for the same random state; the
benchmark checks this when tf-keras is there).

Both make one epoch of labelled pairs over the same Zipf-distributed corpus (ids are
frequency ranks, as `make_sampling_table` assumes), with window 5 and 5 negatives per
positive. The peer's time includes turning its lists into numpy arrays. kerasdl yields
batches of `(word, [target, 5 negatives])` with `[1, 0, ..., 0]` labels: 6 labelled
pairs per example, negatives drawn from f(w)^(3/4), windows drawn from 1..5 (so fewer
pairs per word). The rows therefore compare time per million labelled pairs; the
absolute rates are in the row names.
"""

from __future__ import annotations

import random

import numpy as np

from benchmarks.timing import compare, row
from kerasdl.data.skipgrams import skipgram_dataset

WINDOW = 5
NEGATIVES = 5
VOCAB = 10_000


def make_sampling_table(size: int, sampling_factor: float = 1e-5) -> np.ndarray:
    """tf-keras's `make_sampling_table`: the paper's `min(1, sqrt(t / f))` keep
    probability with `f` from Zipf's law on the word's rank."""
    gamma = 0.577
    rank = np.arange(size)
    rank[0] = 1
    inv_fq = rank * (np.log(rank) + gamma) + 0.5 - 1.0 / (12.0 * rank)
    f = sampling_factor * inv_fq
    return np.minimum(1.0, f / np.sqrt(f))


def classic_skipgrams(
    sequence, vocabulary_size, window_size=4, negative_samples=1.0, sampling_table=None
):
    """The classic `skipgrams(..., shuffle=True, categorical=False, seed=None)`, step by
    step: positives in a fixed window (word 0 skipped), `negative_samples` times as many
    negatives `[shuffled input word, uniform id in 1..V-1]`, then a seeded shuffle."""
    couples, labels = [], []
    for i, wi in enumerate(sequence):
        if not wi:
            continue
        if sampling_table is not None and sampling_table[wi] < random.random():
            continue
        for j in range(max(0, i - window_size), min(len(sequence), i + window_size + 1)):
            if j != i:
                wj = sequence[j]
                if not wj:
                    continue
                couples.append([wi, wj])
                labels.append(1)
    if negative_samples > 0:
        num_negative = int(len(labels) * negative_samples)
        words = [c[0] for c in couples]
        random.shuffle(words)
        couples += [
            [words[i % len(words)], random.randint(1, int(vocabulary_size - 1))]
            for i in range(num_negative)
        ]
        labels += [0] * num_negative
    seed = random.randint(0, int(10e6))
    random.seed(seed)
    random.shuffle(couples)
    random.seed(seed)
    random.shuffle(labels)
    return couples, labels


def peer_skipgrams():
    """tf-keras's `skipgrams` if it is installed (checked equal to ours), else ours."""
    try:
        from tf_keras.preprocessing.sequence import skipgrams
    except ImportError:
        return classic_skipgrams, "classic skipgrams (reimplemented; tf-keras not installed)"
    sequence = list(np.random.default_rng(1).integers(0, 50, 300))
    table = make_sampling_table(50, 1e-2)
    outputs = []
    for fn in (skipgrams, classic_skipgrams):
        random.seed(7)
        outputs.append(fn(sequence, 50, window_size=3, negative_samples=2.0, sampling_table=table))
    if outputs[0] != outputs[1]:
        raise AssertionError("classic_skipgrams no longer matches tf-keras's skipgrams")
    return skipgrams, "tf-keras 2.21 skipgrams"


def zipf_corpus(num_tokens: int, seed: int = 0) -> np.ndarray:
    weights = 1.0 / np.arange(1, VOCAB + 1)
    return np.random.default_rng(seed).choice(VOCAB, size=num_tokens, p=weights / weights.sum())


def one_row(num_tokens: int, subsample: bool, skipgrams, peer_name: str) -> str:
    corpus = zipf_corpus(num_tokens)
    sequence = corpus.tolist()
    table = make_sampling_table(VOCAB) if subsample else None
    dataset = skipgram_dataset(
        corpus,
        window=WINDOW,
        num_negatives=NEGATIVES,
        batch_size=4096,
        subsample=1e-5 if subsample else None,
        subsample_formula="paper",
        vocab_size=VOCAB,
    )
    counts = {}

    def ours():
        pairs = 0
        for (_, candidates), _ in dataset:
            pairs += int(candidates.shape[0]) * int(candidates.shape[1])
        counts["ours"] = pairs

    def peer():
        couples, labels = skipgrams(
            sequence, VOCAB, window_size=WINDOW, negative_samples=NEGATIVES, sampling_table=table
        )
        np.asarray(couples, np.int32), np.asarray(labels, np.int32)
        counts["peer"] = len(labels)

    t_ours, t_peer = compare(ours, peer, repeats=3, warmup=1)
    per_ours = t_ours / counts["ours"] * 1e6
    per_peer = t_peer / counts["peer"] * 1e6
    rates = (
        f"{counts['ours'] / t_ours / 1e6:.2f}M vs {counts['peer'] / t_peer / 1e6:.2f}M "
        "labelled pairs/s"
    )
    sampling = "subsampling t=1e-5" if subsample else "no subsampling"
    return row(
        f"skip-gram pairs, {num_tokens} tokens, window {WINDOW}, {NEGATIVES} negatives, "
        f"{sampling}; time per 1M labelled pairs ({rates})",
        peer_name,
        per_ours,
        per_peer,
        "< 1",
    )


def run() -> list[str]:
    skipgrams, peer_name = peer_skipgrams()
    rows = []
    for num_tokens, subsample in ((10_000, False), (200_000, True)):
        rows.append(one_row(num_tokens, subsample, skipgrams, peer_name))
    return rows
