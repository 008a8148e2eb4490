"""ResNet-50 against keras.applications.ResNet50, and the small residual classifier."""

import keras
import numpy as np
import pytest

from kerasdl.layers import ConvBlock, IdentityBlock
from kerasdl.models import residual_cnn, resnet50


def random_weights(model, seed=0):
    """Random values for every weight, positive moving variances, so that the outputs
    depend on every weight (a fresh network's softmax is nearly uniform)."""
    rng = np.random.default_rng(seed)
    return [
        rng.uniform(0.5, 1.5, w.shape).astype("float32")
        if "variance" in w.path
        else (rng.normal(size=w.shape) * 0.05).astype("float32")
        for w in model.weights
    ]


def test_parameter_count_equals_keras_applications():
    ours, theirs = resnet50(), keras.applications.ResNet50(weights=None)
    assert ours.count_params() == theirs.count_params() == 25_636_712
    assert [w.shape for w in ours.weights] == [w.shape for w in theirs.weights]
    assert resnet50(include_top=False).count_params() == 23_587_712


def test_keras_applications_weights_give_the_same_outputs():
    theirs = keras.applications.ResNet50(
        weights=None, include_top=True, input_shape=(64, 64, 3), classes=7
    )
    theirs.set_weights(random_weights(theirs))
    ours = resnet50(input_shape=(64, 64, 3), classes=7)
    ours.set_weights(theirs.get_weights())
    x = np.random.default_rng(1).normal(size=(2, 64, 64, 3)).astype("float32")
    expected = theirs.predict(x, verbose=0)
    assert expected.std() > 0.01  # informative outputs, not a uniform softmax
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pooling, shape", [(None, (2, 2, 2, 2048)), ("avg", (2, 2048))])
def test_feature_extractor_matches(pooling, shape):
    theirs = keras.applications.ResNet50(
        weights=None, include_top=False, input_shape=(64, 64, 3), pooling=pooling
    )
    theirs.set_weights(random_weights(theirs, seed=2))
    ours = resnet50(input_shape=(64, 64, 3), include_top=False, pooling=pooling)
    ours.set_weights(theirs.get_weights())
    x = np.random.default_rng(3).normal(size=(2, 64, 64, 3)).astype("float32")
    got = ours.predict(x, verbose=0)
    assert got.shape == shape
    np.testing.assert_allclose(got, theirs.predict(x, verbose=0), rtol=1e-4, atol=1e-5)


def test_weights_from_local_files(tmp_path):
    source = resnet50(input_shape=(32, 32, 3), classes=3)
    source.set_weights(random_weights(source, seed=4))
    ours_file = tmp_path / "ours.weights.h5"
    source.save_weights(ours_file)
    loaded = resnet50(input_shape=(32, 32, 3), classes=3, weights=str(ours_file))
    for a, b in zip(loaded.get_weights(), source.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)

    # A file written by keras.applications (flat layer names) loads too.
    theirs = keras.applications.ResNet50(weights=None, input_shape=(32, 32, 3), classes=3)
    theirs.set_weights(random_weights(theirs, seed=5))
    theirs_file = tmp_path / "resnet50_theirs.h5"
    theirs.save_weights(str(theirs_file).replace(".h5", ".weights.h5"))
    converted = resnet50(
        input_shape=(32, 32, 3), classes=3, weights=str(theirs_file).replace(".h5", ".weights.h5")
    )
    for a, b in zip(converted.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"input_shape": (224, 224)}, r"`input_shape` must be \(height, width, channels\)"),
        ({"input_shape": (None, None, 3)}, r"known height and width when include_top=True"),
        ({"include_top": False, "pooling": "mean"}, r"`pooling` must be None, 'avg' or 'max'"),
        ({"weights": "/no/such/file.h5"}, r"`weights` must be None, 'imagenet' or the path"),
        ({"classes": 0}, r"`classes` must be > 0"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        resnet50(**kwargs)


def test_identity_block_rejects_channel_change_and_stride():
    with pytest.raises(ValueError, match=r"must have filters\[2\]=16 channels.*ConvBlock"):
        IdentityBlock(3, (4, 4, 16))(np.zeros((1, 8, 8, 3), "float32"))
    with pytest.raises(ValueError, match=r"`strides` of an IdentityBlock must be 1"):
        IdentityBlock(3, (4, 4, 16), strides=2)


def test_conv_block_parameter_count():
    # 1x1 3->4, 3x3 4->4, 1x1 4->16, shortcut 1x1 3->16 (all with bias), 4 BN x 4 params.
    block = ConvBlock(3, (4, 4, 16))
    block.build((None, 8, 8, 3))
    convs = (3 * 4 + 4) + (9 * 4 * 4 + 4) + (4 * 16 + 16) + (3 * 16 + 16)
    assert block.count_params() == convs + 4 * (4 + 4 + 16 + 16)


def test_residual_cnn_learns_digits_quickly():
    from kerasdl.data import load_digits_images

    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = load_digits_images()
    model = residual_cnn((8, 8, 1), classes=10, filters=(16, 32))
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, epochs=6, batch_size=64, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy > 0.9


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"input_shape": (8, 8)}, r"`input_shape` must be \(height, width, channels\)"),
        ({"classes": 1}, r"`classes` must be >= 2"),
        ({"filters": ()}, r"`filters` must name at least one stage"),
        ({"dropout": 1.0}, r"`dropout` must be in \[0, 1\)"),
    ],
)
def test_residual_cnn_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        residual_cnn(**{"input_shape": (8, 8, 1), "classes": 10, **kwargs})
