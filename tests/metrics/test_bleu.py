"""BLEU against sacrebleu itself on real text that ships on the machine (the licences in
/usr/share/common-licenses, Python's pydoc topics, coreutils' German and French
messages), split into sentences and perturbed (dropped, swapped and replaced words,
truncation, empty hypotheses, orders without a match, several references), for every
smoothing method and tokenizer; hand-computed cases; the Keras metric on token ids
against corpus_bleu across batches, under XLA and on two replicas; bad inputs."""

from __future__ import annotations

import functools
import gettext
import math
import os
import random
import re

import keras
import numpy as np
import pytest
import sacrebleu
import tensorflow as tf
from sacrebleu.metrics import BLEU as SacreBLEU

from kerasdl.metrics.bleu import (
    BLEU,
    BLEUScore,
    _clipped_matches_pairwise,
    _clipped_matches_sorted,
    _tokenize,
    compute_bleu,
    corpus_bleu,
    sentence_bleu,
)
from tests.strategies import two_cpu_strategy

LICENSES = "/usr/share/common-licenses"
SMOOTHING = ("exp", "floor", "add-k", "none")


# Real text ------------------------------------------------------------------------------


def _sentences(text: str, keep_newlines: bool = False) -> list[str]:
    if not keep_newlines:
        text = re.sub(r"\s+", " ", text)
    parts = re.split(r"(?<=[.!?;])\s+", text)
    return [p.strip() for p in parts if 3 <= len(p.split()) <= 60]


@functools.cache
def license_sentences() -> tuple[str, ...]:
    if not os.path.isdir(LICENSES):
        pytest.skip(f"{LICENSES} is not on this machine")
    text = ""
    for name in sorted(os.listdir(LICENSES)):
        path = os.path.join(LICENSES, name)
        with open(path, encoding="utf-8", errors="replace") as f:
            text += f.read() + "\n"
    return tuple(dict.fromkeys(_sentences(text)))


@functools.cache
def pydoc_sentences() -> tuple[str, ...]:
    from pydoc_data.topics import topics

    text = "\n".join(topics[k] for k in sorted(topics))
    # Raw lines keep their newlines (and hyphens before them) for 13a's "-\n" rule.
    return tuple(dict.fromkeys(_sentences(text, keep_newlines=True)))


@functools.cache
def translated_messages(language: str) -> tuple[str, ...]:
    path = f"/usr/share/locale/{language}/LC_MESSAGES/coreutils.mo"
    if not os.path.exists(path):
        pytest.skip(f"{path} is not on this machine")
    with open(path, "rb") as f:
        catalog = gettext.GNUTranslations(f)._catalog
    messages = [" ".join(v.split()) for k, v in sorted(catalog.items(), key=str) if k]
    return tuple(m for m in dict.fromkeys(messages) if isinstance(m, str) and len(m.split()) > 2)


def perturb(sentence: str, rng: random.Random, vocabulary: list[str]) -> str:
    """A hypothesis made from a reference sentence by one of the usual errors."""
    words = sentence.split()
    kind = rng.randrange(9)
    if kind == 0 and len(words) > 1:
        del words[rng.randrange(len(words))]
    elif kind == 1 and len(words) > 1:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    elif kind == 2:
        words[rng.randrange(len(words))] = rng.choice(vocabulary)
    elif kind == 3:
        words = words[: rng.randrange(1, len(words) + 1)]
    elif kind == 4:
        words = words + rng.sample(vocabulary, 3)
    elif kind == 5:
        rng.shuffle(words)  # most higher-order n-grams stop matching
    elif kind == 6:
        words = [w.upper() if rng.random() < 0.3 else w for w in words]
    elif kind == 7:
        return ""
    return " ".join(words)


def make_corpus(sentences, size: int, num_refs: int = 1, seed: int = 0):
    """(hypotheses, reference streams): each reference stream is a perturbation of the
    sentences too, so that the hypotheses match each stream differently."""
    rng = random.Random(seed)
    picked = rng.sample(list(sentences), min(size, len(sentences)))
    vocabulary = sorted({w for s in picked for w in s.split()})
    hypotheses = [perturb(s, rng, vocabulary) for s in picked]
    streams = [picked]
    for _ in range(num_refs - 1):
        streams.append([perturb(s, rng, vocabulary) or s for s in picked])
    return hypotheses, streams


