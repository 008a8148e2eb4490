"""InceptionModule against a plain-Keras reference, the paper's numbers and the notes' cost."""

import keras
import numpy as np
import pytest

from kerasdl.layers.inception import InceptionModule
from kerasdl.ops.conv_arithmetic import conv_multiplications

INCEPTION_3A = {
    "filters_1x1": 64,
    "filters_3x3": (96, 128),
    "filters_5x5": (16, 32),
    "filters_pool_proj": 32,
}


def plain_keras_reference(
    input_shape, filters_1x1, filters_3x3, filters_5x5, filters_pool_proj, use_batch_norm=False
):
    """The module written out with Conv2D, MaxPooling2D and Concatenate in a functional model.

    Layer names match the module's sub-layers so weights can be copied by name.
    """

    def conv(x, filters, size, name):
        x = keras.layers.Conv2D(
            filters, size, padding="same", use_bias=not use_batch_norm, name=name
        )(x)
        if use_batch_norm:
            x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
        return keras.layers.ReLU()(x)

    inputs = keras.Input(shape=input_shape)
    b1 = conv(inputs, filters_1x1, 1, "branch1x1")
    b3 = conv(conv(inputs, filters_3x3[0], 1, "branch3x3_reduce"), filters_3x3[1], 3, "branch3x3")
    b5 = conv(conv(inputs, filters_5x5[0], 1, "branch5x5_reduce"), filters_5x5[1], 5, "branch5x5")
    pooled = keras.layers.MaxPooling2D(3, strides=1, padding="same")(inputs)
    bp = conv(pooled, filters_pool_proj, 1, "pool_proj")
    outputs = keras.layers.Concatenate(axis=-1)([b1, b3, b5, bp])
    return keras.Model(inputs, outputs)


def randomise(module, rng):
    """Random weights and biases, moving variances kept positive."""
    module.set_weights(
        [
            rng.uniform(0.5, 1.5, w.shape) if "variance" in w.path else rng.normal(size=w.shape)
            for w in module.weights
        ]
    )


def copy_weights_by_name(module, reference):
    for layer in reference.layers:
        if layer.weights:
            layer.set_weights(getattr(module, layer.name).get_weights())


def test_inception_3a_parameter_count_and_output_shape():
    # Inception (3a) on 28x28x192. A conv with f x f x n_C_prev filters, n_C of them, has
    # (f * f * n_C_prev + 1) * n_C parameters (weights + one bias per filter):
    branch1x1 = (1 * 1 * 192 + 1) * 64  # 12,352
    branch3x3 = (1 * 1 * 192 + 1) * 96 + (3 * 3 * 96 + 1) * 128  # 18,528 + 110,720
    branch5x5 = (1 * 1 * 192 + 1) * 16 + (5 * 5 * 16 + 1) * 32  # 3,088 + 12,832
    pool_proj = (1 * 1 * 192 + 1) * 32  # 6,176 (the max pooling has none)
    hand = branch1x1 + branch3x3 + branch5x5 + pool_proj
    assert hand == 163_696

    module = InceptionModule(**INCEPTION_3A)
    outputs = module(keras.Input(shape=(28, 28, 192)))
    assert tuple(outputs.shape) == (None, 28, 28, 64 + 128 + 32 + 32) == (None, 28, 28, 256)
    assert module.count_params() == hand
    assert module.compute_output_shape((None, 28, 28, 192)) == (None, 28, 28, 256)
    assert module.output_channels == 256


def test_batch_norm_replaces_biases():
    # Each conv loses its n_C biases and gains 4 * n_C batch-norm numbers (2 trainable).
    module = InceptionModule(**INCEPTION_3A, use_batch_norm=True)
    module.build((None, 28, 28, 192))
    conv_channels = 64 + 96 + 128 + 16 + 32 + 32
    assert module.count_params() == 163_696 - conv_channels + 4 * conv_channels
    trainable = sum(int(np.prod(w.shape)) for w in module.trainable_weights)
    assert trainable == 163_696 - conv_channels + 2 * conv_channels


def test_inception_3a_cost_with_and_without_bottleneck():
    # The notes' argument on 28x28x192 -> 28x28x32 with 5x5 filters: ~120M multiplications
    # directly, ~12.4M through a 16-channel 1x1 bottleneck.
    direct = conv_multiplications(28, 5, 192, 32)
    bottleneck = conv_multiplications(28, 1, 192, 16) + conv_multiplications(28, 5, 16, 32)
    assert (direct, bottleneck) == (120_422_400, 12_443_648)
    # The whole module: table 1 of the paper lists 128M ops for Inception (3a).
    total = sum(
        conv_multiplications(28, f, c_in, c_out)
        for f, c_in, c_out in [
            (1, 192, 64),
            (1, 192, 96),
            (3, 96, 128),
            (1, 192, 16),
            (5, 16, 32),
            (1, 192, 32),
        ]
    )
    assert round(total / 1e6) == 128


