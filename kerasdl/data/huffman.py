"""The Huffman tree of word2vec's hierarchical softmax, and the datasets that train it.

Hierarchical softmax (Morin & Bengio, 2005; word2vec's `-hs 1`, gensim's `hs=1`)
replaces the notes' softmax over the whole vocabulary by a walk down a binary tree whose
`V` leaves are the words: each inner node `n` has an output vector `theta_n`, and the
probability of a word is the product of the left/right decisions on its path,

    p(w | c) = prod_{j=1..L_w} sigmoid((1 - 2 d_j) theta_{n_j}^T e_c)

(`n_j` the `j`-th inner node from the root, `d_j` in {0, 1} the branch taken there). A
Huffman tree built from the word counts gives frequent words short paths, so a training
pair costs `L_w` dot products, about `log2 V` on average and fewer for frequent words,
instead of `V`.
"""

from __future__ import annotations

import heapq
from typing import Any, NamedTuple

import numpy as np
import tensorflow as tf

from kerasdl._validation import check_one_of
from kerasdl.data.skipgrams import _check_counts


class HuffmanTree(NamedTuple):
    """Each word's path in a Huffman tree, padded to the longest path.

    Inner nodes are numbered `0..V-2` in the order they were created (the root is
    `V - 2`), as in word2vec's C tool and gensim, so `points` index the `V - 1` rows of
    the output vectors `theta`.
    """

    codes: np.ndarray
    """int32 `[V, L]`: the branch `d_j` (0 left, 1 right) taken at each node from the
    root, -1 after the path's end (`L` is the longest path)."""
    points: np.ndarray
    """int32 `[V, L]`: the inner nodes `n_j` on the path from the root (`points[:, 0]` is
    the root `V - 2`), -1 after the path's end."""
    lengths: np.ndarray
    """int32 `[V]`: each word's path length `L_w` (its code length)."""


HUFFMAN_TIE_RULES = ("gensim", "word2vec")


class _HeapNode:
    """A heap entry ordered by count alone, as gensim's `Heapitem`: which of two equal
    counts pops first then depends on the heap's layout, and only the same heap
    operations in the same order reproduce gensim's tree."""

    __slots__ = ("count", "index")

    def __init__(self, count: float, index: int):
        self.count = count
        self.index = index

    def __lt__(self, other: _HeapNode) -> bool:
        return self.count < other.count


def _merges_gensim(counts: np.ndarray, parent: list[int], branch: list[int]) -> None:
    size = counts.shape[0]
    heap = [_HeapNode(c, i) for i, c in enumerate(counts.tolist())]
    heapq.heapify(heap)
    for created in range(size, 2 * size - 1):
        left, right = heapq.heappop(heap), heapq.heappop(heap)
        parent[left.index] = parent[right.index] = created
        branch[right.index] = 1
        heapq.heappush(heap, _HeapNode(left.count + right.count, created))


def _merges_word2vec(counts: np.ndarray, parent: list[int], branch: list[int]) -> None:
    # The C tool sorts words by decreasing count and takes leaves from the end, so among
    # equal counts the larger index goes first; on a tie with an inner node the inner
    # node goes first (its test is `count[leaf] < count[inner]`).
    size = counts.shape[0]
    leaves = np.lexsort((-np.arange(size), counts)).tolist()
    leaf_counts = counts[leaves].tolist()
    inner_counts = [0.0] * (size - 1)
    next_leaf = next_inner = 0
    for created in range(size - 1):
        for side in (0, 1):
            take_leaf = next_leaf < size and (
                next_inner >= created or leaf_counts[next_leaf] < inner_counts[next_inner]
            )
            if take_leaf:
                node, count = leaves[next_leaf], leaf_counts[next_leaf]
                next_leaf += 1
            else:
                node, count = size + next_inner, inner_counts[next_inner]
                next_inner += 1
            parent[node] = size + created
            branch[node] = side
            inner_counts[created] += count


