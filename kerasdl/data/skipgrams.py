"""word2vec training examples as a tf.data pipeline: skip-gram and CBOW, with negative
sampling, dynamic windows and subsampling of frequent words.

The notes' negative sampling turns word2vec into binary classification: for an input
word `c` and its true target `t` (a word in the window around `c`), the model sees
`(c, t)` with label 1 and `k` negative targets with label 0, drawn from

    P(w_i) = f(w_i)^(3/4) / sum_j f(w_j)^(3/4)

(Mikolov et al.; `f` the word's count in the corpus). Windows and subsampling follow the
word2vec C tool (and gensim):

- Dynamic window: for each centre word the effective window `b` is drawn uniformly from
  `1..window`, so near words are used more often than far ones (a word at distance `d`
  is a context with probability `(window - d + 1) / window`).
- Subsampling: each occurrence of a word with relative frequency `f = count / total` is
  kept with probability `min(1, sqrt(t / f) + t / f)` (the C tool's and gensim's formula;
  `formula="paper"` uses the paper's `min(1, sqrt(t / f))`, i.e. discarding with
  probability `1 - sqrt(t / f)`). Discarded words are removed before the windows are
  formed, so windows reach past them, as in the C tool.
- Windows never cross sentence boundaries when the corpus is given as sentences.

Keras 3 removed `keras.preprocessing.sequence.skipgrams` (a Python loop over words that
draws negatives uniformly and emits them as separate labelled pairs). Here every step is
a vectorised TensorFlow op on a chunk of the corpus, the negatives come from a
precomputed alias table of `P` (exact, O(1) per draw, no loop over the vocabulary),
and every random draw is stateless and derived from `seed`: the same seed gives the same
batches, and each epoch (each new iterator) draws new windows, subsamples and negatives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from kerasdl._validation import check_in_range, check_one_of, check_positive_int

SUBSAMPLE_FORMULAS = ("word2vec", "paper")


def _check_counts(counts: Any) -> np.ndarray:
    try:
        array = np.asarray(counts, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"`counts` must be an array of word counts. Received: counts={counts!r:.100}"
        ) from error
    if array.ndim != 1 or array.size == 0:
        raise ValueError(
            f"`counts` must have shape [V] with V >= 1 (one count per word). "
            f"Received: counts.shape={array.shape}"
        )
    bad = ~np.isfinite(array) | (array < 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"`counts` must be finite and >= 0. Received: counts[{i}]={array[i]}")
    if not array.any():
        raise ValueError("`counts` must have at least one count > 0. Received: all zeros")
    return array


def sampling_distribution(counts: Any, power: float = 0.75) -> np.ndarray:
    """The notes' negative-sampling distribution `P(w_i) = f(w_i)^p / sum_j f(w_j)^p`.

    Args:
        counts: `[V]` word counts (or frequencies) `f(w_i) >= 0`, not all 0.
        power: the exponent `p`; the notes' (and Mikolov et al.'s) 3/4 by default, 1 for
            the unigram distribution, 0 for uniform over the words with a count > 0.

    Returns:
        `P`, float64 `[V]`, summing to 1; words with count 0 have probability 0.

    Raises:
        ValueError: when `counts` is not a non-empty vector of finite values >= 0 with
            one > 0, or `power` < 0.

    Example:

    >>> np.round(sampling_distribution([16, 1, 0]), 4)  # 16^0.75 = 8
    array([0.8889, 0.1111, 0.    ])
    """
    counts = _check_counts(counts)
    if isinstance(power, bool) or not isinstance(power, int | float):
        raise TypeError(f"`power` must be a number. Received: power={power!r}")
    if not power >= 0:
        raise ValueError(f"`power` must be >= 0. Received: power={power}")
    # 0^0 would give words never seen a share of the uniform (power=0) distribution.
    weights = np.where(counts > 0, np.power(np.where(counts > 0, counts, 1.0), float(power)), 0.0)
    return weights / weights.sum()


def keep_probabilities(
    counts: Any, threshold: float = 1e-3, formula: str = "word2vec"
) -> np.ndarray:
    """Probability of keeping each occurrence of a word when subsampling frequent words.

    With `f = count / total` the word's relative frequency and `t` the threshold:

    - "word2vec" (the C tool's code and gensim): `min(1, sqrt(t / f) + t / f)`;
    - "paper" (Mikolov et al., 2013): `min(1, sqrt(t / f))`, i.e. discard with
      probability `1 - sqrt(t / f)`.

    Words with `f <= t` are always kept under both formulas.

    Args:
        counts: `[V]` word counts, >= 0, not all 0.
        threshold: `t`, in (0, 1]; word2vec and gensim default to 1e-3, the paper used
            1e-5 on billions of words.
        formula: "word2vec" (default) or "paper".

    Returns:
        float64 `[V]` keep probabilities in (0, 1] (1 for words with count 0).

    Example:

    >>> np.round(keep_probabilities([900, 90, 10], threshold=0.01), 4)
    array([0.1165, 0.4444, 1.    ])
    """
    counts = _check_counts(counts)
    threshold = check_in_range("threshold", threshold, 0.0, 1.0, include_high=True)
    if threshold == 0.0:
        raise ValueError(f"`threshold` must be > 0. Received: threshold={threshold}")
    check_one_of("formula", formula, SUBSAMPLE_FORMULAS)
    frequency = counts / counts.sum()
    ratio = np.divide(threshold, frequency, out=np.full_like(frequency, np.inf), where=counts > 0)
    keep = np.sqrt(ratio) + ratio if formula == "word2vec" else np.sqrt(ratio)
    return np.minimum(keep, 1.0)


def _flatten_corpus(corpus: Any) -> tuple[np.ndarray, np.ndarray]:
    """Token ids `[N]` and the sentence index of each token `[N]`."""
    if isinstance(corpus, tf.RaggedTensor):
        tokens = corpus.flat_values.numpy()
        lengths = corpus.row_lengths().numpy()
    elif isinstance(corpus, np.ndarray | tf.Tensor) or (
        isinstance(corpus, Sequence) and (len(corpus) == 0 or np.ndim(corpus[0]) == 0)
    ):
        tokens = np.asarray(corpus)
        if tokens.ndim == 2:
            lengths = np.full(tokens.shape[0], tokens.shape[1])
            tokens = tokens.reshape(-1)
        elif tokens.ndim == 1:
            lengths = np.array([tokens.size])
        else:
            raise ValueError(
                "`corpus` must be a 1-D stream of token ids, a 2-D array of sentences, a "
                f"list of sentences or a tf.RaggedTensor. Received: corpus.shape={tokens.shape}"
            )
    elif isinstance(corpus, Sequence):
        sentences = [np.asarray(s) for s in corpus]
        if any(s.ndim != 1 for s in sentences):
            raise ValueError("`corpus` sentences must each be a 1-D sequence of token ids.")
        lengths = np.array([s.size for s in sentences])
        tokens = np.concatenate(sentences) if sentences else np.zeros(0, np.int64)
    else:
        raise TypeError(
            "`corpus` must be token ids: a 1-D array, a list of sentences or a "
            f"tf.RaggedTensor. Received: corpus of type {type(corpus).__name__}"
        )
    if tokens.size and tokens.dtype.kind not in "iu":
        raise TypeError(f"`corpus` must hold int token ids. Received: dtype {tokens.dtype}")
    if tokens.size < 2:
        raise ValueError(f"`corpus` must hold at least 2 tokens. Received: {tokens.size} token(s)")
    if tokens.min() < 0:
        raise ValueError(f"`corpus` token ids must be >= 0. Received: min id {tokens.min()}")
    sentence_ids = np.repeat(np.arange(lengths.size, dtype=np.int32), lengths)
    return tokens.astype(np.int64), sentence_ids


def alias_table(distribution: Any) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table of a sampling distribution (Vose's construction), for
    `sample_negatives`: O(1) work per draw whatever the vocabulary size.

    Word `i` is drawn by picking a column `j` uniformly from `0..V-1` and keeping `j` with
    probability `threshold[j]`, else taking `alias[j]`; each column holds probability
    mass `1 / V`, so `P(i) = (threshold[i] + sum_{j: alias[j] = i} (1 - threshold[j])) / V`
    exactly (up to float64 rounding). A word with probability 0 is never drawn.

    Args:
        distribution: `P`, `[V]` probabilities >= 0 with a positive sum (normalised here).

    Returns:
        `(threshold, alias)`: float64 `[V]` and int32 `[V]`.

    Example:

    >>> threshold, alias = alias_table([0.5, 0.2, 0.3, 0.0])
    >>> mass = threshold + np.bincount(alias, weights=1 - threshold, minlength=4)
    >>> np.round(mass / 4, 12).tolist()
    [0.5, 0.2, 0.3, 0.0]
    """
    p = np.asarray(distribution, np.float64)
    if p.ndim != 1 or p.size == 0 or not np.all(p >= 0) or not p.sum() > 0:
        raise ValueError(
            "`distribution` must be a non-empty [V] vector of probabilities >= 0 with a "
            f"positive sum. Received: distribution with shape {p.shape}"
        )
    size = p.size
    scaled = p * (size / p.sum())
    threshold = np.zeros(size)
    alias = np.arange(size, dtype=np.int32)
    small = np.flatnonzero(scaled < 1.0).tolist()
    large = np.flatnonzero(scaled >= 1.0).tolist()
    while small and large:
        less, more = small.pop(), large.pop()
        threshold[less] = scaled[less]
        alias[less] = more
        scaled[more] -= 1.0 - scaled[less]
        (small if scaled[more] < 1.0 else large).append(more)
    # What is left holds mass 1 up to rounding; a word of probability 0 never is.
    leftover = np.array(small + large, dtype=np.int64)
    positive = leftover[p[leftover] > 0]
    threshold[positive] = 1.0
    alias[leftover[p[leftover] == 0]] = int(np.argmax(p))
    return threshold, alias


def sample_negatives(
    table: tuple[Any, Any], shape: Any, seed: Any, avoid: Any = None, max_redraws: int = 64
) -> tf.Tensor:
    """Word ids drawn from `P` with an alias table: two uniform draws and two gathers each.

    Args:
        table: the `alias_table(P)` pair `(threshold, alias)`.
        shape: the shape of the sample, e.g. `[B, k]`.
        seed: a stateless seed, int32/int64 `[2]`: the same seed gives the same sample.
        avoid: optional int ids of shape `shape[:-1]` (e.g. each pair's true target):
            draws equal to them are redrawn (rejection sampling) until none is left, so
            each row samples `P` conditioned on `w != avoid`. After `max_redraws` rounds
            (only reached when `avoid` holds nearly all the mass) the clashes stay.
        max_redraws: the most redraw rounds.

    Returns:
        int32 word ids of `shape`.

    Example:

    >>> table = alias_table(sampling_distribution([10, 0, 5]))
    >>> ids = sample_negatives(table, [1000, 3], seed=[1, 2])
    >>> sorted(set(ids.numpy().ravel().tolist()))
    [0, 2]
    """
    threshold = tf.convert_to_tensor(table[0], tf.float64)
    alias = tf.convert_to_tensor(table[1], tf.int32)
    size = tf.size(alias)

    def draw(draw_shape, draw_seed):
        # One float64 uniform gives both the column (integer part of u * V) and the coin
        # (fractional part, uniform with >= 28 bits to spare for V < 2^24).
        scaled = tf.random.stateless_uniform(draw_shape, draw_seed, dtype=tf.float64)
        scaled = scaled * tf.cast(size, tf.float64)
        column = tf.minimum(tf.cast(scaled, tf.int32), size - 1)
        coin = scaled - tf.cast(column, tf.float64)
        return tf.where(coin < tf.gather(threshold, column), column, tf.gather(alias, column))

    seed = tf.convert_to_tensor(seed)
    ids = draw(shape, seed)
    if avoid is None:
        return ids
    avoid = tf.cast(avoid, tf.int32)
    # Only the clashing entries are drawn again, as a short vector, then written back once.
    where = tf.where(tf.equal(ids, avoid[..., None]))
    targets = tf.gather_nd(avoid, where[:, :-1])
    count = tf.shape(where)[:1]

    def pending_left(attempt, fresh, pending):
        return tf.logical_and(attempt <= max_redraws + 1, tf.reduce_any(pending))

    def redraw(attempt, fresh, pending):
        drawn = draw(count, tf.random.experimental.stateless_fold_in(seed, attempt))
        fresh = tf.where(pending, drawn, fresh)
        return attempt + 1, fresh, tf.equal(fresh, targets)

    _, fresh, _ = tf.while_loop(
        pending_left, redraw, (tf.constant(2, tf.int64), targets, tf.ones_like(targets, tf.bool))
    )
    return tf.tensor_scatter_nd_update(ids, where, fresh)


def window_pairs(
    tokens: Any,
    window: int,
    seed: Any = None,
    sentence_ids: Any = None,
    dynamic_window: bool = True,
    centres: Any = None,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Every (centre, context) pair of a token sequence, vectorised: no loop over words.

    A token at position `j` is a context of the centre at `i` when
    `1 <= |i - j| <= b_i`, both are in the same sentence, and `b_i` is the centre's
    window: `window` itself, or with `dynamic_window=True` a uniform draw from
    `1..window` per centre (word2vec). GloVe's co-occurrence counts use the fixed window
    and weight each pair by `1 / distance`.

    Args:
        tokens: int token ids `[N]`.
        window: the largest distance `> 0`.
        seed: stateless seed `[2]`; needed with `dynamic_window=True`.
        sentence_ids: optional `[N]` sentence index of each token (non-decreasing).
        dynamic_window: draw each centre's window from `1..window`.
        centres: optional int positions `[M]` of the centres (default: every position);
            contexts may lie outside them, which lets a long corpus go chunk by chunk.

    Returns:
        `(centre_ids, context_ids, distances)`, each `[P]` (int32, int32, int32):
        pairs in centre order, and within one centre by offset `-window..window`.

    Example:

    >>> centre, context, distance = window_pairs([5, 6, 7, 8], window=2, dynamic_window=False)
    >>> centre.numpy().tolist()
    [5, 5, 6, 6, 6, 7, 7, 7, 8, 8]
    >>> context.numpy().tolist()
    [6, 7, 5, 7, 8, 5, 6, 8, 6, 7]
    >>> distance.numpy().tolist()
    [1, 2, 1, 1, 2, 2, 1, 1, 2, 1]
    """
    contexts, valid, centre_tokens, offsets = _windows(
        tokens, window, seed, sentence_ids, dynamic_window, centres
    )
    mask_shape = tf.shape(valid)
    centre_ids = tf.boolean_mask(tf.broadcast_to(centre_tokens[:, None], mask_shape), valid)
    distances = tf.boolean_mask(tf.broadcast_to(tf.abs(offsets)[None, :], mask_shape), valid)
    return centre_ids, tf.boolean_mask(contexts, valid), distances


def _windows(tokens, window, seed, sentence_ids, dynamic_window, centres):
    """`[M, 2W]` context ids, their validity mask, the `[M]` centre ids and the offsets."""
    window = check_positive_int("window", window)
    tokens = tf.cast(tf.convert_to_tensor(tokens), tf.int32)
    n = tf.size(tokens)
    if centres is None:
        centres = tf.range(n)
    centres = tf.cast(centres, tf.int32)
    offsets = tf.concat([tf.range(-window, 0), tf.range(1, window + 1)], axis=0)
    positions = centres[:, None] + offsets[None, :]
    inside = (positions >= 0) & (positions < n)
    safe = tf.clip_by_value(positions, 0, tf.maximum(n - 1, 0))
    if dynamic_window:
        if seed is None:
            raise ValueError("`seed` is needed when `dynamic_window=True`. Received: seed=None")
        reach = tf.random.stateless_uniform(
            tf.shape(centres), seed, minval=1, maxval=window + 1, dtype=tf.int32
        )
        inside &= tf.abs(offsets)[None, :] <= reach[:, None]
    if sentence_ids is not None:
        sentence_ids = tf.cast(tf.convert_to_tensor(sentence_ids), tf.int32)
        same = tf.equal(tf.gather(sentence_ids, safe), tf.gather(sentence_ids, centres)[:, None])
        inside &= same
    return tf.gather(tokens, safe), inside, tf.gather(tokens, centres), offsets


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"`seed` must be an int. Received: seed={seed!r}")
    return int(seed)


def _dataset(
    corpus,
    mode,
    window,
    num_negatives,
    batch_size,
    counts,
    vocab_size,
    subsample,
    subsample_formula,
    power,
    seed,
    chunk_size,
    drop_remainder,
    as_dict,
):
    window = check_positive_int("window", window)
    num_negatives = check_positive_int("num_negatives", num_negatives)
    batch_size = check_positive_int("batch_size", batch_size)
    chunk_size = check_positive_int("chunk_size", chunk_size)
    seed = _check_seed(seed)
    if not isinstance(drop_remainder, bool):
        raise TypeError(f"`drop_remainder` must be a bool. Received: {drop_remainder!r}")
    tokens, sentence_ids = _flatten_corpus(corpus)
    if counts is not None:
        counts = _check_counts(counts)
    if vocab_size is None:
        vocab_size = int(counts.shape[0]) if counts is not None else int(tokens.max()) + 1
    vocab_size = check_positive_int("vocab_size", int(vocab_size))
    if tokens.max() >= vocab_size:
        raise ValueError(
            f"`corpus` token ids must be < vocab_size={vocab_size}. Received: max id {tokens.max()}"
        )
    if counts is None:
        counts = np.bincount(tokens, minlength=vocab_size)
    counts = _check_counts(counts)
    if counts.shape[0] != vocab_size:
        raise ValueError(
            f"`counts` must have one entry per word, vocab_size={vocab_size}. "
            f"Received: counts.shape={counts.shape}"
        )
    table = tuple(tf.constant(t) for t in alias_table(sampling_distribution(counts, power)))
    keep = None
    if subsample is not None:
        keep = tf.constant(keep_probabilities(counts, subsample, subsample_formula))
    all_tokens = tf.constant(tokens.astype(np.int32))
    all_sentences = tf.constant(sentence_ids)
    labels_row = tf.constant([1.0] + [0.0] * num_negatives, tf.float32)

    def epoch(epoch_seed):
        seed_pair = tf.stack([epoch_seed, tf.constant(seed, tf.int64)])
        kept_tokens, kept_sentences = all_tokens, all_sentences
        if keep is not None:
            u = tf.random.stateless_uniform(tf.shape(all_tokens), seed_pair, dtype=tf.float64)
            kept = u < tf.gather(keep, all_tokens)
            kept_tokens = tf.boolean_mask(all_tokens, kept)
            kept_sentences = tf.boolean_mask(all_sentences, kept)
        n = tf.size(kept_tokens, out_type=tf.int64)
        # A new chunk order every epoch, drawn from the epoch's seed.
        num_chunks = (n + chunk_size - 1) // chunk_size
        order = tf.random.experimental.stateless_shuffle(tf.range(num_chunks), seed_pair)
        starts = tf.data.Dataset.from_tensor_slices(order * chunk_size)

        def chunk(start):
            chunk_seed = tf.random.experimental.stateless_fold_in(seed_pair, start)
            centres = tf.range(start, tf.minimum(start + chunk_size, n))
            contexts, valid, centre_ids, _ = _windows(
                kept_tokens,
                window,
                chunk_seed,
                kept_sentences,
                True,
                centres,
            )
            if mode == "skipgram":
                shape = tf.shape(valid)
                inputs = tf.boolean_mask(tf.broadcast_to(centre_ids[:, None], shape), valid)
                positives = tf.boolean_mask(contexts, valid)
            else:
                has_context = tf.reduce_any(valid, axis=1)
                inputs = tf.where(valid, contexts, -tf.ones_like(contexts))
                inputs = tf.boolean_mask(inputs, has_context)
                positives = tf.boolean_mask(centre_ids, has_context)
            order = tf.random.experimental.stateless_shuffle(
                tf.range(tf.shape(positives)[0]),
                tf.random.experimental.stateless_fold_in(chunk_seed, 1),
            )
            inputs, positives = tf.gather(inputs, order), tf.gather(positives, order)
            negatives = sample_negatives(
                table,
                tf.stack([tf.shape(positives)[0], num_negatives]),
                tf.random.experimental.stateless_fold_in(chunk_seed, 2),
                avoid=positives,
            )
            candidates = tf.concat([positives[:, None], negatives], axis=1)
            labels = tf.broadcast_to(labels_row, tf.shape(candidates))
            return inputs, candidates, labels

        return starts.map(chunk, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    epoch_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    data = epoch_seeds.flat_map(epoch)
    data = data.rebatch(batch_size, drop_remainder=drop_remainder)
    key = "word" if mode == "skipgram" else "context"

    def arrange(inputs, candidates, labels):
        if as_dict:
            return {key: inputs, "candidates": candidates}, labels
        return (inputs, candidates), labels

    return data.map(arrange).prefetch(tf.data.AUTOTUNE)


_ARGS_DOC = """
    Args:
        corpus: token ids `>= 0`: a 1-D stream, a 2-D array of equal-length sentences, a
            list of 1-D sentences or a `tf.RaggedTensor`. Windows stay inside sentences.
        window: the largest distance between centre and context; each centre's window
            is drawn uniformly from `1..window` (word2vec's default 5).
        num_negatives: `k`, negatives per positive (word2vec's default 5; the notes
            suggest 5-20 for small data sets, 2-5 for large ones).
        batch_size: examples per batch.
        counts: `[V]` word counts for the subsampling and negative distributions;
            default: counted in `corpus`.
        vocab_size: `V`; default `len(counts)`, else the largest id + 1.
        subsample: the threshold `t` for subsampling frequent words (default 1e-3, as
            word2vec and gensim), or None to keep every word.
        subsample_formula: "word2vec" (default) or "paper"; see `keep_probabilities`.
        power: the exponent of the negative-sampling distribution (default 3/4).
        seed: seed of every random draw; the same seed gives the same batches.
        chunk_size: centre words processed per vectorised step (memory vs overhead).
        drop_remainder: drop the last, smaller batch of each epoch (static batch size).
        as_dict: yield `({name: inputs, "candidates": candidates}, labels)` instead of
            `((inputs, candidates), labels)`.
"""


def _public_dataset(mode: str, name: str, doc: str) -> Callable[..., tf.data.Dataset]:
    """A public builder for `mode`: skip-gram and CBOW take the same arguments and checks."""

    def build(
        corpus: Any,
        window: int = 5,
        num_negatives: int = 5,
        batch_size: int = 1024,
        counts: Any = None,
        vocab_size: int | None = None,
        subsample: float | None = 1e-3,
        subsample_formula: str = "word2vec",
        power: float = 0.75,
        seed: int = 0,
        chunk_size: int = 16384,
        drop_remainder: bool = False,
        as_dict: bool = False,
    ) -> tf.data.Dataset:
        check_one_of("subsample_formula", subsample_formula, SUBSAMPLE_FORMULAS)
        return _dataset(
            corpus, mode, window, num_negatives, batch_size, counts, vocab_size,
            subsample, subsample_formula, power, seed, chunk_size, drop_remainder, as_dict,
        )  # fmt: skip

    build.__name__ = build.__qualname__ = name
    build.__doc__ = doc.replace("{args}", _ARGS_DOC)
    return build


skipgram_dataset = _public_dataset(
    "skipgram",
    "skipgram_dataset",
    """Skip-gram examples with negative sampling: `((word, candidates), labels)`.

    Every (input word `c`, target `t`) pair of the corpus within a dynamic window, after
    subsampling, becomes one example: `word` is `c`, `candidates` are `t` followed by `k`
    negatives drawn from `P(w) = f(w)^(3/4) / sum_j f(w_j)^(3/4)` (a negative equal to
    `t` is redrawn), and `labels` are `[1, 0, ..., 0]`. Pairs are shuffled within each
    chunk and chunks are visited in a new order every epoch. The number of batches
    varies a little between epochs (random windows and subsampling), so the dataset's
    cardinality is unknown: `model.fit` runs the first epoch until the data ends (Keras
    then warns "Your input ran out of data") and uses that many steps per epoch after.
    {args}
    Returns:
        A `tf.data.Dataset` of `((word, candidates), labels)`: int32 `[B]`, int32
        `[B, 1 + k]` and float32 `[B, 1 + k]`, ready for `kerasdl.models.word2vec` and
        `kerasdl.losses.NegativeSamplingLoss`.

    Raises:
        ValueError/TypeError: for a bad corpus (negative or too large ids, fewer than 2
            tokens, not ints), bad counts, or a bad argument.

    Example:

    >>> corpus = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    >>> ds = skipgram_dataset(corpus, window=2, num_negatives=3, batch_size=4,
    ...                       subsample=None, seed=1)
    >>> (word, candidates), labels = next(iter(ds))
    >>> tuple(word.shape), tuple(candidates.shape), labels[0].numpy().tolist()
    ((4,), (4, 4), [1.0, 0.0, 0.0, 0.0])
    """,
)

cbow_dataset = _public_dataset(
    "cbow",
    "cbow_dataset",
    """Continuous bag-of-words examples: `((context, candidates), labels)`.

    The notes' CBOW "takes the surrounding contexts from middle word, and uses the
    surrounding words to try to predict the middle word": for every centre word (after
    subsampling) with at least one context word in its dynamic window, `context` holds
    the `2 * window` surrounding ids (-1 where a position is outside the window or the
    sentence), and `candidates` the centre word followed by `k` negatives from
    `f(w)^(3/4)`.
    {args}
    Returns:
        A `tf.data.Dataset` of `((context, candidates), labels)`: int32 `[B, 2 * window]`
        (padding -1), int32 `[B, 1 + k]` and float32 `[B, 1 + k]`.

    Raises:
        ValueError/TypeError: as `skipgram_dataset`.

    Example:

    >>> ds = cbow_dataset(np.arange(10) % 4, window=2, num_negatives=2, batch_size=3,
    ...                   subsample=None)
    >>> (context, candidates), labels = next(iter(ds))
    >>> tuple(context.shape), tuple(candidates.shape), tuple(labels.shape)
    ((3, 4), (3, 3), (3, 3))
    """,
)
