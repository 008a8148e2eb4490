"""Token vocabularies for sequence models: characters or words to padded id arrays and back.

The notes' language model and translation models first "tokenize this sentence ... form a
vocabulary ... and then map each of these words to ... indices in your vocabulary", with an
extra end-of-sentence token (EOS) so the model can learn when sentences end, and a token
for unknown words (UNK). `Vocabulary` reserves four ids for these:

    0 <pad>   padding after a sequence (Keras' `mask_zero=True` and `ignore_class=0`)
    1 <s>     the start token fed to a decoder before the first output y<1>
    2 </s>    EOS, the last token of every target sequence
    3 <unk>   any token outside the vocabulary

`seq2seq_arrays` turns (source, target) text pairs into the three arrays a teacher-forced
sequence-to-sequence model trains on: source ids, decoder inputs `<s> y<1> ... y<Ty-1>`
and targets `y<1> ... y<Ty>` ending in `</s>`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from kerasdl._validation import check_one_of, check_positive_int

PAD, START, END, UNK = "<pad>", "<s>", "</s>", "<unk>"
SPECIALS = (PAD, START, END, UNK)
LEVELS = ("char", "word")


class Vocabulary:
    """Maps characters or words to ids (after the four reserved ids) and back.

    Args:
        tokens: the vocabulary's tokens (characters for `level="char"`, words for
            `level="word"`), in id order; duplicates and the reserved names are dropped.
        level: "char" splits a text into its characters and joins decoded tokens with "";
            "word" splits on whitespace and joins with " ".

    Attributes:
        tokens: every token in id order, the four reserved ones first.
        pad_id, start_id, end_id, unk_id: 0, 1, 2, 3.

    Example:

    >>> vocab = Vocabulary("abc")
    >>> len(vocab), vocab.tokens[4:]
    (7, ['a', 'b', 'c'])
    >>> ids = vocab.encode(["cab", "ax"], length=5, end=True)
    >>> ids.tolist()
    [[6, 4, 5, 2, 0], [4, 3, 2, 0, 0]]
    >>> vocab.decode(ids)
    ['cab', 'a<unk>']
    """

    pad_id = 0
    start_id = 1
    end_id = 2
    unk_id = 3

    def __init__(self, tokens: Iterable[str], level: str = "char"):
        self.level = check_one_of("level", level, LEVELS)
        if isinstance(tokens, str) and level == "word":
            raise TypeError(
                "`tokens` must be a sequence of words with level='word', not one string. "
                f"Received: tokens={tokens!r:.60}"
            )
        ordered = list(SPECIALS)
        seen = set(SPECIALS)
        for token in tokens:
            if not isinstance(token, str) or not token:
                raise TypeError(
                    f"`tokens` must hold non-empty strings. Received: a token {token!r}"
                )
            if level == "char" and len(token) != 1:
                raise ValueError(
                    "`tokens` must be single characters with level='char'. "
                    f"Received: a token {token!r}"
                )
            if token not in seen:
                seen.add(token)
                ordered.append(token)
        self.tokens = ordered
        self._ids = {token: i for i, token in enumerate(ordered)}

    @classmethod
    def from_texts(
        cls,
        texts: Iterable[str],
        level: str = "char",
        max_size: int | None = None,
        min_count: int = 1,
    ) -> Vocabulary:
        """The vocabulary of a corpus: its tokens by decreasing count (ties in sorted
        order), those seen at least `min_count` times, at most `max_size` in all (the
        reserved four included)."""
        check_one_of("level", level, LEVELS)
        check_positive_int("min_count", min_count)
        if max_size is not None:
            check_positive_int("max_size", max_size)
            if max_size <= len(SPECIALS):
                raise ValueError(
                    f"`max_size` must be > {len(SPECIALS)} (the reserved tokens). "
                    f"Received: max_size={max_size}"
                )
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(_split(text, level))
        ranked = sorted(
            (token for token, count in counts.items() if count >= min_count and token),
            key=lambda token: (-counts[token], token),
        )
        if max_size is not None:
            ranked = ranked[: max_size - len(SPECIALS)]
        return cls(ranked, level=level)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self._ids

    def token_ids(self, text: str) -> list[int]:
        """The ids of one text's tokens (no start, end or padding)."""
        return [self._ids.get(token, self.unk_id) for token in _split(text, self.level)]

    def encode(
        self,
        texts: Sequence[str],
        length: int | None = None,
        start: bool = False,
        end: bool = False,
    ) -> np.ndarray:
        """Encodes texts into an int32 array `[len(texts), length]` padded with 0.

        Args:
            texts: the strings.
            length: the array's width; default the longest encoded text. A text that does
                not fit raises a ValueError (nothing is silently cut).
            start: put `<s>` before each text's tokens.
            end: put `</s>` after each text's tokens.
        """
        if isinstance(texts, str):
            raise TypeError(
                f"`texts` must be a sequence of strings, not one string. Received: {texts!r:.60}"
            )
        rows = [
            [self.start_id] * start + self.token_ids(text) + [self.end_id] * end for text in texts
        ]
        longest = max((len(row) for row in rows), default=0)
        if length is None:
            length = longest
        else:
            check_positive_int("length", length)
            if longest > length:
                i = next(i for i, row in enumerate(rows) if len(row) > length)
                raise ValueError(
                    f"`length` must be >= every encoded text's length. Received: length="
                    f"{length}, and texts[{i}]={texts[i]!r} encodes to {len(rows[i])} ids"
                )
        ids = np.zeros((len(rows), length), np.int32)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
        return ids

    def decode(self, ids: Any, stop_at_end: bool = True) -> list[str]:
        """Decodes id rows `[n, T]` (or one row `[T]`, giving one string in a list):
        padding and start tokens are skipped, and a row ends at its first `</s>` (unless
        `stop_at_end=False`, when `</s>` is skipped like padding)."""
        ids = np.asarray(ids)
        if ids.ndim == 1:
            ids = ids[None]
        if ids.ndim != 2 or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(
                "`ids` must be integer token ids of shape [n, T] or [T]. "
                f"Received: ids with dtype {ids.dtype} and shape {ids.shape}"
            )
        joiner = "" if self.level == "char" else " "
        texts = []
        for row in ids.tolist():
            tokens = []
            for i in row:
                if i == self.end_id and stop_at_end:
                    break
                if i in (self.pad_id, self.start_id, self.end_id):
                    continue
                if not 0 <= i < len(self.tokens):
                    raise ValueError(
                        f"`ids` must be in [0, {len(self.tokens)}). Received: an id {i}"
                    )
                tokens.append(self.tokens[i])
            texts.append(joiner.join(tokens))
        return texts

    def get_config(self) -> dict[str, Any]:
        """`Vocabulary(**config)` rebuilds this vocabulary (e.g. from JSON)."""
        return {"tokens": self.tokens[len(SPECIALS) :], "level": self.level}

    def __repr__(self) -> str:
        return f"Vocabulary(size={len(self)}, level={self.level!r})"


