"""Tests for kerasdl.export.saved_model: TF Serving layout, signature, warm-up, atomicity."""

import importlib
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from kerasdl.export import saved_model
from kerasdl.layers import ResidualBlock

# The package exports the function under the module's name; patch the module itself.
saved_model_module = importlib.import_module("kerasdl.export.saved_model")


@pytest.fixture(scope="module")
def image_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3), name="image")
    x = ResidualBlock(4, strides=2)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))


@pytest.fixture(scope="module")
def two_input_model():
    """Inputs of two dtypes (float32 features, int32 token ids), two named outputs."""
    keras.utils.set_random_seed(1)
    features = keras.Input((4,), name="features")
    tokens = keras.Input((3,), name="tokens", dtype="int32")
    embedded = keras.layers.Flatten()(keras.layers.Embedding(10, 2)(tokens))
    x = keras.layers.Concatenate()([features, embedded])
    outputs = {
        "score": keras.layers.Dense(1, name="score")(x),
        "logits": keras.layers.Dense(5, name="logits")(x),
    }
    return keras.Model([features, tokens], outputs)


def _two_inputs(n, seed=0):
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(n, 4)).astype("float32"),
        rng.integers(0, 10, size=(n, 3)).astype("int32"),
    )


def _read_warmup(version_dir):
    path = os.path.join(version_dir, "assets.extra", "tf_serving_warmup_requests")
    return [
        prediction_log_pb2.PredictionLog.FromString(record.numpy())
        for record in tf.data.TFRecordDataset(path)
    ]


def test_layout_and_next_version_numbering(image_model, tmp_path):
    base_dir = tmp_path / "classifier"
    first = saved_model(image_model, base_dir)
    assert first == os.path.join(base_dir, "1")
    assert os.path.isfile(os.path.join(first, "saved_model.pb"))
    assert os.path.isfile(os.path.join(first, "variables", "variables.index"))
    assert saved_model(image_model, base_dir) == os.path.join(base_dir, "2")

    # Gaps and non-version entries: the next version follows the largest integer.
    (base_dir / "7").mkdir()
    (base_dir / "README.txt").write_text("notes")
    assert saved_model(image_model, base_dir) == os.path.join(base_dir, "8")
    assert saved_model(image_model, base_dir, version=5) == os.path.join(base_dir, "5")
    assert sorted(os.listdir(base_dir)) == ["1", "2", "5", "7", "8", "README.txt"]


def test_signature_names_dtypes_and_shapes(two_input_model, tmp_path):
    path = saved_model(two_input_model, tmp_path)
    loaded = tf.saved_model.load(path)
    assert set(loaded.signatures) == {"serve", "serving_default"}
    signature = loaded.signatures["serving_default"]
    args, kwargs = signature.structured_input_signature
    assert args == ()
    assert {name: (spec.dtype, spec.shape.as_list()) for name, spec in kwargs.items()} == {
        "features": (tf.float32, [None, 4]),
        "tokens": (tf.int32, [None, 3]),
    }
    outputs = signature.structured_outputs
    assert {name: (spec.dtype, spec.shape.as_list()) for name, spec in outputs.items()} == {
        "score": (tf.float32, [None, 1]),
        "logits": (tf.float32, [None, 5]),
    }


def test_outputs_match_keras_predict(image_model, two_input_model, tmp_path):
    x = np.random.default_rng(0).normal(size=(5, 8, 8, 3)).astype("float32")
    signature = tf.saved_model.load(saved_model(image_model, tmp_path / "a")).signatures[
        "serving_default"
    ]
    served = signature(image=tf.constant(x))["output_0"].numpy()
    np.testing.assert_allclose(served, image_model.predict(x, verbose=0), rtol=0, atol=1e-6)

    features, tokens = _two_inputs(6)
    signature = tf.saved_model.load(saved_model(two_input_model, tmp_path / "b")).signatures[
        "serving_default"
    ]
    served = signature(features=tf.constant(features), tokens=tf.constant(tokens))
    expected = two_input_model.predict([features, tokens], verbose=0)
    for key in ("score", "logits"):
        np.testing.assert_allclose(served[key].numpy(), expected[key], rtol=0, atol=1e-6)


