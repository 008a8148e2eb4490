"""GoogLeNet (Inception v1) builder."""

from __future__ import annotations

import os
from collections.abc import Sequence

import keras
from keras import layers

from kerasdl._validation import check_positive_int
from kerasdl.layers.inception import InceptionModule

# Table 1 of the paper: #1x1, (#3x3 reduce, #3x3), (#5x5 reduce, #5x5), pool proj.
INCEPTION_V1_MODULES = {
    "3a": (64, (96, 128), (16, 32), 32),
    "3b": (128, (128, 192), (32, 96), 64),
    "4a": (192, (96, 208), (16, 48), 64),
    "4b": (160, (112, 224), (24, 64), 64),
    "4c": (128, (128, 256), (24, 64), 64),
    "4d": (112, (144, 288), (32, 64), 64),
    "4e": (256, (160, 320), (32, 128), 128),
    "5a": (256, (160, 320), (32, 128), 128),
    "5b": (384, (192, 384), (48, 128), 128),
}
# The auxiliary heads see (4a) and (4d) through a 5x5/3 "valid" average pooling, which
# needs a 5x5 map there: ceil(n / 16) >= 5.
_AUX_MIN_SIZE = 65


def _conv(x, filters, size, strides, name, use_batch_norm):
    x = layers.Conv2D(
        filters, size, strides=strides, padding="same", use_bias=not use_batch_norm, name=name
    )(x)
    if use_batch_norm:
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def _max_pool(x, name):
    return layers.MaxPooling2D(3, strides=2, padding="same", name=name)(x)


def _aux_head(x, classes, name, use_batch_norm):
    x = layers.AveragePooling2D(5, strides=3, padding="valid", name=f"{name}_pool")(x)
    x = _conv(x, 128, 1, 1, f"{name}_conv", use_batch_norm)
    x = layers.Flatten(name=f"{name}_flatten")(x)
    x = layers.Dense(1024, activation="relu", name=f"{name}_fc")(x)
    x = layers.Dropout(0.7, name=f"{name}_dropout")(x)
    return layers.Dense(classes, activation="softmax", name=f"{name}_predictions")(x)


def _check_input_shape(input_shape, aux_heads):
    try:
        input_shape = tuple(input_shape)
    except TypeError:
        input_shape = None
    ok = (
        input_shape is not None
        and len(input_shape) == 3
        and all(
            d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0)
            for d in input_shape
        )
        and input_shape[-1] is not None
    )
    if not ok:
        raise ValueError(
            "`input_shape` must be (height, width, channels) with positive ints (height and "
            f"width may be None). Received: input_shape={input_shape!r}"
        )
    if aux_heads and any(d is None or d < _AUX_MIN_SIZE for d in input_shape[:2]):
        raise ValueError(
            f"`input_shape` must have a known height and width >= {_AUX_MIN_SIZE} when "
            "`aux_heads=True`: the auxiliary heads' 5x5/3 average pooling needs a 5x5 map at "
            f"(4a) and (4d), a sixteenth of the input. Received: input_shape={input_shape}"
        )
    return input_shape


def _check_weights(weights):
    if weights is None:
        return None
    if not isinstance(weights, str | os.PathLike):
        raise TypeError(
            "`weights` must be None or the path of a local .weights.h5 file. "
            f"Received: weights={weights!r} of type {type(weights).__name__}"
        )
    path = os.fspath(weights)
    if not path.endswith(".weights.h5"):
        raise ValueError(
            "`weights` must be None or the path of a local .weights.h5 file (kerasdl downloads "
            "no weights: there are no published Keras 3 GoogLeNet weights to fetch). "
            f"Received: weights={weights!r}"
        )
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"`weights` must be the path of an existing .weights.h5 file. Received: "
            f"weights={weights!r}, which does not exist"
        )
    return path


