"""BLEU, as sacrebleu computes it: on strings (`corpus_bleu`, `sentence_bleu`) and as a
streaming Keras metric on token ids (`BLEU`).

With the clipped n-gram precision of order n over the corpus

    p_n = sum over sentences of sum over n-grams g of Count_clip(g)
          / sum over sentences of sum over n-grams g of Count(g)

where Count(g) is the number of times g occurs in the hypothesis and
Count_clip(g) = min(Count(g), max over the references of the times g occurs there),
the brevity penalty

    BP = 1 if c >= r, else exp(1 - r / c)   (0 when c = 0)

with `c` the total hypothesis length and `r` the sum, over sentences, of the reference
length closest to the hypothesis length (ties go to the shorter reference), and

    BLEU = 100 * BP * exp(1/N * sum_{n=1..N} log p_n).

Smoothing (Chen and Cherry, 2014, as sacrebleu names them) replaces a zero p_n:
"exp" (the default, mteval-v13a's) by 1 / (2^k * Count) for the k-th order without a
match, "floor" by `smooth_value` / Count (default 0.1), "add-k" adds `smooth_value`
(default 1) to the matches and the counts of every order n > 1, "none" leaves it at 0
(the score is then 0). With no match at all the score is 0, and orders from the first
one without any n-gram on are 0 as well.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import re
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerasdl._validation import check_one_of, check_positive_int

SMOOTH_METHODS = ("exp", "floor", "add-k", "none")
# sacrebleu's BLEU.SMOOTH_DEFAULTS (Chen and Cherry, 2014).
SMOOTH_DEFAULTS = {"exp": None, "floor": 0.1, "add-k": 1, "none": None}
TOKENIZERS = ("13a", "intl", "none")
REFERENCE_LAYOUTS = ("streams", "per_hypothesis")
# sacrebleu's floor for log(0), so that a zero precision gives a score of (almost) 0.
_LOG_ZERO = -9999999999


# Result ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BLEUScore:
    """A BLEU score and its sufficient statistics, as sacrebleu's `BLEUScore`.

    Attributes:
        score: BLEU in [0, 100].
        counts: clipped n-gram matches of each order 1..N (before any add-k smoothing;
            sacrebleu's `counts` shows them after).
        totals: hypothesis n-grams of each order.
        precisions: p_n in percent, after smoothing (0 from the first order that has no
            n-gram, and all 0 when nothing matches).
        bp: the brevity penalty.
        sys_len: total hypothesis length `c` (tokens).
        ref_len: total closest-reference length `r`.
    """

    score: float
    counts: tuple[int, ...]
    totals: tuple[int, ...]
    precisions: tuple[float, ...]
    bp: float
    sys_len: int
    ref_len: int

    @property
    def ratio(self) -> float:
        """Hypothesis length over reference length (0 without reference tokens)."""
        return self.sys_len / self.ref_len if self.ref_len else 0.0

    def __str__(self) -> str:
        precisions = "/".join(f"{p:.1f}" for p in self.precisions)
        return (
            f"BLEU = {self.score:.2f} {precisions} (BP = {self.bp:.3f} "
            f"ratio = {self.ratio:.3f} hyp_len = {self.sys_len:d} ref_len = {self.ref_len:d})"
        )


def compute_bleu(
    counts: Sequence[int],
    totals: Sequence[int],
    sys_len: int,
    ref_len: int,
    smooth_method: str = "exp",
    smooth_value: float | None = None,
    effective_order: bool = False,
) -> BLEUScore:
    """BLEU from its sufficient statistics, with sacrebleu's smoothing rules.

    Args:
        counts: clipped matches of each n-gram order 1..N.
        totals: hypothesis n-grams of each order 1..N.
        sys_len: total hypothesis length.
        ref_len: total closest-reference length.
        smooth_method: "exp", "floor", "add-k" or "none" (see the module docstring).
        smooth_value: the value of "floor" (default 0.1) or "add-k" (default 1).
        effective_order: average the log precisions over the orders before the first
            one without any n-gram, instead of over all N (sacrebleu's
            `use_effective_order`, which its `sentence_bleu` turns on).

    Returns:
        A `BLEUScore`.

    Example:

    >>> print(compute_bleu([5, 3, 2, 1], [6, 5, 4, 3], sys_len=6, ref_len=7))
    BLEU = 45.48 83.3/60.0/50.0/33.3 (BP = 0.846 ratio = 0.857 hyp_len = 6 ref_len = 7)
    """
    smooth_method, smooth_value = _check_smoothing(smooth_method, smooth_value)
    counts, totals = tuple(int(c) for c in counts), tuple(int(t) for t in totals)
    if len(counts) != len(totals) or not counts:
        raise ValueError(
            "`counts` and `totals` must have one entry per n-gram order. Received: "
            f"counts={counts}, totals={totals}"
        )
    max_order = len(counts)
    bp = 1.0
    if sys_len < ref_len:
        bp = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0
    precisions = [0.0] * max_order
    if not any(counts):
        return BLEUScore(0.0, counts, totals, tuple(precisions), bp, sys_len, ref_len)
    smooth_mteval = 1.0
    eff_order = max_order
    for n in range(1, max_order + 1):
        correct, total = counts[n - 1], totals[n - 1]
        if smooth_method == "add-k" and n > 1:
            correct += smooth_value
            total += smooth_value
        if total == 0:
            break
        if effective_order:
            eff_order = n
        if correct == 0:
            if smooth_method == "exp":
                smooth_mteval *= 2
                precisions[n - 1] = 100.0 / (smooth_mteval * total)
            elif smooth_method == "floor":
                precisions[n - 1] = 100.0 * smooth_value / total
        else:
            precisions[n - 1] = 100.0 * correct / total
    log_sum = sum(math.log(p) if p else _LOG_ZERO for p in precisions[:eff_order])
    score = bp * math.exp(log_sum / eff_order)
    return BLEUScore(score, counts, totals, tuple(precisions), bp, sys_len, ref_len)


# Strings --------------------------------------------------------------------------------


def corpus_bleu(
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str | None]] | Sequence[str],
    max_order: int = 4,
    smooth_method: str = "exp",
    smooth_value: float | None = None,
    tokenize: str = "13a",
    lowercase: bool = False,
    effective_order: bool = False,
    references_layout: str = "streams",
) -> BLEUScore:
    """Corpus BLEU of hypothesis strings against one or more references each, equal to
    `sacrebleu.corpus_bleu` (and `sacrebleu.BLEU(max_ngram_order=...)`).

    Each line is lowercased (if asked), stripped of trailing whitespace and tokenized
    as sacrebleu does; the module docstring gives the formula.

    Args:
        hypotheses: a sequence of strings, one per segment.
        references: with `references_layout="streams"` (sacrebleu's layout), a sequence
            of reference streams, each holding one string per hypothesis:
            `references[k][i]` is the k-th reference of hypothesis i, and a `None` entry
            means hypothesis i has no k-th reference. A flat sequence of strings is one
            stream. With `references_layout="per_hypothesis"`, `references[i]` is the
            sequence of references of hypothesis i (a string counts as one reference).
        max_order: the largest n-gram order N.
        smooth_method: "exp" (default), "floor", "add-k" or "none".
        smooth_value: for "floor" (default 0.1) or "add-k" (default 1).
        tokenize: "13a" (mteval-v13a, sacrebleu's default), "intl" (mteval-v14
            international: Unicode punctuation and symbols, from Python's `unicodedata`
            tables) or "none" (split on whitespace only).
        lowercase: compare lowercased text.
        effective_order: average over the orders that have n-grams only (see
            `compute_bleu`).
        references_layout: "streams" or "per_hypothesis" (see `references`).

    Returns:
        A `BLEUScore` (`score` in [0, 100], `print()` gives sacrebleu's line).

    Example:

    >>> hypotheses = ["The cat sat on the mat.", "A dog barked loudly"]
    >>> references = [["The cat sat on a mat.", "The dog barked loudly"]]
    >>> result = corpus_bleu(hypotheses, references)
    >>> print(result)
    BLEU = 46.50 81.8/66.7/42.9/20.0 (BP = 1.000 ratio = 1.000 hyp_len = 11 ref_len = 11)
    >>> round(result.score, 4)
    46.5
    """
    max_order = check_positive_int("max_order", max_order)
    smooth_method, smooth_value = _check_smoothing(smooth_method, smooth_value)
    check_one_of("tokenize", tokenize, TOKENIZERS)
    check_one_of("references_layout", references_layout, REFERENCE_LAYOUTS)
    hypotheses = _check_strings("hypotheses", hypotheses)
    if not hypotheses:
        raise ValueError("`hypotheses` must hold at least one string. Received: []")
    per_hypothesis = _references_per_hypothesis(references, len(hypotheses), references_layout)
    hyp_tokens = _tokenize(hypotheses, tokenize, lowercase)
    num_refs = [len(refs) for refs in per_hypothesis]
    ref_tokens = _tokenize(list(itertools.chain.from_iterable(per_hypothesis)), tokenize, lowercase)
    statistics = _corpus_statistics(hyp_tokens, ref_tokens, num_refs, max_order)
    return compute_bleu(*statistics, smooth_method, smooth_value, effective_order)


def sentence_bleu(
    hypothesis: str,
    references: Sequence[str] | str,
    max_order: int = 4,
    smooth_method: str = "exp",
    smooth_value: float | None = None,
    tokenize: str = "13a",
    lowercase: bool = False,
    effective_order: bool = True,
) -> BLEUScore:
    """BLEU of one hypothesis against its references, equal to `sacrebleu.sentence_bleu`
    (which, like this function, uses the effective order by default).

    Args:
        hypothesis: a string.
        references: its reference strings (or one string).
        max_order, smooth_method, smooth_value, tokenize, lowercase: as in `corpus_bleu`.
        effective_order: average over the orders that have n-grams only (default True,
            as sacrebleu's `sentence_bleu`).

    Returns:
        A `BLEUScore`.

    Example:

    >>> result = sentence_bleu("The cat sat on the mat.", ["The cat sat on a mat."])
    >>> round(result.score, 4), result.counts, result.totals
    (48.8923, (6, 4, 2, 1), (7, 6, 5, 4))
    """
    if not isinstance(hypothesis, str):
        raise TypeError(
            f"`hypothesis` must be a string. Received: hypothesis={hypothesis!r} "
            f"of type {type(hypothesis).__name__}"
        )
    if isinstance(references, str):
        references = [references]
    return corpus_bleu(
        [hypothesis],
        [references],
        max_order=max_order,
        smooth_method=smooth_method,
        smooth_value=smooth_value,
        tokenize=tokenize,
        lowercase=lowercase,
        effective_order=effective_order,
        references_layout="per_hypothesis",
    )


def _check_smoothing(smooth_method, smooth_value):
    check_one_of("smooth_method", smooth_method, SMOOTH_METHODS)
    if smooth_value is None:
        return smooth_method, SMOOTH_DEFAULTS[smooth_method]
    if isinstance(smooth_value, bool) or not isinstance(smooth_value, int | float):
        raise TypeError(
            f"`smooth_value` must be a number or None. Received: smooth_value={smooth_value!r}"
        )
    if not smooth_value > 0:
        raise ValueError(f"`smooth_value` must be > 0. Received: smooth_value={smooth_value}")
    return smooth_method, smooth_value


def _check_strings(name: str, values) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise TypeError(
            f"`{name}` must be a sequence of strings. Received: {name} of type "
            f"{type(values).__name__}"
        )
    for i, value in enumerate(values):
        if not isinstance(value, str):
            raise TypeError(
                f"`{name}` must hold strings. Received: {name}[{i}]={value!r} "
                f"of type {type(value).__name__}"
            )
    return list(values)


def _references_per_hypothesis(references, num_hypotheses: int, layout: str) -> list[list[str]]:
    """The references of each hypothesis, `None` entries dropped."""
    if isinstance(references, str) or not isinstance(references, Sequence):
        raise TypeError(
            "`references` must be a sequence of reference streams (or, with "
            'references_layout="per_hypothesis", of reference lists). Received: references '
            f"of type {type(references).__name__}"
        )
    if layout == "streams":
        if references and all(isinstance(r, str) for r in references):
            references = [references]
        if not references:
            raise ValueError("`references` must hold at least one reference stream. Received: []")
        for k, stream in enumerate(references):
            if isinstance(stream, str) or not isinstance(stream, Sequence):
                raise TypeError(
                    f"`references[{k}]` must be a sequence of strings (one per hypothesis). "
                    f"Received: {stream!r}"
                )
            if len(stream) != num_hypotheses:
                raise ValueError(
                    f"`references[{k}]` must hold one reference per hypothesis "
                    f"({num_hypotheses}). Received: {len(stream)} references (for one list "
                    'of references per hypothesis, pass references_layout="per_hypothesis")'
                )
            _check_references(stream, lambda i, k=k: f"references[{k}][{i}]")
        per_hypothesis = [list(refs) for refs in zip(*references, strict=True)]
    else:
        if len(references) != num_hypotheses:
            raise ValueError(
                "`references` must hold one list of references per hypothesis "
                f"({num_hypotheses}). Received: {len(references)} lists"
            )
        per_hypothesis = []
        for i, refs in enumerate(references):
            if isinstance(refs, str):
                refs = [refs]
            if not isinstance(refs, Sequence):
                raise TypeError(
                    f"`references[{i}]` must be a string or a sequence of strings. "
                    f"Received: {refs!r}"
                )
            _check_references(refs, lambda k, i=i: f"references[{i}][{k}]")
            per_hypothesis.append(list(refs))
    for i, refs in enumerate(per_hypothesis):
        if None in refs:
            refs[:] = [ref for ref in refs if ref is not None]
            if not refs:
                raise ValueError(
                    "Every hypothesis needs at least one reference. Received: only None "
                    f"for hypotheses[{i}]"
                )
    return per_hypothesis


def _check_references(refs, name_of) -> None:
    if all(type(ref) is str for ref in refs):
        return
    for i, ref in enumerate(refs):
        if ref is not None and not isinstance(ref, str):
            raise TypeError(
                f"`{name_of(i)}` must be a string or None. Received: {ref!r} "
                f"of type {type(ref).__name__}"
            )


# Tokenizers: the whole corpus goes through each regular expression at once, joined by a
# separator that no rule can match across, which gives the same tokens as one line at a
# time and saves the per-line regex overhead.

# mteval-v13a's punctuation class [\{-\~\[-\` -\&\(-\+\:-\@\/] without the space it
# also holds: spacing a space out only lengthens a run of spaces, which changes no later
# rule's matches.
_13A_PUNCTUATION = frozenset('{|}~[\\]^_`!"#$%&()*+:;<=>?@/')
_DIGITS = "0-9"
_13A_MARKS = ".,"
_13A_DASH = re.compile(r"-(?<=[0-9]-)")  # ([0-9])(-) -> "\1 \2 "
# A digit (category Nd, neither punctuation nor symbol), so that no intl rule matches it.
_INTL_SEPARATOR = "\ua8d0"  # SAURASHTRA DIGIT ZERO
_BEYOND_BMP = re.compile("[\U00010000-\U0010ffff]")


def _tokenize(lines: list[str], tokenize: str, lowercase: bool) -> list[list[str]]:
    if lowercase:
        lines = [line.lower() for line in lines]
    lines = [line.rstrip() for line in lines]
    if tokenize == "13a":
        return _tokenize_13a(lines)
    if tokenize == "intl":
        return _tokenize_intl(lines)
    return [line.split() for line in lines]


# mteval's rules "(A)(B) -> '\1 \2 '" and "(B)(A) -> ' \1 \2'", where every B character is
# also an A character (13a: A = [^0-9], B = [.,]; intl: A = \P{N}, B = \p{P}), replace
# non-overlapping pairs from left to right. Within a maximal run of B characters that
# pairs run[0] with run[1], run[2] with run[3] and so on; the first rule may first pair
# the character before the run with run[0], the second the last odd one with the
# character after the run; neither neighbour can be in another pair, so runs are
# independent. A run of one B character b (nearly all of them) becomes " b " when its
# neighbour is an A character: one pass per distinct b with a fixed replacement, which
# `re` does in C; longer runs go through `_spaced_after_pairs`/`_spaced_before_pairs`.


def _spaced_after_pairs(run: str, after_previous: bool) -> str:
    """What "(A)(B) -> '\1 \2 '" makes of a run of B characters."""
    out = [f" {run[0]} "] if after_previous else []
    i = len(out)
    while i + 1 < len(run):
        out.append(f"{run[i]} {run[i + 1]} ")
        i += 2
    if i < len(run):
        out.append(run[i])
    return "".join(out)


def _spaced_before_pairs(run: str, before_next: bool) -> str:
    """What "(B)(A) -> ' \1 \2'" makes of a run of B characters."""
    out = []
    i = 0
    while i + 1 < len(run):
        out.append(f" {run[i]} {run[i + 1]}")
        i += 2
    if i < len(run):
        out.append(f" {run[i]} " if before_next else run[i])
    return "".join(out)


@functools.cache
def _single_mark_rules(mark: str, marks: str, not_a: str) -> tuple[re.Pattern, re.Pattern]:
    """Both rules for `mark` alone in its run, B = [marks] and A = [^not_a] (character
    class contents): a fixed replacement " mark " where its neighbour is in A."""
    escaped = re.escape(mark)
    # The mark comes first, so that `re` searches for it in C before trying the rest.
    return (
        re.compile(f"{escaped}(?<=[^{not_a}{marks}]{escaped})(?![{marks}])"),
        re.compile(f"{escaped}(?<![{marks}]{escaped})(?=[^{not_a}{marks}])"),
    )


@functools.cache
def _run_patterns(marks: str, not_a: str) -> tuple[re.Pattern, re.Pattern]:
    return re.compile(f"[{marks}]{{2,}}"), re.compile(f"[{not_a}]")


def _apply_pair_rules(text: str, marks: str, not_a: str, present) -> str:
    """Both rules on `text`; `present` lists the single marks that occur in it."""
    runs, not_a_pattern = _run_patterns(marks, not_a)
    singles = [(mark, *_single_mark_rules(mark, marks, not_a)) for mark in present]

    def in_a(char: str) -> bool:
        return not not_a_pattern.match(char)

    def after(match: re.Match) -> str:
        start = match.start()
        return _spaced_after_pairs(match.group(), start > 0 and in_a(match.string[start - 1]))

    def before(match: re.Match) -> str:
        end, string = match.end(), match.string
        return _spaced_before_pairs(match.group(), end < len(string) and in_a(string[end]))

    # Runs of one first: longer runs come out as marks between spaces, which must not be
    # taken for runs of one.
    for mark, after_single, _ in singles:
        text = after_single.sub(f" {mark} ", text)
    text = runs.sub(after, text)
    for mark, _, before_single in singles:
        text = before_single.sub(f" {mark} ", text)
    return runs.sub(before, text)


def _tokenize_13a(lines: list[str]) -> list[list[str]]:
    # Lines with a newline inside need the per-line order of the replacements
    # (a "<skipped>" removal can make a "-\n").
    lines = [_13a_newlines(line) if "\n" in line else line for line in lines]
    text = "\n".join(lines).replace("<skipped>", "")
    if "&" in text:
        text = text.replace("&quot;", '"').replace("&amp;", "&")
        text = text.replace("&lt;", "<").replace("&gt;", ">")
    # mteval pads every line with a space on each side; then no rule touches "\n".
    text = " " + text.replace("\n", " \n ") + " "
    characters = set(text)
    for char in sorted(_13A_PUNCTUATION & characters):
        text = text.replace(char, f" {char} ")
    marks = [m for m in _13A_MARKS if m in characters]
    # ([^0-9])([\.,]) -> "\1 \2 ", then ([\.,])([^0-9]) -> " \1 \2"
    text = _apply_pair_rules(text, re.escape(_13A_MARKS), _DIGITS, marks)
    if "-" in characters:
        text = _13A_DASH.sub(" - ", text)
    return [line.split() for line in text.split("\n")]


def _13a_newlines(line: str) -> str:
    return line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")


@functools.cache
def _unicode_classes(max_code: int) -> dict[str, tuple[str, frozenset[str]]]:
    r"""For \p{N}, \p{P} and \p{S}: the character class contents and the set of members
    up to `max_code`, from `unicodedata` (sacrebleu uses the `regex` module's tables,
    which may know characters of a newer Unicode version).

    Python's `re` tests characters beyond U+FFFF against a class one range at a time, so
    text without them gets classes without those ranges: several times faster."""
    ranges = {"N": [], "P": [], "S": []}
    for code in range(max_code + 1):
        spans = ranges.get(unicodedata.category(chr(code))[0])
        if spans is None:
            continue
        if spans and spans[-1][1] == code - 1:
            spans[-1][1] = code
        else:
            spans.append([code, code])
    return {
        key: (
            "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in spans),
            frozenset(chr(c) for a, b in spans for c in range(a, b + 1)),
        )
        for key, spans in ranges.items()
    }


def _tokenize_intl(lines: list[str]) -> list[list[str]]:
    text = _INTL_SEPARATOR.join(lines)
    if text.count(_INTL_SEPARATOR) != max(len(lines) - 1, 0):
        texts = lines  # the separator occurs in the text: one line at a time
    else:
        texts = [text]
    classes = _unicode_classes(sys.maxunicode if _BEYOND_BMP.search(text) else 0xFFFF)
    (numbers, _), (punctuation, punctuation_set), (_, symbols) = (
        classes["N"],
        classes["P"],
        classes["S"],
    )
    out = []
    for text in texts:
        characters = set(text)
        # (\P{N})(\p{P}) -> "\1 \2 ", then (\p{P})(\P{N}) -> " \1 \2"
        text = _apply_pair_rules(text, punctuation, numbers, sorted(punctuation_set & characters))
        for char in sorted(symbols & characters):  # (\p{S}) -> " \1 "
            text = text.replace(char, f" {char} ")
        out.append(text)
    if len(texts) == 1 and texts is not lines:
        out = out[0].split(_INTL_SEPARATOR)
    return [line.split() for line in out]


# N-gram statistics ----------------------------------------------------------------------


def _corpus_statistics(
    hyp_tokens: list[list[str]],
    ref_tokens: list[list[str]],
    num_refs: list[int],
    max_order: int,
) -> tuple[list[int], list[int], int, int]:
    """Clipped matches and totals of each order, hypothesis and closest-reference
    lengths, for the whole corpus in a few numpy passes.

    Tokens become ids; an n-gram of sentence i is then identified by the rank of its
    (i, first n - 1 tokens) among all such pairs, times the vocabulary size, plus its
    last token id: exact integer keys that grow with the corpus, not with the vocabulary
    or the order. One sort per order groups equal (sentence, n-gram, source) keys, where
    source 0 is the hypothesis and k + 1 its k-th reference.
    """
    num_hyps = len(hyp_tokens)
    num_refs = np.asarray(num_refs, np.int64)
    sequences = hyp_tokens + ref_tokens
    lengths = np.fromiter(map(len, sequences), np.int64, len(sequences))
    hyp_lengths, ref_lengths = lengths[:num_hyps], lengths[num_hyps:]
    sys_len = int(hyp_lengths.sum())
    ref_len = int(_closest_lengths(hyp_lengths, ref_lengths, num_refs).sum())
    totals = [int(np.maximum(hyp_lengths - n + 1, 0).sum()) for n in range(1, max_order + 1)]

    tokens = list(itertools.chain.from_iterable(sequences))
    vocabulary = defaultdict(itertools.count().__next__)
    ids = np.fromiter(map(vocabulary.__getitem__, tokens), np.int64, len(tokens))
    vocab_size = max(len(vocabulary), 1)
    num_sources = int(num_refs.max(initial=0)) + 1
    sentence = np.arange(num_hyps, dtype=np.int64)
    first_ref = np.cumsum(num_refs) - num_refs
    ref_owner = np.repeat(sentence, num_refs)
    owner_of_sequence = np.concatenate([sentence, ref_owner])
    source_of_sequence = np.concatenate(
        [np.zeros(num_hyps, np.int64), np.arange(len(ref_owner)) - first_ref[ref_owner] + 1]
    )
    sequence = np.repeat(np.arange(len(sequences)), lengths)
    # Tokens from each position to the end of its sentence: an n-gram starts where >= n.
    remaining = np.cumsum(lengths)[sequence] - np.arange(len(ids))
    source = source_of_sequence[sequence]
    rank = owner_of_sequence[sequence]

    counts = []
    for n in range(1, max_order + 1):
        starts = np.flatnonzero(remaining >= n)
        if not len(starts):
            counts.append(0)
            continue
        key = rank[starts] * vocab_size + ids[starts + n - 1]
        order = np.argsort(key * num_sources + source[starts], kind="stable")
        key_sorted = key[order]
        source_sorted = source[starts][order]
        # Runs of one (sentence, n-gram, source), and groups of one (sentence, n-gram).
        new_group = np.empty(len(order), bool)
        new_group[0] = True
        np.not_equal(key_sorted[1:], key_sorted[:-1], out=new_group[1:])
        new_run = new_group.copy()
        new_run[1:] |= source_sorted[1:] != source_sorted[:-1]
        run_starts = np.flatnonzero(new_run)
        run_sizes = np.diff(np.append(run_starts, len(order)))
        run_source = source_sorted[run_starts]
        group_of_run = np.cumsum(new_group[run_starts]) - 1
        group_starts = np.flatnonzero(new_group[run_starts])
        # The hypothesis's run (source 0) comes first in its group when there is one.
        hyp_count = np.where(run_source[group_starts] == 0, run_sizes[group_starts], 0)
        ref_max = np.maximum.reduceat(np.where(run_source == 0, 0, run_sizes), group_starts)
        counts.append(int(np.minimum(hyp_count, ref_max).sum()))
        if n < max_order:
            rank = np.empty_like(rank)
            rank[starts[order]] = np.repeat(group_of_run, run_sizes)
    return counts, totals, sys_len, ref_len


def _closest_lengths(hyp_lengths, ref_lengths, num_refs):
    """Each hypothesis's closest reference length, the shorter one on a tie."""
    owner = np.repeat(np.arange(len(hyp_lengths)), num_refs)
    span = int(ref_lengths.max(initial=0)) + 1
    # Smallest |c - r| first, then the smallest r.
    key = np.abs(hyp_lengths[owner] - ref_lengths) * span + ref_lengths
    best = np.minimum.reduceat(key, np.cumsum(num_refs) - num_refs)
    return best % span


# Keras metric on token ids --------------------------------------------------------------


@keras.saving.register_keras_serializable(package="kerasdl")
class BLEU(keras.metrics.Metric):
    """Corpus BLEU of token-id sequences, streamed over batches, as sacrebleu computes it.

    With the notes' clipped precision of each order n = 1..N over every sentence seen,

        p_n = sum Count_clip(n-gram) / sum Count(n-gram),

    the brevity penalty BP = exp(1 - r / c) when c < r (else 1; 0 when c = 0), c the
    total hypothesis length and r the sum of the reference lengths closest to each
    hypothesis's (ties to the shorter), the result is

        BLEU = 100 * BP * exp(1/N * sum_n log p_n),

    on sacrebleu's 0-100 scale, with its smoothing of zero precisions (`smooth_method`,
    see `kerasdl.metrics.bleu`). It equals `corpus_bleu(..., tokenize="none")` on the
    same sequences written as words (ids joined by spaces).

    Each batch adds its clipped matches and n-gram counts of each order, its hypothesis
    length and its closest-reference length to integer metric variables; `result()`
    applies smoothing and the brevity penalty to the sums. Under a `tf.distribute`
    strategy each replica adds its share and the cross-replica read sums them, so
    `evaluate` gives the single-device score. Counting is exact for any int32 ids:
    short sequences (L * L_ref * refs <= 1024) compare every pair of positions by
    broadcasting; longer ones, or lengths unknown when tracing, sort each sentence's
    positions (hypothesis and references in one row) by the N ids from there, packed
    as bit fields in one int64 key, so that every n-gram of every order is one run of
    neighbours: one sort per batch, O(T log(L + refs * L_ref)) for T token slots (ids
    too far apart for the key are first ranked within the row, one more sort).
    It runs eagerly, in a graph and under XLA (`jit_compile=True`).

    Sequences: the padding id is dropped wherever it occurs, and with `end_id` the first
    end token and everything after it are dropped too. Every reference row counts, so a
    row of padding is an empty reference (length 0); for hypotheses with fewer references
    than rows, repeat one of their references (a duplicate changes neither the clipped
    counts nor the closest length).

    Args:
        max_order: the largest n-gram order N.
        smooth_method: "exp" (default), "floor", "add-k" or "none".
        smooth_value: for "floor" (default 0.1) or "add-k" (default 1).
        effective_order: average over the orders that have n-grams only.
        pad_id: int, the padding id (ignored wherever it occurs).
        end_id: int or None, the end-of-sequence id; it and what follows are ignored.
        name: name of the metric.
        **kwargs: base `keras.metrics.Metric` arguments (`dtype`).

    Call arguments (`update_state`):
        y_true: integer (or integral float) reference ids, `(batch, refs, len)` or
            `(batch, len)` for one reference each.
        y_pred: hypothesis ids `(batch, len)`, e.g. a decoder's argmax.
        sample_weight: not supported (BLEU is a corpus statistic); anything but `None`
            raises `ValueError`.

    Returns (`result()`):
        float scalar BLEU in [0, 100]; 0 before any match. `bleu_score()` gives the
        `BLEUScore` with the precisions, brevity penalty and lengths.

    Example:

    >>> metric = BLEU(pad_id=0, end_id=2)
    >>> y_true = [[5, 6, 7, 8, 9, 2, 0], [4, 5, 6, 7, 2, 0, 0]]
    >>> y_pred = [[5, 6, 7, 8, 9, 2, 3], [4, 5, 6, 8, 2, 0, 0]]
    >>> metric.update_state(y_true, y_pred)
    >>> print(f"{float(metric.result()):.2f}")
    79.84
    >>> print(metric.bleu_score())
    BLEU = 79.84 88.9/85.7/80.0/66.7 (BP = 1.000 ratio = 1.000 hyp_len = 9 ref_len = 9)

    Reference:
        Papineni et al., "BLEU: a Method for Automatic Evaluation of Machine
        Translation", ACL 2002; Post, "A Call for Clarity in Reporting BLEU Scores",
        WMT 2018 (sacrebleu); Chen and Cherry, "A Systematic Comparison of Smoothing
        Techniques for Sentence-Level BLEU", WMT 2014.
    """

    def __init__(
        self,
        max_order=4,
        smooth_method="exp",
        smooth_value=None,
        effective_order=False,
        pad_id=0,
        end_id=None,
        name="bleu",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.max_order = check_positive_int("max_order", max_order)
        self.smooth_method = smooth_method
        self.smooth_value = smooth_value
        _check_smoothing(smooth_method, smooth_value)
        if not isinstance(effective_order, bool):
            raise TypeError(
                f"`effective_order` must be a bool. Received: effective_order={effective_order!r}"
            )
        self.effective_order = effective_order
        self.pad_id = _check_token_id("pad_id", pad_id)
        self.end_id = None if end_id is None else _check_token_id("end_id", end_id)
        if self.end_id is not None and self.end_id == self.pad_id:
            raise ValueError(
                f"`end_id` must differ from `pad_id`. Received: end_id={end_id}, pad_id={pad_id}"
            )
        # Integer sums: exact, and a cross-replica read adds the replicas' shares.
        counter = {"initializer": "zeros", "dtype": "int64", "aggregation": "sum"}
        self.matches = self.add_variable(shape=(self.max_order,), name="matches", **counter)
        self.totals = self.add_variable(shape=(self.max_order,), name="totals", **counter)
        self.hyp_length = self.add_variable(shape=(), name="hyp_length", **counter)
        self.ref_length = self.add_variable(shape=(), name="ref_length", **counter)

    def update_state(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            raise ValueError(
                "`sample_weight` is not supported by BLEU: it is a corpus statistic with "
                f"no per-sentence weighting. Received: sample_weight={sample_weight!r}"
            )
        hyp = _token_ids("y_pred", y_pred)
        ref = _token_ids("y_true", y_true)
        if len(hyp.shape) != 2:
            raise ValueError(
                "`y_pred` must have rank 2 with shape (batch, len). "
                f"Received: y_pred.shape={tuple(hyp.shape)}"
            )
        if len(ref.shape) == 2:
            ref = ref[:, None, :]
        if len(ref.shape) != 3:
            raise ValueError(
                "`y_true` must have shape (batch, refs, len) or (batch, len). "
                f"Received: y_true.shape={tuple(ref.shape)}"
            )
        true_batch, pred_batch = ref.shape[0], hyp.shape[0]
        if true_batch is not None and pred_batch is not None and true_batch != pred_batch:
            raise ValueError(
                "`y_true` and `y_pred` must have the same batch size. Received: "
                f"y_true batch={true_batch}, y_pred batch={pred_batch}"
            )
        hyp, hyp_len = self._clean(hyp)
        ref, ref_len = self._clean(ref)
        self.matches.assign_add(_clipped_matches(hyp, hyp_len, ref, ref_len, self.max_order))
        orders = ops.arange(1, self.max_order + 1, dtype="int64")
        hyp_len64 = ops.cast(hyp_len, "int64")
        self.totals.assign_add(
            ops.sum(ops.maximum(hyp_len64[:, None] - orders[None, :] + 1, 0), axis=0)
        )
        self.hyp_length.assign_add(ops.sum(hyp_len64))
        self.ref_length.assign_add(ops.sum(ops.cast(_closest_length(hyp_len, ref_len), "int64")))

    def _clean(self, tokens):
        """Drops padding (and the end token with what follows), moving the kept tokens
        to the front; returns them and their count."""
        keep = tokens != self.pad_id
        if self.end_id is not None:
            ended = ops.cumsum(ops.cast(tokens == self.end_id, "int32"), axis=-1) > 0
            keep = keep & ops.logical_not(ended)
        lengths = ops.sum(ops.cast(keep, "int32"), axis=-1)
        shape = ops.shape(tokens)
        size = shape[-1]
        rows = ops.reshape(tokens, (-1, size))
        keep = ops.reshape(keep, (-1, size))
        # Each kept token goes to the slot after the kept tokens before it: a scatter of
        # distinct slots (cheaper than sorting), the dropped ones to a spare slot per row.
        slot = ops.where(keep, ops.cumsum(ops.cast(keep, "int32"), axis=-1) - 1, size)
        slot = slot + ops.arange(ops.shape(rows)[0], dtype="int32")[:, None] * (size + 1)
        moved = ops.segment_sum(
            ops.reshape(ops.where(keep, rows, 0), (-1,)),
            ops.reshape(slot, (-1,)),
            num_segments=ops.shape(rows)[0] * (size + 1),
        )
        moved = ops.reshape(moved, (-1, size + 1))[:, :size]
        return ops.reshape(moved, shape), lengths

    def result(self):
        return ops.cast(
            _bleu_in_graph(
                ops.convert_to_tensor(self.matches),
                ops.convert_to_tensor(self.totals),
                ops.convert_to_tensor(self.hyp_length),
                ops.convert_to_tensor(self.ref_length),
                self.smooth_method,
                self.smooth_value,
                self.effective_order,
            ),
            self.dtype,
        )

    def bleu_score(self) -> BLEUScore:
        """The `BLEUScore` (eager): score, precisions, brevity penalty and lengths."""
        return compute_bleu(
            [int(v) for v in ops.convert_to_numpy(self.matches)],
            [int(v) for v in ops.convert_to_numpy(self.totals)],
            int(ops.convert_to_numpy(self.hyp_length)),
            int(ops.convert_to_numpy(self.ref_length)),
            self.smooth_method,
            self.smooth_value,
            self.effective_order,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "max_order": self.max_order,
            "smooth_method": self.smooth_method,
            "smooth_value": self.smooth_value,
            "effective_order": self.effective_order,
            "pad_id": self.pad_id,
            "end_id": self.end_id,
        }


def _check_token_id(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"`{name}` must be an int. Received: {name}={value!r}")
    return int(value)


def _token_ids(name: str, values):
    """int32 ids; floats (a model's outputs) are rounded first."""
    values = ops.convert_to_tensor(values)
    dtype = keras.backend.standardize_dtype(values.dtype)
    if dtype == "bool" or not ("int" in dtype or "float" in dtype):
        raise TypeError(f"`{name}` must hold integer token ids. Received: {name}.dtype={dtype}")
    if "float" in dtype:
        values = ops.round(values)
    return ops.cast(values, "int32")


# Above this many token pairs per sentence (L * M * refs), sorting n-gram keys is faster
# than comparing every pair of positions (measured in graph and XLA at batch 64 and 500).
_PAIRWISE_LIMIT = 32 * 32


@tf.autograph.experimental.do_not_convert
def _clipped_matches(hyp, hyp_len, ref, ref_len, max_order):
    """Sum over the batch of min(Count, max over references of the reference count) over
    the distinct n-grams of each hypothesis, for each order: int64 `(max_order,)`.

    Short sequences compare every pair of positions; long ones (or lengths unknown when
    tracing) sort n-gram keys. Both are exact. Neither needs autograph: their Python
    loops and branches run once, when tracing, and converting them cost seconds per
    first trace."""
    sizes = (hyp.shape[1], ref.shape[1], ref.shape[2])
    if None not in sizes and sizes[0] * sizes[1] * sizes[2] <= _PAIRWISE_LIMIT:
        return _clipped_matches_pairwise(hyp, hyp_len, ref, ref_len, max_order)
    return _clipped_matches_sorted(hyp, hyp_len, ref, ref_len, max_order)


def _clipped_matches_pairwise(hyp, hyp_len, ref, ref_len, max_order):
    """An n-gram equality matrix is the (n - 1)-gram one, shifted by one position, and'ed
    with the token equality matrix shifted by n - 1: one comparison per order.
    O(batch * refs * L * M) memory."""
    same_hyp_1 = hyp[:, :, None] == hyp[:, None, :]  # (B, L, L)
    same_ref_1 = hyp[:, None, :, None] == ref[:, :, None, :]  # (B, R, L, M)
    hyp_positions = ops.arange(ops.shape(hyp)[1], dtype="int32")
    ref_positions = ops.arange(ops.shape(ref)[2], dtype="int32")
    earlier = hyp_positions[None, :] < hyp_positions[:, None]  # j < i
    matches = []
    same_hyp, same_ref = same_hyp_1, same_ref_1
    for n in range(1, max_order + 1):
        if n > 1:
            same_hyp = same_hyp[:, :-1, :-1] & same_hyp_1[:, n - 1 :, n - 1 :]
            same_ref = same_ref[..., :-1, :-1] & same_ref_1[..., n - 1 :, n - 1 :]
            earlier = earlier[:-1, :-1]
        size = ops.shape(same_hyp)[1]
        # n-grams start at positions i with i + n <= length.
        valid_hyp = hyp_positions[None, :size] + n <= hyp_len[:, None]  # (B, L')
        ref_size = ops.shape(same_ref)[3]
        valid_ref = ref_positions[None, None, :ref_size] + n <= ref_len[:, :, None]
        same_valid = same_hyp & valid_hyp[:, None, :]
        count = ops.sum(ops.cast(same_valid, "int32"), axis=-1)
        # Each distinct n-gram is counted at its first occurrence.
        first = valid_hyp & ops.logical_not(ops.any(same_valid & earlier[None], axis=-1))
        ref_count = ops.sum(ops.cast(same_ref & valid_ref[:, :, None, :], "int32"), axis=-1)
        # initial=0: an order longer than the sequences has no positions at all.
        ref_max = ops.max(ref_count, axis=1, initial=0)
        clipped = ops.where(first, ops.minimum(count, ref_max), 0)
        matches.append(ops.sum(ops.cast(clipped, "int64")))
    return ops.stack(matches)


@tf.autograph.experimental.do_not_convert  # see _clipped_matches
def _clipped_matches_sorted(hyp, hyp_len, ref, ref_len, max_order):
    """Counts from sorting, one row per sentence: its hypothesis, then its references.

    A position's n-gram is the n tokens from there, with a sentinel below every id past
    the end of its sequence. Sorting a row's positions by their first N tokens
    (lexicographically) puts the positions of every n-gram, for each n <= N, in one
    contiguous run: a run starts where a neighbour differs in its first n tokens, and a
    segment sum per (run, source) counts the hypothesis's and each reference's
    occurrences. When N bit fields wide enough for the ids, and the source, fit in 62
    bits, a single sort of those int64 keys gives everything; otherwise the ids are
    first replaced by their rank within the row (one more sort), and when even that
    does not fit, prefix doubling ranks 2, 4, ... token prefixes (one sort each).
    O(T log(L + refs * M)) for T token slots, exact for any int32 id."""
    rows = _sentence_rows(hyp, hyp_len, ref, ref_len, max_order)
    tokens, remaining, _, batch, width, sources = rows
    valid = remaining > 0
    ids = ops.cast(tokens, "int64")
    low = ops.min(ops.where(valid, ids, 2**31), initial=2**31)
    high = ops.max(ops.where(valid, ids, low), initial=low)
    # Ids as digits 1..high - low + 1 in the ids' order, 0 for the sentinel.
    digits = ops.where(valid, ids - low + 1, 0)
    bits = _bit_length(ops.maximum(high - low + 1, 1))
    source_bits = _bit_length(sources - 1)

    def key_fits(bits):
        return bits * max_order + source_bits <= 62

    def count_tokens_or_ranks():
        # XLA compiles both branches: only the ranking sort sits in the cond.
        ranked = ops.cond(
            key_fits(bits),
            lambda: (digits, bits),
            lambda: (
                ops.where(valid, _dense_ranks(digits, batch, width, True, "int64"), 0),
                ops.cast(_bit_length(width), "int64"),
            ),
        )
        return _count_tokens(*ranked, source_bits, rows, max_order)

    def count_tokens_or_doubling():
        return ops.cond(
            key_fits(bits),
            lambda: _count_tokens(digits, bits, source_bits, rows, max_order),
            lambda: _count_doubling(rows, max_order),
        )

    # Ranks within a row are at most `width`.
    if isinstance(width, int) and isinstance(sources, int):
        if width.bit_length() * max_order + source_bits <= 62:
            return count_tokens_or_ranks()
        return count_tokens_or_doubling()
    return ops.cond(key_fits(_bit_length(width)), count_tokens_or_ranks, count_tokens_or_doubling)


def _bit_length(value):
    """Bits needed for a nonnegative integer below 2^62 (a Python int or a tensor)."""
    if isinstance(value, int):
        return value.bit_length()
    value = ops.cast(value, "int64")
    estimate = ops.floor(ops.log2(ops.maximum(ops.cast(value, "float64"), 0.5))) + 1
    bits = ops.cast(estimate, "int64")
    # float64 rounds large values: settle the last bit exactly.
    too_many = (bits > 0) & (ops.right_shift(value, ops.maximum(bits - 1, 0)) == 0)
    bits = ops.where(too_many, bits - 1, bits)
    return ops.where(ops.right_shift(value, bits) > 0, bits + 1, bits)


def _sentence_rows(hyp, hyp_len, ref, ref_len, max_order):
    """(batch, L + refs * M) rows of the tokens, the tokens left in each slot's own
    sequence (0 past its end, at most max_order) and its source (0 for the hypothesis,
    k for reference k); with the batch size, row width and number of sources."""
    batch, length = ops.shape(hyp)[0], ops.shape(hyp)[1]
    num_refs, ref_size = ops.shape(ref)[1], ops.shape(ref)[2]
    tokens = ops.concatenate([hyp, ops.reshape(ref, (batch, -1))], axis=1)
    remaining = ops.concatenate(
        [
            hyp_len[:, None] - ops.arange(length, dtype="int32")[None, :],
            ops.reshape(
                ref_len[:, :, None] - ops.arange(ref_size, dtype="int32")[None, None, :],
                (batch, -1),
            ),
        ],
        axis=1,
    )
    remaining = ops.clip(remaining, 0, max_order)
    source = ops.concatenate(
        [
            ops.zeros_like(hyp),
            ops.reshape(
                ops.ones_like(ref) * ops.arange(1, num_refs + 1, dtype="int32")[None, :, None],
                (batch, -1),
            ),
        ],
        axis=1,
    )
    width = length + num_refs * ref_size
    return tokens, remaining, source, batch, width, num_refs + 1


def _count_tokens(digits, bits, source_bits, rows, max_order):
    """One sort of the keys digit(i) ... digit(i + N - 1), source as bit fields (`bits`
    each, the caller checked that they fit 62 bits). Neighbours share their first n
    digits when the highest bit where they differ is below the first n fields, and the
    n-gram there is counted when its n-th field is not the sentinel: both come from the
    sorted keys alone."""
    _, remaining, source, batch, width, sources = rows
    bits = ops.cast(bits, "int64")
    key = ops.zeros_like(digits)
    for k in range(max_order):
        digit = ops.where(remaining > k, _shift_left(digits, k), 0)
        key = ops.bitwise_or(ops.left_shift(key, bits), digit)
    key = ops.bitwise_or(ops.left_shift(key, source_bits), ops.cast(source, "int64"))
    key = ops.sort(key, axis=1)
    one = ops.ones_like(bits)
    sorted_source = ops.cast(ops.bitwise_and(key, ops.left_shift(one, source_bits) - 1), "int32")
    differ = ops.bitwise_xor(key[:, 1:], key[:, :-1])
    first = ops.ones_like(key[:, :1], dtype="bool")
    new_runs, counted = [], []
    for n in range(1, max_order + 1):
        low_bit = ops.left_shift(one, bits * (max_order - n) + source_bits)
        new_runs.append(ops.concatenate([first, differ >= low_bit], axis=1))
        counted.append(ops.bitwise_and(key, ops.left_shift(low_bit, bits) - low_bit) != 0)
    return _count_runs(new_runs, counted, sorted_source, batch, width, sources)


def _count_doubling(rows, max_order):
    """Sorts by prefix doubling: the dense rank of each position's first 2k tokens
    (with the sentinel) within its row comes from sorting the pairs of the k-token ranks
    at i and i + k; the last sort, by the first 2^ceil(log2 N) tokens, has every n-gram
    in a run, and its neighbours' tokens (gathered) tell where runs start."""
    tokens, remaining, source, batch, width, sources = rows
    static_width = width if isinstance(width, int) else None
    valid = remaining > 0
    ids = ops.cast(tokens, "int64")
    low = ops.min(ops.where(valid, ids, 2**31), initial=2**31)
    high = ops.max(ops.where(valid, ids, low), initial=low)
    rank = ops.where(valid, ids - low + 1, 0)
    span = high - low + 2
    if max_order == 1:
        final_key, shift, packable = rank, 0, True
    else:
        # Two tokens and the position fit an int64 key unless ids span more than about
        # 2^31 / sqrt(width); then rank the tokens first, with one more sort.
        limit = ops.floor(ops.sqrt(2.0**62 / ops.cast(width, "float64")))
        rank, span = ops.cond(
            ops.cast(span, "float64") <= limit,
            lambda: (rank, span),
            lambda: (
                _dense_ranks(rank, batch, width, True, "int64"),
                ops.cast(width + 1, "int64"),
            ),
        )
        shift, packable = 1, True
        # Past the token level the ranks are < width + 1: two of them and the position
        # fit an int32 key when (width + 1)^2 * width < 2^31.
        pair_bound = None if static_width is None else (static_width + 1) ** 2 * static_width
        rank_dtype = "int32" if pair_bound is not None and pair_bound < 2**31 else "int64"
        while True:
            following = _shift_left(rank, shift)
            final_key = rank * span + ops.where(remaining > shift, following, 0)
            if 2 * shift >= max_order:
                break
            rank = _dense_ranks(final_key, batch, width, packable, rank_dtype)
            span = ops.cast(width + 1, rank_dtype)
            shift *= 2
            packable = pair_bound is not None and pair_bound < 2**63
    sorted_key, order = _sort_rows(final_key, width, packable)
    info = ops.take_along_axis(source * (max_order + 1) + remaining, order, axis=1)
    sorted_source, sorted_remaining = info // (max_order + 1), info % (max_order + 1)
    first = ops.ones_like(sorted_key[:, :1], dtype="bool")
    new_run = ops.zeros_like(sorted_key, dtype="bool")
    new_runs, counted = [], []
    for n in range(1, max_order + 1):
        if n == 2 * shift or max_order == 1:
            field = sorted_key
        elif n == shift:
            field = sorted_key // span
        else:
            # The n-th token of each sorted position; past its sequence's end it may be
            # anything (the n-gram there is not counted, and can join no other run).
            field = ops.take_along_axis(_shift_left(tokens, n - 1), order, axis=1)
        new_run = new_run | ops.concatenate([first, field[:, 1:] != field[:, :-1]], axis=1)
        new_runs.append(new_run)
        counted.append(sorted_remaining >= n)
    return _count_runs(new_runs, counted, sorted_source, batch, width, sources)


def _count_runs(new_runs, counted, source, batch, width, sources):
    """Clipped matches of each order from sorted rows, given where each order's runs
    start: per (run, source) a segment sum of the counted positions, then
    min(hypothesis count, max reference count) per run."""
    # Cells source-major, so that each source's counts are one contiguous slice.
    cell = source * (batch * width) + ops.arange(batch, dtype="int32")[:, None] * width - 1
    matches = []
    for new_run, counted_n in zip(new_runs, counted, strict=True):
        run = ops.cumsum(ops.cast(new_run, "int32"), axis=1)
        counts = ops.segment_sum(
            ops.reshape(ops.cast(counted_n, "int32"), (-1,)),
            ops.reshape(cell + run, (-1,)),
            num_segments=sources * batch * width,
        )
        counts = ops.reshape(counts, (sources, -1))
        clipped = ops.minimum(counts[0], ops.max(counts[1:], axis=0, initial=0))
        matches.append(ops.sum(ops.cast(clipped, "int64")))
    return ops.stack(matches)


def _shift_left(values, shift):
    """values[:, i + shift] at i, zeros past the end of the row."""
    return ops.concatenate([values[:, shift:], ops.zeros_like(values[:, :shift])], axis=1)


def _sort_rows(key, width, packable):
    """Each row's keys sorted, and the positions they came from. With `packable` (the
    caller knows that key * width fits the key's dtype) the position rides in the low
    digits of the key: one sort of one array, faster than an argsort."""
    if packable:
        dtype = keras.backend.standardize_dtype(key.dtype)
        width = ops.cast(width, dtype)
        packed = ops.sort(key * width + ops.arange(width, dtype=dtype)[None, :], axis=1)
        return packed // width, packed % width
    order = ops.argsort(key, axis=1)
    return ops.take_along_axis(key, order, axis=1), order


def _dense_ranks(key, batch, width, packable, dtype):
    """Each position's 1-based rank among the distinct keys of its row."""
    sorted_key, order = _sort_rows(key, width, packable)
    new = ops.concatenate(
        [ops.ones_like(sorted_key[:, :1], dtype="bool"), sorted_key[:, 1:] != sorted_key[:, :-1]],
        axis=1,
    )
    rank = ops.cumsum(ops.cast(new, "int32"), axis=1)
    # Back to the positions: a scatter (order is a permutation of each row).
    slot = ops.cast(order, "int32") + ops.arange(batch, dtype="int32")[:, None] * width
    rank = ops.segment_sum(
        ops.reshape(rank, (-1,)), ops.reshape(slot, (-1,)), num_segments=batch * width
    )
    return ops.cast(ops.reshape(rank, (batch, width)), dtype)


def _closest_length(hyp_len, ref_len):
    """The reference length closest to each hypothesis length, the shorter on a tie."""
    diff = ops.abs(hyp_len[:, None] - ref_len)
    best = ops.min(diff, axis=1, keepdims=True)
    big = ops.max(ref_len, initial=0) + 1
    return ops.min(ops.where(diff == best, ref_len, big), axis=1)


def _bleu_in_graph(matches, totals, sys_len, ref_len, smooth_method, smooth_value, effective):
    """`compute_bleu`'s score in tensor ops (float64)."""
    smooth_method, smooth_value = _check_smoothing(smooth_method, smooth_value)
    max_order = matches.shape[0]
    correct = ops.cast(matches, "float64")
    total = ops.cast(totals, "float64")
    index = ops.arange(max_order, dtype="int32")
    if smooth_method == "add-k":
        k = ops.cast(ops.where(index > 0, float(smooth_value), 0.0), "float64")
        correct, total = correct + k, total + k
    # Orders before the first one without n-grams (sacrebleu stops there).
    processed = ops.cumprod(ops.cast(total > 0, "int32")) > 0
    zero = processed & (correct == 0)
    safe_total = ops.where(total > 0, total, 1.0)
    if smooth_method == "exp":
        doublings = ops.cumsum(ops.cast(zero, "float64"))
        smoothed = 100.0 / (ops.power(2.0, doublings) * safe_total)
    elif smooth_method == "floor":
        smoothed = 100.0 * float(smooth_value) / safe_total
    else:
        smoothed = ops.zeros_like(total)
    precisions = ops.where(zero, smoothed, 100.0 * correct / safe_total)
    precisions = ops.where(processed, precisions, 0.0)
    if effective:
        count = ops.sum(ops.cast(processed, "int32"))
        eff_order = ops.where(count > 0, count, max_order)
    else:
        eff_order = ops.convert_to_tensor(max_order, dtype="int32")
    positive = precisions > 0
    logs = ops.where(positive, ops.log(ops.where(positive, precisions, 1.0)), float(_LOG_ZERO))
    log_sum = ops.sum(ops.where(index < eff_order, logs, 0.0))
    sys_len = ops.cast(sys_len, "float64")
    ref_len = ops.cast(ref_len, "float64")
    bp = ops.where(
        sys_len < ref_len,
        ops.where(sys_len > 0, ops.exp(1.0 - ref_len / ops.maximum(sys_len, 1.0)), 0.0),
        1.0,
    )
    score = bp * ops.exp(log_sum / ops.cast(eff_order, "float64"))
    return ops.where(ops.sum(matches) > 0, score, 0.0)