def test_warmup_records_parse_back_and_call_the_signature(image_model, tmp_path):
    x = np.random.default_rng(1).normal(size=(3, 8, 8, 3)).astype("float32")
    path = saved_model(image_model, tmp_path, warmup_inputs=x, model_name="digits")
    logs = _read_warmup(path)
    assert len(logs) == 3
    signature = tf.saved_model.load(path).signatures["serving_default"]
    expected = image_model.predict(x, verbose=0)
    for i, log in enumerate(logs):
        request = log.predict_log.request
        assert request.model_spec.name == "digits"
        assert request.model_spec.signature_name == "serving_default"
        assert list(request.inputs) == ["image"]
        tensor = tf.make_ndarray(request.inputs["image"])
        assert tensor.dtype == np.float32
        np.testing.assert_array_equal(tensor, x[i : i + 1])
        tensors = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
        served = signature(**tensors)
        np.testing.assert_allclose(served["output_0"].numpy(), expected[i : i + 1], atol=1e-6)


def test_warmup_list_and_dict_inputs_for_a_multi_input_model(two_input_model, tmp_path):
    features, tokens = _two_inputs(2)
    # A list follows model.inputs order; float64 features are cast to the signature dtype.
    warmup = [features.astype("float64"), tokens]
    path = saved_model(two_input_model, tmp_path, warmup_inputs=warmup)
    logs = _read_warmup(path)
    assert len(logs) == 2
    request = logs[1].predict_log.request
    assert sorted(request.inputs) == ["features", "tokens"]
    assert tf.make_ndarray(request.inputs["features"]).dtype == np.float32
    assert tf.make_ndarray(request.inputs["tokens"]).dtype == np.int32
    np.testing.assert_array_equal(tf.make_ndarray(request.inputs["features"]), features[1:2])
    np.testing.assert_array_equal(tf.make_ndarray(request.inputs["tokens"]), tokens[1:2])

    path = saved_model(
        two_input_model, tmp_path, warmup_inputs={"tokens": tokens, "features": features}
    )
    request = _read_warmup(path)[0].predict_log.request
    np.testing.assert_array_equal(tf.make_ndarray(request.inputs["tokens"]), tokens[:1])


def test_failed_export_leaves_nothing_behind(image_model, tmp_path, monkeypatch):
    def export_then_crash(model, filepath, *serving):
        # A partial SavedModel, as a crash mid-write would leave it.
        with open(os.path.join(filepath, "saved_model.pb"), "wb") as f:
            f.write(b"partial")
        raise OSError("disk full")

    existing = tmp_path / "existing"
    saved_model(image_model, existing)
    missing = tmp_path / "missing" / "model"
    with monkeypatch.context() as patch:
        patch.setattr(saved_model_module, "_write_inference_archive", export_then_crash)
        with pytest.raises(OSError, match="disk full"):
            saved_model(image_model, existing)
        with pytest.raises(OSError, match="disk full"):
            saved_model(image_model, missing)
    assert os.listdir(existing) == ["1"]
    assert not missing.exists()


def test_bad_warmup_after_export_leaves_nothing_behind(image_model, tmp_path):
    with pytest.raises(ValueError, match="warmup_inputs"):
        saved_model(image_model, tmp_path, warmup_inputs=np.zeros((2, 8, 8, 4), "float32"))
    assert os.listdir(tmp_path) == []


def test_base_dir_errors(image_model, tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ValueError, match=r"`base_dir` must be a directory.*Received: base_dir="):
        saved_model(image_model, a_file)

    version_dir = saved_model(image_model, tmp_path / "model")
    with pytest.raises(ValueError, match=r"not a SavedModel itself.*saved_model\.pb"):
        saved_model(image_model, version_dir)
    assert sorted(os.listdir(version_dir)) == sorted(
        ["assets", "fingerprint.pb", "saved_model.pb", "variables"]
    )


def test_version_errors(image_model, tmp_path):
    saved_model(image_model, tmp_path, version=3)
    with pytest.raises(ValueError, match=r"`version` must not exist.*version=3"):
        saved_model(image_model, tmp_path, version=3)
    (tmp_path / "007").mkdir()
    with pytest.raises(ValueError, match=r"version=7.*007"):
        saved_model(image_model, tmp_path, version=7)
    with pytest.raises(ValueError, match=r"`version` must be > 0. Received: version=0"):
        saved_model(image_model, tmp_path, version=0)
    with pytest.raises(TypeError, match=r"`version` must be a positive int.*version='4'"):
        saved_model(image_model, tmp_path, version="4")
    assert sorted(os.listdir(tmp_path)) == ["007", "3"]


