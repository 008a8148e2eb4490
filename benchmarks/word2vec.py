"""word2vec training throughput: kerasdl against gensim on the same real corpus.

Both train skip-gram with negative sampling on the same sentences (WordNet 3.0's glosses,
Debian `wordnet-base`, via `kerasdl.data.corpora.english_corpus`) with the same settings:
dimension 100, window 5, 5 negatives, subsampling 1e-3, words seen at least 5 times.
kerasdl follows `kerasdl.models.word2vec_training.train_word2vec`'s recipe
(`skipgram_dataset` in batches of 4096, `word2vec`, `NegativeSamplingLoss` summed, SGD,
XLA); gensim is `Word2Vec(sg=1)` with one worker thread per core (its C routines).

Each timed call is one more epoch of an already built and compiled model, so the rows
compare steady training: the tf.data pipeline (windows, subsampling, negatives) and the
updates for kerasdl, gensim's whole `train` for gensim. Words per second count the
corpus tokens (before subsampling), as gensim reports them.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from benchmarks.timing import compare, row

SIZES = (300_000,)
BATCH_SIZE = 4096


def one_row(num_tokens: int) -> str:
    import keras

    from kerasdl.data.corpora import encode_corpus, english_corpus
    from kerasdl.data.skipgrams import skipgram_dataset
    from kerasdl.losses.sampling import NegativeSamplingLoss
    from kerasdl.models.word2vec import word2vec
    from kerasdl.models.word2vec_training import expected_examples_per_epoch
    from tutorials.word_embeddings import SETTINGS, gensim_skipgram

    sentences = english_corpus("wordnet", max_tokens=num_tokens)
    corpus = encode_corpus(sentences, min_count=SETTINGS["min_count"])
    dataset = skipgram_dataset(
        corpus.sentences,
        window=SETTINGS["window"],
        num_negatives=SETTINGS["num_negatives"],
        batch_size=BATCH_SIZE,
        counts=corpus.counts,
        subsample=SETTINGS["subsample"],
        drop_remainder=True,
    )
    steps = math.floor(
        expected_examples_per_epoch(
            corpus.sentences, SETTINGS["window"], counts=corpus.counts,
            subsample=SETTINGS["subsample"],
        ) / BATCH_SIZE
    )  # fmt: skip
    keras.utils.set_random_seed(0)
    model = word2vec(len(corpus.words), SETTINGS["dim"], num_negatives=SETTINGS["num_negatives"])
    schedule = keras.optimizers.schedules.PolynomialDecay(0.025, 20 * steps, 1e-4)
    model.compile(
        keras.optimizers.SGD(schedule), NegativeSamplingLoss(reduction="sum"), jit_compile=True
    )
    reference = gensim_skipgram(sentences)
    assert len(reference.wv) == len(corpus.words)

    def ours():
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Your input ran out of data", UserWarning)
            model.fit(dataset, epochs=1, verbose=0, shuffle=False)

    def peer():
        reference.train(sentences, total_examples=len(sentences), epochs=1)

    t_ours, t_peer = compare(ours, peer, repeats=3, warmup=1)
    rates = f"{num_tokens / t_ours / 1e3:.0f}k vs {num_tokens / t_peer / 1e3:.0f}k words/s"
    assert np.isfinite(t_ours) and np.isfinite(t_peer)
    return row(
        f"word2vec skip-gram training, one epoch of {num_tokens // 1000}k words of WordNet "
        f"glosses (V = {len(corpus.words)}), dim 100, window 5, 5 negatives; {rates}",
        f"gensim Word2Vec, {reference.workers} workers",
        t_ours,
        t_peer,
        "report",
    )


def run() -> list[str]:
    try:
        import gensim  # noqa: F401
    except ImportError:
        return ["| word2vec training | gensim | - | - | - | skipped: pip install gensim |"]
    try:
        return [one_row(num_tokens) for num_tokens in SIZES]
    except FileNotFoundError as error:
        return [f"| word2vec training | gensim | - | - | - | skipped: {error} |"]
