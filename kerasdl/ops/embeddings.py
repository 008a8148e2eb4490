"""Word-vector geometry: cosine similarity, nearest neighbours, analogies and debiasing.

The notes' similarity of two embeddings is the cosine of their angle,

    CosineSimilarity(u, v) = u . v / (||u||_2 ||v||_2) = cos(theta),

and analogy reasoning ("man is to woman as king is to ?") looks for the word `w` whose
embedding `e_w` is most similar to `e_king - e_man + e_woman`. Debiasing (Bolukbasi et
al., 2016) takes three steps: identify the bias direction `g` from definitional pairs
such as (woman, man), neutralize every word that is not definitional (remove its
projection on `g`), and equalize pairs such as (grandmother, grandfather) so that they
differ only along `g`.

Conventions:

- An embedding is the last axis of a tensor `[..., d]`; an embedding matrix `vectors` is
  `[V, d]` with row `i` the embedding of word `i` (the transpose of the notes' matrix `E`,
  whose columns are the embeddings, and the layout of `keras.layers.Embedding`).
- A vocabulary is a sequence of words (`vocab[i]` is word `i`) or a mapping
  word -> index. Functions that take words also take their int indices.
- Float inputs keep their dtype (pass float64 for float64 results); ints become
  `keras.backend.floatx()`. Results are backend tensors (`tf.Tensor` on TensorFlow),
  except the words and indices `complete_analogy` returns.
- The cosine similarity with a zero vector is 0, never NaN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerasdl._validation import check_one_of, check_positive_int

BIAS_METHODS = ("mean", "pca")
ANALOGY_METHODS = ("add", "mul")


def _as_float(name: str, x: Any, min_rank: int = 1) -> Any:
    try:
        x = ops.convert_to_tensor(x)
    except (TypeError, ValueError) as error:
        raise TypeError(f"`{name}` must be a numeric array. Received: {name}={x!r:.200}") from error
    dtype = keras.backend.standardize_dtype(x.dtype)
    if "float" not in dtype:
        if dtype == "string" or dtype == "bool":
            raise TypeError(f"`{name}` must be a numeric array. Received: {name}.dtype={dtype}")
        x = ops.cast(x, keras.backend.floatx())
    if len(x.shape) < min_rank:
        raise ValueError(
            f"`{name}` must have rank >= {min_rank} (embeddings on the last axis). "
            f"Received: {name}.shape={tuple(x.shape)}"
        )
    return x


def _known_value(x: Any) -> np.ndarray | None:
    """`x` as numpy when its value is known now (eager), None inside a traced function."""
    if isinstance(x, np.ndarray | list | tuple | int | float):
        return np.asarray(x)
    if tf.executing_eagerly() and hasattr(x, "numpy"):
        return x.numpy()
    return None


def _check_same_dim(name_a: str, a: Any, name_b: str, b: Any) -> None:
    da, db = a.shape[-1], b.shape[-1]
    if da is not None and db is not None and da != db:
        raise ValueError(
            f"`{name_a}` and `{name_b}` must have the same embedding size on the last axis. "
            f"Received: {name_a}.shape={tuple(a.shape)} and {name_b}.shape={tuple(b.shape)}"
        )


def _common_dtype(*tensors: Any) -> list[Any]:
    dtype = keras.backend.result_type(*(t.dtype for t in tensors))
    return [ops.cast(t, dtype) for t in tensors]


def _safe_divide(numerator: Any, denominator: Any) -> Any:
    """`numerator / denominator`, and 0 where the denominator is 0 (no NaN, no inf)."""
    zero = ops.equal(denominator, 0)
    ratio = numerator / ops.where(zero, ops.ones_like(denominator), denominator)
    return ops.where(zero, ops.zeros_like(ratio), ratio)


def _unit(x: Any) -> Any:
    norm = ops.sqrt(ops.sum(ops.square(x), axis=-1, keepdims=True))
    return _safe_divide(x, norm)


def cosine_similarity(u: Any, v: Any) -> Any:
    """The notes' cosine similarity `u . v / (||u||_2 ||v||_2)` over the last axis.

    Batched: `u` `[..., d]` and `v` `[..., d]` broadcast against each other on the leading
    axes, so one word against many, many against many (paired), or `u[:, None]` against
    `v[None]` for a full table all work. A zero vector has similarity 0 with everything.

    Args:
        u: embeddings `[..., d]`.
        v: embeddings `[..., d]`, broadcastable with `u`.

    Returns:
        The similarities, of shape `broadcast(u.shape[:-1], v.shape[:-1])`, in [-1, 1].

    Raises:
        ValueError: when the last axes differ or an input is a scalar.
        TypeError: when an input is not numeric.

    Example:

    >>> u = [[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    >>> v = [1.0, 1.0]
    >>> np.round(np.asarray(cosine_similarity(u, v)), 4)
    array([0.7071, 1.    , 0.    ], dtype=float32)
    """
    u = _as_float("u", u)
    v = _as_float("v", v)
    _check_same_dim("u", u, "v", v)
    u, v = _common_dtype(u, v)
    dot = ops.sum(u * v, axis=-1)
    norms = ops.sqrt(ops.sum(ops.square(u), axis=-1)) * ops.sqrt(ops.sum(ops.square(v), axis=-1))
    return ops.clip(_safe_divide(dot, norms), -1.0, 1.0)


def _exclusion_mask(exclude: Any, num_queries: int, vocab_size: int, single: bool) -> Any:
    """`[B, V]` bool mask of the excluded indices; entries < 0 are padding."""
    exclude = ops.convert_to_tensor(exclude)
    if "int" not in keras.backend.standardize_dtype(exclude.dtype):
        raise TypeError(
            f"`exclude` must hold int word indices. Received: exclude.dtype={exclude.dtype}"
        )
    rank = len(exclude.shape)
    if single and rank > 1:
        raise ValueError(
            "`exclude` must have shape [m] for a single query. "
            f"Received: exclude.shape={tuple(exclude.shape)}"
        )
    if rank == 1:
        exclude = ops.broadcast_to(exclude[None, :], (num_queries, ops.shape(exclude)[0]))
    elif rank != 2 or (
        exclude.shape[0] is not None
        and isinstance(num_queries, int)
        and exclude.shape[0] != num_queries
    ):
        raise ValueError(
            f"`exclude` must have shape [m] (the same words for every query) or [B, m] with "
            f"B={num_queries} queries. Received: exclude.shape={tuple(exclude.shape)}"
        )
    exclude_np = _known_value(exclude)
    if exclude_np is not None and exclude_np.size and exclude_np.max() >= vocab_size:
        raise ValueError(
            f"`exclude` indices must be < the vocabulary size {vocab_size}. "
            f"Received: max(exclude)={int(exclude_np.max())}"
        )
    # one_hot gives a zero row for a negative index, so -1 padding excludes nothing.
    return ops.any(ops.one_hot(ops.cast(exclude, "int32"), vocab_size, dtype="bool"), axis=1)


def nearest_neighbors(vectors: Any, query: Any, k: int, exclude: Any = None) -> tuple[Any, Any]:
    """The `k` rows of `vectors` most cosine-similar to each query, most similar first.

    One matrix product of the unit-normalised queries and vectors, then a top-k: all
    queries and the whole vocabulary at once. Ties go to the lower index.

    Args:
        vectors: the embedding matrix `[V, d]`.
        query: one embedding `[d]` or a batch `[B, d]`.
        k: how many neighbours, `1 <= k <= V`.
        exclude: optional int word indices never returned: `[m]` for every query or
            `[B, m]` per query (e.g. an analogy's three input words). Negative entries
            are padding. If fewer than `k` words are left, the last entries of a row
            are excluded words with similarity `-inf`.

    Returns:
        `(indices, similarities)`: int32 `[B, k]` and `[B, k]` (`[k]` for a single
        query), sorted by decreasing cosine similarity.

    Raises:
        ValueError: on a bad shape, `k` outside `[1, V]` or an index outside the vocabulary.
        TypeError: when `k` is not an int or `exclude` does not hold ints.

    Example:

    >>> vectors = [[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0]]
    >>> indices, sims = nearest_neighbors(vectors, [1.0, 0.05], k=2)
    >>> np.asarray(indices)
    array([0, 1], dtype=int32)
    >>> indices, sims = nearest_neighbors(vectors, [[1.0, 0.05], [0.0, 2.0]], k=2, exclude=[0])
    >>> np.asarray(indices)
    array([[1, 2],
           [2, 1]], dtype=int32)
    """
    vectors = _as_float("vectors", vectors, min_rank=2)
    query = _as_float("query", query)
    if len(vectors.shape) != 2:
        raise ValueError(
            f"`vectors` must have shape [V, d]. Received: vectors.shape={tuple(vectors.shape)}"
        )
    if len(query.shape) > 2:
        raise ValueError(
            f"`query` must have shape [d] or [B, d]. Received: query.shape={tuple(query.shape)}"
        )
    _check_same_dim("vectors", vectors, "query", query)
    vectors, query = _common_dtype(vectors, query)
    vocab_size = vectors.shape[0]
    k = check_positive_int("k", int(k) if isinstance(k, np.integer) else k)
    if vocab_size is not None and k > vocab_size:
        raise ValueError(f"`k` must be <= the vocabulary size {vocab_size}. Received: k={k}")
    single = len(query.shape) == 1
    queries = query[None, :] if single else query
    scores = ops.matmul(_unit(queries), ops.transpose(_unit(vectors)))
    if exclude is not None:
        num_queries = queries.shape[0] if queries.shape[0] is not None else ops.shape(queries)[0]
        mask = _exclusion_mask(exclude, num_queries, vocab_size, single)
        scores = ops.where(mask, ops.cast(float("-inf"), scores.dtype), scores)
    similarities, indices = ops.top_k(scores, k=k, sorted=True)
    indices = ops.cast(indices, "int32")
    if single:
        return indices[0], similarities[0]
    return indices, similarities


def _vocab_index(vocab: Sequence[str] | Mapping[str, int] | None) -> dict[str, int] | None:
    if vocab is None:
        return None
    if isinstance(vocab, Mapping):
        return dict(vocab)
    if isinstance(vocab, str) or not isinstance(vocab, Sequence | np.ndarray):
        raise TypeError(
            "`vocab` must be a sequence of words or a mapping word -> index. "
            f"Received: vocab of type {type(vocab).__name__}"
        )
    return {str(word): i for i, word in enumerate(vocab)}


def _to_indices(
    name: str, words: Any, index: dict[str, int] | None, vocab_size: int
) -> tuple[np.ndarray, bool]:
    """Word indices `[B]` of `words` (words or ints, one or a batch) and whether they were words."""
    array = np.asarray(words)
    if array.ndim > 1:
        raise ValueError(
            f"`{name}` must be one word or index, or a 1-D batch of them. "
            f"Received: {name} with shape {array.shape}"
        )
    flat = array.reshape(-1)
    if array.dtype.kind in "US":
        if index is None:
            raise ValueError(
                f"`vocab` is needed to look up words. Received: {name}={words!r:.100} and "
                "vocab=None"
            )
        missing = [str(w) for w in flat if str(w) not in index]
        if missing:
            raise ValueError(
                f"`{name}` holds words that are not in `vocab`. Received: {name} with "
                f"{missing[:5]!r}"
            )
        return np.array([index[str(w)] for w in flat], np.int64), True
    if array.dtype.kind not in "iu":
        raise TypeError(
            f"`{name}` must hold words (str) or int word indices. Received: {name}={words!r:.100}"
        )
    if flat.size and (flat.min() < 0 or flat.max() >= vocab_size):
        raise ValueError(
            f"`{name}` indices must be in [0, {vocab_size}). "
            f"Received: {name}={flat.tolist()!r:.100}"
        )
    return flat.astype(np.int64), False


def complete_analogy(
    a: Any,
    b: Any,
    c: Any,
    vectors: Any,
    vocab: Sequence[str] | Mapping[str, int] | None = None,
    k: int = 1,
    method: str = "add",
    return_scores: bool = False,
) -> Any:
    """Completes "a is to b as c is to ?" (man : woman :: king : queen).

    With every embedding first scaled to unit length (`e_hat = e / ||e||`, as word2vec's
    and gensim's evaluations do, so frequent words with long vectors do not dominate):

    - "add" (3CosAdd; the notes' `argmax_w sim(e_w, e_king - e_man + e_woman)`):
      `argmax_w cos(e_w, e_hat_b - e_hat_a + e_hat_c)`;
    - "mul" (3CosMul, Levy & Goldberg 2014; gensim's `most_similar_cosmul`):
      `argmax_w s(w, b) s(w, c) / (s(w, a) + 1e-6)` with `s = (1 + cos) / 2`.

    The three input words are never answers. Every question is scored against the whole
    vocabulary in one matrix product.

    Args:
        a, b, c: the words (str) or their int indices; one each, or equal-length 1-D
            batches of questions.
        vectors: the embedding matrix `[V, d]`.
        vocab: the words of the rows of `vectors` (a sequence, `vocab[i]` the word of
            row `i`) or a mapping word -> row; needed when the questions are words.
        k: how many answers per question, best first.
        method: "add" (default) or "mul".
        return_scores: also return each answer's score (cosine similarity for "add").

    Returns:
        The answer in the questions' form: a word when the inputs were words, an int
        index when they were indices. For a batch, an array `[B]`; with `k > 1`, `[k]`
        (one question) or `[B, k]`. With `return_scores=True`, `(answers, scores)`.

    Raises:
        ValueError: for a word missing from `vocab`, an index outside `[0, V)`, batches
            of different lengths, a bad `method` or `k`.
        TypeError: for questions that are neither words nor ints.

    Example:

    >>> vocab = ["man", "woman", "king", "queen", "apple"]
    >>> vectors = [[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1], [-1, 0, 0]]
    >>> complete_analogy("man", "woman", "king", vectors, vocab)
    'queen'
    >>> complete_analogy(["man", "king"], ["king", "man"], ["woman", "queen"], vectors, vocab)
    array(['queen', 'woman'], dtype='<U5')
    >>> complete_analogy(0, 1, 2, vectors)
    3
    """
    vectors = _as_float("vectors", vectors, min_rank=2)
    if len(vectors.shape) != 2:
        raise ValueError(
            f"`vectors` must have shape [V, d]. Received: vectors.shape={tuple(vectors.shape)}"
        )
    check_one_of("method", method, ANALOGY_METHODS)
    vocab_size = vectors.shape[0]
    index = _vocab_index(vocab)
    questions = []
    as_words = []
    for name, words in (("a", a), ("b", b), ("c", c)):
        ids, was_words = _to_indices(name, words, index, vocab_size)
        questions.append(ids)
        as_words.append(was_words)
    lengths = {len(q) for q in questions}
    if len(lengths) != 1:
        raise ValueError(
            "`a`, `b` and `c` must hold the same number of questions. "
            f"Received: {len(questions[0])}, {len(questions[1])} and {len(questions[2])}"
        )
    k = check_positive_int("k", int(k) if isinstance(k, np.integer) else k)
    if k > vocab_size - 3:
        raise ValueError(
            f"`k` must be <= the vocabulary size minus the 3 input words, {vocab_size - 3}. "
            f"Received: k={k}"
        )
    single = np.ndim(a) == 0 and np.ndim(b) == 0 and np.ndim(c) == 0
    ia, ib, ic = questions
    unit = _unit(vectors)
    exclude = np.stack([ia, ib, ic], axis=1)
    if method == "add":
        target = ops.take(unit, ib, axis=0) - ops.take(unit, ia, axis=0)
        target = target + ops.take(unit, ic, axis=0)
        indices, scores = nearest_neighbors(unit, target, k, exclude=exclude)
    else:
        # All V similarities with each of a, b, c: [B, V] each, from one product.
        cos = ops.matmul(ops.take(unit, np.concatenate([ia, ib, ic]), axis=0), ops.transpose(unit))
        s_a, s_b, s_c = ops.split((1.0 + cos) / 2.0, 3, axis=0)
        score = s_b * s_c / (s_a + 1e-6)
        mask = ops.any(ops.one_hot(ops.convert_to_tensor(exclude), vocab_size, dtype="bool"), 1)
        score = ops.where(mask, ops.cast(float("-inf"), score.dtype), score)
        scores, indices = ops.top_k(score, k=k, sorted=True)
    indices = ops.convert_to_numpy(indices).astype(np.int64)
    scores = ops.convert_to_numpy(scores)
    if k == 1:
        indices, scores = indices[:, 0], scores[:, 0]
    if single:
        indices, scores = indices[0], scores[0]
    if all(as_words):
        words = np.asarray(_index_words(index))
        answers = words[indices]
        answers = str(answers) if np.ndim(answers) == 0 else answers
    else:
        answers = int(indices) if np.ndim(indices) == 0 else indices
    if return_scores:
        return answers, (float(scores) if np.ndim(scores) == 0 else scores)
    return answers


def _index_words(index: dict[str, int]) -> list[str]:
    words = [""] * (max(index.values()) + 1)
    for word, i in index.items():
        words[i] = word
    return words


def bias_direction(
    pairs: Any,
    vectors: Any,
    vocab: Sequence[str] | Mapping[str, int] | None = None,
    method: str = "mean",
) -> Any:
    """The unit bias direction `g` from definitional pairs such as (woman, man).

    - "mean": the normalised average of the pairs' differences,
      `g = sum_i (e_{x_i} - e_{y_i}) / ||sum_i (e_{x_i} - e_{y_i})||`; with one pair this
      is the notes' `e_woman - e_man`, scaled to unit length.
    - "pca" (Bolukbasi et al., 2016): the first principal component of the pair members
      centred on their pair's mean, `e_{x_i} - mu_i` and `e_{y_i} - mu_i` with
      `mu_i = (e_{x_i} + e_{y_i}) / 2`; its sign is chosen so that `g` points from the
      `y` words towards the `x` words (positive dot product with the "mean" direction).

    Bolukbasi et al. unit-normalise every embedding first; do so before calling this
    (`vectors / np.linalg.norm(vectors, axis=1, keepdims=True)`) to follow them exactly.

    Args:
        pairs: `[P, 2]` definitional pairs `(x_i, y_i)`, words or int indices.
        vectors: the embedding matrix `[V, d]`.
        vocab: the words of the rows of `vectors`, needed when `pairs` holds words.
        method: "mean" (default) or "pca".

    Returns:
        `g`, a unit vector `[d]`.

    Raises:
        ValueError: for pairs not of shape `[P, 2]`, an unknown word, a bad `method`, or
            pairs whose members are all identical (no direction).

    Example:

    >>> vocab = ["man", "woman", "boy", "girl"]
    >>> vectors = np.array([[1, 0, 1], [1, 2, 1], [0, 0, 3], [0, 2, 3]], "float32")
    >>> np.asarray(bias_direction([("woman", "man"), ("girl", "boy")], vectors, vocab))
    array([0., 1., 0.], dtype=float32)
    """
    vectors = _as_float("vectors", vectors, min_rank=2)
    if len(vectors.shape) != 2:
        raise ValueError(
            f"`vectors` must have shape [V, d]. Received: vectors.shape={tuple(vectors.shape)}"
        )
    check_one_of("method", method, BIAS_METHODS)
    array = np.asarray(pairs)
    if array.ndim != 2 or array.shape[1] != 2 or array.shape[0] == 0:
        raise ValueError(
            f"`pairs` must have shape [P, 2] with P >= 1 pairs (x, y). "
            f"Received: pairs with shape {array.shape}"
        )
    ids, _ = _to_indices("pairs", array.reshape(-1), _vocab_index(vocab), vectors.shape[0])
    members = ops.reshape(ops.take(vectors, ids, axis=0), (-1, 2, vectors.shape[1]))
    differences = members[:, 0] - members[:, 1]
    mean = ops.sum(differences, axis=0)
    if method == "mean":
        direction = mean
    else:
        # The centred members of a pair are +-(x - y) / 2, so the principal axes of the
        # 2P centred rows are the right singular vectors of the P differences.
        _, _, vt = ops.svd(differences / 2.0, full_matrices=False)
        direction = vt[0]
        sign = ops.where(ops.sum(direction * mean) < 0, -1.0, 1.0)
        direction = direction * ops.cast(sign, direction.dtype)
    norm = float(ops.convert_to_numpy(ops.norm(direction)))
    if norm == 0.0:
        raise ValueError(
            "`pairs` must contain at least one pair of different embeddings; every pair "
            "difference is zero, so there is no bias direction."
        )
    return direction / norm


def _check_direction(g: Any) -> Any:
    g = _as_float("g", g)
    if len(g.shape) != 1:
        raise ValueError(
            f"`g` must be one direction of shape [d]. Received: g.shape={tuple(g.shape)}"
        )
    value = _known_value(g)
    if value is not None and not np.any(value):
        raise ValueError("`g` must be a non-zero direction. Received: g with every entry 0")
    return g


def _projection(e: Any, g: Any) -> Any:
    """`e_bias = (e . g / ||g||^2) g`, the component of `e` along `g`."""
    return ops.sum(e * g, axis=-1, keepdims=True) / ops.sum(g * g) * g


def neutralize(e: Any, g: Any) -> Any:
    """Removes the bias component of word embeddings (the notes' neutralization step).

        e_bias = (e . g / ||g||_2^2) g,       e_debiased = e - e_bias

    so `e_debiased . g = 0`: the word no longer leans towards either end of the bias
    axis. The projection is removed twice (the second pass removes what rounding left
    of the first), so the result is orthogonal to `g` to the precision of the dtype
    (~1e-7 relative in float32) rather than to the size of the first rounding error.

    Args:
        e: embeddings `[..., d]` of non-definitional words (e.g. "receptionist").
        g: the bias direction `[d]` (any length; see `bias_direction`).

    Returns:
        The neutralised embeddings, shape of `e`.

    Raises:
        ValueError: when `g` is not `[d]`, is zero, or its size differs from `e`'s.

    Example:

    >>> e = neutralize([[3.0, 4.0], [1.0, -2.0]], g=[0.0, 2.0])
    >>> np.asarray(e)
    array([[3., 0.],
           [1., 0.]], dtype=float32)
    """
    e = _as_float("e", e)
    g = _check_direction(g)
    _check_same_dim("e", e, "g", g)
    e, g = _common_dtype(e, g)
    e = e - _projection(e, g)
    return e - _projection(e, g)


def equalize(pair: Any, g: Any) -> tuple[Any, Any]:
    """Equalizes a pair such as (grandmother, grandfather) so it differs only along `g`.

    With `mu` the pair's mean, `mu_B` and `e_wB` the components along `g` (projections as
    in `neutralize`), and `mu_orth = mu - mu_B` (Bolukbasi et al., 2016):

        mu       = (e_w1 + e_w2) / 2
        mu_B     = (mu . g / ||g||^2) g,         mu_orth = mu - mu_B
        e_wB     = (e_w . g / ||g||^2) g          for w = w1, w2
        e_w_new  = mu_orth + sqrt(r^2 - ||mu_orth||^2) (e_wB - mu_B) / ||e_wB - mu_B||

    with `r^2 = (||e_w1||^2 + ||e_w2||^2) / 2`, which is 1 for unit-length embeddings (the
    paper's setting, where the factor is `sqrt(1 - ||mu_orth||^2)`); it is never smaller
    than `||mu_orth||^2`, so the root is always real. The two words then share their
    component orthogonal to `g` (`mu_orth`) and have opposite components along `g`: they
    are symmetric about the non-bias subspace, both have norm `r`, and every neutralised
    word (orthogonal to `g`) is at the same distance from both. When the pair has no
    difference along `g`, `w1` moves towards `+g` and `w2` towards `-g`.

    Some course materials divide by `||e_w1 - mu_orth - mu_B||` (the whole difference
    `e_w1 - mu`) instead of `||e_wB - mu_B||`; that keeps the symmetry but leaves the norms
    below `r`. This follows the paper.

    Args:
        pair: `(e_w1, e_w2)`, two embedding tensors `[..., d]` of the same shape (a batch
            of pairs is fine), or one tensor `[..., 2, d]`.
        g: the bias direction `[d]`.

    Returns:
        `(e_w1_new, e_w2_new)`, each of the input's shape.

    Raises:
        ValueError: when the pair is not two embeddings of one shape, or `g` is bad.

    Example:

    >>> e1, e2 = equalize(([0.6, 0.8, 0.0], [0.0, 0.6, 0.8]), g=[1.0, 0.0, 0.0])
    >>> np.round(np.asarray(e1), 4)  # sqrt(1 - 0.7^2 - 0.4^2) = 0.5916 along g
    array([0.5916, 0.7   , 0.4   ], dtype=float32)
    >>> np.round(np.asarray(e2), 4)
    array([-0.5916,  0.7   ,  0.4   ], dtype=float32)
    """
    if isinstance(pair, tuple | list) and len(pair) == 2:
        e1, e2 = _as_float("pair[0]", pair[0]), _as_float("pair[1]", pair[1])
    else:
        stacked = _as_float("pair", pair, min_rank=2)
        if stacked.shape[-2] != 2:
            raise ValueError(
                "`pair` must be (e_w1, e_w2) or one tensor of shape [..., 2, d]. "
                f"Received: pair.shape={tuple(stacked.shape)}"
            )
        e1, e2 = stacked[..., 0, :], stacked[..., 1, :]
    if tuple(e1.shape) != tuple(e2.shape):
        raise ValueError(
            "`pair` must hold two embeddings of the same shape. "
            f"Received: shapes {tuple(e1.shape)} and {tuple(e2.shape)}"
        )
    g = _check_direction(g)
    _check_same_dim("pair", e1, "g", g)
    e1, e2, g = _common_dtype(e1, e2, g)
    mu = (e1 + e2) / 2.0
    mu_b = _projection(mu, g)
    mu_orth = mu - mu_b
    mu_orth = mu_orth - _projection(mu_orth, g)

    def squared_norm(x):
        return ops.sum(x * x, axis=-1, keepdims=True)

    radius_sq = (squared_norm(e1) + squared_norm(e2)) / 2
    scale = ops.sqrt(ops.maximum(radius_sq - squared_norm(mu_orth), 0))
    # e_w1B - mu_B = ((e_w1 - mu) . g / ||g||^2) g and e_w2B - mu_B is its opposite, so
    # the unit vector (e_wB - mu_B) / ||e_wB - mu_B|| is +-g/||g||: only the sign is needed.
    side = ops.sum((e1 - mu) * g, axis=-1, keepdims=True)
    sign = ops.where(side < 0, -ops.ones_like(side), ops.ones_like(side))
    step = scale * sign * (g / ops.sqrt(ops.sum(g * g)))
    return mu_orth + step, mu_orth - step
