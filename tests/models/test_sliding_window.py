"""fc_to_conv: every output position equals the original classifier on its crop."""

import keras
import numpy as np
import pytest

from kerasdl.models.sliding_window import fc_to_conv
from kerasdl.ops.conv_arithmetic import conv_output_size

L = keras.layers


def notes_model(final_activation="softmax"):
    """The notes' example: 14x14x3 -> conv 5x5, 16 -> max pool 2 -> FC 400 -> FC 400 -> 4."""
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((14, 14, 3)),
            L.Conv2D(16, 5, activation="relu"),
            L.MaxPooling2D(2),
            L.Flatten(),
            L.Dense(400, activation="relu"),
            L.Dense(400, activation="relu"),
            L.Dense(4, activation=final_activation),
        ],
        name="notes",
    )


def strided_functional_model():
    """A non-square functional classifier with total stride 4 and every head layer kind."""
    keras.utils.set_random_seed(1)
    inputs = keras.Input((18, 14, 2))
    x = L.Rescaling(0.5, offset=0.1)(inputs)
    x = L.Conv2D(6, 3, strides=2)(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    x = L.AveragePooling2D(2)(x)
    x = L.Conv2D(5, 1, padding="same", activation="tanh")(x)  # 1x1: "same" pads nothing
    x = L.Flatten()(x)
    x = L.Dropout(0.3)(x)
    x = L.Dense(7, use_bias=False)(x)
    x = L.Activation("elu")(x)
    x = L.Dense(3)(x)
    x = L.Softmax()(x)
    model = keras.Model(inputs, x, name="strided")
    bn = model.layers[3]
    bn.moving_mean.assign(np.linspace(-0.5, 0.5, 6))
    bn.moving_variance.assign(np.linspace(0.5, 2.0, 6))
    return model


def check_every_window(model, conv_model, image, stride, read=None):
    """Compares each grid position with the original model run on the matching crop.

    `read` is the part `(H', W')` of its `H x W` input the model reads (all of it by
    default): the grid counts the windows of that size, and the last window's crop may run
    past the image over unread rows, which are filled with noise here.
    """
    _, height, width, _ = model.input_shape
    read_h, read_w = read or (height, width)
    grid = conv_model(image, training=False).numpy()
    rows = conv_output_size(image.shape[1], read_h, "valid", stride)
    cols = conv_output_size(image.shape[2], read_w, "valid", stride)
    assert grid.shape == (len(image), rows, cols, model.output_shape[-1])
    padded = np.random.default_rng(7).normal(
        size=(len(image), image.shape[1] + height, image.shape[2] + width, image.shape[3])
    )
    padded[:, : image.shape[1], : image.shape[2]] = image
    crops = np.stack(
        [
            padded[:, i * stride : i * stride + height, j * stride : j * stride + width]
            for i in range(rows)
            for j in range(cols)
        ],
        axis=1,
    ).astype("float32")  # (batch, rows * cols, height, width, channels)
    expected = model(crops.reshape(-1, *crops.shape[2:]), training=False).numpy()
    expected = expected.reshape(len(image), rows, cols, -1)
    for i in range(rows):
        for j in range(cols):
            np.testing.assert_allclose(
                grid[:, i, j], expected[:, i, j], rtol=1e-5, atol=1e-5, err_msg=f"({i}, {j})"
            )
    return grid


@pytest.mark.parametrize("final_activation", ["softmax", None])
@pytest.mark.parametrize("size, grid", [(16, 2), (28, 8)])
def test_notes_example_matches_every_crop(size, grid, final_activation):
    model = notes_model(final_activation)
    conv_model = fc_to_conv(model)
    assert conv_model.input_shape == (None, None, None, 3)
    image = np.random.default_rng(size).normal(size=(2, size, size, 3)).astype("float32")
    out = check_every_window(model, conv_model, image, stride=2)
    assert out.shape == (2, grid, grid, 4)
    if final_activation == "softmax":
        # Softmax over the channel axis at each position; not saturated, so the
        # comparison is not trivially between 0s and 1s.
        np.testing.assert_allclose(out.sum(axis=-1), 1.0, rtol=1e-5)
        assert 0.05 < out.max(axis=-1).mean() < 0.95
    else:
        assert out.std() > 0.1


def test_notes_example_layers():
    conv_model = fc_to_conv(notes_model())
    kinds = [(type(layer).__name__, layer.output.shape[1:]) for layer in conv_model.layers[1:]]
    assert [k for k, _ in kinds] == ["Conv2D", "MaxPooling2D", "Conv2D", "Conv2D", "Conv2D"]
    # FC 400 on the 5x5x16 map becomes 400 filters of 5x5x16; the others are 1x1.
    convs = [layer for layer in conv_model.layers if layer.name.endswith("_conv")]
    shapes = [tuple(c.kernel.shape) for c in convs]
    assert shapes == [(5, 5, 16, 400), (1, 1, 400, 400), (1, 1, 400, 4)]
    assert [c.activation.__name__ for c in convs] == ["relu", "relu", "softmax"]
    assert conv_model.count_params() == notes_model().count_params()


def test_strided_model_ignores_its_last_row_and_column():
    # Conv 3x3/2 reads rows 0..16 of 18 (8 outputs) and columns 0..12 of 14 (6 outputs);
    # the 2x2/2 pooling then reads all of its 8x6 input: the model reads 17x13 of 18x14.
    model = strided_functional_model()
    x = np.random.default_rng(5).normal(size=(2, 18, 14, 2)).astype("float32")
    changed = x.copy()
    changed[:, 17, :] = 9.0
    changed[:, :, 13] = -9.0
    np.testing.assert_array_equal(model(changed).numpy(), model(x).numpy())
    changed[:, 16, 0] = 9.0
    assert not np.allclose(model(changed).numpy(), model(x).numpy())


# (45, 20): 45 rows hold 7 windows of 18 rows at stride 4 but 8 of the 17 rows read.
@pytest.mark.parametrize("size", [(18, 14), (30, 26), (31, 27), (45, 20), (21, 17)])
def test_strided_functional_model_matches_every_crop(size):
    model = strided_functional_model()
    conv_model = fc_to_conv(model)
    image = np.random.default_rng(sum(size)).normal(size=(2, *size, 2)).astype("float32")
    check_every_window(model, conv_model, image, stride=4, read=(17, 13))


def test_weights_are_copied_not_shared():
    model = notes_model()
    conv_model = fc_to_conv(model)
    before = [w.numpy().copy() for w in model.weights]
    for w in conv_model.weights:
        w.assign(np.zeros(w.shape))
    for w, b in zip(model.weights, before, strict=True):
        np.testing.assert_array_equal(w.numpy(), b)


def test_converted_model_saves_and_loads(tmp_path):
    conv_model = fc_to_conv(strided_functional_model())
    image = np.random.default_rng(3).normal(size=(2, 30, 26, 2)).astype("float32")
    path = tmp_path / "sliding.keras"
    conv_model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.input_shape == (None, None, None, 2)
    np.testing.assert_array_equal(
        loaded.predict(image, verbose=0), conv_model.predict(image, verbose=0)
    )
    other = np.random.default_rng(4).normal(size=(1, 22, 22, 2)).astype("float32")
    assert loaded(other).shape == (1, 2, 3, 3)


def sequential(*layers, input_shape=(14, 14, 3)):
    return keras.Sequential([keras.Input(input_shape), *layers])


def branchy_model():
    inputs = keras.Input((8, 8, 3))
    a, b = L.Conv2D(4, 3)(inputs), L.Conv2D(4, 3)(inputs)
    x = L.Flatten()(L.Add()([a, b]))
    return keras.Model(inputs, L.Dense(2)(x))


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: "model", TypeError, r"`model` must be a keras.Model\. Received: model='model'"),
        (
            lambda: keras.Sequential([L.Conv2D(3, 3), L.Flatten(), L.Dense(2)]),
            ValueError,
            r"`model` must be built with a known input shape",
        ),
        (
            lambda: sequential(L.Conv2D(4, 3), L.GlobalAveragePooling2D(), L.Dense(2)),
            ValueError,
            r"`model` must have a Flatten layer .*GlobalAveragePooling2D",
        ),
        (
            lambda: sequential(L.Conv2D(4, 3, padding="same"), L.Flatten(), L.Dense(2)),
            ValueError,
            r"'valid' padding.*Received: layer 'conv2d_\d+' \(Conv2D\) with padding='same'",
        ),
        (
            lambda: sequential(L.MaxPooling2D(2, padding="same"), L.Flatten(), L.Dense(2)),
            ValueError,
            r"\(MaxPooling2D\) with padding='same'",
        ),
        (
            lambda: sequential(L.ZeroPadding2D(1), L.Conv2D(2, 3), L.Flatten(), L.Dense(2)),
            ValueError,
            r"fully convolutional body.*\(ZeroPadding2D\), which does not act on every window",
        ),
        (
            lambda: sequential(L.Reshape((7, 28, 3)), L.Flatten(), L.Dense(2)),
            ValueError,
            r"fully convolutional body.*\(Reshape\)",
        ),
        (
            lambda: sequential(L.Conv2D(2, 3), L.Flatten(), L.Dense(4), L.Reshape((2, 2))),
            ValueError,
            r"only Dense, Dropout and activation layers after Flatten.*\(Reshape\)",
        ),
        (
            lambda: sequential(L.Conv2D(2, 3), L.Flatten(), L.BatchNormalization(), L.Dense(2)),
            ValueError,
            r"after Flatten\. Received: layer '.*' \(BatchNormalization\)",
        ),
        (
            lambda: sequential(L.Conv2D(2, 3), L.Flatten(), L.Activation("relu")),
            ValueError,
            r"must have a Dense layer after Flatten",
        ),
        (
            lambda: sequential(L.BatchNormalization(axis=1), L.Flatten(), L.Dense(2)),
            ValueError,
            r"normalise over channels only.*axis=1",
        ),
        (branchy_model, ValueError, r"plain chain of layers.*\(Conv2D\)"),
        (
            lambda: sequential(L.Flatten(), L.Dense(2), input_shape=(14, 3)),
            ValueError,
            r"must take images \(batch, height, width, channels\).*\(None, 14, 3\)",
        ),
    ],
)
def test_rejects_models_of_another_shape(make, error, match):
    with pytest.raises(error, match=match):
        fc_to_conv(make())
