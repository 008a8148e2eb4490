"""StyleTransfer on scikit-image photographs with a randomly initialised VGG (no download):
the optimisation lowers J and the style cost far below the content image's, its costs
equal a numpy re-derivation from the network's activations, the initial image is the
exercise's noise mix, PNGs are saved, weights load from a local file, and bad inputs
raise clear errors."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kerasdl.models.style_transfer import (
    CONTENT_LAYER,
    STYLE_LAYERS,
    StyleTransfer,
    caffe_preprocess,
    fit_style_image,
)

skimage_data = pytest.importorskip("skimage.data")


def photo(name: str, size: tuple[int, int]) -> np.ndarray:
    """A scikit-image sample photograph resized to (height, width), uint8 RGB."""
    image = Image.fromarray(getattr(skimage_data, name)())
    return np.asarray(image.resize(size[::-1], Image.Resampling.LANCZOS))


@pytest.fixture(scope="module")
def vgg19():
    keras.utils.set_random_seed(0)
    return keras.applications.VGG19(include_top=False, weights=None, input_shape=(None, None, 3))


@pytest.fixture(scope="module")
def transfer(vgg19):
    return StyleTransfer(network=vgg19)


def np_caffe(images):
    """VGG's Caffe preprocessing in numpy: RGB [0, 1] -> BGR 0..255 minus the mean."""
    return images[..., ::-1] * 255.0 - np.array([103.939, 116.779, 123.68])


def np_costs(network, generated, content, style, alpha=10.0, beta=40.0):
    """J, J_content and J_style of the notes' formulas from the network's activations."""
    names = [CONTENT_LAYER, *STYLE_LAYERS]
    extractor = keras.Model(network.input, [network.get_layer(n).output for n in names])

    def features(image):
        out = extractor(np_caffe(image[np.newaxis].astype("float64")).astype("float32"))
        return [np.asarray(a[0], np.float64) for a in out]

    f_G, f_C, f_S = features(generated), features(content), features(style)
    n_H, n_W, n_C = f_G[0].shape
    J_content = np.sum((f_C[0] - f_G[0]) ** 2) / (4 * n_H * n_W * n_C)
    J_style = 0.0
    for a_S, a_G in zip(f_S[1:], f_G[1:], strict=True):
        n_H, n_W, n_C = a_G.shape
        A_S, A_G = a_S.reshape(-1, n_C).T, a_G.reshape(-1, n_C).T
        J_style += 0.2 * np.sum((A_S @ A_S.T - A_G @ A_G.T) ** 2) / (2 * n_H * n_W * n_C) ** 2
    return alpha * J_content + beta * J_style, J_content, J_style


def test_caffe_preprocess_is_keras_vgg19_preprocess_input():
    x = np.random.default_rng(0).uniform(size=(2, 5, 5, 3)).astype("float32")
    expected = keras.applications.vgg19.preprocess_input(x * 255.0)
    np.testing.assert_allclose(caffe_preprocess(x).numpy(), expected, rtol=1e-6, atol=1e-4)


def test_costs_equal_numpy_formulas(transfer, vgg19):
    content = photo("chelsea", (32, 48)) / 255.0
    style = photo("coffee", (32, 48)) / 255.0
    generated = np.random.default_rng(1).uniform(size=content.shape)
    got = transfer.costs(generated, content, style)
    total, J_content, J_style = np_costs(vgg19, generated, content, style)
    np.testing.assert_allclose(got["content"], J_content, rtol=1e-3)
    np.testing.assert_allclose(got["style"], J_style, rtol=1e-3)
    np.testing.assert_allclose(got["total"], total, rtol=1e-3)
    assert transfer.costs(content, content, style)["content"] == 0


