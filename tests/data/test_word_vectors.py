"""Loading GloVe and word2vec (text and binary) files the tests write themselves, checked
against the vectors written and against gensim's reader and writer; the Embedding and
StringLookup pair built from them (UNK, zeros, error, mask), fine-tuning and a `.keras`
round trip."""

import gzip
import struct

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.data.word_vectors import embedding_layer, load_word_vectors

WORDS = ["the", "king", "queen", "café", "naïve", "a.b", "new york"]
# A word2vec binary word ends at its first space.
BINARY_WORDS = WORDS[:-1]


def random_vectors(n=7, dim=5, seed=0):
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


def text_lines(words, vectors):
    # repr of a float32 round-trips exactly.
    return [
        f"{w} " + " ".join(repr(float(x)) for x in v) + "\n"
        for w, v in zip(words, vectors, strict=True)
    ]


def write_binary(path, words, vectors, newline=True):
    """The word2vec C tool's `-binary 1` layout: header, then word, space, float32s, \\n."""
    with open(path, "wb") as f:
        f.write(f"{len(words)} {vectors.shape[1]}\n".encode())
        for word, vector in zip(words, vectors, strict=True):
            f.write(word.encode("utf-8") + b" ")
            f.write(struct.pack(f"<{len(vector)}f", *vector))
            if newline:
                f.write(b"\n")


class TestLoad:
    def test_glove_text_with_a_spaced_word(self, tmp_path):
        vectors = random_vectors()
        path = tmp_path / "glove.txt"
        path.write_text("".join(text_lines(WORDS, vectors)), encoding="utf-8")
        vocab, got = load_word_vectors(path)
        assert vocab == WORDS
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, vectors)

    def test_word2vec_text_header_limit_and_gzip(self, tmp_path):
        vectors = random_vectors(dim=3, seed=1)
        content = f"{len(WORDS)} 3\n" + "".join(text_lines(WORDS, vectors))
        path = tmp_path / "vectors.txt.gz"
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(content)
        vocab, got = load_word_vectors(path, format="word2vec_text")
        assert vocab == WORDS
        np.testing.assert_array_equal(got, vectors)
        vocab, got = load_word_vectors(path, format="word2vec_text", vocab_limit=2)
        assert vocab == WORDS[:2] and got.shape == (2, 3)

    @pytest.mark.parametrize("newline", [True, False])
    def test_word2vec_binary(self, tmp_path, newline):
        vectors = random_vectors(n=6, dim=4, seed=2)
        path = tmp_path / "vectors.bin"
        write_binary(path, BINARY_WORDS, vectors, newline)
        vocab, got = load_word_vectors(path, format="word2vec_binary")
        assert vocab == BINARY_WORDS
        np.testing.assert_array_equal(got, vectors)
        vocab, got = load_word_vectors(path, format="word2vec_binary", vocab_limit=3)
        assert vocab == BINARY_WORDS[:3]
        np.testing.assert_array_equal(got, vectors[:3])

    def test_duplicates_keep_the_first_vector(self, tmp_path):
        vectors = random_vectors(n=3, dim=2, seed=3)
        path = tmp_path / "dup.txt"
        path.write_text("".join(text_lines(["a", "b", "a"], vectors)), encoding="utf-8")
        vocab, got = load_word_vectors(path)
        assert vocab == ["a", "b"]
        np.testing.assert_array_equal(got, vectors[:2])

    def test_errors(self, tmp_path):
        with pytest.raises(FileNotFoundError, match=r"`path` must be an existing file"):
            load_word_vectors(tmp_path / "missing.txt")
        bad = tmp_path / "bad.txt"
        bad.write_text("a 1 2 3\nb 1 2\n", encoding="utf-8")
        with pytest.raises(ValueError, match=r"`path` line 2 must hold a word and 3 numbers"):
            load_word_vectors(bad)
        bad.write_text("a 1 2 3\nb 1 x 3\n", encoding="utf-8")
        with pytest.raises(ValueError, match=r"`path` line 2 must hold a word and 3 numbers"):
            load_word_vectors(bad)
        bad.write_text("3 2\na 1 2\nb 3 4\n", encoding="utf-8")
        with pytest.raises(ValueError, match=r"must hold the 3 vectors its header announces"):
            load_word_vectors(bad, format="word2vec_text")
        bad.write_text("a 1 2\n", encoding="utf-8")
        with pytest.raises(ValueError, match=r"must start with the word2vec header line"):
            load_word_vectors(bad, format="word2vec_text")
        binary = tmp_path / "short.bin"
        write_binary(binary, ["a", "b"], random_vectors(n=2, dim=3))
        binary.write_bytes(binary.read_bytes().replace(b"2 3\n", b"5 3\n", 1))
        with pytest.raises(ValueError, match=r"must hold the 5 vectors .* ends at word 2"):
            load_word_vectors(binary, format="word2vec_binary")
        with pytest.raises(ValueError, match=r"`format` must be one of"):
            load_word_vectors(bad, format="fasttext")
        with pytest.raises(ValueError, match=r"`vocab_limit` must be > 0"):
            load_word_vectors(bad, vocab_limit=0)


