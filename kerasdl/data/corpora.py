"""Real English text that Debian packages install, for training word embeddings offline.

The notes learn word embeddings "from large text corpus"; nothing here downloads one.
Each source is read from the files a Debian package installs:

- "web": the World English Bible (2015), `apt-get install sword-text-web`, ~0.9M words;
- "kjv": the King James Version, `apt-get install sword-text-kjv`, ~0.8M words;
- "wordnet": WordNet 3.0's glosses (definitions and usage examples of ~118k synsets),
  each led by its synset's words, `apt-get install wordnet-base`, ~1.7M words;
- "python-docs": the Python documentation's reStructuredText sources, code blocks and
  markup dropped, `apt-get install python3.11-doc` (or any python3.x-doc), ~1.3M words.

Both Bibles are read with PyPI `pysword` (`pip install pysword`). Sentences are Bible
verses, WordNet glosses and the sentences of the documentation's paragraphs, so a
word2vec or GloVe window never joins two unrelated texts.

`tokenize_english` lowercases and keeps runs of letters (any script): digits and
punctuation separate words and are dropped, a possessive "'s" is removed (so "God's"
and "God" are one word) and other apostrophes join their letters ("won't" -> "wont").
`encode_corpus` turns the sentences into the token ids, vocabulary and counts that
`kerasdl.data.skipgrams.skipgram_dataset` trains on, keeping words seen at least
`min_count` times as word2vec and gensim do.
"""

from __future__ import annotations

import functools
import glob
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

import numpy as np

from kerasdl._validation import check_positive_int

ENGLISH_SOURCES = ("web", "kjv", "wordnet", "python-docs")
SWORD_PATH = "/usr/share/sword"
WORDNET_PATH = "/usr/share/wordnet"
PYTHON_DOCS_PATTERN = "/usr/share/doc/python3*/html/_sources"
_SWORD_MODULES = {"web": "engWEB2015eb", "kjv": "engKJV2006eb"}
_DEBIAN_PACKAGES = {
    "web": "sword-text-web",
    "kjv": "sword-text-kjv",
    "wordnet": "wordnet-base",
    "python-docs": "python3.11-doc",
}
_WORD = re.compile(r"[^\W\d_]+")
_POSSESSIVE = re.compile(r"['’]s\b")
_APOSTROPHE = re.compile(r"(?<=[^\W\d_])['’](?=[^\W\d_])")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def tokenize_english(text: str) -> list[str]:
    """Lowercase words of `text`: runs of letters, possessive "'s" removed, apostrophes
    inside words dropped.

    Args:
        text: any text.

    Returns:
        The words, in order.

    Example:

    >>> tokenize_english("In the beginning, God's Spirit (Gen. 1:2) hovered; it won’t.")
    ['in', 'the', 'beginning', 'god', 'spirit', 'gen', 'hovered', 'it', 'wont']
    """
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a str. Received: text of type {type(text).__name__}")
    return _WORD.findall(_APOSTROPHE.sub("", _POSSESSIVE.sub("", text.lower())))


def _missing(source: str, what: str) -> FileNotFoundError:
    return FileNotFoundError(
        f"The '{source}' corpus needs {what}: `apt-get install {_DEBIAN_PACKAGES[source]}`."
    )


def _osis_text(osis: str) -> str:
    """Verse text from OSIS markup: footnotes and headings dropped, tags removed (pysword's
    own cleaning deletes a footnote without a space and joins the words around it)."""
    text = re.sub(r"<note\b.*?</note>|<title\b.*?</title>", " ", osis, flags=re.S)
    text = re.sub(r"</?w\b[^>]*>", "", text)
    return re.sub(r"<[^>]+>", " ", text)


def _bible_verses(source: str, sword_path: str) -> Iterator[str]:
    try:
        from pysword.modules import SwordModules
    except ImportError as error:
        raise ImportError(
            f"The '{source}' corpus is read with pysword: `pip install pysword`."
        ) from error
    module = _SWORD_MODULES[source]
    if not os.path.isdir(os.path.join(sword_path, "mods.d")):
        raise _missing(source, f"the SWORD module {module} under {sword_path}")
    modules = SwordModules(sword_path)
    if module not in modules.parse_modules():
        raise _missing(source, f"the SWORD module {module} under {sword_path}")
    bible = modules.get_bible_from_module(module)
    # zText modules compress many verses per block and pysword decompresses the block
    # again for every verse; keeping the last few blocks reads a Bible ~100x faster.
    bible._decompressed_text = functools.lru_cache(maxsize=4)(bible._decompressed_text)
    for part in bible.get_structure().get_books().values():
        for book in part:
            text = bible.get(books=[book.osis_name], clean=False, join="\n")
            yield from text.split("\n")


