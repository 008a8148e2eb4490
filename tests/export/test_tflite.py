"""Tests for kerasdl.export.tflite: conversion, quantisation, Flex handling, parity report."""

import json
import os

import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits

from kerasdl.export import ParityReport, TFLiteModel, tflite
from kerasdl.layers import ResidualBlock


class CumProd(keras.layers.Layer):
    """keras.ops.cumprod lowers to tf.Cumprod, which has no TFLite builtin kernel."""

    def call(self, x):
        return keras.ops.cumprod(x, axis=-1)


class SingularValues(keras.layers.Layer):
    """tf.Svd is neither a builtin nor an allowed Flex op."""

    def call(self, x):
        import tensorflow as tf

        return tf.linalg.svd(x, compute_uv=False)


def _randomise_batch_norm(model, seed=0):
    # Fresh BN layers are the identity; non-trivial statistics make the folding matter.
    rng = np.random.default_rng(seed)
    randomised = 0
    for variable in model.non_trainable_variables:
        if variable.path.endswith("moving_mean"):
            variable.assign(rng.normal(size=variable.shape))
            randomised += 1
        elif variable.path.endswith("moving_variance"):
            variable.assign(rng.uniform(0.5, 2.0, size=variable.shape))
    assert randomised, "no BatchNormalization found"


@pytest.fixture(scope="module")
def conv_bn_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1), name="image")
    x = keras.layers.Conv2D(4, 3, use_bias=False)(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(x)))
    _randomise_batch_norm(model)
    return model


@pytest.fixture(scope="module")
def gru_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((5, 3), name="sequence")
    return keras.Model(inputs, keras.layers.GRU(4)(inputs))


@pytest.fixture(scope="module")
def digits():
    images, labels = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(labels))
    x = (images[order] / 16.0).reshape(-1, 8, 8, 1).astype("float32")
    labels = labels[order]
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1), name="digit")
    h = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Flatten()(h)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(h))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:1400], labels[:1400], epochs=15, batch_size=32, verbose=0)
    return model, (x[:1400], labels[:1400]), (x[1400:], labels[1400:])


def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def test_float_conv_bn_matches_keras(conv_bn_model, tmp_path):
    path = tmp_path / "conv.tflite"
    report = tflite(conv_bn_model, path)
    assert isinstance(report, ParityReport)
    assert report.path == os.fspath(path)
    assert report.size_bytes == os.path.getsize(path)
    assert report.input_shapes == ((1, 8, 8, 1),)
    assert "CONV_2D" in report.ops and not report.uses_flex
    # BatchNormalization folds away at inference.
    assert not any("BATCH" in op or "RSQRT" in op for op in report.ops), report.ops
    assert report.checked_on == "random" and report.num_checked == 16
    assert report.max_abs_diff <= 1e-5
    assert report.mean_latency_ms > 0
    x = _x((5, 8, 8, 1), seed=1)
    np.testing.assert_allclose(
        TFLiteModel(path)(x), conv_bn_model.predict(x, verbose=0), atol=1e-5, rtol=0
    )


def test_float_residual_block_matches_keras(tmp_path):
    keras.utils.set_random_seed(1)
    inputs = keras.Input((8, 8, 3))
    x = ResidualBlock(8, strides=2)(inputs)
    x = ResidualBlock(8)(x)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))
    _randomise_batch_norm(model, seed=1)
    x = _x((6, 8, 8, 3), seed=2)
    report = tflite(model, tmp_path / "res.tflite", check_inputs=x)
    assert report.checked_on == "check_inputs" and report.num_checked == 6
    assert report.max_abs_diff <= 1e-5
    runner = TFLiteModel(tmp_path / "res.tflite")
    np.testing.assert_allclose(runner(x), model.predict(x, verbose=0), atol=1e-5, rtol=0)


