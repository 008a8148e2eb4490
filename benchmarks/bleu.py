"""Corpus BLEU on 10k sentence pairs of real English (Python's docstrings and pydoc
topics, the licences in /usr/share/common-licenses) with perturbed hypotheses:
kerasdl's `corpus_bleu` vs `sacrebleu.corpus_bleu` (same numbers, checked before timing)
and vs `keras_hub.metrics.Bleu` (string inputs; its brevity penalty uses the shortest
reference, so its score differs with several references), and the in-graph
`kerasdl.metrics.BLEU` on the same sentences as token ids (update + result, graph and
XLA) vs sacrebleu on those ids written as words."""

from __future__ import annotations

import ast
import glob
import os
import random
import re
import sysconfig
from collections.abc import Iterator

import numpy as np
import tensorflow as tf

from benchmarks.timing import compare, row
from kerasdl.metrics.bleu import BLEU, _tokenize, corpus_bleu

LICENSES = "/usr/share/common-licenses"


def real_sentences(limit: int) -> list[str]:
    """Distinct sentences of 3 to 60 words from texts that ship with Python and Debian."""
    from pydoc_data.topics import topics

    texts = [topics[k] for k in sorted(topics)]
    if os.path.isdir(LICENSES):
        for name in sorted(os.listdir(LICENSES)):
            with open(os.path.join(LICENSES, name), encoding="utf-8", errors="replace") as f:
                texts.append(f.read())
    for path in sorted(glob.glob(os.path.join(sysconfig.get_paths()["stdlib"], "*.py"))):
        if sum(len(t) for t in texts) > 400 * limit:  # plenty of sentences already
            break
        with open(path, encoding="utf-8", errors="replace") as f:
            try:
                tree = ast.parse(f.read())
            except SyntaxError:
                continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef):
                doc = ast.get_docstring(node)
                if doc:
                    texts.append(doc)
    sentences = []
    for text in texts:
        for part in re.split(r"(?<=[.!?])\s+", re.sub(r"\s+", " ", text)):
            if 3 <= len(part.split()) <= 60:
                sentences.append(part.strip())
    sentences = list(dict.fromkeys(sentences))
    if len(sentences) < limit:
        raise RuntimeError(f"only {len(sentences)} sentences found, {limit} needed")
    return random.Random(0).sample(sentences, limit)


def perturbed(sentences: list[str], seed: int) -> list[str]:
    rng = random.Random(seed)
    vocabulary = sorted({w for s in sentences[:2000] for w in s.split()})
    out = []
    for s in sentences:
        words = s.split()
        kind = rng.randrange(5)
        if kind == 0 and len(words) > 1:
            del words[rng.randrange(len(words))]
        elif kind == 1 and len(words) > 1:
            i = rng.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
        elif kind == 2:
            words[rng.randrange(len(words))] = rng.choice(vocabulary)
        elif kind == 3:
            words = words[: rng.randrange(1, len(words) + 1)]
        out.append(" ".join(words))
    return out


def token_ids(hyps, refs, batch: int):
    """13a tokens as ids (0 pads), in batches padded to their longest sequence."""
    hyp_tokens = _tokenize(hyps, "13a", False)
    ref_tokens = _tokenize(refs, "13a", False)
    vocabulary = {}
    for tokens in hyp_tokens + ref_tokens:
        for token in tokens:
            vocabulary.setdefault(token, len(vocabulary) + 1)

    def pad(rows):
        width = max(max((len(r) for r in rows), default=0), 1)
        return np.array([[vocabulary[t] for t in r] + [0] * (width - len(r)) for r in rows])

    batches = []
    for start in range(0, len(hyps), batch):
        y_pred = pad(hyp_tokens[start : start + batch])
        y_true = pad(ref_tokens[start : start + batch])
        batches.append((tf.constant(y_true, tf.int32), tf.constant(y_pred, tf.int32)))
    words = [" ".join(str(vocabulary[t]) for t in tokens) for tokens in hyp_tokens]
    ref_words = [" ".join(str(vocabulary[t]) for t in tokens) for tokens in ref_tokens]
    return batches, words, ref_words


