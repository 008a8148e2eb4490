"""Vocabulary: reserved ids, encode/decode round trips at character and word level, corpus
vocabularies ranked by count, errors, and the teacher-forcing arrays of seq2seq_arrays."""

import json

import numpy as np
import pytest

from kerasdl.data.vocabulary import SPECIALS, Vocabulary, seq2seq_arrays


def test_reserved_ids_come_first():
    vocab = Vocabulary("xyz")
    assert vocab.tokens[:4] == list(SPECIALS) == ["<pad>", "<s>", "</s>", "<unk>"]
    assert (vocab.pad_id, vocab.start_id, vocab.end_id, vocab.unk_id) == (0, 1, 2, 3)
    assert len(vocab) == 7 and "y" in vocab and "q" not in vocab


def test_char_round_trip_on_random_strings():
    rng = np.random.default_rng(0)
    alphabet = list("abcdefgh ,.-0123")
    vocab = Vocabulary(alphabet)
    texts = ["".join(rng.choice(alphabet, rng.integers(1, 12))) for _ in range(50)]
    ids = vocab.encode(texts, start=True, end=True)
    assert ids.dtype == np.int32
    assert ids.shape == (50, max(len(t) for t in texts) + 2)
    # Independent check of the layout: <s>, the character ids, </s>, then padding.
    for text, row in zip(texts, ids, strict=True):
        expected = [1] + [4 + alphabet.index(ch) for ch in text] + [2]
        assert row.tolist() == expected + [0] * (ids.shape[1] - len(expected))
    assert vocab.decode(ids) == texts


def test_unknown_tokens_and_decode_options():
    vocab = Vocabulary("ab")
    ids = vocab.encode(["abz"], length=6, end=True)
    assert ids.tolist() == [[4, 5, 3, 2, 0, 0]]
    assert vocab.decode(ids) == ["ab<unk>"]
    # Tokens after the first end token are ignored unless asked otherwise.
    row = np.array([4, 2, 5, 0])
    assert vocab.decode(row) == ["a"]
    assert vocab.decode(row, stop_at_end=False) == ["ab"]


def test_word_level_from_texts_ranks_by_count():
    texts = ["the cat sat", "the dog sat", "the cat ran"]
    vocab = Vocabulary.from_texts(texts, level="word")
    # Counts: the 3, cat 2, sat 2, dog 1, ran 1; ties in sorted order.
    assert vocab.tokens[4:] == ["the", "cat", "sat", "dog", "ran"]
    assert vocab.decode(vocab.encode(texts)) == texts
    small = Vocabulary.from_texts(texts, level="word", max_size=6)
    assert small.tokens[4:] == ["the", "cat"]
    assert small.decode(small.encode(["the dog sat"])) == ["the <unk> <unk>"]
    frequent = Vocabulary.from_texts(texts, level="word", min_count=2)
    assert frequent.tokens[4:] == ["the", "cat", "sat"]


def test_config_round_trip_through_json():
    vocab = Vocabulary.from_texts(["hello world", "hello there"], level="word")
    again = Vocabulary(**json.loads(json.dumps(vocab.get_config())))
    assert again.tokens == vocab.tokens and again.level == "word"


def test_errors_name_the_argument():
    vocab = Vocabulary("ab")
    with pytest.raises(ValueError, match=r"`length` must be >= every encoded text's length"):
        vocab.encode(["abab"], length=3)
    with pytest.raises(TypeError, match=r"`texts` must be a sequence of strings"):
        vocab.encode("ab")
    with pytest.raises(ValueError, match=r"`level` must be one of"):
        Vocabulary("ab", level="byte")
    with pytest.raises(ValueError, match=r"single characters"):
        Vocabulary(["ab"])
    with pytest.raises(ValueError, match=r"`max_size` must be > 4"):
        Vocabulary.from_texts(["a"], max_size=4)
    with pytest.raises(ValueError, match=r"`ids` must be in \[0, 6\)"):
        vocab.decode([9])


def test_seq2seq_arrays_shift_targets_by_one():
    source_vocab, target_vocab = Vocabulary("abc"), Vocabulary("xyz")
    sources, targets = ["abc", "a"], ["xy", "zzz"]
    x, decoder_in, y = seq2seq_arrays(sources, targets, source_vocab, target_vocab)
    assert x.tolist() == [[4, 5, 6], [4, 0, 0]]
    # Targets end with </s>; decoder inputs are <s> then the targets shifted right, with
    # padding (not the end token) fed after a shorter target ends.
    assert y.tolist() == [[4, 5, 2, 0], [6, 6, 6, 2]]
    assert decoder_in.tolist() == [[1, 4, 5, 0], [1, 6, 6, 6]]
    with pytest.raises(ValueError, match=r"same length"):
        seq2seq_arrays(["a"], [], source_vocab, target_vocab)