def assert_same_score(ours: BLEUScore, theirs, smooth_method="exp", smooth_value=None):
    assert ours.sys_len == theirs.sys_len
    assert ours.ref_len == theirs.ref_len
    counts, totals = list(ours.counts), list(ours.totals)
    if smooth_method == "add-k" and any(ours.counts):
        # sacrebleu reports its counts and totals after adding k to the orders above 1
        # (up to the first order without n-grams).
        k = 1 if smooth_value is None else smooth_value
        for n in range(1, len(counts)):
            if totals[n - 1] == 0 and n > 1:
                break
            counts[n] += k
            totals[n] += k
    np.testing.assert_allclose(counts, theirs.counts, rtol=0, atol=1e-12)
    np.testing.assert_allclose(totals, theirs.totals, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.precisions, theirs.precisions, rtol=1e-12, atol=1e-12)
    assert ours.bp == pytest.approx(theirs.bp, rel=1e-12, abs=1e-15)
    assert ours.score == pytest.approx(theirs.score, abs=1e-4, rel=1e-10)


# Strings against sacrebleu --------------------------------------------------------------


@pytest.mark.parametrize("smooth_method", SMOOTHING)
@pytest.mark.parametrize("tokenize", ["13a", "intl", "none"])
def test_corpus_bleu_equals_sacrebleu(tokenize, smooth_method):
    hyps, refs = make_corpus(license_sentences(), 300, seed=1)
    for lowercase in (False, True):
        ours = corpus_bleu(
            hyps, refs, smooth_method=smooth_method, tokenize=tokenize, lowercase=lowercase
        )
        theirs = sacrebleu.corpus_bleu(
            hyps, refs, smooth_method=smooth_method, tokenize=tokenize, lowercase=lowercase
        )
        assert_same_score(ours, theirs, smooth_method)


@pytest.mark.parametrize("tokenize", ["13a", "intl", "none"])
def test_text_with_newlines_hyphens_and_symbols(tokenize):
    """pydoc's raw lines (newlines, "-\\n", code, digits) and entity-escaped lines."""
    hyps, refs = make_corpus(pydoc_sentences(), 400, num_refs=2, seed=2)
    rng = random.Random(3)
    escapes = ["&quot;", "&amp;", "&lt;", "&gt;", "&amp;lt;", "<skipped>", "-\n", "\n", "1.5-2"]
    hyps = [h + rng.choice(escapes) + " end" if rng.random() < 0.3 else h for h in hyps]
    ours = corpus_bleu(hyps, refs, tokenize=tokenize)
    assert_same_score(ours, sacrebleu.corpus_bleu(hyps, refs, tokenize=tokenize))


@pytest.mark.parametrize("language", ["de", "fr"])
def test_translated_messages_with_unicode_punctuation(language):
    hyps, refs = make_corpus(translated_messages(language), 300, num_refs=2, seed=4)
    for tokenize in ("13a", "intl"):
        ours = corpus_bleu(hyps, refs, tokenize=tokenize)
        assert_same_score(ours, sacrebleu.corpus_bleu(hyps, refs, tokenize=tokenize))


def test_tokenizers_equal_sacrebleus_line_by_line():
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
    from sacrebleu.tokenizers.tokenizer_intl import TokenizerV14International

    rng = random.Random(5)
    # Digits of other scripts (٣, ½ are \\p{N}), runs of punctuation, symbols, characters
    # beyond U+FFFF, the separators the tokenizers join lines with.
    alphabet = list("ab5.,-&;<>/ \n\"'()«»„“…€$%٣½¿!?·—") + ["&quot;", "&amp;", "<skipped>"]
    alphabet += ["-\n", "\U0001d7ec", "\ua8d0", "\U0001f600", "\U00010a50"]
    lines = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(12))) for _ in range(3000)]
    lines += list(pydoc_sentences()[:300]) + list(translated_messages("de")[:300])
    lines += ["3.14 and 1,000.", "a.b,c", "..,,..", "5-3 -5 a-b", "x\U0001d7ec.y", "x\ua8d0.y", ""]
    for name, tokenizer in (("13a", Tokenizer13a()), ("intl", TokenizerV14International())):
        expected = [tokenizer(line.rstrip()).split() for line in lines]
        assert _tokenize(lines, name, False) == expected, name
        # Text without characters beyond U+FFFF takes other (faster) classes.
        bmp = [line for line in lines if all(ord(c) <= 0xFFFF for c in line)]
        assert len(bmp) > 1000
        expected = [tokenizer(line.rstrip()).split() for line in bmp]
        assert _tokenize(bmp, name, False) == expected, name