def seq2seq_arrays(
    sources: Sequence[str],
    targets: Sequence[str],
    source_vocab: Vocabulary,
    target_vocab: Vocabulary,
    source_length: int | None = None,
    target_length: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The arrays of teacher-forced training: `(source_ids, decoder_input_ids, target_ids)`.

    For a target `y<1> ... y<Ty>` (with `y<Ty> = </s>`) the decoder reads the previous
    correct token at every step, `<s> y<1> ... y<Ty-1>`, and is trained to output
    `y<1> ... y<Ty>`; both are padded with 0 (train with `ignore_class=0`).

    Args:
        sources, targets: the text pairs.
        source_vocab, target_vocab: their vocabularies.
        source_length: width of `source_ids`; default the longest source.
        target_length: width of the decoder arrays, `Ty` with the end token; default the
            longest target plus one.

    Returns:
        Three int32 arrays: `[n, source_length]`, `[n, target_length]`, `[n, target_length]`.

    Example:

    >>> digits = Vocabulary("0123456789-")
    >>> letters = Vocabulary("abcdefghijklmnopqrstuvwxyz ")
    >>> x, decoder_in, y = seq2seq_arrays(["ab"], ["1-2"], letters, digits)
    >>> x.tolist(), decoder_in.tolist(), y.tolist()
    ([[4, 5]], [[1, 5, 14, 6]], [[5, 14, 6, 2]])
    """
    if len(sources) != len(targets):
        raise ValueError(
            "`sources` and `targets` must have the same length. "
            f"Received: {len(sources)} sources and {len(targets)} targets"
        )
    source_ids = source_vocab.encode(sources, length=source_length)
    target_ids = target_vocab.encode(targets, length=target_length, end=True)
    decoder_inputs = np.zeros_like(target_ids)
    decoder_inputs[:, 0] = target_vocab.start_id
    decoder_inputs[:, 1:] = target_ids[:, :-1]
    # After the end token the decoder input is padding too.
    decoder_inputs[:, 1:][target_ids[:, :-1] == target_vocab.end_id] = target_vocab.pad_id
    return source_ids, decoder_inputs, target_ids


def _split(text: str, level: str) -> list[str]:
    if not isinstance(text, str):
        raise TypeError(f"Texts must be strings. Received: {text!r} of type {type(text).__name__}")
    return list(text) if level == "char" else text.split()
