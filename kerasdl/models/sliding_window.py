"""The convolutional implementation of sliding windows: a classifier's Dense head as convs."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

# Layers that act on each position (and each channel or the channel vector) alone: run on
# a larger image they give, at every position, what they give on any crop holding it.
_POINTWISE = (
    layers.Activation,
    layers.ReLU,
    layers.LeakyReLU,
    layers.ELU,
    layers.PReLU,
    layers.Softmax,
    layers.BatchNormalization,
    layers.Dropout,
    layers.SpatialDropout2D,
    layers.GaussianNoise,
    layers.GaussianDropout,
    layers.Rescaling,
    layers.Dense,
)
# Layers that slide a window: with "valid" padding an output sees only its window.
_WINDOWED = (
    layers.Conv2D,
    layers.DepthwiseConv2D,
    layers.SeparableConv2D,
    layers.MaxPooling2D,
    layers.AveragePooling2D,
)
_HEAD = (
    layers.Dense,
    layers.Dropout,
    layers.Activation,
    layers.ReLU,
    layers.LeakyReLU,
    layers.ELU,
    layers.Softmax,
)


def _describe(layer) -> str:
    return f"layer '{layer.name}' ({type(layer).__name__})"


def _chain(model) -> list:
    """The model's layers in order, checking that each one feeds the next and nothing else."""
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"`model` must be a keras.Model. Received: model={model!r} of type "
            f"{type(model).__name__}"
        )
    try:
        inputs, outputs = model.inputs, model.outputs
    except (AttributeError, ValueError) as error:
        raise ValueError(
            "`model` must be built with a known input shape (e.g. start a Sequential with "
            f"keras.Input). Received: model '{model.name}', which has no inputs: {error}"
        ) from error
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(
            "`model` must have one input and one output. Received: model "
            f"'{model.name}' with {len(inputs)} inputs and {len(outputs)} outputs"
        )
    shape = tuple(inputs[0].shape)
    if len(shape) != 4 or shape[-1] is None:
        raise ValueError(
            "`model` must take images (batch, height, width, channels) with known channels. "
            f"Received: model.input.shape={shape}"
        )
    chain = [layer for layer in model.layers if not isinstance(layer, layers.InputLayer)]
    previous = inputs[0]
    for layer in chain:
        if layer.input is not previous:
            raise ValueError(
                "`model` must be a plain chain of layers, each feeding the next (a "
                f"Sequential-like model). Received: {_describe(layer)}, whose input is not "
                "the previous layer's output"
            )
        previous = layer.output
    if previous is not outputs[0]:
        raise ValueError(
            f"`model` must end with its last layer. Received: model '{model.name}' whose "
            "output is not its last layer's output"
        )
    return chain


def _check_body_layer(layer) -> tuple[int, int]:
    """Raises unless `layer` is position-equivariant with no padding; returns its strides."""
    if isinstance(layer, _WINDOWED):
        if getattr(layer, "data_format", "channels_last") != "channels_last":
            raise ValueError(
                "`model` must use channels_last data. Received: "
                f"{_describe(layer)} with data_format='{layer.data_format}'"
            )
        window = getattr(layer, "kernel_size", None) or layer.pool_size
        if layer.padding != "valid" and tuple(window) != (1, 1):
            raise ValueError(
                "`model` must have a body with 'valid' padding before Flatten: 'same' padding "
                "pads the border of the whole image rather than of each window, so the "
                "outputs would differ from running the model on crops. Received: "
                f"{_describe(layer)} with padding='{layer.padding}'"
            )
        return tuple(layer.strides)
    if isinstance(layer, _POINTWISE):
        axis = getattr(layer, "axis", -1)
        if isinstance(layer, layers.BatchNormalization | layers.Softmax) and axis not in (-1, 3):
            raise ValueError(
                "`model` must normalise over channels only before Flatten. Received: "
                f"{_describe(layer)} with axis={axis}"
            )
        if isinstance(layer, layers.PReLU) and not {1, 2} <= set(layer.shared_axes or ()):
            raise ValueError(
                "`model` must share PReLU slopes over height and width before Flatten "
                f"(shared_axes=[1, 2]). Received: {_describe(layer)} with "
                f"shared_axes={layer.shared_axes}"
            )
        if (
            isinstance(layer, layers.Rescaling)
            and max(np.ndim(layer.scale), np.ndim(layer.offset)) > 1
        ):
            raise ValueError(
                "`model` must rescale with scalars or per-channel values before Flatten. "
                f"Received: {_describe(layer)} with a {np.ndim(layer.scale)}-D scale"
            )
        return (1, 1)
    supported = ", ".join(t.__name__ for t in _WINDOWED + _POINTWISE)
    raise ValueError(
        "`model` must have a fully convolutional body before Flatten: convolutions and "
        f"poolings with 'valid' padding and per-position layers ({supported}). "
        f"Received: {_describe(layer)}, which does not act on every window alike"
    )