@pytest.mark.parametrize("smooth_method", SMOOTHING)
def test_several_references_streams_and_per_hypothesis(smooth_method):
    hyps, refs = make_corpus(license_sentences(), 200, num_refs=3, seed=6)
    # Variable numbers of references: None entries are skipped, as in sacrebleu.
    refs[2] = [None if i % 3 == 0 else r for i, r in enumerate(refs[2])]
    theirs = sacrebleu.corpus_bleu(hyps, refs, smooth_method=smooth_method)
    ours = corpus_bleu(hyps, refs, smooth_method=smooth_method)
    assert_same_score(ours, theirs, smooth_method)
    per_hypothesis = [[r for r in refs_i if r is not None] for refs_i in zip(*refs, strict=True)]
    again = corpus_bleu(
        hyps, per_hypothesis, smooth_method=smooth_method, references_layout="per_hypothesis"
    )
    assert again == ours


@pytest.mark.parametrize(("smooth_method", "smooth_value"), [("floor", 0.5), ("add-k", 2)])
def test_smoothing_values(smooth_method, smooth_value):
    hyps, refs = make_corpus(license_sentences(), 100, seed=7)
    hyps = [" ".join(reversed(h.split())) for h in hyps]  # few higher-order matches
    ours = corpus_bleu(hyps, refs, smooth_method=smooth_method, smooth_value=smooth_value)
    theirs = sacrebleu.corpus_bleu(
        hyps, refs, smooth_method=smooth_method, smooth_value=smooth_value
    )
    assert_same_score(ours, theirs, smooth_method, smooth_value)


@pytest.mark.parametrize("max_order", [1, 2, 3, 5, 6])
def test_max_order(max_order):
    hyps, refs = make_corpus(license_sentences(), 150, num_refs=2, seed=8)
    for smooth_method in SMOOTHING:
        ours = corpus_bleu(hyps, refs, max_order=max_order, smooth_method=smooth_method)
        metric = SacreBLEU(max_ngram_order=max_order, smooth_method=smooth_method)
        assert_same_score(ours, metric.corpus_score(hyps, refs), smooth_method)


@pytest.mark.parametrize("smooth_method", SMOOTHING)
def test_sentence_bleu_equals_sacrebleu(smooth_method):
    hyps, refs = make_corpus(license_sentences(), 120, num_refs=2, seed=9)
    for hyp, *sentence_refs in zip(hyps, *refs, strict=True):
        for effective_order in (True, False):
            ours = sentence_bleu(
                hyp, sentence_refs, smooth_method=smooth_method, effective_order=effective_order
            )
            theirs = sacrebleu.sentence_bleu(
                hyp,
                sentence_refs,
                smooth_method=smooth_method,
                use_effective_order=effective_order,
            )
            assert_same_score(ours, theirs, smooth_method)


def test_edge_cases_against_sacrebleu():
    sentences = license_sentences()[:40]
    cases = {
        "all empty hypotheses": ([""] * 5, [list(sentences[:5])]),
        "some empty": (["", sentences[1], ""], [list(sentences[:3])]),
        "no 4-gram match": (
            [" ".join(s.split()[::-1]) for s in sentences[:10]],
            [list(sentences[:10])],
        ),
        "no match at all": (["zzz yyy xxx"] * 3, [list(sentences[:3])]),
        "short hypotheses": (["a", "b c", "d e f"], [["a b", "b c", "d e f g"]]),
        "longer than the references": (
            [s + " " + s for s in sentences[:10]],
            [list(sentences[:10])],
        ),
        "empty reference": (["a b c", "d"], [["", "d e"]]),
        "identical": (list(sentences[:10]), [list(sentences[:10])]),
        "whitespace only": (["   ", "\t"], [["a", "b"]]),
    }
    for name, (hyps, refs) in cases.items():
        for smooth_method in SMOOTHING:
            for effective_order in (False, True):
                ours = corpus_bleu(
                    hyps, refs, smooth_method=smooth_method, effective_order=effective_order
                )
                theirs = sacrebleu.corpus_bleu(
                    hyps, refs, smooth_method=smooth_method, use_effective_order=effective_order
                )
                try:
                    assert_same_score(ours, theirs, smooth_method)
                except AssertionError as error:
                    raise AssertionError(f"{name}, {smooth_method}: {error}") from None