def test_transfer_lowers_cost_and_takes_the_style(transfer, tmp_path):
    content = photo("astronaut", (32, 32))
    style = photo("coffee", (48, 72))  # another size and aspect ratio: fitted to 32x32
    out = str(tmp_path / "result.png")
    image, history = transfer.transfer(
        content, style, iterations=40, seed=0, output_path=out, save_every=15, progress=False
    )
    assert image.shape == (32, 32, 3) and image.dtype == np.float32
    assert image.min() >= 0 and image.max() <= 1
    assert [len(history[k]) for k in ("total", "content", "style")] == [41, 41, 41]
    total = np.array(history["total"])
    assert total[-1] < 0.1 * total[0], total[[0, 10, 20, 40]]
    assert np.all(np.diff(total[::10]) < 0), total[::10]
    # The style cost of the result is far below that of the content photograph.
    of_content = transfer.costs(content, content, style)["style"]
    of_result = transfer.costs(image, content, style)["style"]
    assert of_result < 0.1 * of_content, (of_result, of_content)
    np.testing.assert_allclose(of_result, history["style"][-1], rtol=1e-4)
    # Saved: steps 15 and 30, and the final image (8-bit rounding of the result).
    assert sorted(os.listdir(tmp_path)) == ["result.png", "result_15.png", "result_30.png"]
    saved = np.asarray(Image.open(out)) / 255.0
    np.testing.assert_allclose(saved, image, atol=0.5 / 255 + 1e-6)


def test_initial_image_is_the_exercise_noise_mix(transfer):
    content = photo("chelsea", (16, 16)) / 255.0
    np.testing.assert_allclose(transfer.initial_image(content, 0.0, seed=0), content, atol=1e-6)
    mean = np.array([123.68, 116.779, 103.939]) / 255.0
    noise = np.random.default_rng(3).uniform(-20 / 255, 20 / 255, size=content.shape)
    expected = np.clip(mean + 0.6 * noise + 0.4 * (content - mean), 0, 1)
    np.testing.assert_allclose(transfer.initial_image(content, 0.6, seed=3), expected, atol=1e-6)


def test_style_image_is_cropped_to_the_content_aspect_then_resized():
    # A wide style image: left/right thirds red, middle blue. Cropped to a square, only
    # the middle third survives.
    style = np.zeros((30, 90, 3), "float32")
    style[:, :30, 0] = style[:, 60:, 0] = 1.0
    style[:, 30:60, 2] = 1.0
    fitted = fit_style_image(style, 10, 10)
    assert fitted.shape == (10, 10, 3)
    np.testing.assert_allclose(fitted[..., 2], 1.0, atol=1e-6)
    np.testing.assert_allclose(fitted[..., 0], 0.0, atol=1e-6)
    tall = fit_style_image(np.ones((90, 30, 3), "float32"), 8, 16)
    assert tall.shape == (8, 16, 3)
    same = np.ones((8, 16, 3), "float32")
    assert fit_style_image(same, 8, 16) is same


def test_custom_network_unit_preprocessing():
    keras.utils.set_random_seed(1)
    inputs = keras.Input(shape=(None, None, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c1")(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c2")(x)
    x = keras.layers.MaxPooling2D(name="pool")(x)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="c3")(x)
    net = keras.Model(inputs, x)
    model = StyleTransfer(
        net,
        content_layer="c3",
        style_layers=["c1", "c3"],
        style_layer_weights=[1.0, 3.0],
        preprocess="unit",
        alpha=1.0,
        beta=100.0,
    )
    content = photo("astronaut", (16, 16))
    _, history = model.transfer(
        content, photo("coffee", (16, 16)), iterations=20, learning_rate=0.02, progress=False
    )
    assert history["total"][-1] < 0.5 * history["total"][0]


def test_weights_from_a_local_file(tmp_path):
    keras.utils.set_random_seed(2)
    source = keras.applications.VGG16(include_top=False, weights=None)
    path = str(tmp_path / "vgg16_notop.weights.h5")
    source.save_weights(path)
    model = StyleTransfer("VGG16", weights=path)
    for layer in ("block1_conv1", "block5_conv3"):
        np.testing.assert_array_equal(
            model.network.get_layer(layer).get_weights()[0],
            source.get_layer(layer).get_weights()[0],
        )
    assert [o.shape[-1] for o in model.extractor.outputs] == [512, 64, 128, 256, 512, 512]


