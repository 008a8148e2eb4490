"""Analogy accuracy and WordSim-353 correlations against gensim's own evaluations of the
same vectors (loaded into gensim's KeyedVectors), and the correlations against scipy."""

import numpy as np
import pytest

from kerasdl.data.word_benchmarks import (
    Analogy,
    WordPair,
    evaluate_word_analogies,
    evaluate_word_pairs,
    gensim_test_data,
    pearson_correlation,
    read_analogies,
    read_word_pairs,
    spearman_correlation,
)

gensim_models = pytest.importorskip("gensim.models")
stats = pytest.importorskip("scipy.stats")

QUESTIONS = gensim_test_data("questions-words.txt")
WORDSIM = gensim_test_data("wordsim353.tsv")


def planted_vectors(seed=0, dim=24, noise=0.35, extra=300):
    """Vectors of the analogy set's words (lowercased) where each section's second words
    sit near their first word plus one offset per section, so many (not all) questions
    are right; `extra` random words dilute the vocabulary. Rows in a shuffled order."""
    rng = np.random.default_rng(seed)
    questions = read_analogies()
    vectors = {}
    offsets = {}
    for q in questions:
        offset = offsets.setdefault(q.section, rng.normal(size=dim))
        for first, second in ((q.a, q.b), (q.c, q.d)):
            first, second = first.lower(), second.lower()
            vectors.setdefault(first, rng.normal(size=dim))
            vectors.setdefault(second, vectors[first] + offset + noise * rng.normal(size=dim))
    for i in range(extra):
        vectors[f"filler{i}"] = rng.normal(size=dim)
    words = list(vectors)
    order = rng.permutation(len(words))
    words = [words[i] for i in order]
    return words, np.stack([vectors[w] for w in words]).astype(np.float32)


@pytest.fixture(scope="module")
def questions_subset(tmp_path_factory):
    """Every 6th question of each section (gensim's own evaluation takes ~2 ms a question)."""
    path = tmp_path_factory.mktemp("analogies") / "questions-subset.txt"
    lines, count = [], 0
    for line in open(QUESTIONS):
        if line.startswith(": "):
            lines.append(line)
        else:
            count += 1
            if count % 6 == 0:
                lines.append(line)
    path.write_text("".join(lines))
    return str(path)


def keyed_vectors(words, vectors):
    kv = gensim_models.KeyedVectors(vectors.shape[1])
    kv.add_vectors(words, vectors)
    return kv


def assert_same_analogies(ours, words, vectors, analogies=QUESTIONS, **kwargs):
    score, sections = keyed_vectors(words, vectors).evaluate_word_analogies(analogies, **kwargs)
    assert ours.accuracy == pytest.approx(score, abs=1e-12)
    assert [s.name for s in ours.sections] == [s["section"] for s in sections]
    for mine, theirs in zip(ours.sections, sections, strict=True):
        assert mine.correct == theirs["correct"], mine.name
        assert mine.incorrect == theirs["incorrect"], mine.name


def test_read_files_match_gensims_counts():
    questions = read_analogies()
    assert len(questions) == 19544
    assert len({q.section for q in questions}) == 14
    assert questions[-1] == Analogy("gram9-plural-verbs", "write", "writes", "work", "works")
    pairs = read_word_pairs()
    assert len(pairs) == 353
    assert pairs[-1].score == pytest.approx(float(open(WORDSIM).read().split()[-1]))


def test_analogies_equal_gensims_on_planted_vectors(questions_subset):
    words, vectors = planted_vectors()
    ours = evaluate_word_analogies(vectors, words, questions_subset)
    # The planted structure makes a real mix of right and wrong answers.
    assert 0.2 < ours.accuracy < 0.95
    assert ours.evaluated == 19544 // 6 and ours.oov_ratio == 0.0
    assert_same_analogies(ours, words, vectors, questions_subset)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"restrict_vocab": 400},
        {"restrict_vocab": 700, "dummy4unknown": True},
        {"case_insensitive": False},
    ],
)
def test_analogies_equal_gensims_with_options(kwargs, questions_subset):
    words, vectors = planted_vectors(seed=1)
    # Upper-case variants placed after their lower-case forms: case-insensitive lookups
    # must use the first (more frequent) row, case-sensitive ones the exact word.
    rng = np.random.default_rng(2)
    variants = [w.capitalize() for w in words[:150]]
    words = words + variants
    vectors = np.concatenate([vectors, rng.normal(size=(150, vectors.shape[1]))]).astype("float32")
    ours = evaluate_word_analogies(vectors, words, questions_subset, **kwargs)
    assert_same_analogies(ours, words, vectors, questions_subset, **kwargs)
    fold = str.upper if kwargs.get("case_insensitive", True) else str
    known = {fold(w) for w in words[: kwargs.get("restrict_vocab", len(words))]}
    questions = read_analogies(questions_subset)
    unknown = sum(any(fold(w) not in known for w in q[1:]) for q in questions)
    expected_oov = unknown / len(questions)
    assert ours.oov_ratio == pytest.approx(expected_oov)


