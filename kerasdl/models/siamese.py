"""Siamese networks for face verification: an encoder `f(x)` and a pair classifier.

The notes' recipe: a network maps each image to an encoding `f(x)` (e.g. 128 numbers),
trained so that `d(x_i, x_j) = ||f(x_i) - f(x_j)||` is small for the same person and
large for different people, with the triplet loss (`kerasdl.losses.TripletSemiHardLoss`
and friends, directly on the encoder: labels in, encodings out). Verification is then
`d <= tau` (see `kerasdl.verification`), or a learned logistic unit on the pair,

    y_hat = sigmoid(sum_k w_k |f(x_i)_k - f(x_j)_k| + b)

which `siamese_pair_classifier` builds with one encoder shared by both inputs. The
encodings of enrolled people can be computed once and stored.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from kerasdl._validation import check_one_of, check_positive_int
from kerasdl.layers.embedding_difference import FORMS, EmbeddingDifference

POOLINGS = ("avg", "max", "flatten")


def _check_input_shape(input_shape) -> tuple:
    input_shape = tuple(input_shape)
    if len(input_shape) == 0 or not all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0) for d in input_shape
    ):
        raise ValueError(
            "`input_shape` must be a non-empty tuple of positive ints (None allowed), "
            f"without the batch. Received: input_shape={input_shape}"
        )
    return input_shape


def _conv_backbone(inputs, filters: tuple[int, ...]):
    """Stages of 3x3 conv + ReLU, each but the last followed by 2x2 max pooling."""
    if len(inputs.shape) != 4:
        raise ValueError(
            "The default convolutional backbone needs images `(height, width, channels)`; "
            f"pass a `backbone` for other inputs. Received: input_shape={inputs.shape[1:]}"
        )
    x = inputs
    for stage, width in enumerate(filters):
        x = layers.Conv2D(width, 3, padding="same", activation="relu", name=f"conv{stage + 1}")(x)
        if stage < len(filters) - 1:
            x = layers.MaxPooling2D(2, padding="same", name=f"pool{stage + 1}")(x)
    return x


def siamese_encoder(
    input_shape: Sequence[int | None] | None = None,
    embedding_dim: int = 128,
    backbone: keras.Model | keras.layers.Layer | None = None,
    filters: Sequence[int] = (32, 64),
    pooling: str = "flatten",
    name: str = "siamese_encoder",
) -> keras.Model:
    """An encoder `x -> f(x)` with L2-normalised encodings, `||f(x)|| = 1`.

    `f(x) = normalize(W pool(backbone(x)) + b)`: the backbone's features, pooled to a
    vector when they are a feature map, a linear layer to `embedding_dim` numbers and a
    division by their Euclidean norm (`keras.layers.UnitNormalization`), so distances
    between encodings lie in [0, 2]. Train it with a kerasdl triplet loss on
    `(images, labels)` batches, e.g. `TripletSemiHardLoss(margin=0.5)`.

    Args:
        input_shape: shape of one input without the batch, e.g. `(96, 96, 3)`. Taken
            from `backbone` when it is a model and this is None.
        embedding_dim: `D`, the size of the encoding (default 128, as FaceNet).
        backbone: a Keras model or layer from inputs to features (e.g. from
            `kerasdl.models.load_backbone`); by default a small ConvNet of 3x3
            convolutions with ReLU, one stage per entry of `filters`, with 2x2 max
            pooling between stages.
        filters: channels of the default backbone's stages (unused with `backbone`).
        pooling: how a feature map `(height, width, channels)` becomes a vector:
            "flatten" (default; keeps where a feature is), "avg" or "max" (global
            pooling). Vectors are used as they are.
        name: model name.

    Returns:
        A functional `keras.Model` from inputs to `[batch, embedding_dim]` unit vectors.

    Raises:
        ValueError: on a bad `input_shape`, `embedding_dim`, `filters` or `pooling`,
            or backbone features that are neither a vector nor a feature map.

    Example:

    >>> import numpy as np
    >>> encoder = siamese_encoder((8, 8, 1), embedding_dim=16)
    >>> encodings = encoder(np.random.default_rng(0).random((3, 8, 8, 1), "float32"))
    >>> tuple(encodings.shape), np.round(np.linalg.norm(encodings, axis=1), 4).tolist()
    ((3, 16), [1.0, 1.0, 1.0])

    Reference:
        Schroff et al., "FaceNet: A Unified Embedding for Face Recognition and
        Clustering", CVPR 2015.
    """
    check_positive_int("embedding_dim", embedding_dim)
    if not isinstance(pooling, str):
        raise TypeError(f"`pooling` must be one of {POOLINGS}. Received: pooling={pooling!r}")
    check_one_of("pooling", pooling, POOLINGS)
    if backbone is not None and not isinstance(backbone, keras.layers.Layer):
        raise TypeError(
            "`backbone` must be a keras.Model or keras.layers.Layer, or None for the default "
            f"ConvNet. Received: backbone of type {type(backbone).__name__}"
        )
    if input_shape is None:
        if not isinstance(backbone, keras.Model):
            raise ValueError(
                "`input_shape` is needed unless `backbone` is a built keras.Model. "
                "Received: input_shape=None"
            )
        input_shape = backbone.input_shape[1:]
    input_shape = _check_input_shape(input_shape)
    inputs = keras.Input(shape=input_shape, name="image")
    if backbone is None:
        filters = tuple(filters)
        if not filters:
            raise ValueError(f"`filters` must not be empty. Received: filters={filters}")
        for width in filters:
            check_positive_int("filters", width)
        features = _conv_backbone(inputs, filters)
    else:
        features = backbone(inputs)
    rank = len(features.shape)
    if rank == 4:
        if pooling == "flatten" and None in features.shape[1:]:
            raise ValueError(
                "`pooling='flatten'` needs a feature map of known size; use 'avg' or 'max'. "
                f"Received: feature map shape={tuple(features.shape[1:])}"
            )
        pool = {
            "avg": layers.GlobalAveragePooling2D,
            "max": layers.GlobalMaxPooling2D,
            "flatten": layers.Flatten,
        }[pooling]
        features = pool(name=f"{pooling}_pool")(features)
    elif rank != 2:
        raise ValueError(
            "The backbone's features must be vectors `(batch, features)` or feature maps "
            f"`(batch, height, width, channels)`. Received: features shape="
            f"{tuple(features.shape)}"
        )
    x = layers.Dense(embedding_dim, name="encoding")(features)
    outputs = layers.UnitNormalization(axis=-1, name="l2_normalize")(x)
    return keras.Model(inputs, outputs, name=name)


def siamese_pair_classifier(
    encoder: keras.Model,
    form: str = "absolute",
    name: str = "siamese_pair_classifier",
) -> keras.Model:
    """The notes' face verification as binary classification on a pair `(x_i, x_j)`.

        y_hat = sigmoid(sum_k w_k * |f(x_i)_k - f(x_j)_k| + b)

    with the same `encoder` `f` (one set of weights) on both inputs, and the chi-square
    difference `(f(x_i)_k - f(x_j)_k)^2 / (|f(x_i)_k| + |f(x_j)_k|)` instead when
    `form="chi-square"` (see `kerasdl.layers.EmbeddingDifference`). Train it with
    `binary_crossentropy` on pairs labelled 1 (same identity) or 0 (different). Since
    `f` is shared, the encodings of enrolled people can be precomputed: the head alone
    (the model's last two layers) compares a new encoding with a stored one.

    Args:
        encoder: a Keras model from one input to its encoding, e.g. `siamese_encoder`.
        form: "absolute" (default) or "chi-square".
        name: model name.

    Returns:
        A functional `keras.Model` with inputs `[x_i, x_j]` and output `[batch, 1]`, the
        probability that the two show the same identity.

    Example:

    >>> import numpy as np
    >>> model = siamese_pair_classifier(siamese_encoder((8, 8, 1), embedding_dim=16))
    >>> x = np.zeros((2, 8, 8, 1), "float32")
    >>> tuple(model([x, x]).shape)
    (2, 1)
    """
    if not isinstance(encoder, keras.Model):
        raise TypeError(
            "`encoder` must be a keras.Model (e.g. from siamese_encoder). "
            f"Received: encoder of type {type(encoder).__name__}"
        )
    if not isinstance(form, str):
        raise TypeError(f"`form` must be one of {FORMS}. Received: form={form!r}")
    check_one_of("form", form, FORMS)
    if len(encoder.output_shape) != 2:
        raise ValueError(
            "`encoder` must output encodings of shape (batch, D). "
            f"Received: encoder.output_shape={encoder.output_shape}"
        )
    input_shape = encoder.input_shape[1:]
    first = keras.Input(shape=input_shape, name="x_i")
    second = keras.Input(shape=input_shape, name="x_j")
    difference = EmbeddingDifference(form, name="difference")([encoder(first), encoder(second)])
    outputs = layers.Dense(1, activation="sigmoid", name="same_identity")(difference)
    return keras.Model([first, second], outputs, name=name)