def test_errors(transfer, vgg19):
    content = photo("chelsea", (16, 16))
    with pytest.raises(
        ValueError,
        match=r"`content_layer` must name layers of vgg19 .*"
        r"among \['block1_conv1', .*'block5_pool'\]\. "
        r"Received: content_layer='conv4_2'",
    ):
        StyleTransfer(vgg19, content_layer="conv4_2")
    with pytest.raises(ValueError, match=r"`style_layers` must name .*'block9_conv1'"):
        StyleTransfer(vgg19, style_layers=["block1_conv1", "block9_conv1"])
    with pytest.raises(
        ValueError,
        match=r"`style_layer_weights` must have one weight|"
        r"`layer_weights` must have one weight",
    ):
        StyleTransfer(vgg19, style_layer_weights=[1.0])
    with pytest.raises(ValueError, match=r"`network` must be one of \('VGG19', 'VGG16'\)"):
        StyleTransfer("ResNet50")
    with pytest.raises(ValueError, match=r"`weights` must be None, 'imagenet' or the path"):
        StyleTransfer(weights="/no/such/file.h5")
    with pytest.raises(ValueError, match=r"`weights` applies to network='VGG19'"):
        StyleTransfer(vgg19, weights="imagenet")
    with pytest.raises(ValueError, match=r"`preprocess` must be one of"):
        StyleTransfer(vgg19, preprocess="torch")
    with pytest.raises(ValueError, match=r"`alpha` must be >= 0"):
        StyleTransfer(vgg19, alpha=-1)
    with pytest.raises(ValueError, match=r"`content` must be one RGB image .*shape=\(16, 16\)"):
        transfer.transfer(content[..., 0], content, iterations=1)
    with pytest.raises(ValueError, match=r"`style` must have 3 \(RGB\) channels.*16, 16, 4"):
        transfer.transfer(content, np.zeros((16, 16, 4), "uint8"), iterations=1)
    with pytest.raises(ValueError, match=r"`content` must hold pixels in \[0, 1\]"):
        transfer.transfer(content.astype("float32"), content, iterations=1)
    with pytest.raises(ValueError, match=r"`iterations` must be > 0"):
        transfer.transfer(content, content, iterations=0)
    with pytest.raises(ValueError, match=r"`noise_ratio` must be in \[0.0, 1.0\]"):
        transfer.transfer(content, content, noise_ratio=1.5)
    with pytest.raises(ValueError, match=r"`save_every` needs `output_path`"):
        transfer.transfer(content, content, save_every=5)
    fixed = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3, name="c")])
    with pytest.raises(ValueError, match=r"`content` must have the network's input size"):
        StyleTransfer(fixed, content_layer="c", style_layers=["c"]).transfer(content, content)
    gray = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="c")])
    with pytest.raises(ValueError, match=r"`network` must take RGB images"):
        StyleTransfer(gray, content_layer="c", style_layers=["c"])


def test_one_traced_step_and_a_progress_bar(transfer, monkeypatch, capsys):
    """The optimised image is a tf.Variable updated inside one traced tf.function; the
    tqdm bar shows the costs."""
    traced = []
    original = transfer._costs

    def spy(images, *args):
        traced.append(isinstance(images, tf.Variable))
        return original(images, *args)

    monkeypatch.setattr(transfer, "_costs", spy)
    content = photo("chelsea", (16, 16))
    transfer.transfer(content, content, iterations=5, progress=True)
    # One trace for the step, one eager call for the final costs: not one per iteration.
    assert traced == [True, True], traced
    err = capsys.readouterr().err
    assert "style transfer" in err and "J=" in err and "content=" in err and "style=" in err
