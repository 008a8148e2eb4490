"""Siamese encoder and pair classifier: unit-norm encodings, one set of weights for both
towers, the notes' logistic head recomputed in numpy, training on scikit-learn's digits
with a triplet loss and with binary cross-entropy on pairs, save/load, errors."""

import keras
import numpy as np
import pytest

from kerasdl.data.digits import load_digits_images
from kerasdl.losses.triplet import TripletSemiHardLoss
from kerasdl.models.siamese import siamese_encoder, siamese_pair_classifier
from kerasdl.verification.pairs import all_pairs, balanced_pairs
from kerasdl.verification.roc import roc_auc


@pytest.fixture(scope="module")
def digits():
    return load_digits_images()


def test_default_encoder_outputs_unit_vectors():
    keras.utils.set_random_seed(0)
    encoder = siamese_encoder((8, 8, 1), embedding_dim=24)
    x = np.random.default_rng(0).random((5, 8, 8, 1)).astype("float32")
    encodings = keras.ops.convert_to_numpy(encoder(x))
    assert encodings.shape == (5, 24) and encoder.output_shape == (None, 24)
    np.testing.assert_allclose(np.linalg.norm(encodings, axis=1), 1.0, rtol=1e-5)
    # The encoding is the Dense output divided by its norm.
    dense = keras.Model(encoder.input, encoder.get_layer("encoding").output)
    raw = keras.ops.convert_to_numpy(dense(x))
    np.testing.assert_allclose(
        encodings, raw / np.linalg.norm(raw, axis=1, keepdims=True), rtol=1e-5
    )


@pytest.mark.parametrize("pooling", ["avg", "max", "flatten"])
def test_given_backbone_feature_map(pooling):
    backbone = keras.Sequential(
        [keras.Input((12, 12, 3)), keras.layers.Conv2D(6, 3, strides=2, activation="relu")]
    )
    encoder = siamese_encoder(embedding_dim=10, backbone=backbone, pooling=pooling)
    assert encoder.input_shape == (None, 12, 12, 3)
    encodings = keras.ops.convert_to_numpy(
        encoder(np.random.default_rng(1).random((3, 12, 12, 3)).astype("float32"))
    )
    np.testing.assert_allclose(np.linalg.norm(encodings, axis=1), 1.0, rtol=1e-5)
    assert any(layer is backbone for layer in encoder.layers)  # used as is, not copied


def test_given_vector_backbone_layer():
    encoder = siamese_encoder((20,), embedding_dim=4, backbone=keras.layers.Dense(8, "relu"))
    out = keras.ops.convert_to_numpy(encoder(np.random.default_rng(2).normal(size=(6, 20))))
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)


def test_pair_classifier_shares_the_encoder_and_computes_the_notes_formula():
    keras.utils.set_random_seed(1)
    encoder = siamese_encoder((8, 8, 1), embedding_dim=16)
    model = siamese_pair_classifier(encoder)
    # One encoder: its weights once, plus the head's w and b.
    assert len(model.weights) == len(encoder.weights) + 2
    assert {id(w) for w in encoder.weights} <= {id(w) for w in model.weights}
    rng = np.random.default_rng(3)
    xi, xj = rng.random((2, 6, 8, 8, 1)).astype("float32")
    w, b = model.get_layer("same_identity").get_weights()
    fi, fj = (keras.ops.convert_to_numpy(encoder(x)) for x in (xi, xj))
    expected = 1 / (1 + np.exp(-(np.abs(fi - fj) @ w + b)))
    got = keras.ops.convert_to_numpy(model([xi, xj]))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model([xj, xi])), got, rtol=1e-6)
    # Changing the encoder changes both towers.
    encoder.get_layer("encoding").kernel.assign(encoder.get_layer("encoding").kernel * -1.0)
    fi2 = keras.ops.convert_to_numpy(encoder(xi))
    np.testing.assert_allclose(fi2, -fi, rtol=1e-5, atol=1e-6)


def test_chi_square_pair_classifier():
    keras.utils.set_random_seed(2)
    encoder = siamese_encoder((8, 8, 1), embedding_dim=8)
    model = siamese_pair_classifier(encoder, form="chi-square")
    rng = np.random.default_rng(4)
    xi, xj = rng.random((2, 4, 8, 8, 1)).astype("float32")
    fi, fj = (keras.ops.convert_to_numpy(encoder(x)).astype(np.float64) for x in (xi, xj))
    w, b = model.get_layer("same_identity").get_weights()
    chi = (fi - fj) ** 2 / (np.abs(fi) + np.abs(fj) + 1e-7)
    expected = 1 / (1 + np.exp(-(chi @ w + b)))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model([xi, xj])), expected, rtol=1e-4)


