"""Neural style transfer: optimise the pixels of a generated image `G` so that a
pretrained ConvNet sees the content of image `C` and the style of image `S` in it.

The notes' recipe: pick a layer `l` of a pretrained network (VGG) for the content and
several layers for the style, initialise `G`, and run gradient descent on the pixels of
`G` to minimise `J(G) = alpha * J_content(C, G) + beta * J_style(S, G)`
(`kerasdl.losses.style`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerasdl._validation import check_in_range, check_positive_int
from kerasdl.layers.style import gram_matrix
from kerasdl.losses.style import (
    ALPHA,
    BETA,
    _check_layer_weights,
    _layer_style_cost_from_gram,
    content_cost,
)

NETWORKS = ("VGG19", "VGG16")
# Gatys et al. (and the course exercise, in VGG's conv<block>_<n> naming): content from
# conv4_2, style from the first convolution of each of the five blocks, lambda = 0.2 each.
CONTENT_LAYER = "block4_conv2"
STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
PREPROCESSING = ("caffe", "unit")
# The BGR mean pixel that VGG's (Caffe) preprocessing subtracts, on the 0..255 scale.
IMAGENET_BGR_MEAN = (103.939, 116.779, 123.68)
# The exercise's initial noise is uniform in [-20, 20] on the 0..255 scale.
NOISE_AMPLITUDE = 20.0 / 255.0


def caffe_preprocess(images):
    """VGG's input from RGB pixels in [0, 1]: 0..255 BGR minus the ImageNet mean pixel.

    The same as `keras.applications.vgg19.preprocess_input(images * 255)`, written with
    `keras.ops` so gradients flow to the pixels.
    """
    bgr = ops.flip(images, axis=-1) * 255.0
    return bgr - ops.convert_to_tensor(np.array(IMAGENET_BGR_MEAN, "float32"))


def _as_image(name: str, image: Any) -> np.ndarray:
    """`image` as float32 `(n_H, n_W, 3)` in [0, 1], raising on bad rank, channels, range."""
    array = np.asarray(image)
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 3:
        raise ValueError(
            f"`{name}` must be one RGB image of shape (n_H, n_W, 3) or (1, n_H, n_W, 3). "
            f"Received: {name}.shape={array.shape}"
        )
    if array.shape[-1] != 3:
        raise ValueError(
            f"`{name}` must have 3 (RGB) channels in the last axis; convert grayscale with "
            f"np.stack([image] * 3, axis=-1). Received: {name}.shape={array.shape}"
        )
    if array.dtype == np.uint8:
        return array.astype("float32") / 255.0
    if not np.issubdtype(array.dtype, np.floating) and not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"`{name}` must hold numbers. Received: {name}.dtype={array.dtype}")
    array = array.astype("float32")
    low, high = float(array.min()), float(array.max())
    if not (np.isfinite(low) and np.isfinite(high) and low >= 0.0 and high <= 1.0):
        raise ValueError(
            f"`{name}` must hold pixels in [0, 1] (uint8 images are divided by 255 here; "
            f"divide float 0..255 images by 255). Received: {name} in [{low}, {high}]"
        )
    return array


def fit_style_image(style: np.ndarray, height: int, width: int) -> np.ndarray:
    """The style image centre-cropped to the content's aspect ratio, then resized to
    `(height, width)` (area-averaged when shrinking), so its texture is not stretched."""
    s_height, s_width = style.shape[:2]
    if (s_height, s_width) == (height, width):
        return style
    if s_width * height > s_height * width:
        crop = max(1, round(s_height * width / height))
        left = (s_width - crop) // 2
        style = style[:, left : left + crop]
    else:
        crop = max(1, round(s_width * height / width))
        top = (s_height - crop) // 2
        style = style[top : top + crop]
    resized = tf.image.resize(style, (height, width), method="area", antialias=True)
    return np.clip(resized.numpy(), 0.0, 1.0)


def save_png(path: str, image: np.ndarray) -> None:
    """Writes pixels in [0, 1] as an 8-bit RGB PNG."""
    from PIL import Image

    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    pixels = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype("uint8")
    Image.fromarray(pixels).save(path, format="PNG")


class StyleTransfer:
    """Generates an image with the content of `C` and the style of `S` (Gatys et al.).

    A feature extractor returns the activations `a[l]` of one content layer and of the
    style layers of a pretrained ConvNet. `transfer` then minimises

        J(G) = alpha * J_content(C, G) + beta * sum_l lambda[l] * J_style[l](S, G)

    (`kerasdl.losses.style`) over the pixels of `G`, a `tf.Variable`, with Adam in a
    `tf.function` step, clipping `G` to [0, 1] after each step. `G` starts as the
    content image plus noise, as in the course exercise: in VGG's mean-subtracted pixel
    space, `G = noise_ratio * U(-20, 20) + (1 - noise_ratio) * C`.

    The style image is compared at the content image's size: the notes' `J_style[l]`
    normalises both Gram matrices by one `n_H n_W n_C`. When the sizes differ, `S` is
    centre-cropped to the content's aspect ratio and resized to the content's size
    (`fit_style_image`).

    Args:
        network: `"VGG19"` (the default, as in the exercise) or `"VGG16"`, built by
            `keras.applications` with `include_top=False`; or any functional Keras CNN
            taking `(batch, n_H, n_W, 3)` images, whose layers are named in
            `content_layer` and `style_layers`.
        weights: for `"VGG19"`/`"VGG16"` only: `None` (random initialisation: a
            random-weight network still transfers colours and texture, but no
            semantics), `"imagenet"` (Keras downloads the notop weights once and caches
            them in `~/.keras`; needs a network connection the first time), or the path
            of a local weights file (`.h5` notop weights as Keras distributes them, or a
            `.weights.h5` saved from the same application with `include_top=False`).
        content_layer: name of the layer `l` of `J_content`. Default `"block4_conv2"`
            (Gatys' conv4_2).
        style_layers: names of the style layers. Default the first convolution of each
            VGG block, `block1_conv1` ... `block5_conv1`.
        style_layer_weights: the `lambda[l]`, one per style layer; default `1 / L` each
            (0.2 for the five default layers, as in the exercise).
        alpha: weight of the content cost (10, as in the exercise).
        beta: weight of the style cost (40, as in the exercise).
        preprocess: how `G`'s [0, 1] RGB pixels become the network's input: `"caffe"`
            (VGG: 0..255 BGR minus the ImageNet mean pixel, `caffe_preprocess`),
            `"unit"` (the network takes [0, 1] pixels as they are), or a differentiable
            callable on `(batch, n_H, n_W, 3)` tensors in [0, 1].

    Example:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> content = rng.uniform(size=(32, 32, 3)).astype("float32")
    >>> style = rng.uniform(size=(40, 48, 3)).astype("float32")
    >>> transfer = StyleTransfer(weights=None, content_layer="block2_conv2",
    ...                          style_layers=["block1_conv1", "block2_conv1"])
    >>> image, history = transfer.transfer(content, style, iterations=3, progress=False)
    >>> image.shape, len(history["total"]), bool(history["total"][-1] < history["total"][0])
    ((32, 32, 3), 4, True)
    """

    def __init__(
        self,
        network: str | keras.Model = "VGG19",
        weights: str | None = None,
        content_layer: str = CONTENT_LAYER,
        style_layers: Sequence[str] = STYLE_LAYERS,
        style_layer_weights: Sequence[float] | None = None,
        alpha: float = ALPHA,
        beta: float = BETA,
        preprocess: str | Callable = "caffe",
    ):
        self.network = _build_network(network, weights)
        self.weights = weights
        if isinstance(style_layers, str) or not isinstance(style_layers, Sequence):
            raise TypeError(
                "`style_layers` must be a list of layer names. "
                f"Received: style_layers={style_layers!r}"
            )
        if not style_layers:
            raise ValueError("`style_layers` must name at least one layer. Received: []")
        self.content_layer = content_layer
        self.style_layers = tuple(style_layers)
        self.style_layer_weights = _check_layer_weights(style_layer_weights, len(style_layers))
        self.alpha = _check_non_negative("alpha", alpha)
        self.beta = _check_non_negative("beta", beta)
        if callable(preprocess):
            self.preprocess = preprocess
        elif preprocess in PREPROCESSING:
            self.preprocess = caffe_preprocess if preprocess == "caffe" else (lambda x: x)
        else:
            raise ValueError(
                f"`preprocess` must be one of {PREPROCESSING} or a callable. "
                f"Received: preprocess={preprocess!r}"
            )
        self._caffe = preprocess == "caffe"
        self.extractor = self._build_extractor()

    def _build_extractor(self) -> keras.Model:
        valid = [
            layer.name
            for layer in self.network.layers
            if not isinstance(layer, keras.layers.InputLayer) and _has_4d_output(layer)
        ]
        for argument, names in (
            ("content_layer", [self.content_layer]),
            ("style_layers", self.style_layers),
        ):
            for name in names:
                if name not in valid:
                    shown = f"{argument}={self.content_layer!r}"
                    if argument == "style_layers":
                        shown = f"style_layers={list(self.style_layers)!r} ({name!r})"
                    raise ValueError(
                        f"`{argument}` must name layers of {self.network.name} with "
                        f"(batch, n_H, n_W, n_C) activations, among {valid}. "
                        f"Received: {shown}"
                    )
        names = [self.content_layer, *self.style_layers]
        outputs = [self.network.get_layer(name).output for name in names]
        extractor = keras.Model(self.network.inputs[0], outputs, name="style_features")
        extractor.trainable = False
        return extractor

    def _features(self, images):
        features = self.extractor(self.preprocess(images), training=False)
        return features[0], features[1:]

    def _targets(self, content: np.ndarray, style: np.ndarray):
        """`a[l](C)` and the style image's Gram matrices, computed once."""
        a_C, _ = self._features(content[np.newaxis])
        _, a_S = self._features(style[np.newaxis])
        return a_C, [gram_matrix(a, "elements") for a in a_S]

    def _costs(self, images, a_C, grams_S):
        a_G_content, a_G_style = self._features(images)
        J_content = content_cost(a_C, a_G_content)[0]
        J_style = 0.0
        for weight, gram_S, a_G in zip(self.style_layer_weights, grams_S, a_G_style, strict=True):
            J_style = J_style + weight * _layer_style_cost_from_gram(gram_S, a_G)[0]
        return self.alpha * J_content + self.beta * J_style, J_content, J_style

    def _prepare(self, content: Any, style: Any) -> tuple[np.ndarray, np.ndarray]:
        content = _as_image("content", content)
        style = _as_image("style", style)
        expected = tuple(self.network.input_shape[1:3])
        if any(e is not None and e != c for e, c in zip(expected, content.shape[:2], strict=True)):
            raise ValueError(
                f"`content` must have the network's input size {expected}. "
                f"Received: content.shape={content.shape}"
            )
        return content, fit_style_image(style, *content.shape[:2])

    def costs(self, generated: Any, content: Any, style: Any) -> dict[str, float]:
        """`J`, `J_content` and `J_style` of the image `generated` for this `C` and `S`.

        All three images are as in `transfer`; `generated` must have the content's size.
        """
        content, style = self._prepare(content, style)
        generated = _as_image("generated", generated)
        if generated.shape != content.shape:
            raise ValueError(
                "`generated` must have the content image's shape "
                f"{content.shape}. Received: generated.shape={generated.shape}"
            )
        targets = self._targets(content, style)
        total, J_content, J_style = self._costs(generated[np.newaxis], *targets)
        return {"total": float(total), "content": float(J_content), "style": float(J_style)}

    def initial_image(self, content: np.ndarray, noise_ratio: float, seed: int | None):
        """The exercise's start: `noise_ratio * noise + (1 - noise_ratio) * C`, mixed in
        mean-subtracted pixel space (the ImageNet mean pixel for "caffe" preprocessing,
        else the content's mean colour), with noise uniform in [-20, 20] / 255."""
        if self._caffe:
            mean = np.array(IMAGENET_BGR_MEAN[::-1], "float32") / 255.0
        else:
            mean = content.mean(axis=(0, 1))
        noise = np.random.default_rng(seed).uniform(
            -NOISE_AMPLITUDE, NOISE_AMPLITUDE, size=content.shape
        )
        image = mean + noise_ratio * noise + (1.0 - noise_ratio) * (content - mean)
        return np.clip(image, 0.0, 1.0).astype("float32")

    def transfer(
        self,
        content: Any,
        style: Any,
        iterations: int = 200,
        learning_rate: float = 0.01,
        noise_ratio: float = 0.6,
        seed: int | None = None,
        output_path: str | None = None,
        save_every: int | None = None,
        progress: bool = True,
    ) -> tuple[np.ndarray, dict[str, list[float]]]:
        """Optimises `G` for `iterations` Adam steps; returns `G` and the costs.

        Args:
            content: the content image `C`, `(n_H, n_W, 3)` (or a batch of one), uint8
                or float in [0, 1]. `G` has its size.
            style: the style image `S`, same format, any size (fitted to the content's
                size, see the class docstring).
            iterations: number of Adam steps.
            learning_rate: Adam's step size on [0, 1] pixels (the exercise's 2.0 on the
                0..255 scale is 0.0078 here).
            noise_ratio: in [0, 1], how much noise `G` starts with (0.6 as in the
                exercise; 0 starts from the content image itself).
            seed: seed of the initial noise.
            output_path: where to save the final `G` as a PNG (none when `None`).
            save_every: also save `G` every this many steps, next to `output_path`, as
                `<name>_<step>.png`.
            progress: show a tqdm progress bar with the costs.

        Returns:
            `(image, history)`: `G` as float32 `(n_H, n_W, 3)` in [0, 1], and a dict of
            lists `"total"`, `"content"`, `"style"` (`J`, `J_content`, `J_style`, each
            of length `iterations + 1`: entry `k` is the cost after `k` steps) and
            `"seconds"` (one entry: the run time of the steps).
        """
        iterations = check_positive_int("iterations", iterations)
        learning_rate = _check_positive("learning_rate", learning_rate)
        noise_ratio = check_in_range("noise_ratio", noise_ratio, 0.0, 1.0, include_high=True)
        if save_every is not None:
            save_every = check_positive_int("save_every", save_every)
            if output_path is None:
                raise ValueError(
                    "`save_every` needs `output_path`, the final PNG the intermediate "
                    f"images are saved beside. Received: save_every={save_every}, "
                    "output_path=None"
                )
        content, style = self._prepare(content, style)
        a_C, grams_S = self._targets(content, style)
        generated = tf.Variable(
            self.initial_image(content, noise_ratio, seed)[np.newaxis], name="generated_image"
        )
        optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
        # Adam's moments exist before tracing, so the step traces once, not twice.
        optimizer.build([generated])

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                costs = self._costs(generated, a_C, grams_S)
            gradient = tape.gradient(costs[0], generated)
            optimizer.apply_gradients([(gradient, generated)])
            generated.assign(tf.clip_by_value(generated, 0.0, 1.0))
            return costs

        history: dict[str, list[float]] = {"total": [], "content": [], "style": []}

        def record(costs):
            for key, value in zip(("total", "content", "style"), costs, strict=True):
                history[key].append(float(value))

        from tqdm.auto import tqdm

        start = time.perf_counter()
        bar = tqdm(range(1, iterations + 1), desc="style transfer", disable=not progress)
        for iteration in bar:
            record(step())
            bar.set_postfix(
                J=f"{history['total'][-1]:.4g}",
                content=f"{history['content'][-1]:.4g}",
                style=f"{history['style'][-1]:.4g}",
            )
            if save_every and iteration % save_every == 0 and iteration < iterations:
                stem, _ = os.path.splitext(output_path)
                save_png(f"{stem}_{iteration:0{len(str(iterations))}d}.png", generated[0].numpy())
        bar.close()
        record(self._costs(generated, a_C, grams_S))
        history["seconds"] = [time.perf_counter() - start]
        image = generated[0].numpy()
        if output_path is not None:
            save_png(output_path, image)
        return image, history


def _has_4d_output(layer) -> bool:
    try:
        return len(layer.output.shape) == 4
    except (AttributeError, ValueError):
        # A layer called several times (or never) in the graph has no single output.
        return False


def _check_non_negative(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"`{name}` must be a number. Received: {name}={value!r}")
    if not value >= 0:
        raise ValueError(f"`{name}` must be >= 0. Received: {name}={value}")
    return float(value)


def _check_positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"`{name}` must be a number. Received: {name}={value!r}")
    if not value > 0:
        raise ValueError(f"`{name}` must be > 0. Received: {name}={value}")
    return float(value)


