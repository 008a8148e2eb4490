"""ResidualBlock against a numpy re-derivation of the notes' formula."""

import numpy as np
import pytest

from kerasdl.layers import ResidualBlock


def conv2d_same(x, kernel, bias, stride):
    """TensorFlow's "same" convolution in numpy: pad so the output is ceil(n / s)."""
    n, h, w, _ = x.shape
    fh, fw, _, out = kernel.shape
    oh, ow = -(-h // stride), -(-w // stride)
    pad_h = max((oh - 1) * stride + fh - h, 0)
    pad_w = max((ow - 1) * stride + fw - w, 0)
    x = np.pad(
        x,
        ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)),
    )
    y = np.zeros((n, oh, ow, out))
    for i in range(fh):
        for j in range(fw):
            patch = x[:, i : i + stride * oh : stride, j : j + stride * ow : stride, :]
            y += patch @ kernel[i, j]
    return y + (0 if bias is None else bias)


def batch_norm_inference(z, gamma, beta, mean, var, eps=1e-3):
    return gamma * (z - mean) / np.sqrt(var + eps) + beta


def relu(z):
    return np.maximum(z, 0)


def randomise(block, rng):
    """Random weights everywhere, moving variances kept positive."""
    block.set_weights(
        [
            rng.uniform(0.5, 1.5, w.shape) if "variance" in w.path else rng.normal(size=w.shape)
            for w in block.weights
        ]
    )


def test_identity_shortcut_matches_formula():
    # a[l+2] = g(z[l+2] + a[l]) with z = W * a + b and no batch norm.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 5, 4)).astype("float32")
    block = ResidualBlock(4, use_batch_norm=False)
    block(x)
    randomise(block, rng)
    assert not block.project
    k1, b1, k2, b2 = (
        w.numpy()
        for w in (block.conv1.kernel, block.conv1.bias, block.conv2.kernel, block.conv2.bias)
    )
    a1 = relu(conv2d_same(x, k1, b1, 1))
    expected = relu(conv2d_same(a1, k2, b2, 1) + x)
    np.testing.assert_allclose(block(x).numpy(), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("size, strides", [(8, 2), (7, 2), (6, 1)])
def test_projection_shortcut_with_batch_norm_matches_formula(size, strides):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, size, size, 3)).astype("float32")
    block = ResidualBlock(5, strides=strides)
    block(x)
    randomise(block, rng)
    assert block.project

    def bn(layer, z):
        return batch_norm_inference(
            z,
            *(
                w.numpy()
                for w in (layer.gamma, layer.beta, layer.moving_mean, layer.moving_variance)
            ),
        )

    a1 = relu(bn(block.norm1, conv2d_same(x, block.conv1.kernel.numpy(), None, strides)))
    z2 = bn(block.norm2, conv2d_same(a1, block.conv2.kernel.numpy(), None, 1))
    shortcut = bn(
        block.shortcut_norm, conv2d_same(x, block.shortcut_conv.kernel.numpy(), None, strides)
    )
    expected = relu(z2 + shortcut)
    got = block(x, training=False).numpy()
    assert got.shape == (3, -(-size // strides), -(-size // strides), 5)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_parameter_count():
    # conv 3x3x3x8 + conv 3x3x8x8 (no bias), 3 BN of 4*8, 1x1 projection 3x8.
    block = ResidualBlock(8)
    block.build((None, 16, 16, 3))
    assert block.count_params() == 3 * 3 * 3 * 8 + 3 * 3 * 8 * 8 + 3 * 4 * 8 + 3 * 8


def test_training_uses_batch_statistics():
    x = np.random.default_rng(2).normal(3.0, 2.0, size=(8, 4, 4, 2)).astype("float32")
    block = ResidualBlock(2)
    assert not np.allclose(block(x, training=True).numpy(), block(x, training=False).numpy())


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"filters": -3}, ValueError, r"`filters` must be > 0\. Received: filters=-3"),
        ({"filters": "8"}, TypeError, r"`filters` must be a positive int"),
        ({"filters": 8, "kernel_size": 0}, ValueError, r"`kernel_size` must be > 0"),
        ({"filters": 8, "batch_norm_momentum": 1.0}, ValueError, r"`batch_norm_momentum`"),
        ({"filters": 8, "activation": "no-such"}, ValueError, r"no-such"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        ResidualBlock(**kwargs)


def test_unknown_channels_rejected():
    with pytest.raises(ValueError, match=r"known channel dimension"):
        ResidualBlock(4).build((None, 8, 8, None))
