"""Residual network builders."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from kerasdl._validation import check_in_range, check_positive_int
from kerasdl.layers.residual import ResidualBlock


def residual_cnn(
    input_shape: Sequence[int],
    classes: int,
    filters: Sequence[int] = (16, 32),
    blocks_per_stage: int = 1,
    dropout: float = 0.0,
    batch_norm_momentum: float = 0.9,
    name: str = "residual_cnn",
) -> keras.Model:
    """A small residual classifier: a stem, stages of `ResidualBlock`s, softmax.

    Each stage after the first halves the height and width (stride 2 in its first
    block) and uses the stage's number of filters; global average pooling and a Dense
    softmax over `classes` follow.

    Args:
        input_shape: `(height, width, channels)`.
        classes: number of output classes (> 1).
        filters: channels of each stage.
        blocks_per_stage: residual blocks per stage.
        dropout: dropout rate before the classifier.
        batch_norm_momentum: momentum of every batch normalisation's moving statistics;
            0.9 suits small data sets trained for a few hundred steps.
        name: model name.

    Returns:
        An uncompiled functional `keras.Model` from images to class probabilities.

    Raises:
        ValueError: on a non-3D `input_shape`, fewer than 2 classes or no stage.

    Example:

    >>> model = residual_cnn((8, 8, 1), classes=10)
    >>> model.output_shape
    (None, 10)
    """
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(
            f"`input_shape` must be (height, width, channels). Received: input_shape={input_shape}"
        )
    check_positive_int("classes", classes)
    if classes < 2:
        raise ValueError(f"`classes` must be >= 2. Received: classes={classes}")
    filters = tuple(filters)
    if not filters:
        raise ValueError(f"`filters` must name at least one stage. Received: filters={filters}")
    check_positive_int("blocks_per_stage", blocks_per_stage)
    check_in_range("dropout", dropout, 0, 1)

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Conv2D(filters[0], 3, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.BatchNormalization(momentum=batch_norm_momentum, name="stem_bn")(x)
    x = layers.Activation("relu", name="stem_relu")(x)
    for stage, stage_filters in enumerate(filters):
        for block in range(blocks_per_stage):
            strides = 2 if stage > 0 and block == 0 else 1
            x = ResidualBlock(
                stage_filters,
                strides=strides,
                batch_norm_momentum=batch_norm_momentum,
                name=f"stage{stage}_block{block}",
            )(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


# (filters of the bottleneck, blocks) per stage, as in He et al. Table 1.
RESNET50_STAGES = ((64, 3), (128, 4), (256, 6), (512, 3))


def resnet50(
    input_shape: Sequence[int] | None = (224, 224, 3),
    classes: int = 1000,
    include_top: bool = True,
    weights: str | None = None,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    name: str = "resnet50",
) -> keras.Model:
    """ResNet-50 built from `ConvBlock` and `IdentityBlock`, weight-compatible with
    `keras.applications.ResNet50`.

    Stem: zero-pad 3, 7x7/2 conv with 64 filters, batch norm, ReLU, zero-pad 1,
    3x3/2 max pool. Then four stages of bottleneck blocks, filters `(f, f, 4f)` for
    f = 64, 128, 256, 512 with 3, 4, 6 and 3 blocks: each stage opens with a
    `ConvBlock` (stride 1 in the first stage, 2 after) followed by `IdentityBlock`s.
    With the top: global average pooling and a Dense softmax over `classes`.

    The network has 25,636,712 parameters with the 1000-class top (23,587,712
    without), exactly as `keras.applications.ResNet50`, and lists its weights in the
    same order, so ImageNet weights transfer with
    `model.set_weights(keras.applications.ResNet50(weights="imagenet").get_weights())`.

    Args:
        input_shape: `(height, width, 3)`; `None` spatial sizes are allowed without the
            top.
        classes: classes of the top.
        include_top: add pooling and the Dense classifier.
        weights: `None` (random initialisation), a local `.weights.h5` file saved from
            this model, a local weights file of keras.applications.ResNet50 (its
            ImageNet `.h5`), or `"imagenet"` to ask keras.applications for its ImageNet
            weights (downloaded into the Keras cache on first use; nothing is fetched
            unless asked).
        pooling: without the top, `None`, `"avg"` or `"max"` pooling of the last
            feature map.
        classifier_activation: activation of the top layer.
        name: model name.

    Returns:
        A functional `keras.Model`.

    Raises:
        ValueError: on bad `input_shape`, `pooling` or `weights`.

    Example:

    >>> model = resnet50(input_shape=(64, 64, 3), classes=10)
    >>> model.output_shape
    (None, 10)

    Reference:
        He et al., "Deep Residual Learning for Image Recognition", CVPR 2016.
    """
    import os

    from kerasdl.layers.bottleneck import ConvBlock, IdentityBlock

    input_shape = tuple(input_shape) if input_shape is not None else (None, None, 3)
    if len(input_shape) != 3:
        raise ValueError(
            f"`input_shape` must be (height, width, channels). Received: input_shape={input_shape}"
        )
    if include_top and None in input_shape[:2]:
        raise ValueError(
            "`input_shape` must have a known height and width when include_top=True. "
            f"Received: input_shape={input_shape}"
        )
    check_positive_int("classes", classes)
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"`pooling` must be None, 'avg' or 'max'. Received: pooling={pooling!r}")
    if weights not in (None, "imagenet") and not os.path.isfile(os.fspath(weights)):
        raise ValueError(
            "`weights` must be None, 'imagenet' or the path of a local weights file. "
            f"Received: weights={weights!r} (no such file)"
        )

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.ZeroPadding2D(3, name="conv1_pad")(inputs)
    x = layers.Conv2D(64, 7, strides=2, name="conv1_conv")(x)
    x = layers.BatchNormalization(epsilon=1.001e-5, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, (filters, blocks) in enumerate(RESNET50_STAGES, start=2):
        three = (filters, filters, 4 * filters)
        x = ConvBlock(3, three, strides=1 if stage == 2 else 2, name=f"conv{stage}_block1")(x)
        for block in range(2, blocks + 1):
            x = IdentityBlock(3, three, name=f"conv{stage}_block{block}")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    model = keras.Model(inputs, x, name=name)

    if weights is not None:
        _load_resnet50_weights(
            model, os.fspath(weights), include_top, input_shape, classes, pooling
        )
    return model


def _load_resnet50_weights(model, weights, include_top, input_shape, classes, pooling):
    """Loads a file saved from this model, else one of keras.applications.ResNet50."""
    if weights.endswith(".weights.h5"):
        try:
            model.load_weights(weights)
            return
        except ValueError:
            pass  # keyed by keras.applications' flat layer names: handled below
    # keras.applications' own files (its ImageNet .h5 among them) are keyed by its flat
    # layer names: load them there and copy, relying on the shared weight order.
    reference = keras.applications.ResNet50(
        include_top=include_top,
        weights=weights,
        input_shape=input_shape,
        classes=classes,
        pooling=None if include_top else pooling,
    )
    model.set_weights(reference.get_weights())