def _clone(layer, x):
    clone = type(layer).from_config(layer.get_config())
    y = clone(x)
    clone.set_weights(layer.get_weights())
    return y


def fc_to_conv(model: keras.Model) -> keras.Model:
    """Turns a Flatten + Dense classifier into the equivalent fully convolutional model.

    The convolutional implementation of sliding windows: rather than cropping each
    `H x W` window of a larger image and running the classifier on it, run one fully
    convolutional model on the whole image, which shares the computation of overlapping
    windows. For a classifier

        body (convolutions, poolings, per-position layers) -> Flatten -> Dense ... Dense

    whose body maps the `H x W x n_C` input to an `h x w x c` map, the first Dense (with
    `h * w * c` inputs, `n` units) becomes a convolution with `n` filters of size
    `h x w x c` (its kernel reshaped to `(h, w, c, n)`, Flatten's row-major order), and
    every later Dense becomes a 1x1 convolution. Activations (and kernel and bias
    regularizers) are kept: a softmax then runs over the channel axis, at each position.
    The body's layers are copied with their weights; the new model takes images of any
    size `(None, None, n_C)`.

    On an `n_H x n_W` image it outputs a grid of `conv_output_size(n_H, H', "valid", S)`
    by `conv_output_size(n_W, W', "valid", S)` positions, where `S` is the product of the
    body's strides and `H' x W'` the part of its input the classifier reads (`H x W`, less
    the last rows or columns that no window of a stride > 1 layer reaches; fewer than `S`
    of them). Position `(i, j)` equals the original model on the crop
    `image[:, i*S : i*S + H, j*S : j*S + W]` (for the last position this crop may run past
    the image over rows the classifier never reads). The notes' example: a 14x14x3
    classifier (conv 5x5, max pool 2x2, FC 400, FC 400, softmax 4), which reads all of its
    input, run on a 16x16 image gives 2x2 outputs, the four 14x14 windows at stride 2.

    This holds exactly only when every window sees what the original model saw, so the
    body must use "valid" padding (no padding; 1x1 windows excepted) and only layers that
    treat every position alike.

    Args:
        model: a built `keras.Model` (Sequential or a functional chain) with one image
            input `(H, W, n_C)` (fixed H and W) and one output, whose layers are: a body
            of `Conv2D`, `DepthwiseConv2D`, `SeparableConv2D`, `MaxPooling2D`,
            `AveragePooling2D` with "valid" padding and per-position layers (activations,
            batch normalisation, dropout, `Rescaling`, ...), then one `Flatten`, then
            `Dense` layers, possibly with `Dropout` and activation layers between them.

    Returns:
        A new functional `keras.Model` (weights copied, not shared) from
        `(batch, n_H, n_W, n_C)` images to `(batch, grid_H, grid_W, units)` outputs.

    Raises:
        TypeError: when `model` is not a `keras.Model`.
        ValueError: when the model does not have that shape: not a chain of layers, not
            built, no Flatten, a layer after Flatten that is not Dense, Dropout or an
            activation, no Dense after Flatten, or a body layer that pads or does not act
            on every position alike (Reshape, ZeroPadding2D, "same" padding, ...).

    Example:

    >>> import numpy as np
    >>> model = keras.Sequential([
    ...     keras.Input((14, 14, 3)),
    ...     keras.layers.Conv2D(16, 5, activation="relu"),
    ...     keras.layers.MaxPooling2D(2),
    ...     keras.layers.Flatten(),
    ...     keras.layers.Dense(400, activation="relu"),
    ...     keras.layers.Dense(400, activation="relu"),
    ...     keras.layers.Dense(4, activation="softmax"),
    ... ])
    >>> conv_model = fc_to_conv(model)
    >>> image = np.random.default_rng(0).normal(size=(1, 16, 16, 3)).astype("float32")
    >>> grid = conv_model(image).numpy()
    >>> grid.shape
    (1, 2, 2, 4)
    >>> bool(np.allclose(grid[:, 1, 0], model(image[:, 2:16, 0:14]), atol=1e-6))
    True

    Reference:
        Sermanet et al., "OverFeat: Integrated Recognition, Localization and Detection
        using Convolutional Networks", ICLR 2014.
    """
    chain = _chain(model)
    flattens = [i for i, layer in enumerate(chain) if isinstance(layer, layers.Flatten)]
    if not flattens:
        raise ValueError(
            "`model` must have a Flatten layer between its convolutional body and its Dense "
            f"head. Received: layers {[type(layer).__name__ for layer in chain]}"
        )
    split = flattens[0]
    body, flatten, head = chain[:split], chain[split], chain[split + 1 :]
    if getattr(flatten, "data_format", "channels_last") != "channels_last":
        raise ValueError(
            "`model` must flatten channels_last maps. Received: "
            f"{_describe(flatten)} with data_format='{flatten.data_format}'"
        )
    for layer in body:
        _check_body_layer(layer)
    for layer in head:
        if not isinstance(layer, _HEAD):
            raise ValueError(
                "`model` must have only Dense, Dropout and activation layers after Flatten. "
                f"Received: {_describe(layer)} after {_describe(flatten)}"
            )
        if isinstance(layer, layers.Softmax) and layer.axis not in (-1, 1):
            raise ValueError(
                f"`model` must apply softmax over features. Received: {_describe(layer)} "
                f"with axis={layer.axis}"
            )
        if isinstance(layer, layers.Dense) and getattr(layer, "quantization_mode", None):
            raise ValueError(
                "`model` must have float Dense layers (quantize after converting). "
                f"Received: {_describe(layer)} with quantization_mode="
                f"'{layer.quantization_mode}'"
            )
    if not any(isinstance(layer, layers.Dense) for layer in head):
        raise ValueError(
            "`model` must have a Dense layer after Flatten to turn into a convolution. "
            f"Received: layers after Flatten {[type(layer).__name__ for layer in head]}"
        )
    feature_shape = tuple(flatten.input.shape[1:])
    if len(feature_shape) != 3 or None in feature_shape:
        raise ValueError(
            "`model` must flatten a (height, width, channels) map of known size. Received: "
            f"{_describe(flatten)} with input shape {tuple(flatten.input.shape)}"
        )

    image = model.inputs[0]
    inputs = keras.Input(shape=(None, None, image.shape[-1]), dtype=image.dtype, name="image")
    x = inputs
    for layer in body:
        x = _clone(layer, x)
    window = feature_shape[:2]
    for layer in head:
        if not isinstance(layer, layers.Dense):
            x = _clone(layer, x)
            continue
        kernel = keras.ops.convert_to_numpy(layer.kernel)
        units = kernel.shape[-1]
        # Flatten lays out (h, w, c) in row-major order, so kernel row (i * w + j) * c + k
        # multiplies position (i, j), channel k: a reshape gives the h x w x c filters.
        kernel = kernel.reshape(*window, -1, units)
        conv = layers.Conv2D(
            units,
            window,
            activation=layer.activation,
            use_bias=layer.use_bias,
            kernel_regularizer=layer.kernel_regularizer,
            bias_regularizer=layer.bias_regularizer,
            dtype=layer.dtype_policy,
            name=f"{layer.name}_conv",
        )
        x = conv(x)
        bias = [keras.ops.convert_to_numpy(layer.bias)] if layer.use_bias else []
        conv.set_weights([kernel, *bias])
        window = (1, 1)
    return keras.Model(inputs, x, name=f"{model.name}_conv")