def test_gru_converts_with_a_static_signature(gru_model, tmp_path):
    x = _x((7, 5, 3), seed=3)
    report = tflite(gru_model, tmp_path / "gru.tflite", check_inputs=x)
    assert report.max_abs_diff <= 1e-5
    assert "WHILE" in report.ops and not report.uses_flex
    assert not any(op.startswith("TensorList") for op in report.ops)

    # A static batch of 2 (input_shape overrides): 7 examples run as 4 padded chunks.
    path = tmp_path / "gru_b2.tflite"
    report = tflite(gru_model, path, input_shape=(2, 5, 3), check_inputs=x)
    assert report.input_shapes == ((2, 5, 3),)
    runner = TFLiteModel(path)
    assert runner.input_details[0]["shape"].tolist() == [2, 5, 3]
    np.testing.assert_allclose(runner(x), gru_model.predict(x, verbose=0), atol=1e-5, rtol=0)


@pytest.fixture(scope="module")
def dense_model():
    # 32 * 64 weights: large enough (>= 1024) for dynamic-range quantisation to apply.
    keras.utils.set_random_seed(2)
    inputs = keras.Input((32,), name="features")
    hidden = keras.layers.Dense(64, activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(4)(hidden))


def test_dynamic_and_float16_convert_with_small_diffs(dense_model, tmp_path):
    x = _x((20, 32), seed=4)
    float_report = tflite(dense_model, tmp_path / "f32.tflite", check_inputs=x)
    dynamic = tflite(dense_model, tmp_path / "dyn.tflite", quantization="dynamic", check_inputs=x)
    half = tflite(dense_model, tmp_path / "f16.tflite", quantization="float16", check_inputs=x)
    assert float_report.max_abs_diff <= 1e-5
    assert dynamic.quantization == "dynamic" and half.quantization == "float16"
    assert 0 < dynamic.max_abs_diff <= 0.05, dynamic
    assert 0 < half.max_abs_diff <= 5e-3, half
    assert dynamic.size_bytes < 0.5 * float_report.size_bytes
    assert half.size_bytes < 0.75 * float_report.size_bytes
    assert "DEQUANTIZE" in half.ops


def test_int8_digits_classifier_keeps_accuracy(digits, tmp_path):
    model, (x_train, _), (x_test, y_test) = digits
    float_report = tflite(model, tmp_path / "f32.tflite", labelled_data=(x_test, y_test))
    report = tflite(
        model,
        tmp_path / "int8.tflite",
        quantization="int8",
        representative_data=x_train[:200],
        labelled_data=(x_test, y_test),
    )
    assert float_report.keras_accuracy > 0.9  # the model did learn
    assert float_report.accuracy_change == 0.0
    assert report.keras_accuracy == float_report.keras_accuracy
    assert abs(report.accuracy_change) <= 0.05, report
    assert report.tflite_accuracy == pytest.approx(report.keras_accuracy + report.accuracy_change)
    assert report.size_bytes < float_report.size_bytes
    assert report.checked_on == "representative_data" and report.num_checked == 200
    assert {"QUANTIZE", "DEQUANTIZE", "CONV_2D"} <= set(report.ops)
    # Float interface by default.
    runner = TFLiteModel(tmp_path / "int8.tflite")
    assert runner.input_details[0]["dtype"] == np.float32
    assert report.max_abs_diff <= 0.1


def test_int8_integer_io(digits, tmp_path):
    model, (x_train, _), (x_test, y_test) = digits
    path = tmp_path / "int8_io.tflite"
    report = tflite(
        model,
        path,
        quantization="int8",
        representative_data=(x_train[i : i + 50] for i in range(0, 200, 50)),
        check_inputs=x_test,
        integer_io=True,
    )
    runner = TFLiteModel(path)
    assert runner.input_details[0]["dtype"] == np.int8
    assert runner.output_details[0]["dtype"] == np.int8
    assert runner.input_details[0]["quantization"][0] > 0
    probabilities = runner(x_test)
    assert probabilities.dtype == np.float32
    expected = model.predict(x_test, verbose=0)
    np.testing.assert_allclose(probabilities, expected, atol=0.1, rtol=0)
    assert np.mean(probabilities.argmax(-1) == expected.argmax(-1)) >= 0.95
    assert report.max_abs_diff == pytest.approx(np.abs(probabilities - expected).max(), abs=1e-6)


