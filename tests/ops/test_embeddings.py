"""Word-vector geometry against numpy re-derivations: cosine similarity, nearest
neighbours, analogies (3CosAdd, 3CosMul) on random and planted vectors, the bias
direction (mean and PCA, the latter against scikit-learn), neutralize and equalize
(exact orthogonality, symmetry, norms, equal distances), and the errors."""

import numpy as np
import pytest
import tensorflow as tf
from sklearn.decomposition import PCA

from kerasdl.ops.embeddings import (
    bias_direction,
    complete_analogy,
    cosine_similarity,
    equalize,
    nearest_neighbors,
    neutralize,
)


def np_cos(u, v):
    u, v = np.asarray(u, np.float64), np.asarray(v, np.float64)
    return np.sum(u * v, -1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))


def np_unit(x):
    x = np.asarray(x, np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def np_analogy(ia, ib, ic, vectors, method="add"):
    """Loop over questions and words: the best word that is none of the three inputs."""
    unit = np_unit(vectors)
    answers = []
    for a, b, c in zip(ia, ib, ic, strict=True):
        best, best_score = None, -np.inf
        for w in range(len(unit)):
            if w in (a, b, c):
                continue
            if method == "add":
                score = np_cos(unit[w], unit[b] - unit[a] + unit[c])
            else:
                s = [(1 + unit[w] @ unit[x]) / 2 for x in (a, b, c)]
                score = s[1] * s[2] / (s[0] + 1e-6)
            if score > best_score:
                best, best_score = w, score
        answers.append(best)
    return np.array(answers)


def planted_vocabulary(seed=0, dim=40, noise=0.05):
    """Roles in a male and a female form that differ along one gender direction, plus
    distractors: the analogy male_i : female_i :: male_j : ? has answer female_j."""
    rng = np.random.default_rng(seed)
    roles = [("man", "woman"), ("king", "queen"), ("boy", "girl"), ("uncle", "aunt")]
    roles += [("actor", "actress"), ("prince", "princess"), ("father", "mother")]
    gender = rng.normal(size=dim)
    gender *= 1.5 / np.linalg.norm(gender)
    vocab, rows = [], []
    for male, female in roles:
        base = rng.normal(size=dim)
        for word, sign in ((male, -0.5), (female, 0.5)):
            vocab.append(word)
            rows.append(base + sign * gender + noise * rng.normal(size=dim))
    for i in range(30):
        vocab.append(f"other{i}")
        rows.append(rng.normal(size=dim))
    return vocab, np.array(rows, np.float32), roles, gender


class TestCosineSimilarity:
    def test_known_values(self):
        u = [[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [2.0, 2.0]]
        v = [[3.0, 0.0], [0.0, 5.0], [-1.0, 0.0], [1.0, 0.0]]
        np.testing.assert_allclose(
            np.asarray(cosine_similarity(u, v)), [1.0, 0.0, -1.0, np.sqrt(0.5)], atol=1e-7
        )

    def test_random_batches_broadcast(self):
        rng = np.random.default_rng(0)
        u = rng.normal(size=(3, 1, 8))
        v = rng.normal(size=(5, 8))
        got = np.asarray(cosine_similarity(u, v))
        assert got.shape == (3, 5)
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, np_cos(u, v[None]), rtol=1e-12)

    def test_zero_vector_is_zero_not_nan(self):
        got = np.asarray(cosine_similarity([[0.0, 0.0], [1.0, 2.0]], [[1.0, 1.0], [0.0, 0.0]]))
        np.testing.assert_array_equal(got, [0.0, 0.0])

    def test_int_inputs_become_float(self):
        assert np.asarray(cosine_similarity([1, 1], [1, 0])).dtype == np.float32

    def test_errors(self):
        with pytest.raises(ValueError, match=r"`u` and `v` must have the same embedding size"):
            cosine_similarity(np.ones((2, 3)), np.ones((2, 4)))
        with pytest.raises(ValueError, match=r"`u` must have rank >= 1.*Received: u.shape=\(\)"):
            cosine_similarity(1.0, [1.0])
        with pytest.raises(TypeError, match=r"`v` must be a numeric array"):
            cosine_similarity([1.0], ["a"])


class TestNearestNeighbors:
    def test_matches_numpy_sort(self):
        rng = np.random.default_rng(1)
        vectors = rng.normal(size=(50, 6))
        queries = rng.normal(size=(7, 6))
        indices, sims = nearest_neighbors(vectors, queries, k=5)
        table = np_cos(queries[:, None], vectors[None])
        expected = np.argsort(-table, axis=1)[:, :5]
        np.testing.assert_array_equal(np.asarray(indices), expected)
        np.testing.assert_allclose(
            np.asarray(sims), np.take_along_axis(table, expected, 1), rtol=1e-12
        )

    def test_single_query_and_shared_exclusion(self):
        rng = np.random.default_rng(2)
        vectors = rng.normal(size=(20, 4)).astype("float32")
        query = vectors[3] + 0.01
        indices, sims = nearest_neighbors(vectors, query, k=3)
        assert tuple(indices.shape) == (3,) and int(indices[0]) == 3
        indices, _ = nearest_neighbors(vectors, query, k=3, exclude=[3, -1])
        table = np_cos(query, vectors)
        table[3] = -np.inf
        np.testing.assert_array_equal(np.asarray(indices), np.argsort(-table)[:3])

    def test_per_query_exclusion_with_padding(self):
        rng = np.random.default_rng(3)
        vectors = rng.normal(size=(30, 5))
        queries = vectors[[4, 9]]
        exclude = [[4, 5, -1], [9, -1, -1]]
        indices, _ = nearest_neighbors(vectors, queries, k=4, exclude=exclude)
        table = np_cos(queries[:, None], vectors[None])
        table[0, [4, 5]] = -np.inf
        table[1, 9] = -np.inf
        np.testing.assert_array_equal(np.asarray(indices), np.argsort(-table, axis=1)[:, :4])

    def test_errors(self):
        vectors = np.ones((5, 3))
        with pytest.raises(ValueError, match=r"`k` must be <= the vocabulary size 5.*k=6"):
            nearest_neighbors(vectors, np.ones(3), k=6)
        with pytest.raises(TypeError, match=r"`k` must be a positive int"):
            nearest_neighbors(vectors, np.ones(3), k=1.5)
        with pytest.raises(ValueError, match=r"`vectors` and `query` must have the same"):
            nearest_neighbors(vectors, np.ones(4), k=1)
        with pytest.raises(ValueError, match=r"`vectors` must have shape \[V, d\]"):
            nearest_neighbors(np.ones((2, 5, 3)), np.ones(3), k=1)
        with pytest.raises(ValueError, match=r"`exclude` must have shape \[m\] .*B=2"):
            nearest_neighbors(vectors, np.ones((2, 3)), k=1, exclude=[[0], [1], [2]])
        with pytest.raises(ValueError, match=r"`exclude` indices must be < the vocabulary size 5"):
            nearest_neighbors(vectors, np.ones(3), k=1, exclude=[7])
        with pytest.raises(TypeError, match=r"`exclude` must hold int word indices"):
            nearest_neighbors(vectors, np.ones(3), k=1, exclude=[0.5])


class TestCompleteAnalogy:
    def test_planted_gender_analogies_recovered(self):
        vocab, vectors, roles, _ = planted_vocabulary()
        assert complete_analogy("man", "woman", "king", vectors, vocab) == "queen"
        assert complete_analogy("queen", "king", "woman", vectors, vocab) == "man"
        a, b, c, expected = [], [], [], []
        for male_i, female_i in roles:
            for male_j, female_j in roles:
                if male_i != male_j:
                    a += [male_i, female_i]
                    b += [female_i, male_i]
                    c += [male_j, female_j]
                    expected += [female_j, male_j]
        for method in ("add", "mul"):
            got = complete_analogy(a, b, c, vectors, vocab, method=method)
            assert got.shape == (len(expected),)
            np.testing.assert_array_equal(got, expected)

    @pytest.mark.parametrize("method", ["add", "mul"])
    def test_random_vectors_match_numpy_loop(self, method):
        rng = np.random.default_rng(4)
        vectors = rng.normal(size=(60, 8))
        ia, ib, ic = (rng.integers(0, 60, 25) for _ in range(3))
        got = complete_analogy(ia, ib, ic, vectors, method=method)
        np.testing.assert_array_equal(got, np_analogy(ia, ib, ic, vectors, method))

    def test_inputs_never_returned(self):
        # b - a + c = b exactly when c == a, so without exclusion b itself would win.
        vectors = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7], [-1.0, 0.2]])
        answer, score = complete_analogy(0, 1, 0, vectors, return_scores=True)
        assert answer == 2
        np.testing.assert_allclose(score, np_cos(vectors[2], vectors[1]), rtol=1e-12)

    def test_top_k_scores_and_mapping_vocab(self):
        vocab, vectors, _, _ = planted_vocabulary(seed=1)
        mapping = {w: i for i, w in enumerate(vocab)}
        answers, scores = complete_analogy(
            "boy", "girl", "uncle", vectors, mapping, k=3, return_scores=True
        )
        assert answers.shape == (3,) and answers[0] == "aunt"
        unit = np_unit(vectors)
        target = unit[mapping["girl"]] - unit[mapping["boy"]] + unit[mapping["uncle"]]
        expected = [np_cos(unit[mapping[w]], target) for w in answers]
        np.testing.assert_allclose(scores, expected, rtol=1e-5)
        assert np.all(np.diff(scores) <= 0)
        batch = complete_analogy(
            ["boy", "man"], ["girl", "woman"], ["uncle", "king"], vectors, vocab, k=2
        )
        assert batch.shape == (2, 2) and list(batch[:, 0]) == ["aunt", "queen"]

    def test_errors(self):
        vocab, vectors, _, _ = planted_vocabulary()
        with pytest.raises(ValueError, match=r"`c` holds words that are not in `vocab`.*'emperor'"):
            complete_analogy("man", "woman", "emperor", vectors, vocab)
        with pytest.raises(ValueError, match=r"`vocab` is needed to look up words"):
            complete_analogy("man", "woman", "king", vectors)
        with pytest.raises(ValueError, match=r"`a`, `b` and `c` must hold the same number"):
            complete_analogy(["man", "boy"], ["woman"], ["king"], vectors, vocab)
        with pytest.raises(ValueError, match=r"`b` indices must be in \[0, 44\)"):
            complete_analogy(0, 44, 2, vectors)
        with pytest.raises(ValueError, match=r"`method` must be one of \('add', 'mul'\)"):
            complete_analogy(0, 1, 2, vectors, method="cos")
        with pytest.raises(TypeError, match=r"`a` must hold words \(str\) or int word indices"):
            complete_analogy(0.5, 1, 2, vectors)
        with pytest.raises(ValueError, match=r"`k` must be <= the vocabulary size minus"):
            complete_analogy(0, 1, 2, vectors, k=42)