def test_closest_reference_length_prefers_the_shorter_on_a_tie():
    # Hypothesis of 5 tokens, references of 4 and 6: both 1 away, the shorter (4) counts.
    result = corpus_bleu(["a b c d e"], [["a b c d"], ["a b c d e f"]], tokenize="none")
    assert result.ref_len == 4
    assert result.bp == 1.0
    theirs = sacrebleu.corpus_bleu(["a b c d e"], [["a b c d"], ["a b c d e f"]])
    assert theirs.ref_len == 4
    # A shorter hypothesis is penalised against the closest reference, not the shortest.
    result = corpus_bleu(["a b c d e f g"], [["a b c"], ["a b c d e f g h"]], tokenize="none")
    assert result.ref_len == 8
    assert result.bp == pytest.approx(math.exp(1 - 8 / 7))


def test_hand_computed_cases():
    # Papineni et al.'s example: "the" seven times, clipped to 2 by the first reference.
    result = corpus_bleu(
        ["the the the the the the the"],
        [["the cat is on the mat"], ["there is a cat on the mat"]],
        max_order=1,
        smooth_method="none",
        tokenize="none",
    )
    assert result.counts == (2,) and result.totals == (7,)
    assert result.ref_len == 7 and result.bp == 1.0
    assert result.score == pytest.approx(100 * 2 / 7, abs=1e-12)

    # p1 = 5/6, p2 = 3/5, p3 = 2/4, p4 = 1/3 (n-grams through "a" miss); c = r = 6.
    result = corpus_bleu(["the cat sat on a mat"], [["the cat sat on the mat"]])
    p = [5 / 6, 3 / 5, 2 / 4, 1 / 3]
    assert result.counts == (5, 3, 2, 1)
    assert result.score == pytest.approx(100 * math.exp(sum(map(math.log, p)) / 4), abs=1e-10)
    result = corpus_bleu(["mat cat the"], [["the cat sat on the mat"]], tokenize="none")
    # p1 = 3/3, p2 = 0/2 -> 1/(2*2), p3 = 0/1 -> 1/(4*1), p4: no 4-gram -> 0; BP e^(1-2).
    assert result.counts == (3, 0, 0, 0) and result.totals == (3, 2, 1, 0)
    assert result.precisions[:3] == (100.0, 25.0, 25.0) and result.precisions[3] == 0.0
    assert result.bp == pytest.approx(math.exp(-1))
    assert result.score == pytest.approx(0.0, abs=1e-12)
    eff = corpus_bleu(
        ["mat cat the"], [["the cat sat on the mat"]], tokenize="none", effective_order=True
    )
    assert eff.score == pytest.approx(100 * math.exp(-1) * (1 * 0.25 * 0.25) ** (1 / 3))


def test_result_prints_like_sacrebleu():
    hyps, refs = make_corpus(license_sentences(), 50, seed=10)
    ours = corpus_bleu(hyps, refs)
    theirs = sacrebleu.corpus_bleu(hyps, refs)
    assert str(ours) == theirs.format()
    assert ours.ratio == pytest.approx(theirs.ratio)


def test_compute_bleu_from_statistics():
    result = compute_bleu([5, 3, 2, 1], [6, 5, 4, 3], sys_len=6, ref_len=7)
    expected = SacreBLEU.compute_bleu([5, 3, 2, 1], [6, 5, 4, 3], 6, 7, smooth_method="exp")
    assert result.score == pytest.approx(expected.score, abs=1e-12)
    with pytest.raises(ValueError, match=r"`counts` and `totals` must have one entry"):
        compute_bleu([1, 2], [3], 1, 1)