def _wordnet_glosses(wordnet_path: str) -> Iterator[str]:
    files = [os.path.join(wordnet_path, f"data.{pos}") for pos in ("noun", "verb", "adj", "adv")]
    if not all(os.path.isfile(f) for f in files):
        raise _missing("wordnet", f"WordNet's data.noun, data.verb, ... under {wordnet_path}")
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                # Lines of the licence header start with two spaces.
                if line.startswith("  ") or " | " not in line:
                    continue
                fields, gloss = line.split(" | ", 1)
                parts = fields.split()
                count = int(parts[3], 16)
                headwords = " ".join(parts[4 : 4 + 2 * count : 2]).replace("_", " ")
                # "adj" lemmas may carry a syntactic marker such as "(p)".
                yield re.sub(r"\([a-z]+\)", "", headwords) + " : " + gloss


def _python_docs_directory() -> str | None:
    found = sorted(glob.glob(PYTHON_DOCS_PATTERN))
    return found[-1] if found else None


def _rst_paragraphs(text: str) -> Iterator[str]:
    """Prose paragraphs of a reStructuredText file: directives, literal blocks, doctest
    lines, tables and section underlines dropped; role names (":func:") removed."""
    paragraph: list[str] = []
    skip_indent = None
    literal_next = False
    for line in text.splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if skip_indent is not None:
            if not stripped or indent > skip_indent:
                continue
            skip_indent = None
        if not stripped:
            if paragraph:
                yield " ".join(paragraph)
                paragraph = []
            continue
        if literal_next or stripped.startswith(".. "):
            # The indented block after "::" or a directive holds code or options.
            skip_indent = indent
            literal_next = False
            if paragraph:
                yield " ".join(paragraph)
                paragraph = []
            if stripped.startswith(".. "):
                continue
        if stripped.startswith((">>>", "...", "+--", "+==", "|")) or not re.search(
            r"[^\W\d_]", stripped
        ):
            continue
        if stripped.endswith("::"):
            literal_next = True
            stripped = stripped[:-2]
        paragraph.append(re.sub(r":[\w:-]+:`", "`", stripped))
    if paragraph:
        yield " ".join(paragraph)


def _python_docs_sentences(directory: str) -> Iterator[str]:
    for path in sorted(glob.glob(os.path.join(directory, "**", "*.rst.txt"), recursive=True)):
        with open(path, encoding="utf-8", errors="replace") as f:
            for paragraph in _rst_paragraphs(f.read()):
                yield from _SENTENCE_END.split(paragraph)


def _source_texts(
    source: str, sword_path: str, wordnet_path: str, python_docs_path: str | None
) -> Iterator[str]:
    if source in _SWORD_MODULES:
        for verse in _bible_verses(source, sword_path):
            yield _osis_text(verse)
    elif source == "wordnet":
        yield from _wordnet_glosses(wordnet_path)
    else:
        directory = python_docs_path or _python_docs_directory()
        if directory is None or not glob.glob(
            os.path.join(directory, "**", "*.rst.txt"), recursive=True
        ):
            where = directory or PYTHON_DOCS_PATTERN
            raise _missing("python-docs", f"the documentation's .rst.txt sources under {where}")
        yield from _python_docs_sentences(directory)