@pytest.mark.parametrize("use_batch_norm", [False, True])
@pytest.mark.parametrize(
    "filters, input_shape",
    [
        (
            dict(filters_1x1=4, filters_3x3=(3, 5), filters_5x5=(2, 3), filters_pool_proj=2),
            (9, 7, 6),
        ),
        (
            dict(filters_1x1=1, filters_3x3=(1, 1), filters_5x5=(1, 1), filters_pool_proj=1),
            (4, 4, 1),
        ),
    ],
)
def test_matches_plain_keras_reference(filters, input_shape, use_batch_norm):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, *input_shape)).astype("float32")
    module = InceptionModule(**filters, use_batch_norm=use_batch_norm)
    module.build((None, *input_shape))
    randomise(module, rng)
    reference = plain_keras_reference(input_shape, **filters, use_batch_norm=use_batch_norm)
    copy_weights_by_name(module, reference)
    expected = reference(x, training=False).numpy()
    got = module(x, training=False).numpy()
    assert got.shape == expected.shape
    assert (expected > 0).mean() > 0.2  # not a mostly-zero ReLU output
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_batch_norm_uses_batch_statistics_in_training():
    x = np.random.default_rng(1).normal(3.0, 2.0, size=(4, 6, 6, 3)).astype("float32")
    module = InceptionModule(2, (2, 2), (2, 2), 2, use_batch_norm=True)
    assert not np.allclose(module(x, training=True).numpy(), module(x, training=False).numpy())


def test_config_round_trip_and_keras_file(tmp_path):
    module = InceptionModule(
        3,
        [2, 4],
        (1, 2),
        5,
        use_batch_norm=True,
        batch_norm_momentum=0.9,
        activation="elu",
        kernel_initializer="he_normal",
        kernel_regularizer="l2",
        name="inception",
    )
    config = module.get_config()
    assert config["filters_3x3"] == (2, 4)
    assert InceptionModule.from_config(config).get_config() == config

    inputs = keras.Input(shape=(5, 5, 3))
    model = keras.Model(inputs, module(inputs))
    x = np.random.default_rng(2).normal(size=(2, 5, 5, 3)).astype("float32")
    path = tmp_path / "inception.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.get_layer("inception"), InceptionModule)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"filters_1x1": 0}, ValueError, r"`filters_1x1` must be > 0\. Received: filters_1x1=0"),
        ({"filters_1x1": 2.0}, TypeError, r"`filters_1x1` must be a positive int"),
        (
            {"filters_3x3": 128},
            ValueError,
            r"`filters_3x3` must be a \(reduce, out\) pair of positive ints\. "
            r"Received: filters_3x3=128",
        ),
        ({"filters_3x3": (96, 128, 3)}, ValueError, r"`filters_3x3` must be a \(reduce, out\)"),
        ({"filters_5x5": (16, 0)}, ValueError, r"Received: filters_5x5=\(16, 0\)"),
        ({"filters_5x5": (16.0, 32)}, ValueError, r"`filters_5x5` must be a \(reduce, out\)"),
        ({"filters_5x5": "16,32"}, ValueError, r"`filters_5x5` must be a \(reduce, out\)"),
        ({"filters_pool_proj": -1}, ValueError, r"`filters_pool_proj` must be > 0"),
        ({"batch_norm_momentum": 1.0}, ValueError, r"`batch_norm_momentum` must be .*\[0, 1\)"),
        ({"batch_norm_momentum": "0.9"}, TypeError, r"`batch_norm_momentum` must be a number"),
        ({"activation": "no-such"}, ValueError, r"no-such"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        InceptionModule(**{**INCEPTION_3A, **kwargs})


@pytest.mark.parametrize(
    "shape, match",
    [
        ((None, 28, 192), r"`inputs` must have rank 4 .*Received: inputs.shape=\(None, 28, 192\)"),
        ((None, 28, 28, None), r"`inputs` must have a known channel dimension"),
    ],
)
def test_bad_input_shapes(shape, match):
    with pytest.raises(ValueError, match=match):
        InceptionModule(**INCEPTION_3A).build(shape)