class TestBiasDirection:
    PAIRS = [("woman", "man"), ("queen", "king"), ("girl", "boy"), ("mother", "father")]

    def test_mean_matches_numpy(self):
        vocab, vectors, _, gender = planted_vocabulary()
        g = np.asarray(bias_direction(self.PAIRS, vectors, vocab))
        index = {w: i for i, w in enumerate(vocab)}
        diff = sum(vectors[index[x]].astype(np.float64) - vectors[index[y]] for x, y in self.PAIRS)
        np.testing.assert_allclose(g, diff / np.linalg.norm(diff), atol=1e-6)
        assert np_cos(g, gender) > 0.98

    def test_one_pair_is_the_notes_difference(self):
        vocab, vectors, _, _ = planted_vocabulary()
        g = np.asarray(bias_direction([(1, 0)], vectors))
        diff = vectors[1].astype(np.float64) - vectors[0]
        np.testing.assert_allclose(g, diff / np.linalg.norm(diff), atol=1e-6)

    def test_pca_matches_scikit_learn(self):
        vocab, vectors, _, gender = planted_vocabulary(noise=0.1)
        vectors = np_unit(vectors)
        index = {w: i for i, w in enumerate(vocab)}
        centred = []
        for x, y in self.PAIRS:
            mu = (vectors[index[x]] + vectors[index[y]]) / 2
            centred += [vectors[index[x]] - mu, vectors[index[y]] - mu]
        component = PCA(n_components=1).fit(np.array(centred)).components_[0]
        mean = sum(vectors[index[x]] - vectors[index[y]] for x, y in self.PAIRS)
        component *= np.sign(component @ mean)
        g = np.asarray(bias_direction(self.PAIRS, vectors, vocab, method="pca"))
        np.testing.assert_allclose(g, component, atol=1e-10)
        assert np_cos(g, gender) > 0.9
        # Reversing the pairs flips the direction: it points from the y words to the x words.
        flipped = bias_direction([(y, x) for x, y in self.PAIRS], vectors, vocab, method="pca")
        np.testing.assert_allclose(np.asarray(flipped), -component, atol=1e-10)

    def test_errors(self):
        vocab, vectors, _, _ = planted_vocabulary()
        with pytest.raises(ValueError, match=r"`pairs` must have shape \[P, 2\].*\(3,\)"):
            bias_direction(["woman", "man", "girl"], vectors, vocab)
        with pytest.raises(ValueError, match=r"`method` must be one of \('mean', 'pca'\)"):
            bias_direction(self.PAIRS, vectors, vocab, method="svd")
        with pytest.raises(ValueError, match=r"every pair difference is zero"):
            bias_direction([(0, 0), (3, 3)], vectors)