def _most_scales(path):
    """The most quantization scales any int8 tensor of a .tflite file has (activations
    always have one; a per-channel weight has one per output channel)."""
    import tensorflow as tf

    details = tf.lite.Interpreter(model_path=str(path)).get_tensor_details()
    return max(
        len(d["quantization_parameters"]["scales"]) for d in details if d["dtype"] == np.int8
    )


def test_int8_per_tensor_weights(digits, tmp_path):
    model, (x_train, _), (x_test, y_test) = digits
    common = dict(quantization="int8", representative_data=x_train[:200])
    per_channel = tflite(model, tmp_path / "channel.tflite", **common)
    per_tensor = tflite(
        model, tmp_path / "tensor.tflite", per_channel=False, labelled_data=(x_test, y_test),
        **common,
    )  # fmt: skip
    # Per channel, the convolution kernel has one scale per output filter; per tensor, no
    # tensor has more than one.
    assert _most_scales(tmp_path / "channel.tflite") == 10  # Dense(10): one per unit
    assert _most_scales(tmp_path / "tensor.tflite") == 1
    assert abs(per_tensor.accuracy_change) <= 0.05, per_tensor
    assert per_tensor.max_abs_diff <= 0.2 and per_channel.max_abs_diff <= 0.1
    with pytest.raises(ValueError, match="`per_channel` must be True unless quantization"):
        tflite(model, tmp_path / "x.tflite", per_channel=False)
    with pytest.raises(TypeError, match="`per_channel` must be a bool"):
        tflite(model, tmp_path / "x.tflite", per_channel="no", **common)


def test_int16x8_activations_are_finer_than_int8(digits, gru_model, tmp_path):
    import tensorflow as tf

    model, (x_train, _), (x_test, y_test) = digits
    common = dict(representative_data=x_train[:200], check_inputs=x_test)
    int8 = tflite(model, tmp_path / "int8.tflite", quantization="int8", **common)
    int16 = tflite(
        model, tmp_path / "int16x8.tflite", quantization="int16x8",
        labelled_data=(x_test, y_test), **common,
    )  # fmt: skip
    details = tf.lite.Interpreter(str(tmp_path / "int16x8.tflite")).get_tensor_details()
    dtypes = {d["dtype"] for d in details}
    assert np.int16 in dtypes and np.int8 in dtypes  # int16 activations, int8 weights
    assert int16.quantization == "int16x8" and abs(int16.accuracy_change) <= 0.01
    # The same calibration and int8 weights, activation steps 256 times finer: closer.
    assert int16.max_abs_diff < int8.max_abs_diff / 2, (int16, int8)
    assert int16.size_bytes < 1.5 * int8.size_bytes
    probabilities = TFLiteModel(tmp_path / "int16x8.tflite")(x_test)
    np.testing.assert_allclose(probabilities, model.predict(x_test, verbose=0), atol=0.02)
    with pytest.raises(ValueError, match=r"`representative_data` must be given.*'int16x8'"):
        tflite(model, tmp_path / "x.tflite", quantization="int16x8")
    with pytest.raises(ValueError, match=r"`integer_io` must be False"):
        tflite(model, tmp_path / "x.tflite", quantization="int16x8", integer_io=True, **common)
    with pytest.raises(ValueError, match=r"TensorList.*quantization='int16x8'"):
        tflite(
            gru_model, tmp_path / "gru.tflite", quantization="int16x8",
            representative_data=_x((8, 5, 3)),
        )  # fmt: skip


def test_flex_ops_error_names_the_op_and_leaves_nothing(tmp_path):
    inputs = keras.Input((6,))
    model = keras.Model(inputs, keras.layers.Dense(3)(CumProd()(inputs)))
    with pytest.raises(ValueError, match=r"allow_flex_ops.*\['Cumprod'\].*allow_flex_ops=False"):
        tflite(model, tmp_path / "flex.tflite")
    assert os.listdir(tmp_path) == []

    report = tflite(model, tmp_path / "flex.tflite", allow_flex_ops=True)
    assert report.uses_flex and "FlexCumprod" in report.ops and "FULLY_CONNECTED" in report.ops
    assert "yes" in str(report)
    if report.max_abs_diff is None:
        # No Flex delegate in this Python (the TF 2.21 wheel and LiteRT have none).
        assert "Flex" in report.note and report.mean_latency_ms is None
        assert "not measured" in str(report)
        with pytest.raises(RuntimeError, match="Flex"):
            TFLiteModel(tmp_path / "flex.tflite")
    else:
        assert report.max_abs_diff <= 1e-5