def test_triplet_training_on_digits_separates_classes(digits):
    """A few epochs on 600 digits: the loss falls, and same-digit pairs of held-out images
    end up closer than different-digit pairs (pair AUC), more so than before training."""
    (x_train, y_train), (x_test, y_test) = digits
    keras.utils.set_random_seed(0)
    encoder = siamese_encoder((8, 8, 1), embedding_dim=16, filters=(16, 32))
    before = roc_auc(*all_pairs(encoder.predict(x_test, verbose=0), y_test)[:2])
    encoder.compile(keras.optimizers.Adam(3e-3), TripletSemiHardLoss(0.5))
    history = encoder.fit(x_train[:600], y_train[:600], batch_size=100, epochs=6, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    encodings = encoder.predict(x_test, verbose=0)
    np.testing.assert_allclose(np.linalg.norm(encodings, axis=1), 1.0, rtol=1e-5)
    distances, same, _ = all_pairs(encodings, y_test)
    after = roc_auc(distances, same)
    assert after > 0.95 and after > before + 0.03
    assert distances[same].mean() < 0.6 * distances[~same].mean()


def test_pair_classifier_training_on_digits(digits):
    (x_train, y_train), (x_test, y_test) = digits
    keras.utils.set_random_seed(0)
    model = siamese_pair_classifier(siamese_encoder((8, 8, 1), embedding_dim=16, filters=(16,)))
    index, same = balanced_pairs(y_train, num_pairs=3000, seed=0)
    model.compile(keras.optimizers.Adam(3e-3), "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(
        [x_train[index[:, 0]], x_train[index[:, 1]]], same, batch_size=100, epochs=4, verbose=0
    )
    assert history.history["loss"][-1] < 0.75 * history.history["loss"][0]
    index, same = balanced_pairs(y_test, num_pairs=600, seed=1)
    _, accuracy = model.evaluate([x_test[index[:, 0]], x_test[index[:, 1]]], same, verbose=0)
    assert accuracy > 0.8  # chance: 0.5


def test_save_and_load_round_trip(tmp_path):
    keras.utils.set_random_seed(3)
    encoder = siamese_encoder((8, 8, 1), embedding_dim=8)
    model = siamese_pair_classifier(encoder, form="chi-square")
    x = np.random.default_rng(5).random((2, 3, 8, 8, 1)).astype("float32")
    expected = keras.ops.convert_to_numpy(model([x[0], x[1]]))
    model.save(tmp_path / "pair.keras")
    restored = keras.saving.load_model(tmp_path / "pair.keras")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(restored([x[0], x[1]])), expected, rtol=1e-6
    )
    encoder.save(tmp_path / "encoder.keras")
    restored_encoder = keras.saving.load_model(tmp_path / "encoder.keras")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(restored_encoder(x[0])),
        keras.ops.convert_to_numpy(encoder(x[0])),
        rtol=1e-6,
    )


def test_errors():
    with pytest.raises(ValueError, match=r"`embedding_dim` must be > 0. Received: embedding_dim=0"):
        siamese_encoder((8, 8, 1), embedding_dim=0)
    with pytest.raises(ValueError, match=r"`pooling` must be one of .*Received: pooling='sum'"):
        siamese_encoder((8, 8, 1), pooling="sum")
    with pytest.raises(ValueError, match=r"`input_shape` is needed unless `backbone`"):
        siamese_encoder()
    with pytest.raises(ValueError, match=r"`input_shape` must be a non-empty tuple.*\(8, -1\)"):
        siamese_encoder((8, -1))
    with pytest.raises(ValueError, match=r"default convolutional backbone needs images"):
        siamese_encoder((64,))
    with pytest.raises(ValueError, match=r"`filters` must not be empty"):
        siamese_encoder((8, 8, 1), filters=())
    with pytest.raises(TypeError, match=r"`backbone` must be a keras.Model or keras.layers.Layer"):
        siamese_encoder((8, 8, 1), backbone="resnet")
    with pytest.raises(ValueError, match=r"features must be vectors .* or feature maps"):
        siamese_encoder((5, 7), backbone=keras.layers.Dense(3))
    with pytest.raises(ValueError, match=r"`pooling='flatten'` needs a feature map of known size"):
        siamese_encoder((None, None, 3), backbone=keras.layers.Conv2D(4, 3))
    with pytest.raises(TypeError, match=r"`encoder` must be a keras.Model"):
        siamese_pair_classifier(keras.layers.Dense(3))
    with pytest.raises(ValueError, match=r"`form` must be one of .*Received: form='L1'"):
        siamese_pair_classifier(siamese_encoder((8, 8, 1)), form="L1")
    images = keras.Input((8, 8, 1))
    with pytest.raises(ValueError, match=r"`encoder` must output encodings of shape \(batch, D\)"):
        siamese_pair_classifier(keras.Model(images, keras.layers.Conv2D(2, 3)(images)))