def test_bad_string_inputs():
    with pytest.raises(ValueError, match=r"`smooth_method` must be one of"):
        corpus_bleu(["a"], [["a"]], smooth_method="add-one")
    with pytest.raises(ValueError, match=r"`tokenize` must be one of.*Received: tokenize='zh'"):
        corpus_bleu(["a"], [["a"]], tokenize="zh")
    with pytest.raises(ValueError, match=r"`max_order` must be > 0"):
        corpus_bleu(["a"], [["a"]], max_order=0)
    with pytest.raises(ValueError, match=r"`smooth_value` must be > 0"):
        corpus_bleu(["a"], [["a"]], smooth_method="floor", smooth_value=0)
    with pytest.raises(TypeError, match=r"`hypotheses` must be a sequence of strings"):
        corpus_bleu("a b", [["a b"]])
    with pytest.raises(ValueError, match=r"`hypotheses` must hold at least one string"):
        corpus_bleu([], [[]])
    with pytest.raises(TypeError, match=r"`hypotheses` must hold strings.*hypotheses\[1\]=3"):
        corpus_bleu(["a", 3], [["a", "b"]])
    with pytest.raises(ValueError, match=r"`references\[0\]` must hold one reference per hyp"):
        corpus_bleu(["a", "b"], [["a"]])
    with pytest.raises(TypeError, match=r"`references\[0\]\[1\]` must be a string or None"):
        corpus_bleu(["a", "b"], [["a", 2]])
    with pytest.raises(ValueError, match=r"at least one reference.*hypotheses\[0\]"):
        corpus_bleu(["a"], [[None]])
    with pytest.raises(ValueError, match=r"one list of references per hypothesis \(2\)"):
        corpus_bleu(["a", "b"], [["a", "b"]], references_layout="per_hypothesis")
    with pytest.raises(ValueError, match=r"`references_layout` must be one of"):
        corpus_bleu(["a"], [["a"]], references_layout="rows")
    with pytest.raises(TypeError, match=r"`hypothesis` must be a string"):
        sentence_bleu(["a"], ["a"])


def test_flat_reference_list_is_one_stream():
    assert corpus_bleu(["a b c", "d e"], ["a b c", "d f"]) == corpus_bleu(
        ["a b c", "d e"], [["a b c", "d f"]]
    )


# The Keras metric on token ids ----------------------------------------------------------