def english_corpus(
    sources: str | Sequence[str] = ("web", "kjv", "wordnet", "python-docs"),
    max_tokens: int | None = None,
    min_sentence_length: int = 2,
    sword_path: str = SWORD_PATH,
    wordnet_path: str = WORDNET_PATH,
    python_docs_path: str | None = None,
) -> list[list[str]]:
    """Tokenised English sentences from locally installed Debian packages.

    Args:
        sources: one or several of "web", "kjv", "wordnet", "python-docs" (see the
            module docstring), read in this order.
        max_tokens: stop once this many tokens are read (the last sentence is cut);
            None reads every source whole. With several sources, the first ones fill
            the budget first.
        min_sentence_length: sentences with fewer tokens are dropped (a lone word has
            no context).
        sword_path: the SWORD library folder of the Bibles (Debian's by default).
        wordnet_path: the folder of WordNet's `data.*` files (Debian's by default).
        python_docs_path: the folder of the documentation's `.rst.txt` sources; default
            the newest `/usr/share/doc/python3.*/html/_sources`.

    Returns:
        A list of sentences, each a list of lowercase words (`tokenize_english`): the
        form `gensim.models.Word2Vec` takes and `encode_corpus` encodes.

    Raises:
        ValueError: for an unknown source or a bad limit.
        FileNotFoundError: when a source's files are not installed; the message names
            the Debian package to install.
        ImportError: when a Bible is asked for and `pysword` is not installed.

    Example:

    >>> sentences = english_corpus("wordnet", max_tokens=1000)  # doctest: +SKIP
    >>> sum(map(len, sentences)), sentences[0][:5]  # doctest: +SKIP
    (1000, ['entity', 'that', 'which', 'is', 'perceived'])
    """
    names = (sources,) if isinstance(sources, str) else tuple(sources)
    if not names:
        raise ValueError(f"`sources` must name at least one of {ENGLISH_SOURCES}. Received: ()")
    unknown = [s for s in names if s not in ENGLISH_SOURCES]
    if unknown:
        raise ValueError(f"`sources` must be among {ENGLISH_SOURCES}. Received: sources={names!r}")
    if max_tokens is not None:
        max_tokens = check_positive_int("max_tokens", max_tokens)
    min_sentence_length = check_positive_int("min_sentence_length", min_sentence_length)
    sentences: list[list[str]] = []
    total = 0
    for source in dict.fromkeys(names):
        for text in _source_texts(source, sword_path, wordnet_path, python_docs_path):
            tokens = tokenize_english(text)
            if len(tokens) < min_sentence_length:
                continue
            if max_tokens is not None and total + len(tokens) >= max_tokens:
                tokens = tokens[: max_tokens - total]
                if len(tokens) >= min_sentence_length:
                    sentences.append(tokens)
                return sentences
            sentences.append(tokens)
            total += len(tokens)
    return sentences


class EncodedCorpus(NamedTuple):
    """Sentences as token ids, with the vocabulary (most frequent word first)."""

    sentences: list[np.ndarray]
    """int32 token ids of each sentence, rare words removed."""
    words: list[str]
    """`words[i]` is the word of id `i`."""
    counts: np.ndarray
    """int64 `[V]` count of each word in the corpus."""


def encode_corpus(
    sentences: Iterable[Sequence[str]], min_count: int = 5, max_vocab: int | None = None
) -> EncodedCorpus:
    """Token ids of tokenised sentences, over the words seen at least `min_count` times.

    As in word2vec and gensim, rarer words are removed from the sentences before any
    window is formed (so windows reach past them), and ids follow decreasing frequency
    (ties: first seen first), the order `restrict_vocab` in the word benchmarks assumes.

    Args:
        sentences: lists of words, e.g. from `english_corpus`.
        min_count: the fewest occurrences a word needs (gensim's and word2vec's 5).
        max_vocab: keep at most this many of the most frequent words; None for all.

    Returns:
        `EncodedCorpus(sentences, words, counts)`; sentences left empty are dropped.

    Example:

    >>> corpus = encode_corpus([["a", "b", "a"], ["c", "a", "b"]], min_count=2)
    >>> corpus.words, corpus.counts.tolist()
    (['a', 'b'], [3, 2])
    >>> [s.tolist() for s in corpus.sentences]
    [[0, 1, 0], [0, 1]]
    """
    min_count = check_positive_int("min_count", min_count)
    if max_vocab is not None:
        max_vocab = check_positive_int("max_vocab", max_vocab)
    if isinstance(sentences, str):
        raise TypeError("`sentences` must be lists of words, not one string.")
    sentences = [list(s) for s in sentences]
    counter: Counter[str] = Counter()
    for sentence in sentences:
        counter.update(sentence)
    # Counter.most_common keeps first-seen order among equal counts.
    kept = [(w, c) for w, c in counter.most_common(max_vocab) if c >= min_count]
    if not kept:
        raise ValueError(
            f"`min_count` must leave at least one word. Received: min_count={min_count}, and "
            f"the most frequent word occurs {max(counter.values(), default=0)} times"
        )
    words = [w for w, _ in kept]
    index = {w: i for i, w in enumerate(words)}
    encoded = []
    for sentence in sentences:
        ids = np.fromiter((index[w] for w in sentence if w in index), np.int32)
        if ids.size:
            encoded.append(ids)
    return EncodedCorpus(encoded, words, np.array([c for _, c in kept], np.int64))
