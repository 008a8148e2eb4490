"""Training `kerasdl.models.word2vec` the way the word2vec C tool and gensim train.

word2vec updates the vectors with plain SGD after every (input, target) pair, with a
learning rate that falls linearly from `alpha = 0.025` to about 0 over the whole run
(gensim: to `min_alpha = 1e-4`). With batches, the same updates come from
`keras.optimizers.SGD` on the loss *summed* over the batch (each embedding row moves by
the sum of its pairs' gradients, as if the pairs were applied one after another against
the same parameters) and a linear decay over the number of batches. The loss mean
(Keras' default reduction) would divide every step by the batch size.

The embedding gradients are `tf.IndexedSlices`, so SGD only touches the rows a batch
looks up; compiled with XLA (`jit_compile=True`) the gathers and scatters run several
times faster on CPU than TensorFlow's own kernels.

`expected_examples_per_epoch` gives the schedule its length: `skipgram_dataset`'s size
changes a little between epochs (random windows and subsampling), so it is estimated
from the sentence lengths after one draw of the subsampling and the exact expected
number of contexts of a dynamic window.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any, NamedTuple

import keras
import numpy as np

from kerasdl._validation import check_greater, check_one_of, check_positive_int
from kerasdl.data.candidate_sampling import CANDIDATE_SAMPLERS, sampled_softmax_dataset
from kerasdl.data.huffman import hierarchical_softmax_dataset, huffman_tree
from kerasdl.data.skipgrams import (
    _check_counts,
    _flatten_corpus,
    cbow_dataset,
    keep_probabilities,
    skipgram_dataset,
)
from kerasdl.losses.hierarchical_softmax import HierarchicalSoftmaxLoss
from kerasdl.losses.sampled_softmax import SampledSoftmaxLoss
from kerasdl.losses.sampling import NegativeSamplingLoss
from kerasdl.models.word2vec import WORD2VEC_MODES, WORD2VEC_OBJECTIVES, word2vec, word_vectors


def _contexts_per_sentence(lengths: np.ndarray, window: int) -> np.ndarray:
    """Expected (centre, context) pairs of sentences of `lengths` tokens with a window
    drawn uniformly from `1..window` per centre.

    A centre with `n` tokens on one side reaches `E_b[min(b, n)]` of them, so a sentence
    of length `L` has `2 sum_{n=0}^{L-1} E_b[min(b, n)]` pairs.
    """
    longest = int(lengths.max()) if lengths.size else 0
    n = np.arange(longest + 1)
    reach = np.minimum(np.arange(1, window + 1)[None, :], n[:, None]).mean(axis=1)
    total = np.concatenate([[0.0], 2.0 * np.cumsum(reach)])
    return total[lengths]


def expected_examples_per_epoch(
    corpus: Any,
    window: int = 5,
    mode: str = "skipgram",
    counts: Any = None,
    subsample: float | None = 1e-3,
    subsample_formula: str = "word2vec",
    seed: int = 0,
) -> float:
    """About how many examples `skipgram_dataset` (or `cbow_dataset`) yields per epoch.

    Skip-gram: one example per (centre, context) pair, `2 sum_{n<L} E_b[min(b, n)]` for a
    sentence of `L` kept words and `b` uniform in `1..window`. CBOW: one example per
    kept word with at least one other kept word in its sentence. `L` comes from one
    draw of the subsampling (its relative error is about `1 / sqrt(corpus size)`).

    Args:
        corpus: token ids as `skipgram_dataset` takes them (a stream, sentences, ...).
        window: the largest window.
        mode: "skipgram" (default) or "cbow".
        counts: `[V]` word counts; default counted in `corpus`.
        subsample: the subsampling threshold `t`, or None for none.
        subsample_formula: "word2vec" (default) or "paper".
        seed: the seed of the subsampling draw.

    Returns:
        The expected number of examples (a float).

    Example:

    >>> # Centres of [0, 1, 2] reach 1.5, 2 and 1.5 words on average, those of [3, 4] 1 each.
    >>> expected_examples_per_epoch([[0, 1, 2], [3, 4]], window=2, subsample=None)
    7.0
    """
    window = check_positive_int("window", window)
    check_one_of("mode", mode, WORD2VEC_MODES)
    tokens, sentence_ids = _flatten_corpus(corpus)
    counts = np.bincount(tokens) if counts is None else _check_counts(counts)
    kept = np.ones(tokens.size, bool)
    if subsample is not None:
        keep = keep_probabilities(counts, subsample, subsample_formula)
        kept = np.random.default_rng(seed).random(tokens.size) < keep[tokens]
    lengths = np.bincount(sentence_ids[kept], minlength=int(sentence_ids.max()) + 1)
    if mode == "cbow":
        return float(lengths[lengths >= 2].sum())
    return float(_contexts_per_sentence(lengths, window).sum())


class Word2VecTraining(NamedTuple):
    """What `train_word2vec` returns."""

    model: keras.Model
    """The trained `word2vec` model."""
    vectors: np.ndarray
    """The word vectors `[V, dim]` (the "embedding" layer's rows)."""
    history: keras.callbacks.History
    """`model.fit`'s history (the loss per epoch)."""
    seconds: float
    """Wall-clock time of `model.fit`: the pipeline (windows, subsampling, negatives),
    compilation and training."""
    words_per_second: float
    """Corpus tokens times epochs over `seconds` (gensim's "words/s")."""


def train_word2vec(
    corpus: Any,
    vocab_size: int | None = None,
    counts: Any = None,
    dim: int = 100,
    mode: str = "skipgram",
    window: int = 5,
    num_negatives: int = 5,
    epochs: int = 5,
    batch_size: int | None = None,
    learning_rate: float = 0.025,
    min_learning_rate: float = 1e-4,
    subsample: float | None = 1e-3,
    seed: int = 0,
    jit_compile: bool = True,
    verbose: int | str = 0,
    callbacks: list[keras.callbacks.Callback] | None = None,
    objective: str = "negative_sampling",
    sampler: str = "log_uniform",
) -> Word2VecTraining:
    """Trains word2vec on token ids, with word2vec's defaults.

    Builds `skipgram_dataset` (or `cbow_dataset`) and `word2vec(vocab_size, dim, mode)`,
    and fits the model with the objective's loss (default
    `NegativeSamplingLoss(reduction="sum")`) and SGD whose
    learning rate falls linearly from `learning_rate` to `min_learning_rate` over the
    expected number of batches (`epochs * expected_examples_per_epoch / batch_size`):

        alpha_s = alpha_0 - (alpha_0 - alpha_min) * s / S

    Defaults are word2vec's and gensim's (dim 100, window 5, 5 negatives, alpha 0.025,
    subsampling 1e-3, 5 epochs; gensim's `min_alpha` 1e-4). Batches drop the last,
    smaller batch of each epoch so the compiled step keeps one shape.

    `objective="hierarchical_softmax"` is gensim's `hs=1, negative=0` (word2vec's
    `-hs 1 -negative 0`): the Huffman tree of `counts` (`huffman_tree`, gensim's tie
    rule), the targets' paths (`hierarchical_softmax_dataset`) and
    `HierarchicalSoftmaxLoss(reduction="sum")`, the same SGD recipe.
    `objective="sampled_softmax"` draws `num_negatives` classes per batch from
    `sampler` (`sampled_softmax_dataset`) for `SampledSoftmaxLoss(reduction="sum")`.

    Args:
        corpus: token ids (sentences of ids, e.g. `encode_corpus(...).sentences`).
        vocab_size: `V`; default `len(counts)` or the largest id + 1.
        counts: `[V]` word counts (subsampling, negatives); default counted in `corpus`.
        dim: the embedding size.
        mode: "skipgram" (default) or "cbow".
        window: the largest window.
        num_negatives: `k` negatives per example, or the classes sampled per batch
            with `objective="sampled_softmax"`; unused by "hierarchical_softmax".
        epochs: passes over the corpus.
        batch_size: examples per SGD step; default 4096 for negative sampling, 512 for
            the softmax objectives. Larger is faster, and up to a few thousand gives
            negative sampling the quality of one-pair-at-a-time SGD on a vocabulary of
            10k+ words. The softmax objectives share candidates across a batch (every
            Huffman path starts at the root; a sampled softmax's sample is the batch's),
            so the summed step on those rows grows with the batch: on 300k words of
            WordNet glosses hierarchical softmax diverged at 4096 and matched gensim's
            `hs=1` at 512.
        learning_rate: the first learning rate `alpha_0`, per pair.
        min_learning_rate: the last one, `alpha_min`.
        subsample: the threshold for subsampling frequent words, or None.
        seed: seed of the initial vectors and every random draw of the data.
        jit_compile: compile the training step with XLA.
        verbose: `model.fit`'s verbosity.
        callbacks: more `model.fit` callbacks.
        objective: "negative_sampling" (default), "hierarchical_softmax" or
            "sampled_softmax" (see `kerasdl.models.word2vec`).
        sampler: the proposal of "sampled_softmax": "log_uniform" (default; ids by
            decreasing frequency), "unigram" (`f(w)^(3/4)`) or "uniform".

    Returns:
        `Word2VecTraining(model, vectors, history, seconds, words_per_second)`.

    Raises:
        ValueError/TypeError: for a bad argument (see also `skipgram_dataset`).

    Example:

    >>> corpus = np.tile(np.arange(20), 30).reshape(-1, 10)
    >>> run = train_word2vec(corpus, dim=8, epochs=2, batch_size=256, subsample=None,
    ...                      jit_compile=False)
    >>> run.vectors.shape, len(run.history.history["loss"])
    ((20, 8), 2)
    """
    check_one_of("mode", mode, WORD2VEC_MODES)
    check_one_of("objective", objective, WORD2VEC_OBJECTIVES)
    check_one_of("sampler", sampler, CANDIDATE_SAMPLERS)
    epochs = check_positive_int("epochs", epochs)
    if batch_size is None:
        batch_size = 4096 if objective == "negative_sampling" else 512
    batch_size = check_positive_int("batch_size", batch_size)
    learning_rate = check_greater("learning_rate", learning_rate, 0.0)
    if isinstance(min_learning_rate, bool) or not isinstance(min_learning_rate, int | float):
        raise TypeError(
            "`min_learning_rate` must be a number. "
            f"Received: min_learning_rate={min_learning_rate!r}"
        )
    if not 0 <= min_learning_rate <= learning_rate:
        raise ValueError(
            f"`min_learning_rate` must be in [0, learning_rate={learning_rate}]. "
            f"Received: min_learning_rate={min_learning_rate}"
        )
    tokens, _ = _flatten_corpus(corpus)
    if counts is None:
        counts = np.bincount(tokens, minlength=vocab_size or 0)
    counts = _check_counts(counts)
    vocab_size = int(vocab_size or counts.shape[0])
    # The global seed first: it also seeds tf.data's random ops built below.
    keras.utils.set_random_seed(seed)
    make_dataset = skipgram_dataset if mode == "skipgram" else cbow_dataset
    # The softmax objectives take only each example's true target from the dataset.
    dataset = make_dataset(
        corpus,
        window=window,
        num_negatives=num_negatives if objective == "negative_sampling" else 1,
        batch_size=batch_size,
        counts=counts,
        vocab_size=vocab_size,
        subsample=subsample,
        seed=seed,
        drop_remainder=True,
    )
    examples = expected_examples_per_epoch(
        corpus, window, mode, counts=counts, subsample=subsample, seed=seed
    )
    steps_per_epoch = max(1, math.floor(examples / batch_size))
    if objective == "hierarchical_softmax":
        dataset = hierarchical_softmax_dataset(dataset, huffman_tree(counts))
        loss = HierarchicalSoftmaxLoss(reduction="sum")
    elif objective == "sampled_softmax":
        dataset = sampled_softmax_dataset(
            dataset, vocab_size, num_negatives, sampler, counts=counts, seed=seed
        )
        loss = SampledSoftmaxLoss(reduction="sum")
    else:
        loss = NegativeSamplingLoss(reduction="sum")
    model = word2vec(
        vocab_size,
        dim,
        mode=mode,
        num_negatives=num_negatives,
        window=window,
        objective=objective,
    )
    schedule = keras.optimizers.schedules.PolynomialDecay(
        learning_rate, epochs * steps_per_epoch, min_learning_rate, power=1.0
    )
    model.compile(
        keras.optimizers.SGD(schedule),
        loss,
        jit_compile=jit_compile,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        # The dataset's size varies by epoch, so Keras learns the first epoch's length
        # when it runs out, and says so.
        warnings.filterwarnings("ignore", "Your input ran out of data", UserWarning)
        history = model.fit(
            dataset, epochs=epochs, verbose=verbose, callbacks=callbacks, shuffle=False
        )
    seconds = time.perf_counter() - start
    return Word2VecTraining(
        model, word_vectors(model), history, seconds, tokens.size * epochs / seconds
    )
