"""conv_output_size against the notes' hand cases and Keras' actual output shapes."""

import keras
import numpy as np
import pytest

from kerasdl.ops.conv_arithmetic import conv_multiplications, conv_output_size


@pytest.mark.parametrize(
    "n, f, padding, stride, expected",
    [
        (6, 3, "valid", 1, 4),  # the notes' 6x6 * 3x3 -> 4x4
        (6, 3, 1, 1, 6),  # padding 1 keeps 6x6: n + 2p - f + 1
        (7, 3, "valid", 2, 3),  # strided: floor((7 - 3) / 2) + 1
        (7, 3, 0, 2, 3),
        (7, 3, 1, 2, 4),  # floor((7 + 2 - 3) / 2) + 1
        (6, 3, "same", 1, 6),
        (7, 3, "same", 2, 4),  # TF "same": ceil(7 / 2)
        (5, 7, "same", 1, 5),  # "same" pads even a window larger than the input
        (14, 5, "valid", 1, 10),  # the sliding-window example: 14x14 conv 5x5 -> 10x10
        (10, 2, "valid", 2, 5),  # then max pool 2x2 / 2 -> 5x5
        (224, 7, "same", 2, 112),  # GoogLeNet stem
        (112, 3, "same", 2, 56),
        (39, 3, "VALID", 2, 19),
        (4, 4, "valid", 1, 1),
        (np.int64(6), np.int32(3), np.int64(1), np.int8(1), 6),
    ],
)
def test_hand_cases(n, f, padding, stride, expected):
    got = conv_output_size(n, f, padding=padding, stride=stride)
    assert got == expected
    assert type(got) is int


def test_matches_numpy_sliding_window_count():
    # Count the window positions directly: starts 0, s, 2s, ... while start + f <= n + 2p.
    rng = np.random.default_rng(0)
    for _ in range(200):
        n, f, p, s = (int(v) for v in rng.integers(1, (30, 12, 4, 5), endpoint=True))
        if f > n + 2 * p:
            continue
        starts = np.arange(0, n + 2 * p - f + 1, s)
        assert conv_output_size(n, f, padding=p, stride=s) == len(starts), (n, f, p, s)


def random_cases(count, seed):
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < count:
        h, w = (int(v) for v in rng.integers(1, 24, size=2, endpoint=True))
        fh, fw = (int(v) for v in rng.integers(1, 7, size=2, endpoint=True))
        s = int(rng.integers(1, 4, endpoint=True))
        padding = ["valid", "same", int(rng.integers(0, 3, endpoint=True))][rng.integers(3)]
        p = 0 if padding in ("valid", "same") else padding
        if padding != "same" and (fh > h + 2 * p or fw > w + 2 * p):
            continue
        cases.append(((h, w), (fh, fw), padding, s))
    return cases


def keras_output_hw(layer, hw, padding):
    x = np.zeros((1, *hw, 2), "float32")
    if isinstance(padding, int):
        x = keras.layers.ZeroPadding2D(padding)(x)
    return tuple(layer(x).shape[1:3])


@pytest.mark.parametrize("case", random_cases(60, seed=1), ids=str)
def test_matches_keras_conv2d(case):
    hw, f, padding, s = case
    conv = keras.layers.Conv2D(
        1, f, strides=s, padding="valid" if isinstance(padding, int) else padding
    )
    expected = keras_output_hw(conv, hw, padding)
    got = tuple(conv_output_size(n, k, padding, s) for n, k in zip(hw, f, strict=True))
    assert got == expected


@pytest.mark.parametrize("case", random_cases(60, seed=2), ids=str)
def test_matches_keras_max_pooling2d(case):
    hw, f, padding, s = case
    pool = keras.layers.MaxPooling2D(
        f, strides=s, padding="valid" if isinstance(padding, int) else padding
    )
    expected = keras_output_hw(pool, hw, padding)
    got = tuple(conv_output_size(n, k, padding, s) for n, k in zip(hw, f, strict=True))
    assert got == expected


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n": 5, "f": 7}, ValueError, r"`f` must be <= n \+ 2p = 5 .*Received: f=7"),
        ({"n": 5, "f": 8, "padding": 1}, ValueError, r"`f` must be <= n \+ 2p = 7"),
        ({"n": 5, "f": 3, "stride": 0}, ValueError, r"`stride` must be > 0\. Received: stride=0"),
        ({"n": 5, "f": 3, "stride": -2}, ValueError, r"`stride` must be > 0"),
        ({"n": 5, "f": 3, "stride": 1.5}, TypeError, r"`stride` must be a positive int"),
        ({"n": 0, "f": 3}, ValueError, r"`n` must be > 0\. Received: n=0"),
        ({"n": 5, "f": 0}, ValueError, r"`f` must be > 0"),
        ({"n": 5.0, "f": 3}, TypeError, r"`n` must be a positive int"),
        ({"n": True, "f": 1}, TypeError, r"`n` must be a positive int"),
        ({"n": 5, "f": 3, "padding": "full"}, ValueError, r"`padding` must be one of .*'full'"),
        ({"n": 5, "f": 3, "padding": -1}, ValueError, r"`padding` must be >= 0\. .*padding=-1"),
        ({"n": 5, "f": 3, "padding": 1.0}, TypeError, r"`padding` must be .*float"),
        ({"n": 5, "f": 3, "padding": None}, TypeError, r"`padding` must be .*NoneType"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        conv_output_size(**kwargs)


def test_bottleneck_cost_of_the_notes():
    # 28x28x192 -> 5x5 "same" conv, 32 filters: 28*28*32 outputs, each 5*5*192 multiplies.
    direct = conv_multiplications(28, 5, 192, 32)
    assert direct == 28 * 28 * 32 * 5 * 5 * 192 == 120_422_400
    # 1x1 bottleneck to 16 channels, then the 5x5 conv to 32.
    bottleneck = conv_multiplications(28, 1, 192, 16) + conv_multiplications(28, 5, 16, 32)
    assert bottleneck == 28 * 28 * 16 * 192 + 28 * 28 * 32 * 5 * 5 * 16 == 12_443_648
    assert round(direct / 1e6) == 120 and round(bottleneck / 1e5) == 124
    assert conv_multiplications((28, 14), 5, 192, 32) == direct // 2


@pytest.mark.parametrize(
    "args, error, match",
    [
        ((0, 5, 192, 32), ValueError, r"`output_size` must be > 0"),
        (((28, 28, 3), 5, 192, 32), ValueError, r"`output_size` must be an int or an"),
        ((28, 5, 192, 0), ValueError, r"`filters` must be > 0"),
        ((28, 5, "192", 32), TypeError, r"`channels_in` must be a positive int"),
    ],
)
def test_multiplications_bad_arguments(args, error, match):
    with pytest.raises(error, match=match):
        conv_multiplications(*args)
