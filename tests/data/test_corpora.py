"""The English corpus loader on the Debian packages installed here and on files the tests
write, and `encode_corpus` against gensim's vocabulary and a plain re-derivation."""

import collections

import numpy as np
import pytest

from kerasdl.data.corpora import encode_corpus, english_corpus, tokenize_english


def installed(source):
    try:
        english_corpus(source, max_tokens=10)
    except (FileNotFoundError, ImportError):
        return False
    return True


PACKAGES = {
    "web": "sword-text-web",
    "kjv": "sword-text-kjv",
    "wordnet": "wordnet-base",
    "python-docs": "python3.11-doc",
}


def test_tokenize_english():
    assert tokenize_english("The LORD's word—“Don’t fear,” said 2 men (Acts 27:24).") == [
        "the", "lord", "word", "dont", "fear", "said", "men", "acts",
    ]  # fmt: skip
    assert tokenize_english("Élan vital, naïve café") == ["élan", "vital", "naïve", "café"]
    assert tokenize_english("os.path.join(a_b)") == ["os", "path", "join", "a", "b"]
    with pytest.raises(TypeError, match="`text` must be a str"):
        tokenize_english(["a"])


@pytest.mark.parametrize(
    "source, first_words",
    [
        ("web", ["in", "the", "beginning", "god", "created", "the", "heavens"]),
        ("kjv", ["in", "the", "beginning", "god", "created", "the", "heaven"]),
        ("wordnet", ["entity", "that", "which", "is", "perceived"]),
        ("python-docs", None),
    ],
)
def test_installed_sources(source, first_words):
    if not installed(source):
        pytest.skip(f"apt-get install {PACKAGES[source]}")
    sentences = english_corpus(source, max_tokens=3000)
    assert sum(map(len, sentences)) == 3000
    assert all(len(s) >= 2 for s in sentences)
    words = [w for s in sentences for w in s]
    assert all(w.isalpha() and w == w.lower() for w in words)
    if first_words:
        assert sentences[0][: len(first_words)] == first_words
    # Markup never leaks into the text.
    counts = collections.Counter(words)
    for markup in ("lemma", "strong", "osis", "func", "class", "meth", "note"):
        assert counts[markup] <= 2, markup


def test_sources_in_order_and_token_limit():
    if not (installed("web") and installed("wordnet")):
        pytest.skip("apt-get install sword-text-web wordnet-base")
    web = english_corpus("web", max_tokens=500)
    both = english_corpus(["web", "wordnet"], max_tokens=200_000)
    assert both[: len(web) - 1] == web[:-1]
    assert sum(map(len, both)) == 200_000
    # The WEB has ~0.9M words, so 200k tokens never reach WordNet.
    assert "entity" not in {w for s in both for w in s}


def test_wordnet_glosses_from_a_written_file(tmp_path):
    header = "  1 This software and database is being provided to you, the LICENSEE\n"
    noun = (
        header + "00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 | that which is perceived; "
        '"the entity was real"  \n'
        + "09000000 15 n 02 Paris 0 City_of_Light 0 001 @ 08000000 n 0000 | the capital "
        "and largest city of France  \n"
    )
    (tmp_path / "data.noun").write_text(noun)
    (tmp_path / "data.adj").write_text(
        header + "00001000 00 a 01 able(p) 0 000 | (usually followed by `to') having ability\n"
    )
    (tmp_path / "data.verb").write_text(header)
    (tmp_path / "data.adv").write_text(header)
    sentences = english_corpus("wordnet", wordnet_path=str(tmp_path))
    assert sentences == [
        ["entity", "that", "which", "is", "perceived", "the", "entity", "was", "real"],
        ["paris", "city", "of", "light", "the", "capital", "and", "largest", "city", "of",
         "france"],
        ["able", "usually", "followed", "by", "to", "having", "ability"],
    ]  # fmt: skip


def test_python_docs_prose_only(tmp_path):
    (tmp_path / "library").mkdir()
    (tmp_path / "library" / "demo.rst.txt").write_text(
        """:mod:`demo` --- A demo module
=============================

.. module:: demo
   :synopsis: Demo things.

The :func:`spam` function returns eggs.  It is fast.

Example::

   >>> import demo
   >>> demo.spam()

.. note::

   Notes are skipped with their body.

A final paragraph
spans two lines.
"""
    )
    sentences = english_corpus("python-docs", python_docs_path=str(tmp_path))
    assert sentences == [
        ["demo", "a", "demo", "module"],
        ["the", "spam", "function", "returns", "eggs"],
        ["it", "is", "fast"],
        ["a", "final", "paragraph", "spans", "two", "lines"],
    ]


def test_missing_sources_name_the_debian_package(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install sword-text-kjv"):
        english_corpus("kjv", sword_path=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="apt-get install sword-text-web"):
        english_corpus(["web", "kjv"], sword_path=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="apt-get install wordnet-base"):
        english_corpus("wordnet", wordnet_path=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="apt-get install python3.11-doc"):
        english_corpus("python-docs", python_docs_path=str(tmp_path))


def test_bad_arguments():
    with pytest.raises(ValueError, match="`sources` must be among"):
        english_corpus("wikipedia")
    with pytest.raises(ValueError, match="at least one"):
        english_corpus([])
    with pytest.raises(ValueError, match="`max_tokens` must be > 0"):
        english_corpus("wordnet", max_tokens=0)
    with pytest.raises(ValueError, match="`min_count` must leave at least one word"):
        encode_corpus([["a", "b"]], min_count=2)
    with pytest.raises(TypeError, match="lists of words"):
        encode_corpus("a b")


def test_encode_corpus_matches_gensims_vocabulary():
    gensim_models = pytest.importorskip("gensim.models")
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(300)]
    zipf = 1.0 / np.arange(1, 301)
    sentences = [
        list(rng.choice(words, size=rng.integers(1, 30), p=zipf / zipf.sum())) for _ in range(400)
    ]
    encoded = encode_corpus(sentences, min_count=5)
    model = gensim_models.Word2Vec(min_count=5)
    model.build_vocab(sentences)
    theirs = {w: model.wv.get_vecattr(w, "count") for w in model.wv.index_to_key}
    assert dict(zip(encoded.words, encoded.counts.tolist(), strict=True)) == theirs
    assert np.all(np.diff(encoded.counts) <= 0)
    # Sentences keep their in-vocabulary words, in order; emptied ones are dropped.
    index = {w: i for i, w in enumerate(encoded.words)}
    expected = [[index[w] for w in s if w in index] for s in sentences]
    assert [s.tolist() for s in encoded.sentences] == [e for e in expected if e]
    assert all(s.dtype == np.int32 for s in encoded.sentences)
    top = encode_corpus(sentences, min_count=1, max_vocab=10)
    assert top.words == [w for w, _ in collections.Counter(sum(sentences, [])).most_common(10)]