def huffman_tree(counts: Any, ties: str = "gensim") -> HuffmanTree:
    """The Huffman tree of word counts, node for node as gensim (or word2vec) builds it.

    Repeatedly merges the two nodes of smallest count into a new inner node (the first
    taken becomes the left child, code 0; the second the right child, code 1) until one
    root is left; inner node `i` is the `i`-th merge. Every rule for equal counts gives
    an optimal tree (the same `sum_w count_w L_w`), but the paths themselves, and even
    single code lengths, depend on it:

    - "gensim" (default): gensim's `_build_heap`, a `heapq` ordered by count alone, so
      codes and points equal gensim's `hs=1` ones for any counts, ties included. Costs
      what gensim's does: `O(V log V)` Python comparisons (about 2 s per 100k words).
    - "word2vec": the C tool's two queues (leaves by increasing count, equal counts
      larger id first; an inner node before a leaf of equal count), in linear time
      after one sort.

    Both rules give the same tree when no two candidate counts tie.

    Args:
        counts: `[V]` word counts (`V >= 2`), finite and >= 0, in word-id order; any
            order works, though `encode_corpus` ids (by decreasing count) are usual.
        ties: "gensim" (default) or "word2vec".

    Returns:
        `HuffmanTree(codes, points, lengths)`: padded int32 arrays `[V, L]`, `[V, L]`
        (-1 padding) and `[V]`.

    Raises:
        ValueError/TypeError: when `counts` is not a vector of at least 2 finite counts
            >= 0, not all 0, or for an unknown `ties`.

    Example:

    >>> tree = huffman_tree([5, 3, 1, 1])
    >>> tree.lengths.tolist()
    [1, 2, 3, 3]
    >>> tree.codes.tolist()
    [[0, -1, -1], [1, 1, -1], [1, 0, 0], [1, 0, 1]]
    >>> tree.points.tolist()  # node 2 is the root; node 0 merged words 2 and 3
    [[2, -1, -1], [2, 1, -1], [2, 1, 0], [2, 1, 0]]
    """
    counts = _check_counts(counts)
    check_one_of("ties", ties, HUFFMAN_TIE_RULES)
    size = counts.shape[0]
    if size < 2:
        raise ValueError(
            f"`counts` must have at least 2 words for a Huffman tree. Received: counts.shape="
            f"{counts.shape}"
        )
    root = 2 * size - 2
    # Python lists: the merges write one entry at a time, which numpy arrays make slow.
    parent_list, branch_list = [root] * (2 * size - 1), [0] * (2 * size - 1)
    (_merges_gensim if ties == "gensim" else _merges_word2vec)(counts, parent_list, branch_list)
    parent = np.array(parent_list, np.int64)
    branch = np.array(branch_list, np.int8)

    # Depths by pointer jumping from every node at once (each pass doubles the jump):
    # depth[x] = edges from x to the root.
    depth = (np.arange(2 * size - 1) != root).astype(np.int64)
    jump = parent.copy()
    while np.any(jump != root):
        depth = depth + depth[jump]
        jump = jump[jump]
    lengths = depth[:size]
    longest = int(lengths.max())
    codes = np.full((size, longest), -1, np.int32)
    points = np.full((size, longest), -1, np.int32)
    # Walk every leaf up at once, writing each step at its depth from the root.
    node = np.arange(size)
    for step in range(longest):
        active = np.flatnonzero(step < lengths)
        position = lengths[active] - 1 - step
        codes[active, position] = branch[node[active]]
        points[active, position] = parent[node[active]] - size
        node[active] = parent[node[active]]
    return HuffmanTree(codes, points, lengths.astype(np.int32))


def hierarchical_softmax_dataset(dataset: tf.data.Dataset, tree: HuffmanTree) -> tf.data.Dataset:
    """Turns `skipgram_dataset`/`cbow_dataset` batches into hierarchical-softmax ones.

    Each example's true target (the first candidate) is replaced by its Huffman path:
    `((inputs, candidates), labels)` becomes `((inputs, points), codes)`, where
    `points = tree.points[t]` are the inner nodes to score (the model's "candidates",
    -1 padding) and `codes = tree.codes[t]` are the branches, the labels of
    `kerasdl.losses.HierarchicalSoftmaxLoss`. The negatives are dropped (build the
    dataset with `num_negatives=1` to draw as few as possible).

    Args:
        dataset: batches `((inputs, candidates), labels)` or
            `({name: inputs, "candidates": candidates}, labels)` as `skipgram_dataset`
            and `cbow_dataset` yield them.
        tree: `huffman_tree(counts)` of the same vocabulary.

    Returns:
        A `tf.data.Dataset` of `((inputs, points), codes)` (or the dict form): int32
        `[B, L]` points and codes for the longest path `L`.

    Raises:
        TypeError: when `tree` is not a `HuffmanTree`.

    Example:

    >>> from kerasdl.data.skipgrams import skipgram_dataset
    >>> corpus = np.array([0, 0, 0, 1, 1, 2, 0, 1, 3])
    >>> tree = huffman_tree(np.bincount(corpus))
    >>> ds = skipgram_dataset(corpus, window=1, num_negatives=1, batch_size=4,
    ...                       subsample=None)
    >>> (word, points), codes = next(iter(hierarchical_softmax_dataset(ds, tree)))
    >>> tuple(points.shape), tuple(codes.shape)
    ((4, 3), (4, 3))
    """
    if not isinstance(tree, HuffmanTree):
        raise TypeError(
            f"`tree` must be a HuffmanTree (from `huffman_tree`). Received: tree of type "
            f"{type(tree).__name__}"
        )
    points = tf.constant(tree.points, tf.int32)
    codes = tf.constant(tree.codes, tf.int32)

    def to_paths(features, labels):
        if isinstance(features, dict):
            targets = features["candidates"][:, 0]
            features = {**features, "candidates": tf.gather(points, targets)}
        else:
            inputs, candidates = features
            targets = candidates[:, 0]
            features = (inputs, tf.gather(points, targets))
        return features, tf.gather(codes, targets)

    return dataset.map(to_paths, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
