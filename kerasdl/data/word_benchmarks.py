"""Word-vector quality on the classic benchmarks: analogies and word similarity.

- Analogies: Mikolov et al.'s `questions-words.txt` (19,544 questions "a is to b as c is
  to d" in 14 sections: capitals, currencies, family, plurals, tenses, ...). A question
  is right when the word most cosine-similar to `e_b - e_a + e_c` (unit vectors, the
  three question words excluded; the notes' analogy reasoning) is `d`.
- Similarity: WordSim-353 (`wordsim353.tsv`, 353 word pairs with human similarity
  scores from 0 to 10). The score is Spearman's rank correlation between the human
  scores and the cosine similarities of the pairs.

Both files ship in gensim's test data (`gensim/test/test_data`), and both evaluations
follow gensim's `KeyedVectors.evaluate_word_analogies` and `evaluate_word_pairs`
(word2vec's `compute-accuracy`) rule for rule, so their numbers can be compared with
numbers published for gensim models: only the `restrict_vocab` most frequent words are
used (the vocabulary must be sorted by decreasing frequency, as `encode_corpus` and
gensim sort it), questions and pairs with a word outside them are skipped (or, with
`dummy4unknown=True`, counted as wrong / as similarity 0), and words are compared
case-insensitively by default (the most frequent of several case variants is used).
Here every question is scored in one matrix product per chunk of questions.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from kerasdl._validation import check_positive_int

ANALOGY_FILE = "questions-words.txt"
WORD_PAIRS_FILE = "wordsim353.tsv"


def gensim_test_data(name: str) -> str:
    """The path of a file in the installed gensim package's test data.

    Args:
        name: a file name such as "questions-words.txt" or "wordsim353.tsv".

    Returns:
        The absolute path of the file.

    Raises:
        ImportError: when gensim is not installed (`pip install gensim`).
        FileNotFoundError: when the file is not in gensim's test data.

    Example:

    >>> os.path.basename(gensim_test_data("wordsim353.tsv"))
    'wordsim353.tsv'
    """
    try:
        import gensim
    except ImportError as error:
        raise ImportError(
            f"`gensim_test_data` reads {name!r} from gensim's test data: `pip install gensim`."
        ) from error
    path = os.path.join(os.path.dirname(gensim.__file__), "test", "test_data", name)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"`name` must be a file of gensim's test data. Received: name={name!r} "
            f"({path} does not exist)"
        )
    return path


class Analogy(NamedTuple):
    """One question "a is to b as c is to d" of a section."""

    section: str
    a: str
    b: str
    c: str
    d: str


def read_analogies(path: str | os.PathLike | None = None) -> list[Analogy]:
    """The questions of an analogy file in the `questions-words.txt` format.

    Lines ": name" start a section; every other line holds four words `a b c d`. Lines
    without exactly four words are skipped, as gensim does.

    Args:
        path: the file; default gensim's `questions-words.txt`.

    Returns:
        The questions, in file order.

    Raises:
        ValueError: when a question comes before the first section line.

    Example:

    >>> questions = read_analogies()
    >>> len(questions), questions[0][1:]
    (19544, ('Athens', 'Greece', 'Baghdad', 'Iraq'))
    """
    path = gensim_test_data(ANALOGY_FILE) if path is None else os.fspath(path)
    questions = []
    section = None
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f):
            if line.startswith(": "):
                section = line.lstrip(": ").strip()
                continue
            words = line.split()
            if len(words) != 4:
                continue
            if section is None:
                raise ValueError(f"`path` has a question before any section line: line {line_no}")
            questions.append(Analogy(section, *words))
    return questions


class AnalogySection(NamedTuple):
    """The questions of one section answered right and wrong (words as compared)."""

    name: str
    correct: list[tuple[str, str, str, str]]
    incorrect: list[tuple[str, str, str, str]]

    @property
    def accuracy(self) -> float:
        """Fraction right of the questions evaluated; 0 when none was."""
        total = len(self.correct) + len(self.incorrect)
        return len(self.correct) / total if total else 0.0


class AnalogyResult(NamedTuple):
    """`evaluate_word_analogies`' result."""

    accuracy: float
    """Fraction of the evaluated questions answered right (gensim's score)."""
    sections: list[AnalogySection]
    """Each section in file order, then "Total accuracy" over all of them."""
    oov_ratio: float
    """Fraction of the questions with a word outside the `restrict_vocab` words."""

    @property
    def evaluated(self) -> int:
        """How many questions were evaluated (right or wrong)."""
        total = self.sections[-1]
        return len(total.correct) + len(total.incorrect)