class TestNeutralize:
    def test_orthogonal_and_matches_numpy(self):
        rng = np.random.default_rng(5)
        e = rng.normal(size=(4, 6, 50)).astype("float32")
        g = rng.normal(size=50).astype("float32")
        got = np.asarray(neutralize(e, g), np.float64)
        g64, e64 = g.astype(np.float64), e.astype(np.float64)
        expected = e64 - (e64 @ g64)[..., None] / (g64 @ g64) * g64
        np.testing.assert_allclose(got, expected, atol=1e-5)
        # Orthogonal to 1e-6 relative to the word's length, in float32.
        residual = np.abs(got @ (g64 / np.linalg.norm(g64))) / np.linalg.norm(e64, axis=-1)
        assert residual.max() < 1e-6

    def test_nearly_parallel_word_still_orthogonal(self):
        g = np.array([1.0, 2.0, 3.0, 4.0], "float32")
        e = 1000.0 * g + np.array([0.001, 0.0, 0.0, 0.0], "float32")
        got = np.asarray(neutralize(e, g), np.float64)
        assert abs(got @ g / np.linalg.norm(g)) < 1e-6 * np.linalg.norm(e)

    def test_idempotent_float64_and_scale_of_g_irrelevant(self):
        rng = np.random.default_rng(6)
        e, g = rng.normal(size=(5, 10)), rng.normal(size=10)
        once = np.asarray(neutralize(e, g))
        assert once.dtype == np.float64
        np.testing.assert_allclose(np.asarray(neutralize(once, g)), once, atol=1e-14)
        np.testing.assert_allclose(np.asarray(neutralize(e, -7.0 * g)), once, atol=1e-14)
        assert np.abs(once @ g).max() < 1e-13

    def test_errors(self):
        with pytest.raises(ValueError, match=r"`g` must be a non-zero direction"):
            neutralize(np.ones(3), np.zeros(3))
        with pytest.raises(ValueError, match=r"`g` must be one direction of shape \[d\]"):
            neutralize(np.ones(3), np.ones((2, 3)))
        with pytest.raises(ValueError, match=r"`e` and `g` must have the same embedding size"):
            neutralize(np.ones(3), np.ones(4))


