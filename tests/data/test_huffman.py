"""Huffman trees against gensim's own codes and points (ties included) and a line-by-line
transcription of the word2vec C tool's CreateBinaryTree; the datasets' paths."""

import numpy as np
import pytest
import tensorflow as tf

from kerasdl.data.huffman import HuffmanTree, hierarchical_softmax_dataset, huffman_tree
from kerasdl.data.skipgrams import skipgram_dataset

gensim_word2vec = pytest.importorskip(
    "gensim.models.word2vec", reason="gensim (a test dependency) gives the reference trees"
)
from gensim.models.keyedvectors import KeyedVectors  # noqa: E402


def gensim_paths(counts):
    """gensim 4's codes and points (`hs=1`) for words whose ids are the counts' order."""
    wv = KeyedVectors(vector_size=1)
    wv.add_vectors([f"w{i}" for i in range(len(counts))], np.zeros((len(counts), 1), np.float32))
    for i, count in enumerate(counts):
        wv.set_vecattr(i, "count", int(count))
    gensim_word2vec._assign_binary_codes(wv)
    codes = [[int(c) for c in wv.get_vecattr(i, "code")] for i in range(len(counts))]
    points = [[int(p) for p in wv.get_vecattr(i, "point")] for i in range(len(counts))]
    return codes, points


def word2vec_c_paths(counts):
    """CreateBinaryTree of word2vec.c, transcribed; `counts` sorted by decreasing count."""
    size = len(counts)
    count = [float(c) for c in counts] + [1e15] * (size - 1)
    binary, parent = [0] * (2 * size), [0] * (2 * size)
    pos1, pos2 = size - 1, size
    for a in range(size - 1):
        picked = []
        for _ in range(2):
            if pos1 >= 0 and count[pos1] < count[pos2]:
                picked.append(pos1)
                pos1 -= 1
            else:
                picked.append(pos2)
                pos2 += 1
        min1i, min2i = picked
        count[size + a] = count[min1i] + count[min2i]
        parent[min1i] = parent[min2i] = size + a
        binary[min2i] = 1
    codes, points = [], []
    for a in range(size):
        code, point, b = [], [], a
        while True:
            code.append(binary[b])
            point.append(b)
            b = parent[b]
            if b == size * 2 - 2:
                break
        length = len(code)
        codes.append(code[::-1])
        points.append([size - 2] + [point[length - j] - size for j in range(1, length)])
    return codes, points


def unpadded(tree):
    codes = [row[:n].tolist() for row, n in zip(tree.codes, tree.lengths, strict=True)]
    points = [row[:n].tolist() for row, n in zip(tree.points, tree.lengths, strict=True)]
    return codes, points


COUNT_CASES = {
    "distinct": np.random.default_rng(0).permutation(np.arange(1, 301) * 7 + 3),
    "many_ties": np.random.default_rng(1).integers(1, 5, 500),
    "zipf": np.minimum(np.random.default_rng(2).zipf(1.3, 3000), 10**6),
    "two_words": np.array([4, 4]),
    "zeros": np.array([0, 3, 0, 0, 1, 9]),
    "all_equal": np.full(64, 5),
}


@pytest.mark.parametrize("name", COUNT_CASES)
def test_codes_and_points_equal_gensim(name):
    counts = COUNT_CASES[name]
    tree = huffman_tree(counts)
    codes, points = gensim_paths(counts)
    got_codes, got_points = unpadded(tree)
    np.testing.assert_array_equal(tree.lengths, [len(c) for c in codes])
    assert got_codes == codes
    assert got_points == points


@pytest.mark.parametrize("name", COUNT_CASES)
def test_word2vec_rule_equals_the_c_tool(name):
    # The C tool needs its vocabulary sorted by decreasing count, as encode_corpus numbers it.
    counts = np.sort(COUNT_CASES[name])[::-1]
    codes, points = word2vec_c_paths(counts)
    got_codes, got_points = unpadded(huffman_tree(counts, ties="word2vec"))
    assert got_codes == codes
    assert got_points == points


@pytest.mark.parametrize("name", COUNT_CASES)
def test_both_rules_are_optimal_and_prefix_free(name):
    counts = COUNT_CASES[name]
    gensim_lengths = [len(c) for c in gensim_paths(counts)[0]]
    for ties in ("gensim", "word2vec"):
        tree = huffman_tree(counts, ties=ties)
        # Equal cost sum_w count_w L_w to gensim's tree (both optimal whatever the ties).
        assert np.dot(counts, tree.lengths) == np.dot(counts, gensim_lengths)
        # Kraft equality: a full binary tree's leaves.
        assert np.sum(2.0 ** -tree.lengths.astype(float)) == pytest.approx(1.0, abs=1e-12)
        codes = {"".join(map(str, c)) for c in unpadded(tree)[0]}
        assert len(codes) == len(counts)
        assert not any(a != b and b.startswith(a) for a in codes for b in codes)