class TestGensim:
    """gensim's writer and reader as the reference for the word2vec formats."""

    @pytest.fixture
    def keyed_vectors(self):
        gensim_models = pytest.importorskip("gensim.models")
        kv = gensim_models.KeyedVectors(vector_size=6)
        kv.add_vectors(BINARY_WORDS, random_vectors(n=6, dim=6, seed=4))
        return kv

    @pytest.mark.parametrize("binary", [True, False])
    def test_reads_gensim_files(self, keyed_vectors, tmp_path, binary):
        path = tmp_path / ("g.bin" if binary else "g.txt")
        keyed_vectors.save_word2vec_format(str(path), binary=binary)
        fmt = "word2vec_binary" if binary else "word2vec_text"
        vocab, got = load_word_vectors(path, format=fmt)
        assert vocab == keyed_vectors.index_to_key
        np.testing.assert_array_equal(got, keyed_vectors.vectors)

    def test_gensim_reads_our_binary_and_glove_files_alike(self, keyed_vectors, tmp_path):
        from gensim.models import KeyedVectors

        vectors = random_vectors(n=6, dim=6, seed=5)
        path = tmp_path / "c.bin"
        write_binary(path, BINARY_WORDS, vectors)
        reference = KeyedVectors.load_word2vec_format(str(path), binary=True)
        vocab, got = load_word_vectors(path, format="word2vec_binary")
        assert vocab == reference.index_to_key
        np.testing.assert_array_equal(got, reference.vectors)
        glove = tmp_path / "glove.txt"
        glove.write_text("".join(text_lines(BINARY_WORDS, vectors)), encoding="utf-8")
        reference = KeyedVectors.load_word2vec_format(str(glove), binary=False, no_header=True)
        vocab, got = load_word_vectors(glove)
        assert vocab == reference.index_to_key
        np.testing.assert_array_equal(got, reference.vectors)


class TestEmbeddingLayer:
    def test_lookup_and_unk_is_the_mean(self):
        vectors = random_vectors()
        lookup, embedding = embedding_layer(vectors, WORDS)
        words = np.array([["queen", "café", "emperor"], ["new york", "the", ""]])
        got = embedding(lookup(words)).numpy()
        np.testing.assert_array_equal(got[0, 0], vectors[2])
        np.testing.assert_array_equal(got[0, 1], vectors[3])
        np.testing.assert_allclose(got[0, 2], vectors.mean(axis=0), rtol=1e-6)
        np.testing.assert_array_equal(got[1, 0], vectors[6])
        np.testing.assert_allclose(got[1, 2], vectors.mean(axis=0), rtol=1e-6)
        assert not embedding.trainable and embedding.input_dim == len(WORDS) + 1

    def test_zeros_error_and_mask(self):
        vectors = random_vectors(n=3, dim=2)
        lookup, embedding = embedding_layer(vectors, ["a", "b", "c"], oov="zeros")
        np.testing.assert_array_equal(embedding(lookup(np.array(["zzz"]))).numpy(), [[0, 0]])
        lookup, embedding = embedding_layer(vectors, ["a", "b", "c"], oov="error")
        assert embedding.input_dim == 3
        np.testing.assert_array_equal(
            embedding(lookup(np.array(["c", "a"]))).numpy(), vectors[[2, 0]]
        )
        with pytest.raises(Exception, match=r"(?i)out of vocabulary|OOV|not found"):
            lookup(np.array(["zzz"]))
        lookup, embedding = embedding_layer(vectors, ["a", "b", "c"], mask_token="")
        ids = lookup(np.array([["b", "", "zzz"]]))
        assert ids.numpy().tolist() == [[3, 0, 1]]
        np.testing.assert_array_equal(embedding.compute_mask(ids).numpy(), [[True, False, True]])
        np.testing.assert_array_equal(embedding(ids).numpy()[0, 1], [0, 0])

    def test_fine_tuning_and_keras_round_trip(self, tmp_path):
        keras.utils.set_random_seed(0)
        vectors = random_vectors(n=4, dim=3)
        lookup, embedding = embedding_layer(vectors, ["w", "x", "y", "z"], trainable=True)
        words = keras.Input((2,), dtype="string")
        pooled = keras.layers.GlobalAveragePooling1D()(embedding(lookup(words)))
        model = keras.Model(words, keras.layers.Dense(1)(pooled))
        model.compile("sgd", "mse")
        x = tf.constant([["w", "x"], ["y", "q"]])
        model.fit(x, np.array([[1.0], [-1.0]]), epochs=2, verbose=0)
        assert not np.allclose(embedding.embeddings.numpy()[1:], vectors)
        path = tmp_path / "model.keras"
        model.save(path)
        restored = keras.saving.load_model(path)
        np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0))

    def test_errors(self):
        vectors = random_vectors(n=3, dim=2)
        with pytest.raises(
            ValueError,
            match=r"`vectors` must have shape \[V, d\] with V = "
            r"len\(vocab\) = 2",
        ):
            embedding_layer(vectors, ["a", "b"])
        with pytest.raises(ValueError, match=r"`vocab` must hold distinct words. Received: 'a'"):
            embedding_layer(vectors, ["a", "b", "a"])
        with pytest.raises(ValueError, match=r"`oov` must be one of"):
            embedding_layer(vectors, ["a", "b", "c"], oov="mean")
        with pytest.raises(ValueError, match=r"`mask_token` must not be a word of `vocab`"):
            embedding_layer(vectors, ["a", "b", ""], mask_token="")
        with pytest.raises(TypeError, match=r"`trainable` must be a bool"):
            embedding_layer(vectors, ["a", "b", "c"], trainable="no")