def np_equalize(e1, e2, g):
    """Bolukbasi et al.'s equalization, with r^2 the pair's mean squared norm."""
    e1, e2, g = (np.asarray(x, np.float64) for x in (e1, e2, g))

    def proj(x):
        return (x @ g)[..., None] / (g @ g) * g

    mu = (e1 + e2) / 2
    mu_b = proj(mu)
    mu_orth = mu - mu_b
    r2 = (np.sum(e1**2, -1) + np.sum(e2**2, -1)) / 2
    scale = np.sqrt(r2 - np.sum(mu_orth**2, -1))[..., None]
    out = []
    for e in (e1, e2):
        d = proj(e) - mu_b
        out.append(mu_orth + scale * d / np.linalg.norm(d, axis=-1, keepdims=True))
    return out


class TestEqualize:
    def test_unit_pairs_properties_and_numpy(self):
        rng = np.random.default_rng(7)
        pairs = np_unit(rng.normal(size=(12, 2, 30))).astype("float32")
        g = rng.normal(size=30).astype("float32")
        e1, e2 = (np.asarray(x, np.float64) for x in equalize((pairs[:, 0], pairs[:, 1]), g))
        ref1, ref2 = np_equalize(pairs[:, 0], pairs[:, 1], g)
        np.testing.assert_allclose(e1, ref1, atol=1e-6)
        np.testing.assert_allclose(e2, ref2, atol=1e-6)
        g_hat = g.astype(np.float64) / np.linalg.norm(g)
        # Unit norm, as the paper's sqrt(1 - ||mu_orth||^2) gives for unit inputs.
        np.testing.assert_allclose(np.linalg.norm(e1, axis=1), 1.0, atol=1e-6)
        np.testing.assert_allclose(np.linalg.norm(e2, axis=1), 1.0, atol=1e-6)
        # Symmetric about the non-bias subspace: same orthogonal part, opposite bias parts.
        b1, b2 = e1 @ g_hat, e2 @ g_hat
        np.testing.assert_allclose(b1 + b2, 0.0, atol=1e-6)
        np.testing.assert_allclose(e1 - b1[:, None] * g_hat, e2 - b2[:, None] * g_hat, atol=1e-6)
        # The bias parts keep each word's side of the axis.
        original = pairs[:, 0].astype(np.float64) @ g_hat - pairs[:, 1] @ g_hat
        np.testing.assert_array_equal(np.sign(b1), np.sign(original))
        # Every neutralised word is equally far from both words of each pair.
        words = np.asarray(neutralize(rng.normal(size=(40, 30)).astype("float32"), g), np.float64)
        d1 = np.linalg.norm(e1[:, None] - words[None], axis=-1)
        d2 = np.linalg.norm(e2[:, None] - words[None], axis=-1)
        np.testing.assert_allclose(d1, d2, atol=1e-5)

    def test_non_unit_pairs_keep_mean_squared_norm(self):
        rng = np.random.default_rng(8)
        e1, e2, g = rng.normal(size=(3, 6)), 3 * rng.normal(size=(3, 6)), rng.normal(size=6)
        got1, got2 = (np.asarray(x) for x in equalize(np.stack([e1, e2], axis=1), g))
        ref1, ref2 = np_equalize(e1, e2, g)
        np.testing.assert_allclose(got1, ref1, atol=1e-12)
        np.testing.assert_allclose(got2, ref2, atol=1e-12)
        r = np.sqrt((np.sum(e1**2, -1) + np.sum(e2**2, -1)) / 2)
        np.testing.assert_allclose(np.linalg.norm(got1, axis=-1), r, rtol=1e-12)
        np.testing.assert_allclose(np.linalg.norm(got2, axis=-1), r, rtol=1e-12)

    def test_pair_without_bias_difference(self):
        g = np.array([1.0, 0.0, 0.0])
        e1, e2 = equalize(([0.0, 0.6, 0.0], [0.0, 0.0, 0.6]), g)
        np.testing.assert_allclose(np.asarray(e1), [np.sqrt(0.36 - 0.18), 0.3, 0.3])
        np.testing.assert_allclose(np.asarray(e2), [-np.sqrt(0.36 - 0.18), 0.3, 0.3])

    def test_errors(self):
        with pytest.raises(ValueError, match=r"`pair` must hold two embeddings of the same shape"):
            equalize((np.ones(3), np.ones((2, 3))), np.ones(3))
        with pytest.raises(ValueError, match=r"`pair` must be \(e_w1, e_w2\) or one tensor"):
            equalize(np.ones((3, 3)), np.ones(3))
        with pytest.raises(ValueError, match=r"`g` must be a non-zero direction"):
            equalize((np.ones(3), np.zeros(3)), np.zeros(3))


def test_inside_a_traced_function():
    rng = np.random.default_rng(10)
    vectors = rng.normal(size=(30, 6)).astype("float32")
    queries = rng.normal(size=(4, 6)).astype("float32")
    g = rng.normal(size=6).astype("float32")

    @tf.function(input_signature=[tf.TensorSpec([None, 6]), tf.TensorSpec([6])])
    def traced(q, direction):
        indices, _ = nearest_neighbors(vectors, q, k=3, exclude=[0, 1])
        e1, e2 = equalize((q, q[::-1]), direction)
        return indices, neutralize(q, direction), e1, e2

    indices, neutral, e1, e2 = traced(queries, g)
    np.testing.assert_array_equal(
        indices.numpy(), np.asarray(nearest_neighbors(vectors, queries, 3, exclude=[0, 1])[0])
    )
    np.testing.assert_allclose(neutral.numpy(), np.asarray(neutralize(queries, g)), atol=1e-6)
    expected = equalize((queries, queries[::-1]), g)
    np.testing.assert_allclose(e1.numpy(), np.asarray(expected[0]), atol=1e-6)
    np.testing.assert_allclose(e2.numpy(), np.asarray(expected[1]), atol=1e-6)
