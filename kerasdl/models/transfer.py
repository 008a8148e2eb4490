"""Transfer learning: someone else's pretrained network with a new softmax head.

The notes' recipe, by how much data the new task has:

1. little data: freeze the pretrained network (the *backbone*), "get rid of the softmax
   layer and create your own", and train only that head: `transfer_classifier`. The
   frozen backbone computes the same features every epoch, so compute them once
   (`cache_features`), train the head on the cache, and `graft` it back on the backbone
   for end-to-end inference;
2. more data: also train the last few layers: `unfreeze_top`;
3. a lot of data: use the pretrained weights only as initialisation and train everything.

`load_backbone` gets the pretrained network from a Keras model, a `keras.applications`
name (`weights=None`, `"imagenet"` or a local weights file), or a SavedModel directory or
TF-Hub handle (through `keras.layers.TFSMLayer`: `hub.KerasLayer` does not work on Keras 3).
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from collections.abc import Iterator, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from kerasdl._validation import check_in_range, check_one_of, check_positive_int

POOLINGS = ("avg", "max", "flatten", None)
_HUB_PREFIXES = ("http://", "https://", "hf://", "gs://")


def load_backbone(
    source: Any,
    input_shape: Sequence[int | None] | None = None,
    weights: str | None = None,
    trainable: bool = False,
    endpoint: str | None = None,
    output_key: str | None = None,
    name: str | None = None,
    **kwargs: Any,
) -> keras.Model:
    """A pretrained network without its classifier, as a (frozen) Keras model.

    Args:
        source: one of
            - a `keras.Model`, returned as is;
            - the name of a `keras.applications` constructor, e.g. `"MobileNetV2"`, built
              with `include_top=False`;
            - the path of a SavedModel directory (e.g. written by `model.export(path)`),
              loaded with `keras.layers.TFSMLayer`;
            - a TF-Hub / Kaggle Models handle (`"https://tfhub.dev/..."`), resolved to a
              local SavedModel by `tensorflow_hub` when it is installed (it downloads).
        input_shape: `(height, width, channels)` of the images. Needed by some
            applications; inferred from a SavedModel's signature when not given.
        weights: for an application name only: `None` (random initialisation),
            `"imagenet"` (downloaded once by Keras, then cached in `~/.keras`) or the path
            of a local weights file, e.g. one saved with `model.save_weights`.
        trainable: whether the backbone's weights train (`False`: frozen).
        endpoint: SavedModel function to call; by default `"serve"` (written by
            `model.export`) when present, else `"serving_default"`.
        output_key: which output to use when the SavedModel endpoint returns a dict of
            several outputs (a single output is taken as is).
        name: name of the returned model (SavedModels only).
        **kwargs: further arguments of the `keras.applications` constructor, e.g.
            `alpha=0.35` for MobileNetV2 or `pooling="avg"`.

    Returns:
        A `keras.Model` from images to features, `trainable` as asked. Keras
        applications expect their own input scaling: apply
        `keras.applications.<module>.preprocess_input` to the images. A model built on a
        SavedModel backbone reloads from `.keras` only with `safe_mode=False` (Keras
        will not run a foreign graph by default); serve it with `model.export`.

    Raises:
        ValueError: on a `source` that is none of the above, a `weights` path that does
            not exist, or arguments that do not apply to the `source`.
        ImportError: on a hub handle when `tensorflow_hub` is not installed.

    Example:

    >>> backbone = load_backbone("MobileNetV2", input_shape=(32, 32, 3), alpha=0.35)
    >>> backbone.output_shape, backbone.trainable
    ((None, 1, 1, 1280), False)
    """
    if isinstance(source, keras.Model):
        _check_application_only("a Keras model", weights, kwargs)
        backbone = source
    elif isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        if path.startswith(_HUB_PREFIXES):
            _check_application_only("a TF-Hub handle", weights, kwargs)
            path = _resolve_hub_handle(path)
        if os.path.isfile(os.path.join(path, "saved_model.pb")):
            _check_application_only("a SavedModel", weights, kwargs)
            backbone = _load_saved_model(path, input_shape, endpoint, output_key, name, trainable)
        elif _is_application(path):
            backbone = _load_application(path, input_shape, weights, kwargs)
        else:
            raise ValueError(
                "`source` must be a keras.Model, a keras.applications name (e.g. "
                "'MobileNetV2'), a SavedModel directory or a TF-Hub handle. "
                f"Received: source={source!r}, which is none of these"
            )
    else:
        raise TypeError(
            "`source` must be a keras.Model, a keras.applications name, a SavedModel path "
            f"or a TF-Hub handle. Received: source of type {type(source).__name__}"
        )
    backbone.trainable = bool(trainable)
    return backbone


def _check_application_only(what: str, weights: Any, kwargs: dict) -> None:
    if weights is not None or kwargs:
        raise ValueError(
            "`weights` and constructor arguments apply to a keras.applications name only, "
            f"not to {what}. Received: weights={weights!r}, kwargs={sorted(kwargs)}"
        )


def _is_application(name: str) -> bool:
    return name[:1].isupper() and inspect.isfunction(getattr(keras.applications, name, None))


def _load_application(name, input_shape, weights, kwargs) -> keras.Model:
    if weights is not None and weights != "imagenet" and not os.path.isfile(weights):
        raise ValueError(
            "`weights` must be None, 'imagenet' or the path of an existing weights file. "
            f"Received: weights={weights!r}"
        )
    constructor = getattr(keras.applications, name)
    shape = None if input_shape is None else tuple(input_shape)
    return constructor(include_top=False, weights=weights, input_shape=shape, **kwargs)


def _resolve_hub_handle(handle: str) -> str:
    try:
        import tensorflow_hub as hub
    except ImportError as error:
        raise ImportError(
            f"Loading the TF-Hub handle {handle!r} needs `tensorflow_hub` to download it, "
            "and it is not installed (kerasdl does not depend on it). Download the model "
            "(the 'Download' button of its tfhub.dev / Kaggle Models page), extract the "
            "archive and pass the local SavedModel directory: "
            "load_backbone('/path/to/saved_model_dir')."
        ) from error
    return hub.resolve(handle)


def _load_saved_model(path, input_shape, endpoint, output_key, name, trainable) -> keras.Model:
    if endpoint is None:
        try:
            layer = layers.TFSMLayer(path, call_endpoint="serve", trainable=trainable)
        except ValueError:
            layer = layers.TFSMLayer(path, call_endpoint="serving_default", trainable=trainable)
    else:
        layer = layers.TFSMLayer(path, call_endpoint=endpoint, trainable=trainable)
    spec = _single_input_spec(layer.call_endpoint_fn, path)
    if input_shape is None:
        if spec.shape.rank is None:
            raise ValueError(
                f"The SavedModel at {path!r} does not state its input shape: pass "
                "`input_shape=(height, width, channels)`."
            )
        input_shape = tuple(spec.shape)[1:]
    inputs = keras.Input(shape=tuple(input_shape), dtype=spec.dtype.name)
    outputs = layer(inputs)
    if isinstance(outputs, dict):
        if output_key is None and len(outputs) != 1:
            raise ValueError(
                f"The SavedModel at {path!r} returns several outputs {sorted(outputs)}: "
                "pass `output_key` to choose the features."
            )
        key = output_key if output_key is not None else next(iter(outputs))
        if key not in outputs:
            raise ValueError(
                f"`output_key` must be one of {sorted(outputs)}. Received: output_key={key!r}"
            )
        outputs = outputs[key]
    default = os.path.basename(os.path.normpath(path)) or "saved_model"
    return keras.Model(inputs, outputs, name=name or _model_name(default))


def _single_input_spec(fn, path) -> tf.TensorSpec:
    signature = getattr(fn, "input_signature", None)
    if signature is None:
        signature = fn.structured_input_signature
    specs = [s for s in tf.nest.flatten(signature) if isinstance(s, tf.TensorSpec)]
    if len(specs) != 1:
        raise ValueError(
            f"The SavedModel at {path!r} must take one image tensor. Received: inputs {specs}"
        )
    return specs[0]


def _model_name(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "_-" else "_" for c in text)
    return cleaned if cleaned[:1].isalpha() else f"backbone_{cleaned}"


def classifier_head(
    feature_shape: Sequence[int | None],
    classes: int,
    pooling: str | None = "avg",
    dropout: float = 0.2,
    name: str = "head",
) -> keras.Model:
    """The new softmax classifier that goes on top of a backbone's features.

    `y_hat = softmax(W dropout(pool(features)) + b)`, where `pool` is global average or
    max pooling or a flatten of a `(height, width, channels)` feature map, and is
    skipped for flat `(features,)` vectors.

    Args:
        feature_shape: shape of one example's features (the backbone's output shape
            without the batch).
        classes: number of classes (>= 2; use 2 for a binary task).
        pooling: `"avg"`, `"max"`, `"flatten"`, or `None` when the features are
            already flat.
        dropout: dropout rate in [0, 1) before the softmax layer.
        name: name of the head model.

    Returns:
        A `keras.Model` from features to class probabilities.

    Example:

    >>> classifier_head((4, 4, 16), classes=3).output_shape
    (None, 3)
    """
    feature_shape = tuple(feature_shape)
    check_positive_int("classes", classes)
    if classes < 2:
        raise ValueError(
            f"`classes` must be >= 2 (a softmax over 1 class is always 1; use 2 for a "
            f"binary task). Received: classes={classes}"
        )
    check_one_of("pooling", pooling, POOLINGS)
    dropout = check_in_range("dropout", dropout, 0.0, 1.0)
    if len(feature_shape) not in (1, 3):
        raise ValueError(
            "`feature_shape` must be (height, width, channels) or (features,). "
            f"Received: feature_shape={feature_shape}"
        )
    inputs = keras.Input(shape=feature_shape, name="features")
    x = inputs
    if len(feature_shape) == 3:
        if pooling is None:
            raise ValueError(
                "`pooling` must be 'avg', 'max' or 'flatten' for feature maps. "
                f"Received: pooling=None for feature_shape={feature_shape}"
            )
        if pooling == "flatten" and None in feature_shape:
            raise ValueError(
                "`pooling='flatten'` needs a feature map of known size. "
                f"Received: feature_shape={feature_shape}"
            )
        pool = {
            "avg": layers.GlobalAveragePooling2D,
            "max": layers.GlobalMaxPooling2D,
            "flatten": layers.Flatten,
        }[pooling]
        x = pool(name=f"{pooling}_pool")(x)
    if dropout > 0:
        x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def graft(
    backbone: keras.Model,
    head: keras.Model,
    input_shape: Sequence[int | None] | None = None,
    name: str = "transfer_classifier",
) -> keras.Model:
    """`head(backbone(images))` as one model, for end-to-end inference and fine-tuning.

    Both models are shared, not copied: a head trained on cached features gives the same
    predictions inside the grafted model. The backbone is called with `training=False`,
    as Keras' transfer-learning guide does, but in Keras 3 `fit` overrides that flag for
    every layer of a functional model (keras-team/keras#20285): what keeps a frozen
    backbone's batch normalisation in inference mode during training is that frozen
    BatchNormalization layers always run in inference mode (see `unfreeze_top`).

    Args:
        backbone: the feature extractor.
        head: a model from the backbone's features to predictions, e.g. from
            `classifier_head`.
        input_shape: `(height, width, channels)`; the backbone's by default.
        name: name of the returned model.

    Returns:
        A functional `keras.Model` from images to the head's outputs.
    """
    for arg, value in (("backbone", backbone), ("head", head)):
        if not isinstance(value, keras.Model):
            raise TypeError(
                f"`{arg}` must be a keras.Model. Received: {arg} of type {type(value).__name__}"
            )
    inputs = _image_input(backbone, input_shape)
    features = backbone(inputs, training=False)
    expected = tuple(head.inputs[0].shape[1:])
    got = tuple(features.shape[1:])
    if len(expected) != len(got) or any(
        e is not None and g is not None and e != g for e, g in zip(expected, got, strict=True)
    ):
        raise ValueError(
            f"`head` must take the backbone's features of shape {got}. "
            f"Received: a head whose input shape is {expected}"
        )
    return keras.Model(inputs, head(features), name=name)


def transfer_classifier(
    backbone: Any,
    classes: int,
    input_shape: Sequence[int | None] | None = None,
    pooling: str | None = "avg",
    dropout: float = 0.2,
    trainable: bool = False,
) -> keras.Model:
    """A pretrained backbone with a new softmax head: the notes' transfer learning.

    `y_hat = softmax(W dropout(pool(f(x))) + b)` with `f` the (frozen) backbone; only
    `W, b` train while `trainable=False`. The head is the nested model `"head"`
    (`model.get_layer("head")`), the backbone the nested model before it.

    Args:
        backbone: a `keras.Model`, or anything `load_backbone` accepts (built with its
            defaults and `input_shape`).
        classes: number of classes (>= 2).
        input_shape: `(height, width, channels)`; the backbone's by default.
        pooling: how the head flattens a feature map: `"avg"`, `"max"`, `"flatten"`, or
            `None` for a backbone that already outputs vectors.
        dropout: dropout rate in [0, 1) before the softmax layer.
        trainable: whether the backbone trains too (the notes' "a lot of data" case).

    Returns:
        An uncompiled functional `keras.Model` from images to class probabilities.

    Example:

    >>> model = transfer_classifier(
    ...     load_backbone("MobileNetV2", input_shape=(32, 32, 3), alpha=0.35), classes=5
    ... )
    >>> model.output_shape, len(model.trainable_weights)
    ((None, 5), 2)
    """
    if not isinstance(backbone, keras.Model):
        backbone = load_backbone(backbone, input_shape=input_shape)
    backbone.trainable = bool(trainable)
    inputs = _image_input(backbone, input_shape)
    features = backbone(inputs, training=False)
    head = classifier_head(tuple(features.shape[1:]), classes, pooling=pooling, dropout=dropout)
    return keras.Model(inputs, head(features), name="transfer_classifier")


def _input_spec(model: keras.Model):
    """The model's (first) input KerasTensor, None when it has no defined input."""
    try:
        return model.inputs[0]
    except (AttributeError, IndexError, TypeError, ValueError):
        return None


def _image_input(backbone: keras.Model, input_shape) -> keras.KerasTensor:
    spec = _input_spec(backbone)
    if input_shape is None:
        if spec is None:
            raise ValueError(
                f"`input_shape` is needed: backbone {backbone.name!r} has no defined input. "
                "Received: input_shape=None"
            )
        input_shape = spec.shape[1:]
    dtype = "float32" if spec is None else spec.dtype
    return keras.Input(shape=tuple(input_shape), dtype=dtype, name="image")


@dataclasses.dataclass(frozen=True)
class FeatureCache:
    """A frozen backbone's features of a data set, on disk as `.npy` files.

    Attributes:
        path: the cache directory (`features.npy`, and `labels.npy` when labels were
            given).
        features: `(n, *feature_shape)` array, memory-mapped read-only: pages load from
            disk as they are read.
        labels: `(n, ...)` array, memory-mapped, or None.
    """

    path: str
    features: np.ndarray
    labels: np.ndarray | None

    FEATURES = "features.npy"
    LABELS = "labels.npy"

    @classmethod
    def load(cls, path: str | os.PathLike) -> FeatureCache:
        """Opens a cache written by `cache_features`, memory-mapped."""
        path = os.fspath(path)
        features_path = os.path.join(path, cls.FEATURES)
        if not os.path.isfile(features_path):
            raise ValueError(
                f"`path` must be a directory written by cache_features. Received: "
                f"path={path!r}, which has no {cls.FEATURES}"
            )
        labels_path = os.path.join(path, cls.LABELS)
        labels = np.load(labels_path, mmap_mode="r") if os.path.isfile(labels_path) else None
        return cls(path, np.load(features_path, mmap_mode="r"), labels)

    @property
    def feature_shape(self) -> tuple[int, ...]:
        """Shape of one example's features: the `feature_shape` of `classifier_head`."""
        return tuple(self.features.shape[1:])

    def __len__(self) -> int:
        return len(self.features)


def cache_features(
    backbone: keras.Model,
    data: Any,
    path: str | os.PathLike,
    labels: Any = None,
    batch_size: int = 32,
    verbose: int = 1,
) -> FeatureCache:
    """Runs a frozen backbone over a data set once and saves its features to disk.

    A frozen backbone gives the same features every epoch, so training only a head on
    cached features costs one backbone pass in all instead of one per epoch. Features
    are written batch by batch into memory-mapped `.npy` files (the data set never has
    to fit in memory) and renamed into place when complete, so an interrupted run
    leaves no half-written cache.

    Recipe: train the head on the cache, then graft it on the backbone.

    >>> import tempfile
    >>> import numpy as np
    >>> backbone = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3)])
    >>> images = np.random.default_rng(0).uniform(size=(6, 8, 8, 3)).astype("float32")
    >>> cache = cache_features(
    ...     backbone, images, tempfile.mkdtemp(), labels=np.arange(6) % 2, verbose=0
    ... )
    >>> head = classifier_head(cache.feature_shape, classes=2)
    >>> head.compile("adam", "sparse_categorical_crossentropy")
    >>> _ = head.fit(cache.features, cache.labels, epochs=2, verbose=0)
    >>> model = graft(backbone, head)
    >>> bool(np.allclose(model.predict(images, verbose=0),
    ...                  head.predict(cache.features, verbose=0), atol=1e-6))
    True

    Args:
        backbone: the frozen feature extractor, run in inference mode (`predict`):
            dropout or stochastic depth inside it (e.g. EfficientNet's) is off, whereas
            `fit` on a grafted model would turn it on.
        data: images as a numpy array or tensor `(n, height, width, channels)`, or a
            batched `tf.data.Dataset` of images or of `(images, labels)` tuples (whose
            labels are cached too).
        path: the cache directory, created if needed; existing cache files are replaced.
        labels: optional labels `(n, ...)` for array `data`.
        batch_size: images per backbone pass for array `data`.
        verbose: 1 shows a progress bar, 0 nothing.

    Returns:
        The `FeatureCache`, memory-mapped.
    """
    if not isinstance(backbone, keras.Model):
        raise TypeError(
            f"`backbone` must be a keras.Model. Received: backbone of type "
            f"{type(backbone).__name__}"
        )
    check_positive_int("batch_size", batch_size)
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"`path` must be a directory. Received: path={path!r}, a file")
    os.makedirs(path, exist_ok=True)
    batches, rows, steps = _batches(backbone, data, labels, batch_size)
    progress = keras.utils.Progbar(steps, verbose=verbose)
    features = _NpyWriter(os.path.join(path, FeatureCache.FEATURES), rows)
    label_writer = _NpyWriter(os.path.join(path, FeatureCache.LABELS), rows)
    try:
        for images, batch_labels in batches:
            features.write(np.asarray(backbone.predict_on_batch(images)))
            if batch_labels is not None:
                label_writer.write(np.asarray(batch_labels))
            progress.add(1)
        if features.count == 0:
            raise ValueError("`data` must hold at least one image. Received: an empty data set")
        features.close()
        label_writer.close()
    except BaseException:
        features.abort()
        label_writer.abort()
        raise
    stale = os.path.join(path, FeatureCache.LABELS)
    if label_writer.count == 0 and os.path.exists(stale):
        os.remove(stale)
    return FeatureCache.load(path)


def _batches(backbone, data, labels, batch_size) -> tuple[Iterator, int | None, int | None]:
    """`(images, labels or None)` numpy batches, the number of images and of batches
    (None when unknown)."""
    spec = _input_spec(backbone)
    rank = 4 if spec is None else len(spec.shape)
    if isinstance(data, tf.data.Dataset):
        if labels is not None:
            raise ValueError(
                "`labels` must be None when `data` is a tf.data.Dataset: put them in the "
                "dataset as (images, labels). Received: labels of length "
                f"{len(labels)}"
            )
        spec = data.element_spec
        image_spec = spec[0] if isinstance(spec, tuple) else spec
        if image_spec.shape.rank != rank:
            raise ValueError(
                f"`data` must be a batched dataset of rank-{rank} images. Received: elements "
                f"of shape {image_spec.shape}; call .batch(batch_size) first"
            )
        cardinality = int(data.cardinality())
        if cardinality == tf.data.INFINITE_CARDINALITY:
            raise ValueError(
                "`data` must be a finite dataset. Received: an infinite dataset; "
                "call .take(steps) first"
            )

        def from_dataset():
            for element in data.as_numpy_iterator():
                if isinstance(element, tuple):
                    yield element[0], element[1] if len(element) > 1 else None
                else:
                    yield element, None

        # The image count of a batched dataset is unknown before the last batch.
        return from_dataset(), None, None if cardinality < 0 else cardinality
    images = np.asarray(keras.ops.convert_to_numpy(data))
    if images.ndim != rank:
        raise ValueError(
            f"`data` must be rank-{rank} images (n, height, width, channels). "
            f"Received: data.shape={images.shape}"
        )
    if labels is not None:
        labels = np.asarray(labels)
        if len(labels) != len(images):
            raise ValueError(
                f"`labels` must have one entry per image ({len(images)}). "
                f"Received: {len(labels)} labels"
            )

    def from_array():
        for start in range(0, len(images), batch_size):
            stop = start + batch_size
            yield images[start:stop], None if labels is None else labels[start:stop]

    return from_array(), len(images), -(-len(images) // batch_size)


class _NpyWriter:
    """Writes an `.npy` file batch by batch, then renames it into place.

    With a known row count the file is a preallocated memory map; otherwise rows go to
    a raw file that `close` copies behind an `.npy` header in chunks.
    """

    def __init__(self, path: str, rows: int | None):
        self.path, self.rows, self.count = path, rows, 0
        self.partial = f"{path}.partial"
        self.array = None
        self.raw = None
        self.dtype = None
        self.row_shape = None

    def write(self, batch: np.ndarray) -> None:
        if self.dtype is None:
            self.dtype, self.row_shape = batch.dtype, batch.shape[1:]
            if self.rows is not None:
                self.array = np.lib.format.open_memmap(
                    self.partial, mode="w+", dtype=self.dtype, shape=(self.rows, *self.row_shape)
                )
            else:
                self.raw = open(f"{self.partial}.raw", "wb")  # closed by close() or abort()
        batch = np.ascontiguousarray(batch, dtype=self.dtype)
        if self.array is not None:
            self.array[self.count : self.count + len(batch)] = batch
        else:
            self.raw.write(batch.tobytes())
        self.count += len(batch)

    def close(self) -> None:
        if self.dtype is None:
            return
        if self.array is not None:
            self.array.flush()
            del self.array
            self.array = None
        else:
            self.raw.close()
            source = np.memmap(
                f"{self.partial}.raw",
                dtype=self.dtype,
                mode="r",
                shape=(self.count, *self.row_shape),
            )
            target = np.lib.format.open_memmap(
                self.partial, mode="w+", dtype=self.dtype, shape=source.shape
            )
            for start in range(0, self.count, 4096):
                target[start : start + 4096] = source[start : start + 4096]
            target.flush()
            del source, target
            os.remove(f"{self.partial}.raw")
        os.replace(self.partial, self.path)

    def abort(self) -> None:
        self.array = None
        if self.raw is not None:
            self.raw.close()
        for leftover in (self.partial, f"{self.partial}.raw"):
            if os.path.exists(leftover):
                os.remove(leftover)


def unfreeze_top(model: keras.Model, n: int) -> list[str]:
    """Unfreezes the top `n` weight-bearing layers of a model for fine-tuning.

    The notes' middle case: with more data, train the last few layers of the pretrained
    network as well as the new head. Every other layer of `model` (nested models
    included) is frozen; layers without weights do not count.

    BatchNormalization layers stay frozen and do not count towards `n`. In Keras a
    frozen BatchNormalization runs in inference mode: it normalises with the moving mean
    and variance learned on the large pretraining set and does not update them. Trained
    on a small fine-tuning set instead, it would normalise with the statistics of each
    small batch and overwrite the moving statistics, so the unfrozen layers above would
    suddenly see differently scaled inputs and the first fine-tuning steps would undo
    much of what was learned (Keras' transfer-learning guide). The guide's other
    safeguard, calling the backbone with `training=False`, does not hold under `fit` in
    Keras 3 (keras-team/keras#20285), so freezing the batch norms is what does it. A
    custom layer with batch normalisation inside it (e.g. `ResidualBlock`) counts as one
    layer; its inner BatchNormalization layers stay frozen too.

    Recompile the model after calling this (with a low learning rate, e.g. 1e-5) for
    the change to take effect in `fit`.

    Args:
        model: the backbone (to count only its layers; the head of a model built on it
            is left as it is), or a whole model.
        n: int >= 1, how many weight-bearing layers to unfreeze, counted from the output.

    Returns:
        The names of the unfrozen layers, from bottom to top.

    Example:

    >>> backbone = load_backbone("MobileNetV2", input_shape=(32, 32, 3), alpha=0.35)
    >>> unfreeze_top(backbone, 2)
    ['block_16_project', 'Conv_1']
    """
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"`model` must be a keras.Model. Received: model of type {type(model).__name__}"
        )
    check_positive_int("n", n)
    leaves = list(_leaf_layers(model))
    candidates = [
        layer
        for layer in leaves
        if layer.weights and not isinstance(layer, layers.BatchNormalization)
    ]
    if n > len(candidates):
        raise ValueError(
            f"`n` must be <= {len(candidates)}, the number of weight-bearing layers other "
            f"than BatchNormalization in model {model.name!r}. Received: n={n}"
        )
    # Containers must be trainable for their layers' own flags to count.
    model.trainable = True
    for layer in leaves:
        layer.trainable = False
    unfrozen = candidates[len(candidates) - n :]
    for layer in unfrozen:
        layer.trainable = True
        for norm in _batch_norms_inside(layer):
            norm.trainable = False
    return [layer.name for layer in unfrozen]


def _batch_norms_inside(layer: layers.Layer) -> list[layers.BatchNormalization]:
    """The BatchNormalization layers a custom layer holds, at any depth.

    Keras tracks a layer's sublayers through its attributes and has no public way to
    list them, so this follows the attributes (lists, tuples and dicts included).
    """
    found, seen, stack = [], {id(layer)}, [layer]
    while stack:
        for value in vars(stack.pop()).values():
            if isinstance(value, dict):
                items = list(value.values())
            elif isinstance(value, list | tuple):
                items = list(value)
            else:
                items = [value]
            for item in items:
                if isinstance(item, layers.Layer) and id(item) not in seen:
                    seen.add(id(item))
                    stack.append(item)
                    if isinstance(item, layers.BatchNormalization):
                        found.append(item)
    return found


def _leaf_layers(model: keras.Model) -> Iterator[layers.Layer]:
    """The non-model layers of `model`, nested models expanded, in model order."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaf_layers(layer)
        else:
            yield layer
