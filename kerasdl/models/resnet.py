"""Residual network builders."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from kerasdl._validation import check_positive_int
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
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout}")

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
