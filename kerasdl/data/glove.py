"""GloVe's co-occurrence counts and a tf.data pipeline of `(i, j, X_ij)` triples.

The notes' GloVe "starts off by making explicit" the sampling of context-target pairs:
`X_ij` counts how often word `j` appears in the context of word `i`. As in the GloVe
tool (Pennington et al., 2014, `cooccur.c`), a pair of words `d` positions apart
(`1 <= d <= window`) adds `1 / d`, so near words count more than far ones, and with a
symmetric window both `X_ij` and `X_ji` receive it (`X` is then symmetric). Words left
out of the vocabulary (`min_count`, `max_vocab`) are removed from the stream before the
windows are formed, so windows reach past them, as in `cooccur.c`, and windows never
cross sentence boundaries when the corpus is given as sentences.

Counting is vectorised and memory-bounded: the token stream is processed `chunk_size`
positions at a time, each chunk's `chunk_size * window` pairs are summed into a sparse
matrix with numpy/scipy, and the chunk sums are merged into the running `scipy.sparse`
total whenever they hold as many entries as it does, so memory stays within a small
multiple of the final number of non-zero entries however long the corpus is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse
import tensorflow as tf

from kerasdl._validation import check_positive_int
from kerasdl.data.skipgrams import _check_seed, _flatten_corpus

# Pending chunk sums are merged into the total once they hold this many entries or as
# many as the total, whichever is more.
MERGE_FLOOR = 1 << 20


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"`{name}` must be a bool. Received: {name}={value!r}")
    return value


def vocabulary_mask(counts: Any, min_count: int = 1, max_vocab: int | None = None) -> np.ndarray:
    """Which words GloVe's vocabulary keeps: count >= `min_count`, then the `max_vocab`
    most frequent of those (ties to the lower id), as GloVe's `vocab_count` does.

    Args:
        counts: `[V]` word counts.
        min_count: the smallest count kept (GloVe's `-min-count`; default 1: every word seen).
        max_vocab: keep at most this many words (GloVe's `-max-vocab`); None for no cap.

    Returns:
        bool `[V]`, True for the words kept.

    Example:

    >>> vocabulary_mask([5, 1, 9, 3, 3], min_count=2, max_vocab=3).tolist()
    [True, False, True, True, False]
    """
    counts = np.asarray(counts)
    if counts.ndim != 1:
        raise ValueError(f"`counts` must have shape [V]. Received: counts.shape={counts.shape}")
    min_count = check_positive_int("min_count", min_count)
    keep = counts >= min_count
    if max_vocab is not None:
        max_vocab = check_positive_int("max_vocab", max_vocab)
        if keep.sum() > max_vocab:
            # Stable sort on -count: equal counts keep their id order.
            ranked = np.argsort(-np.where(keep, counts, -1), kind="stable")[:max_vocab]
            keep = np.zeros_like(keep)
            keep[ranked] = True
    return keep


def _to_csr(rows, cols, values, shape) -> scipy.sparse.csr_matrix:
    # coo -> csr sums duplicate entries in O(nnz + V), no sort of pair keys needed.
    matrix = scipy.sparse.coo_matrix((values, (rows, cols)), shape=shape).tocsr()
    matrix.sum_duplicates()
    return matrix


def cooccurrence_matrix(
    corpus: Any,
    vocab_size: int | None = None,
    window: int = 10,
    symmetric: bool = True,
    distance_weighting: bool = True,
    min_count: int = 1,
    max_vocab: int | None = None,
    chunk_size: int = 65536,
) -> scipy.sparse.csr_matrix:
    """GloVe's co-occurrence matrix `X`, weighted by `1 / distance`, as a sparse matrix.

    For every two tokens `w_p`, `w_q` of one sentence with `1 <= q - p <= window`
    (after words outside the vocabulary are dropped from the stream):

        X[w_p, w_q] += 1 / (q - p)          (and X[w_q, w_p] += 1 / (q - p) if symmetric)

    With `distance_weighting=False` each pair adds 1 instead. `X_ij` of a symmetric
    window is the weighted number of times `j` appears within `window` words of `i`;
    with `symmetric=False` it counts `j` appearing after `i` only (`cooccur.c`'s
    `-symmetric 0`, "left context": row `i` is the earlier word).

    Args:
        corpus: token ids `>= 0`: a 1-D stream, a 2-D array of equal-length sentences, a
            list of 1-D sentences or a `tf.RaggedTensor`. Windows stay inside sentences.
        vocab_size: `V`, the matrix is `[V, V]`; default the largest id + 1.
        window: the largest distance counted (GloVe's default 10).
        symmetric: count context words on both sides (default), or only after the word.
        distance_weighting: add `1 / d` for a pair `d` apart (default), else 1.
        min_count: words occurring fewer times are dropped (their rows and columns stay,
            empty, so ids are unchanged).
        max_vocab: keep only the `max_vocab` most frequent words; None for all.
        chunk_size: token positions processed per vectorised step: memory for about
            `chunk_size * window * 48` bytes of pairs (symmetric) at a time.

    Returns:
        A `scipy.sparse.csr_matrix` `[V, V]` of float64 `X_ij`, sorted indices, no
        explicit zeros.

    Raises:
        ValueError/TypeError: for a bad corpus (negative ids, ids >= `vocab_size`, fewer
            than 2 tokens, not ints) or a bad argument.

    Example:

    >>> X = cooccurrence_matrix([0, 1, 2, 0], window=2)
    >>> X.toarray().round(2).tolist()
    [[0.0, 1.5, 1.5], [1.5, 0.0, 1.0], [1.5, 1.0, 0.0]]
    """
    window = check_positive_int("window", window)
    chunk_size = check_positive_int("chunk_size", chunk_size)
    symmetric = _check_bool("symmetric", symmetric)
    distance_weighting = _check_bool("distance_weighting", distance_weighting)
    tokens, sentence_ids = _flatten_corpus(corpus)
    largest = int(tokens.max())
    if vocab_size is None:
        vocab_size = largest + 1
    vocab_size = check_positive_int("vocab_size", vocab_size)
    if largest >= vocab_size:
        raise ValueError(
            f"`corpus` token ids must be < vocab_size={vocab_size}. Received: max id {largest}"
        )
    keep = vocabulary_mask(np.bincount(tokens, minlength=vocab_size), min_count, max_vocab)
    if not keep.all():
        kept = keep[tokens]
        tokens, sentence_ids = tokens[kept], sentence_ids[kept]
    if vocab_size <= np.iinfo(np.int32).max:
        # scipy indexes with int32 when it can: int64 pairs would be converted per chunk.
        tokens = tokens.astype(np.int32)
    shape = (vocab_size, vocab_size)
    total = scipy.sparse.csr_matrix(shape, dtype=np.float64)
    n = tokens.size
    if n < 2:
        return total
    offsets = np.arange(1, window + 1)
    weights = 1.0 / offsets if distance_weighting else np.ones(window)
    pending: list[scipy.sparse.csr_matrix] = []
    pending_size = 0
    for start in range(0, n, chunk_size):
        first = np.arange(start, min(start + chunk_size, n))
        second = first[:, None] + offsets[None, :]
        valid = second < n
        second = np.minimum(second, n - 1)
        valid &= sentence_ids[second] == sentence_ids[first][:, None]
        rows = np.broadcast_to(tokens[first][:, None], valid.shape)[valid]
        cols = tokens[second][valid]
        values = np.broadcast_to(weights, valid.shape)[valid]
        if symmetric:
            rows, cols = np.concatenate([rows, cols]), np.concatenate([cols, rows])
            values = np.concatenate([values, values])
        chunk = _to_csr(rows, cols, values, shape)
        pending.append(chunk)
        pending_size += chunk.nnz
        # Merging only once the pending chunks are as large as the total keeps the work
        # O(nnz log(chunks)) and the memory a small multiple of the final nnz.
        if pending_size >= max(total.nnz, MERGE_FLOOR):
            total = _merge(total, pending, shape)
            pending, pending_size = [], 0
    if pending:
        total = _merge(total, pending, shape)
    total.eliminate_zeros()
    total.sort_indices()
    return total


def _merge(total, pending, shape) -> scipy.sparse.csr_matrix:
    parts = [total.tocoo(), *(p.tocoo() for p in pending)]
    return _to_csr(
        np.concatenate([p.row for p in parts]),
        np.concatenate([p.col for p in parts]),
        np.concatenate([p.data for p in parts]),
        shape,
    )


def cooccurrence_triples(cooccurrence: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The non-zero entries `(i, j, X_ij)` of a co-occurrence matrix, row by row.

    Args:
        cooccurrence: `[V, V]` counts: a `scipy.sparse` matrix (as `cooccurrence_matrix`
            returns) or a dense array. Entries must be finite and >= 0.

    Returns:
        `(i, j, x)`: int32, int32 and float32 `[P]`, one per entry `X_ij > 0`.

    Example:

    >>> i, j, x = cooccurrence_triples(np.array([[0.0, 2.0], [0.5, 0.0]]))
    >>> i.tolist(), j.tolist(), x.tolist()
    ([0, 1], [1, 0], [2.0, 0.5])
    """
    if scipy.sparse.issparse(cooccurrence):
        matrix = scipy.sparse.coo_matrix(cooccurrence)
    else:
        try:
            dense = np.asarray(cooccurrence, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise TypeError(
                "`cooccurrence` must be a [V, V] scipy.sparse matrix or array of counts. "
                f"Received: cooccurrence of type {type(cooccurrence).__name__}"
            ) from error
        if dense.ndim != 2:
            raise ValueError(
                f"`cooccurrence` must have shape [V, V]. Received: shape={dense.shape}"
            )
        matrix = scipy.sparse.coo_matrix(dense)
    if matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"`cooccurrence` must be square, [V, V]. Received: shape={matrix.shape}")
    matrix = matrix.tocsr()
    matrix.sum_duplicates()
    matrix = matrix.tocoo()
    data = np.asarray(matrix.data, np.float64)
    bad = ~np.isfinite(data) | (data < 0)
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(
            "`cooccurrence` entries must be finite and >= 0. "
            f"Received: X[{matrix.row[k]}, {matrix.col[k]}]={data[k]}"
        )
    positive = data > 0
    return (
        matrix.row[positive].astype(np.int32),
        matrix.col[positive].astype(np.int32),
        data[positive].astype(np.float32),
    )


def glove_dataset(
    cooccurrence: Any,
    batch_size: int = 512,
    shuffle: bool = True,
    seed: int = 0,
    drop_remainder: bool = False,
    as_dict: bool = False,
) -> tf.data.Dataset:
    """GloVe's training examples: every non-zero `X_ij` as `((i, j), X_ij)`.

    GloVe fits `w_i^T w~_j + b_i + b~_j` to `log X_ij` on the non-zero entries only
    (`f(0) = 0`), so an epoch is one pass over them. With `shuffle=True` every epoch (each
    new iterator, as `model.fit` makes) visits them in a new order drawn from `seed`;
    the same seed gives the same sequence of epochs. Batches are cut from one
    permutation with a slice each, not element by element, and the dataset's
    cardinality is known (`ceil(P / batch_size)`), so `model.fit` needs no
    `steps_per_epoch`.

    Args:
        cooccurrence: `[V, V]` counts, as `cooccurrence_matrix` returns (or dense).
        batch_size: entries per batch.
        shuffle: a new order every epoch (default); False keeps row-major order.
        seed: seed of the shuffles.
        drop_remainder: drop the last, smaller batch (static batch size).
        as_dict: yield `({"word": i, "context": j}, X_ij)` instead of `((i, j), X_ij)`.

    Returns:
        A `tf.data.Dataset` of `((i, j), x)`: int32 `[B]`, int32 `[B]` and float32 `[B]`,
        ready for `kerasdl.models.glove` and `kerasdl.losses.GloVeLoss`.

    Raises:
        ValueError/TypeError: for a bad matrix (not square, negative or non-finite
            entries, no entry > 0) or a bad argument.

    Example:

    >>> X = cooccurrence_matrix([0, 1, 2, 0, 1], window=2)
    >>> ds = glove_dataset(X, batch_size=4, seed=1)
    >>> int(ds.cardinality())  # 6 non-zero entries
    2
    >>> (i, j), x = next(iter(ds))
    >>> tuple(i.shape), tuple(j.shape), tuple(x.shape)
    ((4,), (4,), (4,))
    """
    batch_size = check_positive_int("batch_size", batch_size)
    shuffle = _check_bool("shuffle", shuffle)
    drop_remainder = _check_bool("drop_remainder", drop_remainder)
    as_dict = _check_bool("as_dict", as_dict)
    seed = _check_seed(seed)
    rows, cols, values = cooccurrence_triples(cooccurrence)
    count = rows.size
    if count == 0:
        raise ValueError("`cooccurrence` must have at least one entry > 0. Received: none")
    num_batches = count // batch_size if drop_remainder else -(-count // batch_size)
    if num_batches == 0:
        raise ValueError(
            f"`batch_size` must be <= the {count} non-zero entries with drop_remainder=True. "
            f"Received: batch_size={batch_size}"
        )
    rows, cols, values = tf.constant(rows), tf.constant(cols), tf.constant(values)

    def arrange(i, j, x):
        if as_dict:
            return {"word": i, "context": j}, x
        return (i, j), x

    def epoch(order):
        def cut(b):
            index = order[b * batch_size : tf.minimum((b + 1) * batch_size, count)]
            return arrange(tf.gather(rows, index), tf.gather(cols, index), tf.gather(values, index))

        return tf.data.Dataset.range(num_batches).map(cut, num_parallel_calls=tf.data.AUTOTUNE)

    if shuffle:

        def shuffled(epoch_seed):
            pair = tf.stack([epoch_seed, tf.constant(seed, tf.int64)])
            return epoch(tf.random.experimental.stateless_shuffle(tf.range(count), pair))

        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
        data = seeds.flat_map(shuffled)
        data = data.apply(tf.data.experimental.assert_cardinality(num_batches))
    else:
        data = epoch(tf.range(count))
    return data.prefetch(tf.data.AUTOTUNE)