def _check_vectors(vectors: Any, vocab: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    array = np.asarray(vectors)
    if array.ndim != 2 or array.dtype.kind not in "fiu":
        raise ValueError(
            f"`vectors` must be a numeric matrix [V, d]. Received: vectors with shape "
            f"{array.shape} and dtype {array.dtype}"
        )
    if isinstance(vocab, str) or not isinstance(vocab, Sequence | np.ndarray):
        raise TypeError(
            "`vocab` must be a sequence of words, vocab[i] the word of row i. "
            f"Received: vocab of type {type(vocab).__name__}"
        )
    words = [str(w) for w in vocab]
    if len(words) != array.shape[0]:
        raise ValueError(
            f"`vocab` must have one word per row of `vectors` ({array.shape[0]}). "
            f"Received: {len(words)} words"
        )
    return array.astype(np.float32, copy=False), words


def _lookup(words: list[str], restrict_vocab: int, case_insensitive: bool) -> dict[str, int]:
    """Word (uppercased when case-insensitive) -> row, over the first `restrict_vocab`
    rows; the first (most frequent) row wins among case variants."""
    lookup: dict[str, int] = {}
    for i, word in enumerate(words[:restrict_vocab]):
        lookup.setdefault(word.upper() if case_insensitive else word, i)
    return lookup


def evaluate_word_analogies(
    vectors: Any,
    vocab: Sequence[str],
    analogies: str | os.PathLike | Iterable[Analogy] | None = None,
    restrict_vocab: int = 300_000,
    case_insensitive: bool = True,
    dummy4unknown: bool = False,
    batch_size: int = 512,
) -> AnalogyResult:
    """Analogy accuracy with 3CosAdd, as gensim's `evaluate_word_analogies`.

    For a question `(a, b, c, d)` with unit vectors `e_hat`, the answer is the word `w`
    among the first `restrict_vocab` words, other than `a`, `b` and `c`, maximising

        cos(e_w, (e_hat_b + e_hat_c - e_hat_a) / 3)

    (gensim's `most_similar(positive=[b, c], negative=[a])`); the question is right when
    `w` is `d`. As in gensim, of the five best words the first whose (uppercased) form
    differs from the question words' is the answer.

    Args:
        vectors: the embedding matrix `[V, d]`, rows sorted by decreasing word frequency.
        vocab: `V` words, `vocab[i]` the word of row `i`.
        analogies: a file in the `questions-words.txt` format, or `Analogy` questions;
            default gensim's `questions-words.txt`.
        restrict_vocab: only the first this many rows are candidates and count as known.
        case_insensitive: compare words uppercased (gensim's default).
        dummy4unknown: count questions with an unknown word as wrong instead of
            skipping them.
        batch_size: questions scored per matrix product (memory `batch_size * V` floats).

    Returns:
        `AnalogyResult(accuracy, sections, oov_ratio)`; `sections[-1]` is the total.

    Raises:
        ValueError/TypeError: for vectors that are not `[V, d]`, a vocabulary of another
            length, or a bad count.

    Example:

    >>> vocab = ["man", "woman", "king", "queen", "apple"]
    >>> vectors = [[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1], [-1, 0, 0]]
    >>> questions = [Analogy("royal", "man", "woman", "king", "queen"),
    ...              Analogy("royal", "man", "king", "woman", "queen"),
    ...              Analogy("fruit", "man", "apple", "king", "pear")]
    >>> result = evaluate_word_analogies(vectors, vocab, questions)
    >>> result.accuracy, result.evaluated, round(result.oov_ratio, 4)
    (1.0, 2, 0.3333)
    """
    vectors, words = _check_vectors(vectors, vocab)
    restrict_vocab = check_positive_int("restrict_vocab", restrict_vocab)
    batch_size = check_positive_int("batch_size", batch_size)
    if analogies is None or isinstance(analogies, str | os.PathLike):
        analogies = read_analogies(analogies)
    questions = [Analogy(*q) for q in analogies]
    lookup = _lookup(words, restrict_vocab, case_insensitive)
    candidates = vectors[:restrict_vocab]
    norms = np.linalg.norm(candidates, axis=1)
    # A zero row has no direction: it is never an answer (gensim would divide by 0).
    safe_norms = np.where(norms > 0, norms, np.inf).astype(np.float32)
    unit = candidates / np.where(norms > 0, norms, 1.0)[:, None]

    def key(word: str) -> str:
        return word.upper() if case_insensitive else word

    # Each question's outcome (None: skipped), so the sections list them in file order.
    keys = [tuple(key(w) for w in q[1:]) for q in questions]
    outcomes: list[bool | None] = [None] * len(questions)
    known = []
    for i, question_keys in enumerate(keys):
        if all(k in lookup for k in question_keys):
            known.append(i)
        elif dummy4unknown:
            outcomes[i] = False
    oov = len(questions) - len(known)
    if known:
        ids = np.array([[lookup[k] for k in keys[i][:3]] for i in known], np.int64)
        top = min(5 + 3, len(candidates))
        for start in range(0, len(known), batch_size):
            rows = ids[start : start + batch_size]
            # gensim averages the unit vectors in float64 and normalises in float32.
            target = (
                unit[rows[:, 1]].astype(np.float64)
                + unit[rows[:, 2]].astype(np.float64)
                - unit[rows[:, 0]].astype(np.float64)
            ) / 3.0
            target /= np.linalg.norm(target, axis=1, keepdims=True)
            scores = (candidates @ target.astype(np.float32).T).T / safe_norms
            best = np.argpartition(-scores, top - 1, axis=1)[:, :top]
            order = np.argsort(-np.take_along_axis(scores, best, axis=1), axis=1, kind="stable")
            best = np.take_along_axis(best, order, axis=1)
            for row, i in enumerate(known[start : start + batch_size]):
                inputs = set(rows[row].tolist())
                predicted = None
                for j in [j for j in best[row].tolist() if j not in inputs][:5]:
                    predicted = key(words[j])
                    if predicted not in keys[i][:3]:
                        break
                outcomes[i] = predicted == keys[i][3]
    sections: dict[str, AnalogySection] = {}
    for question, question_keys, outcome in zip(questions, keys, outcomes, strict=True):
        section = sections.setdefault(question.section, AnalogySection(question.section, [], []))
        if outcome is not None:
            (section.correct if outcome else section.incorrect).append(question_keys)
    ordered = list(sections.values())
    total = AnalogySection(
        "Total accuracy",
        [k for s in ordered for k in s.correct],
        [k for s in ordered for k in s.incorrect],
    )
    return AnalogyResult(
        total.accuracy, [*ordered, total], oov / len(questions) if questions else 0.0
    )


class WordPair(NamedTuple):
    """Two words and their human similarity score."""

    a: str
    b: str
    score: float


def read_word_pairs(path: str | os.PathLike | None = None, delimiter: str = "\t") -> list[WordPair]:
    """The pairs of a word-similarity file such as `wordsim353.tsv`.

    Lines starting with "#" are comments; lines that are not `a<delimiter>b<delimiter>score`
    are skipped, as gensim does.

    Args:
        path: the file; default gensim's `wordsim353.tsv`.
        delimiter: the field separator.

    Returns:
        The pairs, in file order.

    Example:

    >>> pairs = read_word_pairs()
    >>> len(pairs), pairs[0]
    (353, WordPair(a='love', b='sex', score=6.77))
    """
    path = gensim_test_data(WORD_PAIRS_FILE) if path is None else os.fspath(path)
    pairs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line or line.startswith("#"):
                continue
            fields = line.split(delimiter)
            if len(fields) != 3:
                continue
            try:
                score = float(fields[2])
            except ValueError:
                continue
            pairs.append(WordPair(fields[0], fields[1], score))
    return pairs


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n, tied values sharing the mean of their ranks."""
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    starts = np.concatenate([[True], sorted_x[1:] != sorted_x[:-1]])
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = np.append(first[1:], len(x)) - 1
    ranks = np.empty(len(x))
    ranks[order] = (first[group] + last[group]) / 2.0 + 1.0
    return ranks


def pearson_correlation(x: Any, y: Any) -> float:
    """Pearson's correlation `cov(x, y) / (std(x) std(y))`; NaN when either is constant.

    Example:

    >>> round(pearson_correlation([1, 2, 3, 4], [2, 4, 5, 9]), 4)
    0.9648
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.ndim != 1 or x.shape != y.shape or x.size < 2:
        raise ValueError(
            "`x` and `y` must be 1-D with the same length >= 2. "
            f"Received: shapes {x.shape} and {y.shape}"
        )
    x, y = x - x.mean(), y - y.mean()
    denominator = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denominator) if denominator > 0 else float("nan")