def googlenet(
    input_shape: Sequence[int | None] = (224, 224, 3),
    classes: int = 1000,
    include_top: bool = True,
    aux_heads: bool = False,
    weights: str | os.PathLike | None = None,
    use_batch_norm: bool = False,
    name: str = "googlenet",
) -> keras.Model:
    """GoogLeNet, the Inception v1 network of table 1 of the paper.

    Layers, with the output size for a 224x224x3 input ("same" padding throughout, so
    each stride-2 step gives `ceil(n / 2)`):

        conv 7x7/2, 64                                  112x112x64
        max pool 3x3/2                                  56x56x64
        conv 1x1, 64 -> conv 3x3, 192                   56x56x192
        max pool 3x3/2                                  28x28x192
        inception (3a), (3b)                            28x28x256, 28x28x480
        max pool 3x3/2                                  14x14x480
        inception (4a), (4b), (4c), (4d), (4e)          14x14x512 ... 14x14x832
        max pool 3x3/2                                  7x7x832
        inception (5a), (5b)                            7x7x832, 7x7x1024
        global average pool, dropout 40%, linear, softmax   classes

    with ReLU after every convolution. The filter numbers of each `InceptionModule` are
    those of table 1 (`INCEPTION_V1_MODULES`). Differences from the paper:

    - Local response normalisation (after the first pooling and after conv 3x3) is
      omitted, as the notes say later work found it does not help much;
      `use_batch_norm=True` instead puts batch normalisation after every convolution
      (which then has no bias), as the batch-normalised Inception does.
    - The 7x7/1 average pooling is a global average pooling: the same for a 224x224
      input, and it lets the network take other sizes.

    Parameters: `googlenet()` (224x224x3, 1000 classes, no auxiliary heads) has
    6,998,552 parameters: 6,990,272 weights and 8,280 biases. The params column of the
    paper's table 1 counts weights without biases in units of 1024 (the linear layer's
    1024 * 1000 weights are "1000K") and sums to 6,797.7K, the "about 6.8M" usually
    quoted; ours is 6,826.4K weights in those units (0.4% more). The difference is in
    rows of that column that do not follow from the table's own filter columns: conv
    7x7/2 is listed as 2.7K where 7*7*3*64 = 9,408 weights are 9.2K, and (4a), (4c),
    (4d), (4e), (5a), (5b) are 1-7% off, both ways (4c 463K for 497.5K, 5a 1072K for
    1018K). Conv 3x3, 3a, 3b, 4b and the linear layer agree within rounding, and the
    table's ops column follows from the filter columns for every module but 5a
    (tests/models/test_inception.py checks these), so the modules use the filter
    columns. With `aux_heads=True` the two heads add 3,188,840 + 3,190,888 parameters
    (13,378,280 in all); `use_batch_norm=True` gives 7,020,392.

    Auxiliary heads (`aux_heads=True`), on the outputs of (4a) and (4d), as in the
    paper: average pooling 5x5/3 (4x4 at 224x224), 1x1 conv with 128 filters + ReLU,
    fully connected 1024 + ReLU, dropout 70%, linear + softmax. The model then has three
    outputs, `[predictions, aux1_predictions, aux2_predictions]`; the paper adds the
    auxiliary losses with weight 0.3 (`loss_weights=[1.0, 0.3, 0.3]`) and drops the
    heads at inference.

    Args:
        input_shape: `(height, width, channels)`; height and width may be None (not with
            `aux_heads`, which needs them >= 65).
        classes: number of classes (>= 2) of the softmax outputs.
        include_top: False returns the (5b) feature map, `(batch, ceil(h / 32),
            ceil(w / 32), 1024)`, without pooling or classifier.
        aux_heads: add the two auxiliary classifiers (needs `include_top=True`).
        weights: None (random initialisation) or the path of a local `.weights.h5` file
            saved from a model built with the same arguments. Nothing is downloaded.
        use_batch_norm: batch normalisation after every convolution (in place of the
            paper's local response normalisation).
        name: model name.

    Returns:
        An uncompiled functional `keras.Model` from images to class probabilities (three
        outputs with `aux_heads`), or to the (5b) features without `include_top`.

    Raises:
        ValueError: on a bad `input_shape`, fewer than 2 classes, `aux_heads` without
            `include_top`, or a weights file that is not a `.weights.h5` path or does not
            fit the architecture.
        FileNotFoundError: when the `weights` file does not exist.

    Example:

    >>> model = googlenet()
    >>> model.count_params()
    6998552
    >>> model.get_layer("inception_4a").output.shape
    (None, 14, 14, 512)
    >>> [tuple(o.shape) for o in googlenet((96, 96, 3), classes=10, aux_heads=True).outputs]
    [(None, 10), (None, 10), (None, 10)]

    Reference:
        Szegedy et al., "Going Deeper with Convolutions", CVPR 2015.
    """
    input_shape = _check_input_shape(input_shape, aux_heads)
    if include_top:
        check_positive_int("classes", classes)
        if classes < 2:
            raise ValueError(f"`classes` must be >= 2. Received: classes={classes}")
    if aux_heads and not include_top:
        raise ValueError(
            "`aux_heads` needs `include_top=True`: the auxiliary heads are classifiers. "
            f"Received: aux_heads={aux_heads}, include_top={include_top}"
        )
    weights = _check_weights(weights)
    use_batch_norm = bool(use_batch_norm)

    inputs = keras.Input(shape=input_shape, name="image")
    x = _conv(inputs, 64, 7, 2, "conv1_7x7_s2", use_batch_norm)
    x = _max_pool(x, "pool1_3x3_s2")
    x = _conv(x, 64, 1, 1, "conv2_3x3_reduce", use_batch_norm)
    x = _conv(x, 192, 3, 1, "conv2_3x3", use_batch_norm)
    x = _max_pool(x, "pool2_3x3_s2")
    aux_outputs = []
    for module, filters in INCEPTION_V1_MODULES.items():
        if module in ("4a", "5a"):
            x = _max_pool(x, f"pool{int(module[0]) - 1}_3x3_s2")
        x = InceptionModule(*filters, use_batch_norm=use_batch_norm, name=f"inception_{module}")(x)
        if aux_heads and module in ("4a", "4d"):
            head = f"aux{len(aux_outputs) + 1}"
            aux_outputs.append(_aux_head(x, classes, head, use_batch_norm))
    if include_top:
        x = layers.GlobalAveragePooling2D(name="pool5_global")(x)
        x = layers.Dropout(0.4, name="pool5_dropout")(x)
        x = layers.Dense(classes, activation="softmax", name="predictions")(x)
    outputs = [x, *aux_outputs] if aux_heads else x
    model = keras.Model(inputs, outputs, name=name)
    if weights is not None:
        try:
            model.load_weights(weights)
        except ValueError as error:
            raise ValueError(
                f"`weights` file {weights!r} does not fit this architecture: build the model "
                "with the input_shape, classes, include_top, aux_heads and use_batch_norm it "
                f"was saved with. Keras says: {error}"
            ) from error
    return model
