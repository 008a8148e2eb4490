"""FaceNet's Inception-ResNet-v1 in Keras 3: shapes and parameter count of the published
network, the residual scaling recomputed in numpy, the Keras 2 .h5 reader on files
written here (whole-model and weights-only layouts, file objects, errors), and the
prewhitening against numpy and tf.image.per_image_standardization.

The published weights themselves are checked in tests/tutorials/test_face_verification.py
(they come with the tutorial's data)."""

import io

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.models.facenet import (
    facenet_inception_resnet_v1,
    facenet_prewhiten,
    load_facenet_h5_weights,
)


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return facenet_inception_resnet_v1(normalize=False)


def _output(model, name, x):
    return keras.ops.convert_to_numpy(keras.Model(model.input, model.get_layer(name).output)(x))


def test_published_shapes_and_parameter_count(model):
    # The Keras 2 model: 22,808,144 parameters, 22,779,312 trainable (the batch norms'
    # moving statistics are not), 17x17x256, 8x8x896 and 3x3x1792 after the reductions.
    assert model.count_params() == 22_808_144
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == 22_779_312
    assert model.get_layer("Block35_1_ScaleSum").output.shape[1:] == (17, 17, 256)
    assert model.get_layer("Mixed_6a").output.shape[1:] == (8, 8, 896)
    assert model.get_layer("Mixed_7a").output.shape[1:] == (3, 3, 1792)
    assert model.output_shape == (None, 128)
    scales = {
        layer.name.split("_Scale")[0]: layer.scale
        for layer in model.layers
        if isinstance(layer, keras.layers.Rescaling)
    }
    assert len(scales) == 21
    assert [scales[f"Block35_{i}"] for i in range(1, 6)] == [0.17] * 5
    assert [scales[f"Block17_{i}"] for i in range(1, 11)] == [0.1] * 10
    assert [scales[f"Block8_{i}"] for i in range(1, 7)] == [0.2] * 5 + [1.0]


def test_residual_unit_recomputed_in_numpy(model):
    # a = relu(x + s W [b_0, b_1, b_2] + s c): the scaled 1x1 projection of the branches.
    x = facenet_prewhiten(np.random.default_rng(1).random((2, 160, 160, 3), "float32"))
    block_input = _output(model, "Conv2d_4b_3x3_Activation", x)
    mixed = _output(model, "Block35_1_Concatenate", x)
    kernel, bias = model.get_layer("Block35_1_Conv2d_1x1").get_weights()
    expected = np.maximum(block_input + 0.17 * (mixed @ kernel[0, 0] + bias), 0)
    np.testing.assert_allclose(_output(model, "Block35_1_Activation", x), expected, atol=1e-4)
    # The last Block8: scale 1 and no ReLU.
    block_input = _output(model, "Block8_5_Activation", x)
    mixed = _output(model, "Block8_6_Concatenate", x)
    kernel, bias = model.get_layer("Block8_6_Conv2d_1x1").get_weights()
    expected = block_input + mixed @ kernel[0, 0] + bias
    np.testing.assert_allclose(_output(model, "Block8_6_ScaleSum", x), expected, atol=1e-4)


def test_normalized_encodings_of_any_size_from_75():
    keras.utils.set_random_seed(0)
    unit = facenet_inception_resnet_v1(input_shape=(None, None, 3), embedding_dim=16)
    bottleneck = keras.Model(unit.input, unit.get_layer("Bottleneck_BatchNorm").output)
    for height, width in ((75, 75), (123, 96)):
        x = facenet_prewhiten(np.random.default_rng(height).random((3, height, width, 3)))
        encodings = keras.ops.convert_to_numpy(unit(x))
        raw = keras.ops.convert_to_numpy(bottleneck(x))
        assert encodings.shape == (3, 16)
        np.testing.assert_allclose(
            encodings, raw / np.linalg.norm(raw, axis=1, keepdims=True), rtol=1e-5
        )


def _small_model():
    """The kinds of layers FaceNet has weights in: Conv2D without bias, BatchNorm without
    gamma, Conv2D with bias, Dense without bias."""
    inputs = keras.Input((6, 6, 3))
    x = keras.layers.Conv2D(4, 3, use_bias=False, name="Conv2d_1a_3x3")(inputs)
    x = keras.layers.BatchNormalization(scale=False, name="Conv2d_1a_3x3_BatchNorm")(x)
    x = keras.layers.Activation("relu", name="Conv2d_1a_3x3_Activation")(x)
    x = keras.layers.Conv2D(5, 1, name="Block_Conv2d_1x1")(x)
    x = keras.layers.GlobalAveragePooling2D(name="AvgPool")(x)
    x = keras.layers.Dense(2, use_bias=False, name="Bottleneck")(x)
    return keras.Model(inputs, x)


