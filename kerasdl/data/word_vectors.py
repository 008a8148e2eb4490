"""Pretrained word vectors from local files (GloVe, word2vec) into Keras layers.

The notes' transfer learning with word embeddings: "learn word embeddings from large text
corpus (or download pre-trained embedding online), transfer embedding to new task with
smaller training set, optionally continue to finetune". Nothing here downloads: pass the
path of a file you have.

File formats (read as UTF-8; a path ending in ".gz" is decompressed on the fly):

- "glove": one word per line, `word v_1 ... v_d`, separated by single spaces, no header
  (Stanford's glove.6B.*.txt). `d` is taken from the first line; a word may itself
  contain spaces (glove.840B has a few), since the last `d` fields are the vector.
- "word2vec_text": a header line `V d`, then lines as in "glove" (the C tool's
  `-binary 0` output and gensim's `save_word2vec_format(binary=False)`).
- "word2vec_binary": the header line `V d\\n`, then for each word its UTF-8 bytes, one
  space, and `d` little-endian float32 values (`4 d` bytes), optionally followed by
  `\\n` (the C tool writes one, gensim does not), as in GoogleNews-vectors-negative300.bin.
  A word ends at its first space, so this format cannot hold words with spaces.

A word that appears twice keeps its first vector (as gensim does).
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from kerasdl._validation import check_one_of, check_positive_int

WORD_VECTOR_FORMATS = ("glove", "word2vec_text", "word2vec_binary")
OOV_MODES = ("unk", "zeros", "error")


def _open(path: str | os.PathLike, mode: str):
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"`path` must be an existing file. Received: path={path!r}")
    opener = gzip.open if path.endswith(".gz") else open
    if mode == "binary":
        return opener(path, "rb")
    return opener(path, "rt", encoding="utf-8")


def _parse_numbers(text: str) -> np.ndarray:
    """Space-separated numbers as float32, parsed in C. NumPy 2 raises ValueError on a bad
    field; older versions stop there with a warning, which the caller's size check catches."""
    return np.fromstring(text, dtype=np.float32, sep=" ")


def _parse_text(lines, path, dim, expected, vocab_limit, first_line):
    """Words and vectors of text lines `word v_1 ... v_d`; `d` from the first line if None."""
    words: list[str] = []
    rows: list[np.ndarray] = []
    seen: set[str] = set()
    entries = 0
    for number, line in enumerate(lines, start=first_line):
        line = line.rstrip("\r\n").rstrip(" ")
        if not line:
            continue
        if dim is None:
            dim = line.count(" ")
            if dim < 1:
                raise ValueError(
                    f"`path` line {number} must be a word followed by its vector. "
                    f"Received: {line[:80]!r} in {path}"
                )
        # The last d fields are the vector; whatever precedes them is the word (almost
        # always the first field, so split there and look further only when needed).
        word, _, rest = line.partition(" ")
        if rest.count(" ") != dim - 1:
            parts = line.rsplit(" ", dim)
            word, rest = parts[0], (parts[-1] if dim == 1 else line[len(parts[0]) + 1 :])
        vector = None
        if word and rest:
            try:
                vector = _parse_numbers(rest)
            except ValueError:
                vector = None
        if vector is None or vector.size != dim:
            raise ValueError(
                f"`path` line {number} must hold a word and {dim} numbers. "
                f"Received: {line[:80]!r} in {path}"
            )
        entries += 1
        if word not in seen:
            seen.add(word)
            words.append(word)
            rows.append(vector)
        if (vocab_limit is not None and len(words) == vocab_limit) or entries == expected:
            break
    if expected is not None and vocab_limit is None and entries < expected:
        raise ValueError(
            f"`path` must hold the {expected} vectors its header announces. "
            f"Received: {entries} in {path}"
        )
    matrix = np.stack(rows) if rows else np.zeros((0, dim or 0), np.float32)
    return words, matrix