def random_ids(seed, batch=6, refs=3, length=14, ref_length=16, vocab=9):
    """Ids in 1..vocab-1 (few distinct ids: many repeated n-grams), 0 padding at the end
    and in the middle of some rows."""
    rng = np.random.default_rng(seed)
    y_true = rng.integers(1, vocab, size=(batch, refs, ref_length))
    y_pred = rng.integers(1, vocab, size=(batch, length))
    y_pred[:, : length // 2] = y_true[:, 0, : length // 2]  # long matches
    for b in range(batch):
        y_pred[b, rng.integers(length // 2, length + 1) :] = 0
        for r in range(refs):
            y_true[b, r, rng.integers(0, ref_length + 1) :] = 0
    y_pred[0, 3] = 0  # padding inside a sequence is dropped
    return y_true.astype("int32"), y_pred.astype("int32")


def as_words(ids, pad_id=0, end_id=None):
    words = []
    for t in ids:
        if end_id is not None and t == end_id:
            break
        if t != pad_id:
            words.append(str(int(t)))
    return " ".join(words)


def expected_bleu(batches, **kwargs):
    hyps, streams = [], None
    pad_id, end_id = kwargs.pop("pad_id", 0), kwargs.pop("end_id", None)
    for y_true, y_pred in batches:
        y_true = np.asarray(y_true)
        if y_true.ndim == 2:
            y_true = y_true[:, None, :]
        streams = streams or [[] for _ in range(y_true.shape[1])]
        for b in range(len(y_pred)):
            hyps.append(as_words(y_pred[b], pad_id, end_id))
            for r, stream in enumerate(streams):
                stream.append(as_words(y_true[b, r], pad_id, end_id))
    return corpus_bleu(hyps, streams, tokenize="none", **kwargs)


@pytest.mark.parametrize("smooth_method", SMOOTHING)
def test_metric_equals_corpus_bleu_across_batches(smooth_method):
    batches = [random_ids(seed) for seed in range(4)]
    for effective_order in (False, True):
        metric = BLEU(smooth_method=smooth_method, effective_order=effective_order)
        for y_true, y_pred in batches:
            metric.update_state(y_true, y_pred)
        expected = expected_bleu(
            batches, smooth_method=smooth_method, effective_order=effective_order
        )
        assert float(metric.result()) == pytest.approx(expected.score, abs=1e-4)
        got = metric.bleu_score()
        assert got.counts == expected.counts and got.totals == expected.totals
        assert (got.sys_len, got.ref_len) == (expected.sys_len, expected.ref_len)
        assert got.score == pytest.approx(expected.score, abs=1e-9)


def test_metric_on_real_sentences_equals_sacrebleu():
    """13a-tokenized licence sentences as ids: the metric gives sacrebleu's score."""
    hyps, refs = make_corpus(license_sentences(), 64, num_refs=2, seed=11)
    hyp_tokens = _tokenize(hyps, "13a", False)
    ref_tokens = [_tokenize(stream, "13a", False) for stream in refs]
    vocabulary = {}
    for tokens in hyp_tokens + [t for stream in ref_tokens for t in stream]:
        for token in tokens:
            vocabulary.setdefault(token, len(vocabulary) + 1)
    length = max(len(t) for t in hyp_tokens + [t for s in ref_tokens for t in s])

    def ids(tokens):
        row = [vocabulary[t] for t in tokens]
        return row + [0] * (length - len(row))

    y_pred = np.array([ids(t) for t in hyp_tokens])
    y_true = np.stack([[ids(t) for t in stream] for stream in ref_tokens], axis=1)
    metric = BLEU()
    for start in range(0, 64, 16):
        metric.update_state(y_true[start : start + 16], y_pred[start : start + 16])
    theirs = sacrebleu.corpus_bleu(hyps, refs)
    assert float(metric.result()) == pytest.approx(theirs.score, abs=1e-4)
    assert metric.bleu_score().counts == tuple(theirs.counts)


def test_metric_end_id_single_reference_and_float_ids():
    y_true, y_pred = random_ids(12, refs=1)
    y_pred[:, 5] = 2  # end token: the rest of each hypothesis is ignored
    y_true[1, 0, 3] = 2
    metric = BLEU(end_id=2, smooth_method="floor")
    metric.update_state(y_true[:, 0, :].astype("float32"), y_pred.astype("float32"))
    expected = expected_bleu([(y_true, y_pred)], end_id=2, smooth_method="floor")
    assert float(metric.result()) == pytest.approx(expected.score, abs=1e-4)
    assert metric.bleu_score().sys_len == expected.sys_len


def test_metric_other_pad_id_and_max_order():
    y_true, y_pred = random_ids(13)
    y_true = np.where(y_true == 0, 99, y_true)
    y_pred = np.where(y_pred == 0, 99, y_pred)
    for max_order in (1, 2, 6):
        metric = BLEU(pad_id=99, max_order=max_order)
        metric.update_state(y_true, y_pred)
        expected = expected_bleu([(y_true, y_pred)], pad_id=99, max_order=max_order)
        assert float(metric.result()) == pytest.approx(expected.score, abs=1e-4)


def test_metric_graph_and_xla():
    batches = [random_ids(seed) for seed in range(2)]
    expected = expected_bleu(batches).score
    for jit_compile in (False, True):
        metric = BLEU()
        update = tf.function(metric.update_state, jit_compile=jit_compile)
        for y_true, y_pred in batches:
            update(tf.constant(y_true), tf.constant(y_pred))
        result = tf.function(metric.result, jit_compile=jit_compile)()
        assert float(result) == pytest.approx(expected, abs=1e-4), jit_compile


def test_metric_graph_with_unknown_lengths():
    metric = BLEU()
    spec = [
        tf.TensorSpec([None, None, None], tf.int32),
        tf.TensorSpec([None, None], tf.int32),
    ]
    update = tf.function(metric.update_state, input_signature=spec)
    batches = [random_ids(20, length=10, ref_length=7), random_ids(21, length=5, ref_length=12)]
    for y_true, y_pred in batches:
        update(y_true, y_pred)
    assert float(metric.result()) == pytest.approx(expected_bleu(batches).score, abs=1e-4)


def test_metric_long_sequences_sort_ngram_keys():
    """Past _PAIRWISE_LIMIT token pairs the metric sorts n-gram keys; same counts."""
    batches = [random_ids(seed, batch=4, refs=2, length=60, ref_length=70) for seed in (40, 41)]
    expected = expected_bleu(batches)
    for jit_compile in (None, True):
        metric = BLEU()
        update = (
            metric.update_state
            if jit_compile is None
            else tf.function(metric.update_state, jit_compile=True)
        )
        for y_true, y_pred in batches:
            update(tf.constant(y_true), tf.constant(y_pred))
        assert metric.bleu_score().counts == expected.counts, jit_compile
        assert float(metric.result()) == pytest.approx(expected.score, abs=1e-4)


@pytest.mark.parametrize("shapes", [(3, 1, 1, 1), (5, 9, 3, 3), (6, 14, 16, 2), (2, 4, 30, 1)])
def test_pairwise_and_sorted_counts_agree(shapes):
    batch, length, ref_length, refs = shapes
    rng = np.random.default_rng(length)
    hyp = rng.integers(1, 4, (batch, length)).astype("int32")
    ref = rng.integers(1, 4, (batch, refs, ref_length)).astype("int32")
    hyp_len = rng.integers(0, length + 1, batch).astype("int32")
    ref_len = rng.integers(0, ref_length + 1, (batch, refs)).astype("int32")
    pairwise = _clipped_matches_pairwise(hyp, hyp_len, ref, ref_len, 5)
    ngram_keys = _clipped_matches_sorted(hyp, hyp_len, ref, ref_len, 5)
    np.testing.assert_array_equal(pairwise, ngram_keys)


def test_metric_two_replicas():
    strategy = two_cpu_strategy()
    batches = [random_ids(seed, batch=8) for seed in range(3)]
    with strategy.scope():
        metric = BLEU(smooth_method="add-k")
    y_true = np.concatenate([b[0] for b in batches])
    y_pred = np.concatenate([b[1] for b in batches])
    dataset = tf.data.Dataset.from_tensor_slices((y_true, y_pred)).batch(8)

    @tf.function
    def step(t, p):
        strategy.run(metric.update_state, args=(t, p))

    for t, p in strategy.experimental_distribute_dataset(dataset):
        step(t, p)
    expected = expected_bleu(batches, smooth_method="add-k")
    assert float(metric.result()) == pytest.approx(expected.score, abs=1e-4)
    assert metric.bleu_score().counts == expected.counts


def test_metric_in_model_evaluate():
    y_true, y_pred = random_ids(30, batch=8)
    inputs = keras.Input(shape=y_pred.shape[1:], dtype="int32")
    model = keras.Model(inputs, keras.layers.Identity()(inputs))
    # Keras 3 evaluates only with a loss; this one is 0 and leaves the metric alone.
    model.compile(loss=lambda t, p: keras.ops.zeros_like(p[:, 0], "float32"), metrics=[BLEU()])
    logs = model.evaluate(y_pred, y_true, batch_size=3, verbose=0, return_dict=True)
    assert logs["bleu"] == pytest.approx(expected_bleu([(y_true, y_pred)]).score, abs=1e-4)


def test_metric_reset_and_config():
    y_true, y_pred = random_ids(14)
    metric = BLEU(max_order=3, smooth_method="floor", smooth_value=0.2, pad_id=1, end_id=2)
    metric.update_state(y_true, y_pred)
    first = float(metric.result())
    metric.reset_state()
    assert float(metric.result()) == 0.0
    metric.update_state(y_true, y_pred)
    assert float(metric.result()) == first
    config = metric.get_config()
    for key, value in {
        "max_order": 3,
        "smooth_method": "floor",
        "smooth_value": 0.2,
        "effective_order": False,
        "pad_id": 1,
        "end_id": 2,
    }.items():
        assert config[key] == value
    clone = BLEU.from_config(config)
    clone.update_state(y_true, y_pred)
    assert float(clone.result()) == first


def test_metric_bad_inputs():
    y_true, y_pred = random_ids(15)
    with pytest.raises(ValueError, match=r"`y_pred` must have rank 2"):
        BLEU().update_state(y_true, y_pred[:, :, None])
    with pytest.raises(ValueError, match=r"`y_true` must have shape \(batch, refs, len\)"):
        BLEU().update_state(y_true[..., None], y_pred)
    with pytest.raises(ValueError, match=r"y_true batch=2, y_pred batch=6"):
        BLEU().update_state(y_true[:2], y_pred)
    with pytest.raises(TypeError, match=r"`y_pred` must hold integer token ids"):
        BLEU().update_state(y_true, np.array([["a"] * 3] * 6))
    with pytest.raises(TypeError, match=r"`pad_id` must be an int\. Received: pad_id=0\.5"):
        BLEU(pad_id=0.5)
    with pytest.raises(TypeError, match=r"`effective_order` must be a bool"):
        BLEU(effective_order="yes")
    with pytest.raises(ValueError, match=r"`sample_weight` is not supported"):
        BLEU().update_state(y_true, y_pred, sample_weight=np.ones(6))
