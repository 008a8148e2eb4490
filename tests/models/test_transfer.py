"""Transfer learning helpers: loading backbones, frozen training, cached features,
grafting and fine-tuning."""

import os
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.layers.residual import ResidualBlock
from kerasdl.models.transfer import (
    FeatureCache,
    cache_features,
    classifier_head,
    graft,
    load_backbone,
    transfer_classifier,
    unfreeze_top,
)


def small_cnn(name="small_cnn"):
    """A tiny pretrained-looking backbone: conv + batch norm + conv, 12x12 RGB."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(6, 3, name="conv1")(inputs)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.ReLU(name="relu1")(x)
    x = keras.layers.Conv2D(8, 3, strides=2, name="conv2")(x)
    model = keras.Model(inputs, x, name=name)
    # Non-trivial moving statistics, as a pretrained network has.
    bn = model.get_layer("bn1")
    bn.moving_mean.assign(np.linspace(-0.5, 0.5, 6))
    bn.moving_variance.assign(np.linspace(0.5, 2.0, 6))
    return model


def images(n, seed=0, size=12):
    return np.random.default_rng(seed).uniform(size=(n, size, size, 3)).astype("float32")


@pytest.fixture(scope="module")
def mobilenet():
    return load_backbone("MobileNetV2", input_shape=(32, 32, 3), alpha=0.35)


# load_backbone --------------------------------------------------------------------------


def test_application_by_name_is_headless_and_frozen(mobilenet):
    assert mobilenet.name.startswith("mobilenetv2")
    assert mobilenet.output_shape == (None, 1, 1, 1280)
    assert not mobilenet.trainable and not mobilenet.trainable_weights
    assert "predictions" not in [layer.name for layer in mobilenet.layers]


def test_application_with_local_weights_file(tmp_path, mobilenet):
    path = os.fspath(tmp_path / "mobilenet.weights.h5")
    mobilenet.save_weights(path)
    reloaded = load_backbone("MobileNetV2", input_shape=(32, 32, 3), alpha=0.35, weights=path)
    for expected, actual in zip(mobilenet.weights, reloaded.weights, strict=True):
        np.testing.assert_array_equal(actual.numpy(), expected.numpy())


def test_keras_model_is_returned_frozen_or_trainable():
    model = small_cnn()
    assert load_backbone(model) is model and not model.trainable
    assert load_backbone(model, trainable=True).trainable


def test_saved_model_backbone_gives_the_original_features(tmp_path):
    model = small_cnn()
    path = os.fspath(tmp_path / "exported_cnn")
    model.export(path, verbose=False)
    x = images(5)
    expected = model.predict(x, verbose=0)
    for endpoint in (None, "serving_default"):
        backbone = load_backbone(path, endpoint=endpoint)
        assert backbone.input_shape == (None, 12, 12, 3)
        assert backbone.output_shape == (None, 4, 4, 8)
        assert not backbone.trainable_weights
        np.testing.assert_allclose(backbone.predict(x, verbose=0), expected, atol=1e-6)


def test_saved_model_backbone_under_a_new_head(tmp_path):
    model = small_cnn()
    path = os.fspath(tmp_path / "exported_cnn")
    model.export(path, verbose=False)
    classifier = transfer_classifier(path, classes=3)
    assert classifier.output_shape == (None, 3)
    head = classifier.get_layer("head")
    assert {id(w) for w in classifier.trainable_weights} == {id(w) for w in head.weights}


def test_hub_handle_without_tensorflow_hub_says_what_to_do(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_hub", None)  # import fails
    with pytest.raises(ImportError, match=r"tensorflow_hub.*pass the local SavedModel directory"):
        load_backbone("https://tfhub.dev/google/imagenet/mobilenet_v2_035_96/feature_vector/5")


@pytest.mark.parametrize(
    "source, kwargs, error, match",
    [
        ("NotANet", {}, ValueError, r"`source` must be a keras.Model, .*source='NotANet'"),
        ("/no/such/dir", {}, ValueError, r"`source` must be .*source='/no/such/dir'"),
        ("mobilenet_v2", {}, ValueError, r"`source` must be .*none of these"),
        (42, {}, TypeError, r"`source` must be .*Received: source of type int"),
        (
            "MobileNetV2",
            {"weights": "/no/such.weights.h5", "input_shape": (32, 32, 3)},
            ValueError,
            r"`weights` must be None, 'imagenet' or the path of an existing weights file",
        ),
    ],
)
def test_load_backbone_bad_sources(source, kwargs, error, match):
    with pytest.raises(error, match=match):
        load_backbone(source, **kwargs)


def test_weights_do_not_apply_to_a_keras_model():
    with pytest.raises(ValueError, match=r"`weights` .* apply to a keras.applications name only"):
        load_backbone(small_cnn(), weights="imagenet")


# transfer_classifier and training a head ------------------------------------------------


def test_frozen_backbone_does_not_change_when_the_head_trains():
    backbone = small_cnn()
    model = transfer_classifier(backbone, classes=3, dropout=0.5)
    assert [layer.name for layer in model.layers] == ["image", "small_cnn", "head"]
    before = [w.numpy().copy() for w in backbone.weights]  # moving statistics included
    head = model.get_layer("head")
    head_before = [w.numpy().copy() for w in head.weights]
    model.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
    x, y = images(16), np.arange(16) % 3
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    for expected, actual in zip(before, backbone.weights, strict=True):
        np.testing.assert_array_equal(actual.numpy(), expected)
    assert any(
        not np.array_equal(w.numpy(), b) for w, b in zip(head.weights, head_before, strict=True)
    )
    probabilities = model.predict(x, verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("pooling, units", [("avg", 8), ("max", 8), ("flatten", 200)])
def test_head_pooling(pooling, units):
    head = classifier_head((5, 5, 8), classes=4, pooling=pooling, dropout=0.0)
    assert head.get_layer("predictions").kernel.shape == (units, 4)
    features = np.random.default_rng(0).normal(size=(2, 5, 5, 8)).astype("float32")
    pooled = {
        "avg": features.mean(axis=(1, 2)),
        "max": features.max(axis=(1, 2)),
        "flatten": features.reshape(2, -1),
    }[pooling]
    dense = head.get_layer("predictions")
    logits = pooled @ dense.kernel.numpy() + dense.bias.numpy()
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(head.predict(features, verbose=0), expected, rtol=1e-5)


def test_flat_features_need_no_pooling():
    assert classifier_head((16,), classes=2, pooling=None).output_shape == (None, 2)


# Cached features ------------------------------------------------------------------------


def test_head_on_cached_features_equals_the_grafted_model(tmp_path, capsys):
    backbone = small_cnn()
    x, y = images(20, seed=1), np.arange(20) % 2
    cache = cache_features(backbone, x, tmp_path / "cache", labels=y, batch_size=8, verbose=1)
    assert "3/3" in capsys.readouterr().out  # the progress bar, one step per batch
    assert isinstance(cache.features, np.memmap) and isinstance(cache.labels, np.memmap)
    assert sorted(os.listdir(cache.path)) == ["features.npy", "labels.npy"]
    np.testing.assert_allclose(cache.features, backbone.predict(x, verbose=0), atol=1e-6)
    np.testing.assert_array_equal(cache.labels, y)
    assert len(cache) == 20 and cache.feature_shape == (4, 4, 8)

    head = classifier_head(cache.feature_shape, classes=2, dropout=0.3)
    head.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    head.fit(cache.features, cache.labels, batch_size=10, epochs=3, verbose=0)
    model = graft(backbone, head)
    np.testing.assert_allclose(
        model.predict(x, verbose=0), head.predict(cache.features, verbose=0), atol=1e-6
    )
    reopened = FeatureCache.load(cache.path)
    np.testing.assert_array_equal(reopened.features, cache.features)


def test_cache_from_a_dataset_of_unknown_length(tmp_path):
    backbone = small_cnn()
    x, y = images(11, seed=2), np.arange(11)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).filter(lambda a, b: True).batch(4)
    assert dataset.cardinality() == tf.data.UNKNOWN_CARDINALITY
    cache = cache_features(backbone, dataset, tmp_path / "cache", verbose=0)
    np.testing.assert_allclose(cache.features, backbone.predict(x, verbose=0), atol=1e-6)
    np.testing.assert_array_equal(cache.labels, y)
    assert sorted(os.listdir(cache.path)) == ["features.npy", "labels.npy"]
    # Re-caching without labels into the same directory removes the stale labels.
    recached = cache_features(backbone, dataset.map(lambda a, b: a), cache.path, verbose=0)
    assert recached.labels is None and os.listdir(cache.path) == ["features.npy"]


def test_failed_caching_leaves_no_partial_files(tmp_path):
    backbone = small_cnn()
    good = tf.data.Dataset.from_tensor_slices(images(4)).batch(2)
    bad = tf.data.Dataset.from_tensor_slices(images(2, size=4)).batch(2)
    with pytest.raises(ValueError):
        cache_features(backbone, good.concatenate(bad), tmp_path / "cache", verbose=0)
    assert os.listdir(tmp_path / "cache") == []


# unfreeze_top ---------------------------------------------------------------------------


def test_unfreeze_top_n_weight_bearing_layers(mobilenet):
    weighted = [
        layer
        for layer in mobilenet.layers
        if layer.weights and not isinstance(layer, keras.layers.BatchNormalization)
    ]
    names = unfreeze_top(mobilenet, 5)
    assert names == [layer.name for layer in weighted[-5:]]
    assert names[-1] == "Conv_1" and "block_16_depthwise" in names
    expected = {id(w) for layer in weighted[-5:] for w in layer.weights}
    assert {id(w) for w in mobilenet.trainable_weights} == expected
    for layer in mobilenet.layers:
        assert layer.trainable == (layer.name in names)
    # Frozen again, from scratch, when called with another n.
    assert unfreeze_top(mobilenet, 1) == ["Conv_1"]
    assert len(mobilenet.trainable_weights) == 1
    mobilenet.trainable = False


def test_fine_tuning_keeps_batch_norm_statistics_and_lower_layers():
    backbone = small_cnn()
    model = transfer_classifier(backbone, classes=2, dropout=0.0)
    # Both convolutions: the batch norm between them is in the range but stays frozen.
    assert unfreeze_top(backbone, 2) == ["conv1", "conv2"]
    bn = backbone.get_layer("bn1")
    assert not bn.trainable
    head = model.get_layer("head")
    convs = [backbone.get_layer("conv1"), backbone.get_layer("conv2")]
    expected = {id(w) for layer in [head, *convs] for w in layer.weights}
    assert {id(w) for w in model.trainable_weights} == expected
    norm_before = [w.numpy().copy() for w in bn.weights]  # gamma, beta, moving mean, var
    conv_before = [layer.kernel.numpy().copy() for layer in convs]
    model.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
    model.fit(images(8), np.arange(8) % 2, batch_size=4, epochs=1, verbose=0)
    for expected, actual in zip(norm_before, bn.weights, strict=True):
        np.testing.assert_array_equal(actual.numpy(), expected)
    for before, layer in zip(conv_before, convs, strict=True):
        assert not np.array_equal(layer.kernel.numpy(), before)


def test_batch_norms_inside_custom_layers_stay_frozen():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", name="stem")(inputs)
    x = ResidualBlock(4, name="block1")(x)
    backbone = keras.Model(inputs, ResidualBlock(6, strides=2, name="block2")(x))
    model = transfer_classifier(backbone, classes=2, dropout=0.0)
    assert unfreeze_top(backbone, 1) == ["block2"]
    block = backbone.get_layer("block2")
    norms = [block.norm1, block.norm2, block.shortcut_norm]
    assert block.trainable and not any(norm.trainable for norm in norms)
    statistics = [w.numpy().copy() for norm in norms for w in norm.weights]
    kernel = block.conv1.kernel.numpy().copy()
    model.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
    model.fit(images(8, size=8), np.arange(8) % 2, batch_size=4, epochs=1, verbose=0)
    after = [w.numpy() for norm in norms for w in norm.weights]
    for expected, actual in zip(statistics, after, strict=True):
        np.testing.assert_array_equal(actual, expected)
    assert not np.array_equal(block.conv1.kernel.numpy(), kernel)


@pytest.mark.parametrize(
    "n, error, match",
    [
        (0, ValueError, r"`n` must be > 0\. Received: n=0"),
        (-2, ValueError, r"`n` must be > 0\. Received: n=-2"),
        (2.0, TypeError, r"`n` must be a positive int"),
        (
            3,
            ValueError,
            r"`n` must be <= 2, the number of weight-bearing layers other than "
            r"BatchNormalization in model 'small_cnn'\. Received: n=3",
        ),
    ],
)
def test_unfreeze_top_bad_n(n, error, match):
    with pytest.raises(error, match=match):
        unfreeze_top(small_cnn(), n)


def test_unfreeze_top_needs_a_model():
    with pytest.raises(TypeError, match=r"`model` must be a keras.Model"):
        unfreeze_top(keras.layers.Dense(3), 1)


# Bad arguments --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"classes": 1}, ValueError, r"`classes` must be >= 2 .*Received: classes=1"),
        ({"classes": 0}, ValueError, r"`classes` must be > 0\. Received: classes=0"),
        ({"classes": 2, "dropout": 1.0}, ValueError, r"`dropout` must be in \[0.0, 1.0\)"),
        ({"classes": 2, "pooling": "median"}, ValueError, r"`pooling` must be one of"),
        ({"classes": 2, "pooling": None}, ValueError, r"`pooling` must be 'avg', 'max' or"),
    ],
)
def test_transfer_classifier_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        transfer_classifier(small_cnn(), **kwargs)


def test_graft_bad_head():
    with pytest.raises(ValueError, match=r"`head` must take the backbone's features of shape"):
        graft(small_cnn(), classifier_head((3, 3, 8), classes=2))
    with pytest.raises(TypeError, match=r"`head` must be a keras.Model"):
        graft(small_cnn(), keras.layers.Dense(2))


def test_cache_features_bad_arguments(tmp_path):
    backbone, x = small_cnn(), images(4)
    with pytest.raises(ValueError, match=r"`labels` must have one entry per image \(4\)"):
        cache_features(backbone, x, tmp_path / "a", labels=[1, 2], verbose=0)
    with pytest.raises(ValueError, match=r"`data` must be rank-4 images .*\(12, 12, 3\)"):
        cache_features(backbone, x[0], tmp_path / "b", verbose=0)
    unbatched = tf.data.Dataset.from_tensor_slices(x)
    with pytest.raises(ValueError, match=r"batched dataset of rank-4 images.*\.batch"):
        cache_features(backbone, unbatched, tmp_path / "c", verbose=0)
    with pytest.raises(ValueError, match=r"`data` must be a finite dataset"):
        cache_features(backbone, unbatched.batch(2).repeat(), tmp_path / "d", verbose=0)
    with pytest.raises(ValueError, match=r"`batch_size` must be > 0"):
        cache_features(backbone, x, tmp_path / "e", batch_size=0, verbose=0)
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match=r"`path` must be a directory"):
        cache_features(backbone, x, tmp_path / "file", verbose=0)
    with pytest.raises(ValueError, match=r"`data` must hold at least one image"):
        cache_features(backbone, x[:0], tmp_path / "f", verbose=0)
    with pytest.raises(ValueError, match=r"has no features.npy"):
        FeatureCache.load(tmp_path)