def graph_metric(batches, jit_compile: bool):
    metric = BLEU()
    update = tf.function(metric.update_state, jit_compile=jit_compile)
    result = tf.function(metric.result, jit_compile=jit_compile)

    def run():
        metric.reset_state()
        for y_true, y_pred in batches:
            update(y_true, y_pred)
        return float(result())

    return run


def run(size: int = 10_000, batch: int = 500) -> Iterator[str]:
    import keras_hub
    import sacrebleu

    refs = real_sentences(size)
    hyps = perturbed(refs, 1)
    refs2 = perturbed(refs, 2)
    label = f"corpus BLEU, {size} sentence pairs"
    for tokenize in ("13a", "intl", "none"):
        ours = corpus_bleu(hyps, [refs], tokenize=tokenize)
        theirs = sacrebleu.corpus_bleu(hyps, [refs], tokenize=tokenize)
        assert abs(ours.score - theirs.score) < 1e-4, (ours, theirs)
        yield (
            row(
                f"{label}, tokenize={tokenize}",
                "sacrebleu.corpus_bleu",
                *compare(
                    lambda t=tokenize: corpus_bleu(hyps, [refs], tokenize=t),
                    lambda t=tokenize: sacrebleu.corpus_bleu(hyps, [refs], tokenize=t),
                    repeats=3,
                    warmup=1,
                ),
                "< 1",
            )
        )
    ours = corpus_bleu(hyps, [refs, refs2])
    assert abs(ours.score - sacrebleu.corpus_bleu(hyps, [refs, refs2]).score) < 1e-4
    yield (
        row(
            f"{label}, 2 references each",
            "sacrebleu.corpus_bleu",
            *compare(
                lambda: corpus_bleu(hyps, [refs, refs2]),
                lambda: sacrebleu.corpus_bleu(hyps, [refs, refs2]),
                repeats=3,
                warmup=1,
            ),
            "< 1",
        )
    )

    y_true_strings = tf.constant([[r] for r in refs])
    y_pred_strings = tf.constant(hyps)

    def keras_hub_bleu():
        metric = keras_hub.metrics.Bleu(max_order=4)
        metric.update_state(y_true_strings, y_pred_strings)
        return float(metric.result())

    # Checked on a slice: the same data with its own rules gives a close score.
    hub_metric = keras_hub.metrics.Bleu(max_order=4)
    hub_metric.update_state(y_true_strings[:500], y_pred_strings[:500])
    single = corpus_bleu(hyps[:500], [refs[:500]]).score
    assert abs(100 * float(hub_metric.result()) - single) < 5, (hub_metric.result(), single)
    yield (
        row(
            label,
            "keras_hub.metrics.Bleu (strings)",
            # keras_hub takes minutes on 10k pairs: one timed call each.
            *compare(lambda: corpus_bleu(hyps, [refs]), keras_hub_bleu, repeats=1, warmup=0),
            "< 1",
        )
    )

    batches, hyp_words, ref_words = token_ids(hyps, refs, batch)
    expected = sacrebleu.corpus_bleu(hyp_words, [ref_words], tokenize="none").score
    for name, jit_compile in (("graph", False), ("XLA", True)):
        ours_graph = graph_metric(batches, jit_compile)
        assert abs(ours_graph() - expected) < 1e-3, (ours_graph(), expected)
        yield (
            row(
                f"BLEU metric on token ids, {size} pairs in batches of {batch}, {name}",
                "sacrebleu.corpus_bleu on the ids as words",
                *compare(
                    ours_graph,
                    lambda: sacrebleu.corpus_bleu(hyp_words, [ref_words], tokenize="none"),
                    repeats=3,
                    warmup=1,
                ),
                "< 1",
            )
        )