def _build_network(network: Any, weights: str | None) -> keras.Model:
    if isinstance(network, keras.Model):
        if weights is not None:
            raise ValueError(
                "`weights` applies to network='VGG19' or 'VGG16' only; load a given "
                f"model's weights yourself. Received: weights={weights!r} with a "
                f"{type(network).__name__}"
            )
        if len(getattr(network, "inputs", None) or ()) != 1:
            raise ValueError(
                "`network` must be a functional Keras model with one image input (its "
                f"layers' outputs are read). Received: a {type(network).__name__} with "
                f"inputs {getattr(network, 'inputs', None)}"
            )
        shape = tuple(network.inputs[0].shape)
        if len(shape) != 4 or shape[-1] not in (3, None):
            raise ValueError(
                "`network` must take RGB images (batch, n_H, n_W, 3). "
                f"Received: a network with input shape {shape}"
            )
        return network
    if network not in NETWORKS:
        raise ValueError(
            f"`network` must be one of {NETWORKS} or a functional keras.Model. "
            f"Received: network={network!r}"
        )
    if weights is not None and weights != "imagenet" and not os.path.isfile(weights):
        raise ValueError(
            "`weights` must be None, 'imagenet' or the path of an existing weights file. "
            f"Received: weights={weights!r}"
        )
    constructor = getattr(keras.applications, network)
    return constructor(include_top=False, weights=weights, input_shape=(None, None, 3))