def _read_header(line: str, path: str) -> tuple[int, int]:
    fields = line.split()
    if len(fields) != 2 or not all(f.isdigit() for f in fields):
        raise ValueError(
            "`path` must start with the word2vec header line `V d` (vocabulary size and "
            f"dimension). Received: {line.strip()[:80]!r} in {path}"
        )
    count, dim = int(fields[0]), int(fields[1])
    if dim < 1:
        raise ValueError(f"`path` header must have a dimension d >= 1. Received: d={dim}")
    return count, dim


def _parse_binary(data: bytes, path: str, vocab_limit: int | None):
    end = data.find(b"\n")
    if end < 0:
        raise ValueError(f"`path` must start with the header line `V d`. Received: {path}")
    count, dim = _read_header(data[:end].decode("utf-8", "replace"), path)
    wanted = count if vocab_limit is None else min(count, vocab_limit)
    size = 4 * dim
    words: list[str] = []
    rows: list[np.ndarray] = []
    seen: set[str] = set()
    position = end + 1
    for index in range(count):
        if len(words) == wanted:
            break
        while data[position : position + 1] == b"\n":
            position += 1
        space = data.find(b" ", position)
        if space < 0 or space + 1 + size > len(data):
            raise ValueError(
                f"`path` must hold the {count} vectors its header announces. "
                f"Received: the file ends at word {index} in {path}"
            )
        word = data[position:space].decode("utf-8")
        vector = np.frombuffer(data, dtype="<f4", count=dim, offset=space + 1)
        position = space + 1 + size
        if word in seen:
            continue
        seen.add(word)
        words.append(word)
        rows.append(vector)
    matrix = np.stack(rows).astype(np.float32) if rows else np.zeros((0, dim), np.float32)
    return words, matrix


def load_word_vectors(
    path: str | os.PathLike,
    format: str = "glove",
    vocab_limit: int | None = None,
) -> tuple[list[str], np.ndarray]:
    """Reads pretrained word vectors from a local GloVe or word2vec file.

    Args:
        path: the file (see the module docstring for the formats); ".gz" is decompressed.
        format: "glove" (default), "word2vec_text" or "word2vec_binary".
        vocab_limit: keep only the first `vocab_limit` distinct words (the files list the
            most frequent words first), e.g. 100000 of GloVe's 400000; None for all.

    Returns:
        `(vocab, vectors)`: the words in file order, and float32 `[V, d]` vectors,
        `vectors[i]` the vector of `vocab[i]`.

    Raises:
        FileNotFoundError: when `path` is not a file.
        ValueError: on a bad `format` or `vocab_limit`, a malformed header, a line with
            the wrong number of fields, a non-numeric entry, or fewer vectors than the
            header announces.

    Example:

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "glove.txt")
    >>> with open(path, "w", encoding="utf-8") as f:
    ...     _ = f.write("the 0.1 0.2 0.3\\nking 0.5 -0.25 1.0\\n")
    >>> vocab, vectors = load_word_vectors(path)
    >>> vocab, vectors.shape
    (['the', 'king'], (2, 3))
    >>> vectors[1].tolist()
    [0.5, -0.25, 1.0]
    """
    check_one_of("format", format, WORD_VECTOR_FORMATS)
    if vocab_limit is not None:
        check_positive_int("vocab_limit", vocab_limit)
    name = os.fspath(path)
    if format == "word2vec_binary":
        with _open(path, "binary") as f:
            return _parse_binary(f.read(), name, vocab_limit)
    with _open(path, "text") as f:
        if format == "glove":
            words, vectors = _parse_text(f, name, None, None, vocab_limit, 1)
        else:
            count, dim = _read_header(f.readline(), name)
            words, vectors = _parse_text(f, name, dim, count, vocab_limit, 2)
    if not words:
        raise ValueError(f"`path` must hold at least one word vector. Received: {name}")
    return words, vectors