def test_rules_agree_without_ties():
    counts = COUNT_CASES["distinct"]
    a, b = huffman_tree(counts), huffman_tree(counts, ties="word2vec")
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_padding_and_layout():
    tree = huffman_tree([10, 1, 1, 1, 1])
    assert isinstance(tree, HuffmanTree)
    assert tree.codes.dtype == tree.points.dtype == tree.lengths.dtype == np.int32
    assert tree.codes.shape == tree.points.shape == (5, tree.lengths.max())
    for row_codes, row_points, n in zip(tree.codes, tree.points, tree.lengths, strict=True):
        assert row_points[0] == 3  # the root, V - 2
        assert set(row_codes[:n]) <= {0, 1} and np.all(row_codes[n:] == -1)
        assert np.all((row_points[:n] >= 0) & (row_points[:n] <= 3)) and np.all(
            row_points[n:] == -1
        )


@pytest.mark.parametrize(
    "counts, error, match",
    [
        ([5], ValueError, r"`counts` must have at least 2 words.*Received: counts.shape=\(1,\)"),
        ([[1, 2]], ValueError, r"`counts` must have shape \[V\]"),
        ([1, -2], ValueError, r"`counts` must be finite and >= 0. Received: counts\[1\]=-2.0"),
        ([0, 0], ValueError, r"`counts` must have at least one count > 0"),
        ("ab", TypeError, r"`counts` must be an array of word counts"),
    ],
)
def test_bad_counts(counts, error, match):
    with pytest.raises(error, match=match):
        huffman_tree(counts)


def test_bad_tie_rule():
    with pytest.raises(ValueError, match=r"`ties` must be one of .*Received: ties='c'"):
        huffman_tree([1, 2], ties="c")


@pytest.mark.parametrize("key", ["word", "context"])
@pytest.mark.parametrize("as_dict", [False, True])
def test_dataset_paths_are_the_targets_paths(key, as_dict):
    rng = np.random.default_rng(3)
    tree = huffman_tree(rng.integers(1, 50, 12))
    # Batches as skipgram_dataset/cbow_dataset yield them, fixed so both sides see the same.
    inputs = rng.integers(0, 12, (3, 16) if key == "word" else (3, 16, 4)).astype("int32")
    candidates = rng.integers(0, 12, (3, 16, 2)).astype("int32")
    labels = np.broadcast_to(np.float32([1, 0]), (3, 16, 2))
    features = {key: inputs, "candidates": candidates} if as_dict else (inputs, candidates)
    source = tf.data.Dataset.from_tensor_slices((features, labels))
    for i, (path_features, codes) in enumerate(hierarchical_softmax_dataset(source, tree)):
        if as_dict:
            path_inputs, points = path_features[key], path_features["candidates"]
        else:
            path_inputs, points = path_features
        targets = candidates[i, :, 0]
        np.testing.assert_array_equal(path_inputs, inputs[i])
        np.testing.assert_array_equal(points, tree.points[targets])
        np.testing.assert_array_equal(codes, tree.codes[targets])


def test_dataset_from_skipgram_dataset():
    corpus = np.random.default_rng(5).integers(0, 12, 300)
    tree = huffman_tree(np.bincount(corpus, minlength=12))
    source = skipgram_dataset(corpus, window=2, num_negatives=1, batch_size=16, seed=4)
    (word, points), codes = next(iter(hierarchical_softmax_dataset(source, tree)))
    assert tuple(points.shape) == tuple(codes.shape) == (16, tree.codes.shape[1])
    # Each row is some word's path, and the code and points belong to the same word.
    rows = {(tuple(c), tuple(p)) for c, p in zip(tree.codes, tree.points, strict=True)}
    assert all(
        (tuple(c), tuple(p)) in rows for c, p in zip(codes.numpy(), points.numpy(), strict=True)
    )


def test_dataset_rejects_a_non_tree():
    source = skipgram_dataset(np.arange(10) % 3, batch_size=4, subsample=None)
    with pytest.raises(
        TypeError, match=r"`tree` must be a HuffmanTree.*Received: tree of type tuple"
    ):
        hierarchical_softmax_dataset(source, ([0], [0], [1]))