def spearman_correlation(x: Any, y: Any) -> float:
    """Spearman's rank correlation: Pearson's on the ranks, ties given their mean rank.

    Example:

    >>> spearman_correlation([1, 2, 3, 4], [2, 4, 5, 9])
    1.0
    >>> round(spearman_correlation([1, 2, 2, 4], [4, 3, 2, 1]), 4)
    -0.9487
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.ndim != 1 or x.shape != y.shape or x.size < 2:
        raise ValueError(
            "`x` and `y` must be 1-D with the same length >= 2. "
            f"Received: shapes {x.shape} and {y.shape}"
        )
    return pearson_correlation(_average_ranks(x), _average_ranks(y))


class WordPairsResult(NamedTuple):
    """`evaluate_word_pairs`' result."""

    spearman: float
    """Spearman's rank correlation of the cosine similarities with the human scores."""
    pearson: float
    """Pearson's correlation of the same."""
    oov_ratio: float
    """Fraction of the pairs with a word outside the `restrict_vocab` words."""
    pairs: int
    """How many pairs were scored."""


def evaluate_word_pairs(
    vectors: Any,
    vocab: Sequence[str],
    pairs: str | os.PathLike | Iterable[WordPair] | None = None,
    restrict_vocab: int = 300_000,
    case_insensitive: bool = True,
    dummy4unknown: bool = False,
) -> WordPairsResult:
    """Correlation of cosine similarities with human judgements, as gensim's
    `evaluate_word_pairs`.

    The notes' `CosineSimilarity(u, v) = u . v / (||u||_2 ||v||_2)` of each pair whose
    words are both among the first `restrict_vocab` words, against the pair's human
    score: Spearman's rank correlation (the usual WordSim-353 figure) and Pearson's.

    Args:
        vectors: the embedding matrix `[V, d]`, rows sorted by decreasing word frequency.
        vocab: `V` words, `vocab[i]` the word of row `i`.
        pairs: a tab-separated file `a b score` such as `wordsim353.tsv`, or `WordPair`s;
            default gensim's `wordsim353.tsv`.
        restrict_vocab: only the first this many rows count as known.
        case_insensitive: compare words uppercased (gensim's default).
        dummy4unknown: give pairs with an unknown word similarity 0 instead of skipping
            them.

    Returns:
        `WordPairsResult(spearman, pearson, oov_ratio, pairs)`.

    Raises:
        ValueError: when fewer than 2 pairs can be scored, or for bad vectors.

    Example:

    >>> vocab = ["cat", "dog", "car", "truck"]
    >>> vectors = [[1.0, 0.1], [0.9, 0.3], [0.1, 1.0], [0.3, 0.9]]
    >>> pairs = [WordPair("cat", "dog", 9.0), WordPair("car", "truck", 8.5),
    ...          WordPair("cat", "car", 1.0), WordPair("dog", "truck", 2.0),
    ...          WordPair("cat", "zebra", 5.0)]
    >>> result = evaluate_word_pairs(vectors, vocab, pairs)
    >>> round(result.spearman, 4), result.pairs, result.oov_ratio
    (0.9487, 4, 0.2)
    """
    vectors, words = _check_vectors(vectors, vocab)
    restrict_vocab = check_positive_int("restrict_vocab", restrict_vocab)
    if pairs is None or isinstance(pairs, str | os.PathLike):
        pairs = read_word_pairs(pairs)
    lookup = _lookup(words, restrict_vocab, case_insensitive)
    gold, rows, oov = [], [], 0
    for pair in pairs:
        a, b, score = pair
        keys = [w.upper() if case_insensitive else w for w in (a, b)]
        if any(k not in lookup for k in keys):
            oov += 1
            if dummy4unknown:
                gold.append(float(score))
                rows.append((-1, -1))
            continue
        gold.append(float(score))
        rows.append((lookup[keys[0]], lookup[keys[1]]))
    if len(gold) < 2:
        raise ValueError(
            f"`pairs` must have at least 2 pairs with known words. Received: {len(gold)} "
            f"scorable of {len(gold) + oov}"
        )
    index = np.array(rows, np.int64)
    norms = np.linalg.norm(vectors, axis=1)
    unit = vectors / np.where(norms > 0, norms, 1.0)[:, None]
    known = index[:, 0] >= 0
    model = np.zeros(len(gold))
    model[known] = np.sum(unit[index[known, 0]] * unit[index[known, 1]], axis=1)
    total = len(gold) if dummy4unknown else len(gold) + oov
    return WordPairsResult(
        spearman_correlation(gold, model), pearson_correlation(gold, model), oov / total, len(gold)
    )


def word_benchmarks(
    vectors: Any, vocab: Sequence[str], restrict_vocab: int = 300_000
) -> dict[str, float]:
    """Both benchmarks on gensim's files, as a flat dict for tables and logs.

    Returns:
        `{"analogy_accuracy", "analogy_questions", "analogy_oov_ratio",
        "wordsim353_spearman", "wordsim353_pearson", "wordsim353_oov_ratio"}`.
    """
    analogies = evaluate_word_analogies(vectors, vocab, restrict_vocab=restrict_vocab)
    similarity = evaluate_word_pairs(vectors, vocab, restrict_vocab=restrict_vocab)
    return {
        "analogy_accuracy": analogies.accuracy,
        "analogy_questions": analogies.evaluated,
        "analogy_oov_ratio": analogies.oov_ratio,
        "wordsim353_spearman": similarity.spearman,
        "wordsim353_pearson": similarity.pearson,
        "wordsim353_oov_ratio": similarity.oov_ratio,
    }