def test_ops_with_no_tflite_kernel_at_all(tmp_path):
    inputs = keras.Input((3, 3))
    model = keras.Model(inputs, SingularValues()(inputs))
    with pytest.raises(ValueError, match=r"TensorFlow ops \['Svd'\].*neither"):
        tflite(model, tmp_path / "svd.tflite", allow_flex_ops=True)
    assert os.listdir(tmp_path) == []


def test_int8_refuses_recurrent_loops_and_unrolled_gru_works(gru_model, tmp_path):
    data = _x((8, 5, 3))
    with pytest.raises(ValueError, match=r"TensorList.*unroll=True.*quantization='int8'"):
        tflite(gru_model, tmp_path / "gru.tflite", quantization="int8", representative_data=data)
    assert os.listdir(tmp_path) == []

    inputs = keras.Input((5, 3))
    unrolled = keras.Model(inputs, keras.layers.GRU(4, unroll=True)(inputs))
    report = tflite(
        unrolled, tmp_path / "gru.tflite", quantization="int8", representative_data=data
    )
    assert "WHILE" not in report.ops and report.max_abs_diff <= 0.05


def test_multi_input_multi_output_model(tmp_path):
    keras.utils.set_random_seed(3)
    features = keras.Input((4,), name="features")
    tokens = keras.Input((3,), name="tokens", dtype="int32")
    embedded = keras.layers.Flatten()(keras.layers.Embedding(10, 2)(tokens))
    joined = keras.layers.Concatenate()([features, embedded])
    model = keras.Model(
        {"tokens": tokens, "features": features},
        [keras.layers.Dense(2)(joined), keras.layers.Dense(1)(joined)],
    )
    rng = np.random.default_rng(0)
    x = {
        "features": rng.normal(size=(5, 4)).astype("float32"),
        "tokens": rng.integers(0, 10, size=(5, 3)).astype("int32"),
    }
    # An iterable of per-example dicts is accepted too.
    examples = ({k: v[i] for k, v in x.items()} for i in range(5))
    path = tmp_path / "multi.tflite"
    report = tflite(model, path, check_inputs=examples)
    assert report.num_checked == 5 and report.max_abs_diff <= 1e-5
    assert sorted(report.input_shapes) == [(1, 3), (1, 4)]
    runner = TFLiteModel(path)
    assert sorted(runner.input_names) == ["features", "tokens"]
    first, second = runner(x)
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(first, expected[0], atol=1e-5, rtol=0)
    np.testing.assert_allclose(second, expected[1], atol=1e-5, rtol=0)


def test_unknown_dims_need_input_shape(tmp_path):
    inputs = keras.Input((None, 3), name="sequence")
    model = keras.Model(inputs, keras.layers.GRU(2)(inputs))
    with pytest.raises(ValueError, match=r"`input_shape` must be given.*'sequence'.*None, 3"):
        tflite(model, tmp_path / "m.tflite")
    report = tflite(model, tmp_path / "m.tflite", input_shape=(1, 7, 3))
    assert report.input_shapes == ((1, 7, 3),) and report.max_abs_diff <= 1e-5