def test_analogies_equal_gensims_on_random_vectors_and_small_batches(questions_subset):
    words, _ = planted_vectors(seed=3, extra=50)
    vectors = np.random.default_rng(4).normal(size=(len(words), 8)).astype("float32")
    ours = evaluate_word_analogies(vectors, words, questions_subset, batch_size=97)
    assert_same_analogies(ours, words, vectors, questions_subset)


def test_analogies_from_a_written_file(tmp_path):
    path = tmp_path / "analogies.txt"
    path.write_text(
        ": royal\nman woman king queen\nman king woman queen\nbad line\n"
        ": fruit\nman apple king pear\n"
    )
    words = ["man", "woman", "king", "queen", "apple"]
    vectors = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1], [-1, 0, 0]], "float32")
    ours = evaluate_word_analogies(vectors, words, path)
    assert [len(s.correct) for s in ours.sections] == [2, 0, 2]
    assert ours.accuracy == 1.0 and ours.oov_ratio == pytest.approx(1 / 3)
    assert_same_analogies(ours, words, vectors, analogies=str(path))


def test_word_pairs_equal_gensims():
    rng = np.random.default_rng(5)
    words = sorted({w.lower() for p in read_word_pairs() for w in p[:2]})
    words = [w for w in words if rng.random() < 0.9]  # some pairs out of vocabulary
    vectors = rng.normal(size=(len(words), 16)).astype("float32")
    # Similar pairs (human score > 6) pulled together, so the correlation is clearly > 0.
    index = {w: i for i, w in enumerate(words)}
    for a, b, score in read_word_pairs():
        if score > 6 and a.lower() in index and b.lower() in index:
            vectors[index[b.lower()]] += 0.5 * vectors[index[a.lower()]]
    kv = keyed_vectors(words, vectors)
    for kwargs in ({}, {"dummy4unknown": True}, {"restrict_vocab": 200}):
        ours = evaluate_word_pairs(vectors, words, **kwargs)
        pearson, spearman, oov = kv.evaluate_word_pairs(WORDSIM, **kwargs)
        assert ours.spearman == pytest.approx(spearman[0], abs=1e-9)
        assert ours.pearson == pytest.approx(pearson[0], abs=1e-6)
        assert ours.oov_ratio == pytest.approx(oov / 100)
    assert evaluate_word_pairs(vectors, words).spearman > 0.2


def test_word_pairs_given_as_tuples():
    words = ["cat", "dog", "car"]
    vectors = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    pairs = [WordPair("cat", "dog", 8.0), ("dog", "car", 5.0), ("cat", "car", 1.0)]
    result = evaluate_word_pairs(vectors, words, pairs)
    # cosines 0.8, 0.6, 0 rank like the scores.
    assert result.spearman == pytest.approx(1.0)
    assert result.pairs == 3 and result.oov_ratio == 0.0


def test_correlations_equal_scipys_with_ties():
    rng = np.random.default_rng(6)
    for _ in range(5):
        x = rng.integers(0, 6, 40).astype(float)
        y = x + rng.integers(0, 4, 40)
        assert spearman_correlation(x, y) == pytest.approx(stats.spearmanr(x, y)[0], abs=1e-12)
        assert pearson_correlation(x, y) == pytest.approx(stats.pearsonr(x, y)[0], abs=1e-12)


def test_bad_arguments():
    words = ["a", "b"]
    with pytest.raises(ValueError, match="one word per row"):
        evaluate_word_analogies(np.zeros((3, 2)), words)
    with pytest.raises(ValueError, match=r"`vectors` must be a numeric matrix"):
        evaluate_word_pairs(np.zeros(3), words)
    with pytest.raises(TypeError, match="`vocab` must be a sequence"):
        evaluate_word_pairs(np.zeros((2, 2)), "ab")
    with pytest.raises(ValueError, match="`restrict_vocab` must be > 0"):
        evaluate_word_analogies(np.ones((2, 2)), words, restrict_vocab=0)
    with pytest.raises(ValueError, match="at least 2 pairs with known words"):
        evaluate_word_pairs(np.ones((2, 2)), words)
    with pytest.raises(ValueError, match="same length"):
        spearman_correlation([1, 2, 3], [1, 2])
    with pytest.raises(FileNotFoundError, match="gensim's test data"):
        gensim_test_data("no-such-file.txt")