def _keras2_file(model, whole_model: bool):
    """The layout Keras 2 writes: model.save (model_weights/) or save_weights (root)."""
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        root = f.create_group("model_weights") if whole_model else f
        names = [layer.name for layer in model.layers]
        root.attrs["layer_names"] = [n.encode() for n in names]
        for layer in model.layers:
            group = root.create_group(layer.name)
            weight_names = [f"{layer.name}/{w.name}:0" for w in layer.weights]
            group.attrs["weight_names"] = [n.encode() for n in weight_names]
            for name, value in zip(weight_names, layer.get_weights(), strict=True):
                group.create_dataset(name, data=value)
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize("whole_model", [True, False])
def test_reader_restores_every_weight(whole_model, tmp_path):
    rng = np.random.default_rng(3)
    source = _small_model()
    source.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in source.weights])
    buffer = _keras2_file(source, whole_model)
    path = tmp_path / "weights.h5"
    path.write_bytes(buffer.getvalue())
    x = rng.normal(size=(2, 6, 6, 3)).astype("float32")
    for weights_path in (path, str(path), buffer):
        target = _small_model()
        load_facenet_h5_weights(target, weights_path)
        for a, b in zip(source.weights, target.weights, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
        np.testing.assert_allclose(target(x), source(x), rtol=1e-6)
    # Keras 3's own reader of legacy files, by name, agrees.
    reference = _small_model()
    reference.load_weights(str(path), by_name=True)
    for a, b in zip(reference.weights, target.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


def test_reader_errors(tmp_path):
    small = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(2, name="dense"), keras.layers.Dense(1, name="out")]
    )
    with pytest.raises(ValueError, match=r"`weights_path` must be an existing Keras 2 .h5 file"):
        load_facenet_h5_weights(small, tmp_path / "missing.h5")
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5")
    with pytest.raises(ValueError, match=r"`weights_path` must be an HDF5 file"):
        load_facenet_h5_weights(small, text)
    empty = tmp_path / "empty.h5"
    with h5py.File(empty, "w") as f:
        f.create_group("something")
    with pytest.raises(ValueError, match=r"attribute `layer_names`"):
        load_facenet_h5_weights(small, empty)
    partial = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense")])
    with pytest.raises(ValueError, match=r"no weights for the model's layer 'out'"):
        load_facenet_h5_weights(small, _keras2_file(partial, whole_model=True))
    wider = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(5, name="dense"), keras.layers.Dense(1, name="out")]
    )
    with pytest.raises(ValueError, match=r"shapes \[\(3, 5\), \(5,\)\] for layer 'dense'"):
        load_facenet_h5_weights(small, _keras2_file(wider, whole_model=False))


def test_builder_argument_errors():
    with pytest.raises(ValueError, match=r"`input_shape` must be \(height, width, 3\)"):
        facenet_inception_resnet_v1(input_shape=(74, 160, 3))
    with pytest.raises(ValueError, match=r"Received: input_shape=\(160, 160, 1\)"):
        facenet_inception_resnet_v1(input_shape=(160, 160, 1))
    with pytest.raises(ValueError, match=r"`embedding_dim` must be > 0"):
        facenet_inception_resnet_v1(embedding_dim=0)
    with pytest.raises(ValueError, match=r"`dropout_rate` must be in \[0.0, 1.0\)"):
        facenet_inception_resnet_v1(dropout_rate=1.0)
    with pytest.raises(TypeError, match=r"`normalize` must be a bool"):
        facenet_inception_resnet_v1(normalize="yes")


def test_keras_file_round_trip(model, tmp_path):
    # The Keras 2 file's Lambda layers cannot be saved portably; Rescaling and Add can.
    x = facenet_prewhiten(np.random.default_rng(4).random((2, 160, 160, 3), "float32"))
    path = tmp_path / "facenet.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    np.testing.assert_allclose(restored(x), model(x), atol=1e-6)


def test_prewhiten_matches_numpy_and_tensorflow():
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, size=(3, 20, 16, 3)).astype("float32")
    ours = keras.ops.convert_to_numpy(facenet_prewhiten(images))
    mean = images.mean(axis=(1, 2, 3), keepdims=True)
    std = np.maximum(images.std(axis=(1, 2, 3), keepdims=True), 1 / np.sqrt(20 * 16 * 3))
    np.testing.assert_allclose(ours, (images - mean) / std, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        ours, tf.image.per_image_standardization(images).numpy(), rtol=1e-5, atol=1e-5
    )
    # One image alone gives the same; uint8 is accepted.
    single = facenet_prewhiten(images[1].astype("uint8"))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(single), ours[1], rtol=1e-5, atol=1e-5)
    # A uniform image stays finite: the standard deviation is floored at 1/sqrt(N).
    flat = keras.ops.convert_to_numpy(facenet_prewhiten(np.full((4, 4, 3), 7.0)))
    np.testing.assert_array_equal(flat, np.zeros((4, 4, 3)))


def test_prewhiten_inside_a_traced_function():
    traced = tf.function(facenet_prewhiten, input_signature=[tf.TensorSpec([None, None, None, 3])])
    images = np.random.default_rng(6).random((2, 9, 7, 3)).astype("float32")
    np.testing.assert_allclose(
        traced(images).numpy(), tf.image.per_image_standardization(images).numpy(), atol=1e-5
    )


def test_prewhiten_rank_error():
    with pytest.raises(ValueError, match=r"`images` must have shape .*images.shape=\(4, 4\)"):
        facenet_prewhiten(np.zeros((4, 4)))