@pytest.mark.parametrize(
    "warmup, match",
    [
        (np.zeros((2, 8, 8), "float32"), r"shape \(n, 8, 8, 3\).*warmup_inputs\['image'\]"),
        (np.zeros((2, 8, 8, 3), "complex64"), r"dtype float32.*dtype=complex64"),
        (np.zeros((0, 8, 8, 3), "float32"), r"between 1 and 1000.*0 examples"),
        (np.zeros((1001, 8, 8, 3), "float32"), r"between 1 and 1000.*1001 examples"),
        ({"pixels": np.zeros((1, 8, 8, 3))}, r"keyed by.*\['image'\].*\['pixels'\]"),
    ],
)
def test_warmup_errors_single_input(image_model, tmp_path, warmup, match):
    with pytest.raises(ValueError, match=match):
        saved_model(image_model, tmp_path, warmup_inputs=warmup)
    assert os.listdir(tmp_path) == []


def test_warmup_errors_multi_input(two_input_model, tmp_path):
    features, tokens = _two_inputs(2)
    with pytest.raises(ValueError, match=r"dtype int32.*tokens.*float32"):
        saved_model(two_input_model, tmp_path, warmup_inputs=[features, features[:, :3]])
    with pytest.raises(ValueError, match=r"same number of examples.*\[1, 2\]"):
        saved_model(two_input_model, tmp_path, warmup_inputs=[features[:1], tokens])
    with pytest.raises(ValueError, match=r"one array per model input"):
        saved_model(two_input_model, tmp_path, warmup_inputs=[features])
    with pytest.raises(ValueError, match=r"one array per input"):
        saved_model(two_input_model, tmp_path, warmup_inputs=features)
    assert os.listdir(tmp_path) == []


def test_model_errors(tmp_path):
    inputs = keras.Input((None, 3), name="sequence")
    variable_length = keras.Model(inputs, keras.layers.GRU(2)(inputs))
    with pytest.raises(ValueError, match=r"known input shapes.*'sequence'.*\(None, None, 3\)"):
        saved_model(variable_length, tmp_path, warmup_inputs=np.zeros((1, 4, 3), "float32"))
    assert os.listdir(tmp_path) == []

    with pytest.raises(ValueError, match=r"`model` must be built"):
        saved_model(keras.Sequential([keras.layers.Dense(2)]), tmp_path)
    with pytest.raises(TypeError, match=r"`model` must be a keras.Model"):
        saved_model(keras.layers.Dense(2), tmp_path)
    dense = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"`model_name` must be a non-empty str"):
        saved_model(dense, tmp_path, model_name="")
    assert os.listdir(tmp_path) == []


def test_random_augmentation_layers_are_off_in_the_export(tmp_path):
    # Keras' RandomFlip defaults to training=True when called without `training`; the
    # exported signature must serve the inference-mode model.
    inputs = keras.Input((6, 6, 1), name="image")
    x = keras.layers.RandomFlip("horizontal_and_vertical", seed=0)(inputs)
    model = keras.Model(inputs, keras.layers.Flatten()(x))
    images = np.arange(4 * 36, dtype="float32").reshape(4, 6, 6, 1)
    path = saved_model(model, tmp_path / "flip")
    signature = tf.saved_model.load(path).signatures["serving_default"]
    for _ in range(3):
        (served,) = signature(image=tf.constant(images)).values()
        np.testing.assert_array_equal(served.numpy(), images.reshape(4, -1))


def test_variable_length_inputs_export_without_warmup(tmp_path):
    inputs = keras.Input((None,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(10, 3)(inputs)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling1D()(x))
    path = saved_model(model, tmp_path / "text")
    signature = tf.saved_model.load(path).signatures["serving_default"]
    for length in (2, 7):
        tokens = np.ones((1, length), "int32")
        (served,) = signature(tokens=tf.constant(tokens)).values()
        np.testing.assert_allclose(served.numpy(), model.predict(tokens, verbose=0), rtol=1e-6)