def embedding_layer(
    vectors: Any,
    vocab: Sequence[str],
    trainable: bool = False,
    oov: str = "unk",
    mask_token: str | None = None,
    name: str = "word_embedding",
) -> tuple[keras.layers.StringLookup, keras.layers.Embedding]:
    """A word lookup and an Embedding initialised with pretrained vectors.

    `lookup` maps word strings to row ids and `embedding` maps ids to vectors:
    `embedding(lookup(words))`. The rows are, in order: the mask row (zeros, only with
    `mask_token`), the `[UNK]` row (unless `oov="error"`), then `vectors` in `vocab`
    order.

    Args:
        vectors: `[V, d]` pretrained vectors, e.g. from `load_word_vectors`.
        vocab: the `V` distinct words of the rows of `vectors`.
        trainable: fine-tune the vectors (the notes' optional step 3); default frozen.
        oov: what out-of-vocabulary words get: "unk" (default), one `[UNK]` row set to
            the mean of `vectors` (the "average word"); "zeros", an `[UNK]` row of zeros;
            "error", no `[UNK]` row: looking up an unknown word raises.
        mask_token: a padding token (e.g. "") mapped to row 0, a zero vector, with
            `mask_zero=True` so that masking layers downstream skip it; None for no mask.
        name: the Embedding layer's name (the lookup is named `name + "_lookup"`).

    Returns:
        `(lookup, embedding)`: a `keras.layers.StringLookup` and a `keras.layers.Embedding`
        with `input_dim = V + 1` (+1 with `mask_token`, -1 with `oov="error"`).

    Raises:
        ValueError: when `vectors` is not `[V, d]` with `len(vocab)` rows, `vocab` has a
            duplicate or contains `mask_token`, or `oov` is unknown.

    Example:

    >>> lookup, embedding = embedding_layer(np.array([[1.0, 0.0], [0.0, 3.0]]), ["a", "b"])
    >>> ids = lookup(np.array([["b", "a", "zebra"]]))
    >>> ids.numpy().tolist()
    [[2, 1, 0]]
    >>> embedding(ids).numpy()[0].tolist()  # the unknown word gets the mean vector
    [[0.0, 3.0], [1.0, 0.0], [0.5, 1.5]]
    """
    check_one_of("oov", oov, OOV_MODES)
    if not isinstance(trainable, bool):
        raise TypeError(f"`trainable` must be a bool. Received: trainable={trainable!r}")
    matrix = np.asarray(vectors, dtype=np.float32)
    vocab = [str(word) for word in vocab]
    if matrix.ndim != 2 or matrix.shape[0] != len(vocab) or matrix.shape[0] == 0:
        raise ValueError(
            f"`vectors` must have shape [V, d] with V = len(vocab) = {len(vocab)} > 0. "
            f"Received: vectors.shape={matrix.shape}"
        )
    if len(set(vocab)) != len(vocab):
        seen: set[str] = set()
        duplicate = next(w for w in vocab if w in seen or seen.add(w))
        raise ValueError(f"`vocab` must hold distinct words. Received: {duplicate!r} twice")
    if mask_token is not None and mask_token in vocab:
        raise ValueError(
            f"`mask_token` must not be a word of `vocab`. Received: mask_token={mask_token!r}"
        )
    rows = [matrix]
    if oov == "unk":
        rows.insert(0, matrix.mean(axis=0, keepdims=True))
    elif oov == "zeros":
        rows.insert(0, np.zeros((1, matrix.shape[1]), np.float32))
    if mask_token is not None:
        rows.insert(0, np.zeros((1, matrix.shape[1]), np.float32))
    table = np.concatenate(rows, axis=0)
    lookup = keras.layers.StringLookup(
        vocabulary=vocab,
        num_oov_indices=0 if oov == "error" else 1,
        mask_token=mask_token,
        name=f"{name}_lookup",
    )
    embedding = keras.layers.Embedding(
        table.shape[0],
        table.shape[1],
        mask_zero=mask_token is not None,
        weights=[table],
        trainable=trainable,
        name=name,
    )
    return lookup, embedding