def test_subclassed_model_takes_input_shape(tmp_path):
    class Scorer(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    model = Scorer()
    model(np.zeros((1, 5), "float32"))
    with pytest.raises(ValueError, match=r"`input_shape` must be given"):
        tflite(model, tmp_path / "s.tflite")
    report = tflite(model, tmp_path / "s.tflite", input_shape=(1, 5))
    assert report.max_abs_diff <= 1e-5


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"quantization": "int4"}, ValueError, r"`quantization` must be one of.*'int4'"),
        ({"quantization": "int8"}, ValueError, r"`representative_data` must be given"),
        ({"integer_io": True}, ValueError, r"`integer_io` must be False.*'none'"),
        ({"input_shape": (1, 8, 8)}, ValueError, r"match the model's input.*\(1, 8, 8\)"),
        ({"input_shape": (1, 9, 8, 1)}, ValueError, r"match the model's input.*\(1, 9, 8, 1\)"),
        ({"input_shape": (0, 8, 8, 1)}, ValueError, r"positive dimensions"),
        ({"input_shape": "1x8x8x1"}, ValueError, r"`input_shape` must be a tuple of ints"),
        (
            {"representative_data": np.zeros((4, 8, 8, 2)), "quantization": "int8"},
            ValueError,
            r"`representative_data` must have examples of shape \(8, 8, 1\).*\(4, 8, 8, 2\)",
        ),
        ({"check_inputs": np.zeros((4, 8, 8, 1), "complex64")}, ValueError, r"dtype float32"),
        ({"check_inputs": 3.0}, ValueError, r"`check_inputs` must be an array"),
        ({"check_inputs": []}, ValueError, r"at least one example"),
        (
            {"labelled_data": (np.zeros((4, 8, 8, 1)), np.zeros(3))},
            ValueError,
            r"labels y of shape \(4,\).*\(3,\)",
        ),
        ({"labelled_data": np.zeros((4, 8, 8, 1))}, ValueError, r"must be a pair \(x, y\)"),
    ],
)
def test_bad_arguments_write_nothing(conv_bn_model, tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        tflite(conv_bn_model, tmp_path / "m.tflite", **kwargs)
    assert os.listdir(tmp_path) == []


def test_bad_paths_and_models(conv_bn_model, tmp_path):
    with pytest.raises(ValueError, match=r"`path` must be a file path, not a directory"):
        tflite(conv_bn_model, tmp_path)
    with pytest.raises(ValueError, match=r"`path` must be in an existing directory.*missing"):
        tflite(conv_bn_model, tmp_path / "missing" / "m.tflite")
    with pytest.raises(TypeError, match=r"`path` must be a str"):
        tflite(conv_bn_model, 3)
    with pytest.raises(TypeError, match=r"`model` must be a keras.Model"):
        tflite(keras.layers.Dense(2), tmp_path / "m.tflite")
    with pytest.raises(ValueError, match=r"`model` must be built"):
        tflite(keras.Sequential([keras.layers.Dense(2)]), tmp_path / "m.tflite")
    assert os.listdir(tmp_path) == []


def test_failed_conversion_keeps_the_previous_file(tmp_path):
    path = tmp_path / "model.tflite"
    path.write_bytes(b"previous version")
    inputs = keras.Input((6,))
    model = keras.Model(inputs, CumProd()(inputs))
    with pytest.raises(ValueError, match="Cumprod"):
        tflite(model, path)
    assert path.read_bytes() == b"previous version"
    assert os.listdir(tmp_path) == ["model.tflite"]


def test_report_str_and_to_dict(digits, tmp_path):
    model, _, (x_test, y_test) = digits
    report = tflite(model, tmp_path / "d.tflite", labelled_data=(x_test[:50], y_test[:50]))
    text = str(report)
    for label in ("quantization", "size", "ops", "uses Flex ops", "max |tflite - keras|"):
        assert label in text
    assert "accuracy" in text and "(labelled_data)" in text
    as_dict = report.to_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert as_dict["ops"] == sorted(report.ops)
    assert as_dict["input_shapes"] == [[1, 8, 8, 1]]
    with pytest.raises(AttributeError):
        report.size_bytes = 0  # frozen


def test_tflite_model_bad_inputs(conv_bn_model, tmp_path):
    path = tmp_path / "conv.tflite"
    tflite(conv_bn_model, path)
    runner = TFLiteModel(path)
    with pytest.raises(ValueError, match=r"shape \(n, 8, 8, 1\).*\(2, 8, 8\)"):
        runner(np.zeros((2, 8, 8), "float32"))
    with pytest.raises(ValueError, match=r"keyed by the input names \['image'\]"):
        runner({"x": np.zeros((2, 8, 8, 1), "float32")})
    with pytest.raises(ValueError, match=r"non-zero number of examples.*\[0\]"):
        runner(np.zeros((0, 8, 8, 1), "float32"))
    with pytest.raises(ValueError, match=r"existing .tflite file"):
        TFLiteModel(tmp_path / "nope.tflite")
