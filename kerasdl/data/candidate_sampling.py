"""Candidate sampling for sampled softmax, as TensorFlow's candidate samplers, stateless.

Sampled softmax (`kerasdl.losses.SampledSoftmaxLoss`) normalises over the true target
and `s` classes drawn from a proposal `Q`, each logit corrected by `log` of its
*expected count*, how many times the sampler is expected to draw it. TensorFlow's
`tf.random.log_uniform_candidate_sampler` (and its uniform and fixed-unigram siblings)
draw one sample of `s` classes per batch, shared by its examples; with `unique=True`
they draw until `s` distinct classes came up, after `tries >= s` draws, and report

    expected count(w) = s Q(w)                          (unique=False, or tries == s)
                      = 1 - (1 - Q(w))^tries            (unique=True, tries > s)

Here the same, from stateless random draws (the same seed gives the same sample; each
epoch of `sampled_softmax_dataset` a new one) and any proposal, through
`kerasdl.data.skipgrams.alias_table`:

- "log_uniform" (Zipfian, TF's default): `Q(k) = log((k + 2) / (k + 1)) / log(V + 1)`,
  for ids sorted by decreasing frequency (as `encode_corpus` numbers words);
- "unigram": the counts to a power, `f(w)^(3/4) / sum_j f(w_j)^(3/4)` by default (TF's
  `fixed_unigram_candidate_sampler` with `distortion=0.75`);
- "uniform": `Q = 1 / V`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from kerasdl._validation import check_bool, check_one_of, check_positive_int
from kerasdl.data.skipgrams import alias_table, sample_negatives, sampling_distribution

CANDIDATE_SAMPLERS = ("log_uniform", "unigram", "uniform")


def candidate_distribution(
    sampler: str, vocab_size: int, counts: Any = None, power: float = 0.75
) -> np.ndarray:
    """The proposal `Q` of a candidate sampler over `V` classes.

    Args:
        sampler: "log_uniform", "unigram" or "uniform" (see the module docstring).
        vocab_size: `V`.
        counts: `[V]` word counts, needed by "unigram" only.
        power: the exponent of "unigram" (3/4 by default; 1 for the plain unigram).

    Returns:
        float64 `[V]` probabilities summing to 1.

    Raises:
        ValueError/TypeError: for an unknown sampler, a bad size, or missing or
            mismatched counts.

    Example:

    >>> np.round(candidate_distribution("log_uniform", 3), 4)  # log(2/1), log(3/2), log(4/3)
    array([0.5   , 0.2925, 0.2075])
    """
    check_one_of("sampler", sampler, CANDIDATE_SAMPLERS)
    vocab_size = check_positive_int("vocab_size", vocab_size)
    if sampler == "unigram":
        if counts is None:
            raise ValueError('`counts` must be given for sampler="unigram". Received: None')
        distribution = sampling_distribution(counts, power)
        if distribution.shape[0] != vocab_size:
            raise ValueError(
                f"`counts` must have one entry per word, vocab_size={vocab_size}. "
                f"Received: counts.shape={distribution.shape}"
            )
        return distribution
    if sampler == "uniform":
        return np.full(vocab_size, 1.0 / vocab_size)
    k = np.arange(vocab_size, dtype=np.float64)
    return np.log1p(1.0 / (k + 1.0)) / np.log(vocab_size + 1.0)


def expected_counts(
    probabilities: Any, num_sampled: int, num_tries: Any, unique: bool = True
) -> tf.Tensor:
    """How many times a sampler that drew `num_sampled` classes is expected to have drawn
    each class, TensorFlow's `ExpectedCountHelper`.

        s Q(w)                   when not unique, or when tries == s
        1 - (1 - Q(w))^tries     otherwise

    Args:
        probabilities: `Q(w)` of the classes, any shape.
        num_sampled: `s`.
        num_tries: the draws it took to get `s` distinct classes (`s` when not unique).
        unique: whether the sample has no repeats.

    Returns:
        float32 expected counts, the shape of `probabilities`.

    Example:

    >>> expected_counts([0.5, 0.01], num_sampled=2, num_tries=3).numpy().round(4)
    array([0.875 , 0.0297], dtype=float32)
    """
    p = tf.cast(tf.convert_to_tensor(probabilities), tf.float64)
    tries = tf.cast(num_tries, tf.float64)
    with_repeats = p * float(num_sampled)
    if not unique:
        return tf.cast(with_repeats, tf.float32)
    without = -tf.math.expm1(tries * tf.math.log1p(-p))
    return tf.cast(tf.where(tries == float(num_sampled), with_repeats, without), tf.float32)


def sample_candidates(
    table: tuple[Any, Any], num_sampled: int, seed: Any, unique: bool = True
) -> tuple[tf.Tensor, tf.Tensor]:
    """`num_sampled` classes from a proposal's alias table, distinct with `unique=True`.

    With `unique=True` classes are drawn one after another until `num_sampled` distinct
    ones came up, in the order they first appeared, as TF's samplers do (here in
    vectorised blocks that double in size until enough distinct classes appeared).

    Args:
        table: `alias_table(Q)` of the proposal.
        num_sampled: `s`; with `unique=True` at most the number of classes with
            `Q > 0`.
        seed: a stateless seed `[2]`.
        unique: draw without repeats.

    Returns:
        `(sampled, num_tries)`: int32 `[s]` and the int32 number of draws it took.

    Example:

    >>> table = alias_table(candidate_distribution("log_uniform", 10))
    >>> sampled, tries = sample_candidates(table, 4, seed=[0, 1])
    >>> len(set(sampled.numpy().tolist())), bool(tries >= 4)
    (4, True)
    """
    num_sampled = check_positive_int("num_sampled", num_sampled)
    seed = tf.convert_to_tensor(seed)
    first = sample_negatives(table, [num_sampled], seed)
    if not unique:
        return first, tf.constant(num_sampled, tf.int32)

    def too_few(round_, draws):
        return tf.size(tf.unique(draws).y) < num_sampled

    def more(round_, draws):
        # The same stream continued: a block as long as what came before.
        block = sample_negatives(
            table, tf.shape(draws), tf.random.experimental.stateless_fold_in(seed, round_)
        )
        return round_ + 1, tf.concat([draws, block], axis=0)

    _, draws = tf.while_loop(
        too_few,
        more,
        (tf.constant(1, tf.int64), first),
        shape_invariants=(tf.TensorShape([]), tf.TensorShape([None])),
    )
    distinct, index = tf.unique(draws)
    # tf.unique numbers classes by first appearance, so the s-th class first came up at
    # the smallest position holding index s - 1.
    positions = tf.range(tf.size(draws))
    last = tf.reduce_min(tf.where(tf.equal(index, num_sampled - 1), positions, tf.size(draws)))
    return distinct[:num_sampled], last + 1


def sampled_softmax_targets(
    targets: Any,
    sampled: Any,
    true_expected_count: Any,
    sampled_expected_count: Any,
    remove_accidental_hits: bool = True,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Candidates and `SampledSoftmaxLoss` labels from one shared sample, as
    `tf.nn.sampled_softmax_loss` combines them.

    Args:
        targets: int true classes `[B]`.
        sampled: int sampled classes `[s]`, shared by the batch (a sampler's first
            output).
        true_expected_count: `[B]` (or `[B, 1]`) expected counts of the targets.
        sampled_expected_count: `[s]` expected counts of the sampled classes.
        remove_accidental_hits: mark a sampled class equal to the row's target with
            `+inf` (removed from the softmax), as TF does by default. In a sample with
            repeats (`unique=False`) every repeat of the target is removed; TF's
            `compute_accidental_hits` removes only the last one.

    Returns:
        `(candidates, log_q)`: int32 `[B, 1 + s]` (the target first) and float32
        `[B, 1 + s]` log expected counts, `+inf` at removed hits.

    Example:

    >>> candidates, log_q = sampled_softmax_targets([3, 5], [5, 0], [0.5, 0.5], [1.0, 1.0])
    >>> candidates.numpy().tolist()
    [[3, 5, 0], [5, 5, 0]]
    >>> log_q.numpy().round(3).tolist()
    [[-0.693, 0.0, 0.0], [-0.693, inf, 0.0]]
    """
    check_bool("remove_accidental_hits", remove_accidental_hits)
    targets = tf.cast(tf.reshape(targets, [-1]), tf.int32)
    sampled = tf.cast(sampled, tf.int32)
    rows = tf.shape(targets)[0]
    candidates = tf.concat(
        [targets[:, None], tf.broadcast_to(sampled[None, :], [rows, tf.size(sampled)])], axis=1
    )
    log_true = tf.math.log(tf.reshape(tf.cast(true_expected_count, tf.float32), [-1, 1]))
    log_sampled = tf.math.log(tf.cast(sampled_expected_count, tf.float32))
    log_sampled = tf.broadcast_to(log_sampled[None, :], [rows, tf.size(sampled)])
    if remove_accidental_hits:
        hits = tf.equal(sampled[None, :], targets[:, None])
        log_sampled = tf.where(hits, tf.constant(np.inf, tf.float32), log_sampled)
    return candidates, tf.concat([log_true, log_sampled], axis=1)


def sampled_softmax_dataset(
    dataset: tf.data.Dataset,
    vocab_size: int,
    num_sampled: int,
    sampler: str = "log_uniform",
    counts: Any = None,
    power: float = 0.75,
    unique: bool = True,
    remove_accidental_hits: bool = True,
    seed: int = 0,
) -> tf.data.Dataset:
    """Turns `skipgram_dataset`/`cbow_dataset` batches into sampled-softmax ones.

    Each batch draws one sample of `num_sampled` classes (`sample_candidates`, a new one
    per batch and per epoch), shared by its examples as in `tf.nn.sampled_softmax_loss`,
    and `((inputs, candidates), labels)` becomes `((inputs, candidates'), log_q)`:
    `candidates'` `[B, 1 + s]` is each example's true target (its first candidate) and
    the sample, `log_q` the `SampledSoftmaxLoss` labels (`sampled_softmax_targets`). The
    incoming negatives are dropped (build the dataset with `num_negatives=1`).

    Args:
        dataset: batches `((inputs, candidates), labels)` or the dict form.
        vocab_size: `V`.
        num_sampled: `s`, sampled classes per batch.
        sampler: "log_uniform" (default), "unigram" or "uniform".
        counts: `[V]` word counts for "unigram".
        power: the exponent of "unigram".
        unique: sample without repeats (TF's default in `sampled_softmax_loss`).
        remove_accidental_hits: remove a sampled class equal to the target.
        seed: seed of the samples.

    Returns:
        A `tf.data.Dataset` of `((inputs, candidates), log_q)` (or the dict form).

    Raises:
        ValueError/TypeError: for a bad argument, or `num_sampled` larger than the
            number of classes the sampler can draw when `unique=True`.

    Example:

    >>> from kerasdl.data.skipgrams import skipgram_dataset
    >>> corpus = np.arange(40) % 8
    >>> ds = skipgram_dataset(corpus, window=2, num_negatives=1, batch_size=4,
    ...                       subsample=None)
    >>> ds = sampled_softmax_dataset(ds, vocab_size=8, num_sampled=3)
    >>> (word, candidates), log_q = next(iter(ds))
    >>> tuple(candidates.shape), tuple(log_q.shape)
    ((4, 4), (4, 4))
    """
    num_sampled = check_positive_int("num_sampled", num_sampled)
    distribution = candidate_distribution(sampler, vocab_size, counts, power)
    check_bool("unique", unique)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"`seed` must be an int. Received: seed={seed!r}")
    possible = int(np.count_nonzero(distribution))
    if unique and num_sampled > possible:
        raise ValueError(
            f"`num_sampled` must be <= {possible}, the classes the {sampler!r} sampler "
            f"can draw, when unique=True. Received: num_sampled={num_sampled}"
        )
    table = tuple(tf.constant(t) for t in alias_table(distribution))
    q = tf.constant(distribution, tf.float64)
    sampled_softmax_targets([0], [0], [1.0], [1.0], remove_accidental_hits)  # checks the flag
    batch_seeds = tf.data.Dataset.random(seed=int(seed), rerandomize_each_iteration=True)

    def to_sampled(batch, batch_seed):
        features, _ = batch
        dense = features["candidates"] if isinstance(features, dict) else features[1]
        targets = dense[:, 0]
        sampled, tries = sample_candidates(
            table, num_sampled, tf.stack([batch_seed, tf.constant(int(seed), tf.int64)]), unique
        )
        candidates, log_q = sampled_softmax_targets(
            targets,
            sampled,
            expected_counts(tf.gather(q, targets), num_sampled, tries, unique),
            expected_counts(tf.gather(q, sampled), num_sampled, tries, unique),
            remove_accidental_hits,
        )
        if isinstance(features, dict):
            return {**features, "candidates": candidates}, log_q
        return (features[0], candidates), log_q

    data = tf.data.Dataset.zip(dataset, batch_seeds)
    return data.map(to_sampled, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
