"""SavedModel export in the TF Serving layout: versioned, atomic, with warm-up requests.

TF Serving watches a model directory `base_dir/` and serves the highest integer
subdirectory `base_dir/<version>/` holding a SavedModel. `saved_model` writes such a
version through Keras' own exporter (`model.export(..., format="tf_saved_model")`, which
gives the `serve` endpoint and the `serving_default` signature TF Serving calls), and can
add the warm-up file TF Serving replays at load time so the first real request does not
pay for graph initialisation.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Mapping
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from kerasdl._validation import check_positive_int
from kerasdl.export.tflite import _model_inputs

# TF Serving loads at most this many warm-up records and fails the load beyond it
# (`kMaxNumRecords` in tensorflow_serving/servables/tensorflow/saved_model_warmup_util).
MAX_WARMUP_RECORDS = 1000
WARMUP_FILENAME = os.path.join("assets.extra", "tf_serving_warmup_requests")
SIGNATURE_NAME = "serving_default"

_VERSION_PATTERN = re.compile(r"\d+")


def saved_model(
    model: keras.Model,
    base_dir: str | os.PathLike,
    version: int | None = None,
    warmup_inputs: Any = None,
    model_name: str = "model",
    serving_fn: Any = None,
    input_signature: Any = None,
) -> str:
    """Exports `model` as version `version` of a TF Serving model directory.

    The layout is the one TF Serving polls:

        base_dir/
          1/  saved_model.pb  variables/  assets/
          2/  saved_model.pb  variables/  assets/  assets.extra/tf_serving_warmup_requests

    The version is written into a hidden temporary directory inside `base_dir`
    (`.tmp-<version>-<random>`; TF Serving ignores names that are not integers) and renamed
    into place in one `os.rename`, so a server polling `base_dir` never loads a half-written
    version. On any failure the temporary directory is removed and `base_dir` is left as it
    was (it is created, with its parents, when missing, and removed again if the export
    fails and it was created here).

    The SavedModel has the `serve` endpoint and the `serving_default` signature whose input
    names are the model's input names (`keras.Input(name=...)`) and whose outputs are
    `output_0`, `output_1`, ... (or the keys of a dict of outputs).

    Serve it (from the directory holding `saved_models/`) and query it over REST:

        docker run -p 8501:8501 \\
          -v "$PWD/saved_models/NAME:/models/NAME" -e MODEL_NAME=NAME tensorflow/serving

        curl -d '{"instances": [[0.1, 0.2, 0.3, 0.4]]}' \\
          -X POST http://localhost:8501/v1/models/NAME:predict

    with `NAME` the `model_name` (the last part of `base_dir` by convention).

    Args:
        model: a built `keras.Model` with symbolic inputs. It is served in inference mode
            (`training=False`, so random augmentation layers are off). Input dimensions
            may be unknown (variable-length sequences) unless `warmup_inputs` is given,
            which needs a fixed example shape.
        base_dir: the model directory TF Serving watches (e.g. `saved_models/NAME`). It
            may be missing or empty, or hold earlier integer versions; other entries are
            ignored, as TF Serving ignores them, except that `base_dir` must not itself be
            a SavedModel (a `saved_model.pb` directly inside means a version directory was
            passed instead of its parent).
        version: positive int, the version to write. `None` writes the next version: one
            more than the largest existing integer entry, or 1.
        warmup_inputs: optional examples for `assets.extra/tf_serving_warmup_requests`: a
            numpy array `(n, ...)` for a single-input model, a dict input name -> array,
            or a list of arrays in the order of `model.inputs`, with `n <= 1000`. One
            `PredictionLog` record is written per example (a batch of 1), so TF Serving
            warms up the exact request shape single-example clients send.
        model_name: the `model_spec.name` of the warm-up requests; TF Serving's
            `MODEL_NAME`.
        serving_fn: optional function to serve instead of the model itself, for a
            signature that does more than call it (e.g. decode JPEG bytes first, see
            `kerasdl.export.image_bytes_serving_fn`). It must only use `model`'s
            variables, which are saved with it. Needs `input_signature`.
        input_signature: the `tf.TensorSpec`s `serving_fn` takes (with names: they are the
            signature's input names).

    Returns:
        The path of the version directory written, `base_dir/<version>`.

    Raises:
        TypeError: if `model` is not a `keras.Model` or `version` is not an int.
        ValueError: if `model` is not built or has unknown non-batch input dimensions; if
            `base_dir` is a file or a SavedModel directory; if `version` is not positive or
            already exists; if `warmup_inputs` do not match the serving signature.

    Example:

    >>> import tempfile
    >>> import keras
    >>> import numpy as np
    >>> inputs = keras.Input((4,), name="features")
    >>> model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    >>> base_dir = tempfile.mkdtemp()
    >>> path = saved_model(model, base_dir, warmup_inputs=np.ones((2, 4), "float32"))
    >>> sorted(os.listdir(path))
    ['assets', 'assets.extra', 'fingerprint.pb', 'saved_model.pb', 'variables']
    >>> os.path.basename(saved_model(model, base_dir))
    '2'
    """
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"`model` must be a keras.Model. Received: model={model!r} "
            f"of type {type(model).__name__}"
        )
    if not model.built:
        raise ValueError(
            "`model` must be built (called on data, or created from keras.Input) before "
            f"export. Received: model={model.name!r}, which is not built"
        )
    if not isinstance(model_name, str) or not model_name:
        raise ValueError(
            f"`model_name` must be a non-empty str. Received: model_name={model_name!r}"
        )
    if version is not None:
        check_positive_int("version", version)
    if serving_fn is not None and not callable(serving_fn):
        raise TypeError(f"`serving_fn` must be callable. Received: serving_fn={serving_fn!r}")
    if (serving_fn is None) != (input_signature is None):
        raise ValueError(
            "`serving_fn` and `input_signature` must be given together. Received: "
            f"serving_fn={serving_fn!r}, input_signature={input_signature!r}"
        )
    if input_signature is not None and not all(
        isinstance(spec, tf.TensorSpec) for spec in input_signature
    ):
        raise TypeError(
            "`input_signature` must be a list of tf.TensorSpec. "
            f"Received: input_signature={input_signature!r}"
        )

    base_dir = os.fspath(base_dir)
    created_base_dir = _prepare_base_dir(base_dir)
    try:
        versions = _existing_versions(base_dir)
        if version is None:
            version = max(versions, default=0) + 1
        elif version in versions:
            raise ValueError(
                f"`version` must not exist yet in `base_dir`. Received: version={version}, "
                f"but {os.path.join(base_dir, versions[version])} exists"
            )
        final_dir = os.path.join(base_dir, str(version))
        tmp_dir = _make_tmp_dir(base_dir, version)
    except BaseException:
        _remove_if_empty(base_dir, created_base_dir)
        raise

    try:
        _write_inference_archive(model, tmp_dir, serving_fn, input_signature)
        signature = _read_serving_signature(tmp_dir)
        if warmup_inputs is not None:
            _check_known_shapes(signature)
            examples = _warmup_examples(warmup_inputs, signature, model)
            _write_warmup(os.path.join(tmp_dir, WARMUP_FILENAME), examples, model_name)
        if os.path.lexists(final_dir):
            # Another writer took this version while we exported.
            raise ValueError(
                f"`version` must not exist yet in `base_dir`. Received: version={version}, "
                f"but {final_dir} appeared during the export"
            )
        os.rename(tmp_dir, final_dir)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        _remove_if_empty(base_dir, created_base_dir)
        raise
    return final_dir


def _write_inference_archive(
    model: keras.Model, export_dir: str, serving_fn=None, input_signature=None
) -> None:
    """Writes the SavedModel with a `serve` endpoint (and `serving_default` signature) that
    calls the model in inference mode.

    `model.export` calls the model without `training`, and Keras' random augmentation
    layers (RandomFlip, RandomCrop, ...) default to training=True, so their exports
    augment every request; here `training=False` is explicit.
    """
    archive = keras.export.ExportArchive()
    archive.track(model)
    if serving_fn is not None:
        archive.add_endpoint("serve", serving_fn, input_signature=list(input_signature))
        archive.write_out(export_dir, verbose=False)
        return
    specs, pack = _model_inputs(model)
    if specs[0].shape is None:
        raise ValueError(
            "`model` must have symbolic inputs (a functional or Sequential model, or a "
            "subclassed model built by calling it on `keras.Input`s). "
            f"Received: model={model.name!r} without inputs"
        )
    signature = [
        tf.TensorSpec((None, *spec.shape[1:]), spec.dtype, name=spec.name) for spec in specs
    ]

    def serve(*inputs):
        return model(pack(inputs), training=False)

    archive.add_endpoint("serve", serve, input_signature=signature)
    archive.write_out(export_dir, verbose=False)


def _prepare_base_dir(base_dir: str) -> bool:
    """Checks `base_dir`, creating it when missing; returns whether it was created."""
    if os.path.exists(base_dir) and not os.path.isdir(base_dir):
        raise ValueError(
            "`base_dir` must be a directory (the TF Serving model directory). "
            f"Received: base_dir={base_dir!r}, which is a file"
        )
    for marker in ("saved_model.pb", "saved_model.pbtxt"):
        if os.path.isfile(os.path.join(base_dir, marker)):
            raise ValueError(
                "`base_dir` must be the model directory that holds integer version "
                "subdirectories, not a SavedModel itself. "
                f"Received: base_dir={base_dir!r}, which contains {marker}; pass its parent "
                "directory or a new directory"
            )
    if os.path.isdir(base_dir):
        return False
    os.makedirs(base_dir)
    return True


def _existing_versions(base_dir: str) -> dict[int, str]:
    """Maps each integer version found in `base_dir` to its entry name.

    Integer names count whatever they are ("007" is version 7 to TF Serving), so a new
    version never collides with an existing entry.
    """
    versions = {}
    for name in os.listdir(base_dir):
        if _VERSION_PATTERN.fullmatch(name):
            versions[int(name)] = name
    return versions


def _make_tmp_dir(base_dir: str, version: int) -> str:
    # os.mkdir (unlike tempfile.mkdtemp's 0700) honours the umask, so the renamed version
    # is readable by a server running as another user (e.g. a Docker volume).
    while True:
        path = os.path.join(base_dir, f".tmp-{version}-{secrets.token_hex(4)}")
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            continue


def _remove_if_empty(base_dir: str, created: bool) -> None:
    if created:
        try:
            os.rmdir(base_dir)
        except OSError:
            pass


def _read_serving_signature(export_dir: str) -> dict[str, tuple[tf.DType, tuple]]:
    """Reads `serving_default`'s inputs from saved_model.pb: name -> (dtype, shape).

    This is the signature TF Serving itself reads, so the warm-up requests are keyed and
    typed exactly as the server expects. Unknown dimensions are `None`.
    """
    from tensorflow.core.protobuf import saved_model_pb2

    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as f:
        proto = saved_model_pb2.SavedModel.FromString(f.read())
    signature_def = proto.meta_graphs[0].signature_def[SIGNATURE_NAME]
    inputs = {}
    for name, info in signature_def.inputs.items():
        if info.tensor_shape.unknown_rank:
            shape = None
        else:
            shape = tuple(None if d.size < 0 else d.size for d in info.tensor_shape.dim)
        inputs[name] = (tf.dtypes.as_dtype(info.dtype), shape)
    return inputs


def _check_known_shapes(signature: dict[str, tuple[tf.DType, tuple]]) -> None:
    for name, (_, shape) in signature.items():
        if shape is None or not shape or any(d is None for d in shape[1:]):
            raise ValueError(
                "`model` must have known input shapes except the batch dimension to write "
                "warm-up requests. "
                f"Received: model input {name!r} with shape {shape}; build the model from "
                "keras.Input(shape=...) with every non-batch dimension set"
            )


def _warmup_examples(
    warmup_inputs: Any, signature: dict[str, tuple[tf.DType, tuple]], model: keras.Model
) -> dict[str, np.ndarray]:
    """Matches `warmup_inputs` to the signature's inputs and checks shapes and dtypes."""
    names = list(signature)
    if isinstance(warmup_inputs, Mapping):
        if set(warmup_inputs) != set(names):
            raise ValueError(
                "`warmup_inputs` must be keyed by the serving signature's input names "
                f"{sorted(names)}. "
                f"Received: warmup_inputs with keys {sorted(map(str, warmup_inputs))}"
            )
        arrays = dict(warmup_inputs)
    elif len(names) == 1:
        # A single-input model takes the array itself, or a one-entry list holding it.
        (name,) = names
        value = warmup_inputs
        if (
            isinstance(value, (list, tuple))
            and len(value) == 1
            and np.ndim(value[0]) == len(signature[name][1])
        ):
            value = value[0]
        arrays = {name: value}
    elif isinstance(warmup_inputs, (list, tuple)):
        ordered = [t.name for t in getattr(model, "inputs", None) or []]
        if sorted(ordered) != sorted(names):
            raise ValueError(
                "`warmup_inputs` must be a dict keyed by the serving signature's input names "
                f"{sorted(names)} for this model, whose inputs have no names to match a list "
                f"against. Received: warmup_inputs as a {type(warmup_inputs).__name__}"
            )
        if len(warmup_inputs) != len(ordered):
            raise ValueError(
                f"`warmup_inputs` must have one array per model input {ordered}. "
                f"Received: warmup_inputs with {len(warmup_inputs)} entries"
            )
        arrays = dict(zip(ordered, warmup_inputs, strict=True))
    else:
        raise ValueError(
            f"`warmup_inputs` must be a dict or list with one array per input "
            f"{sorted(names)} for this multi-input model. "
            f"Received: warmup_inputs of type {type(warmup_inputs).__name__}"
        )

    examples = {}
    counts = set()
    for name, value in arrays.items():
        dtype, shape = signature[name]
        try:
            array = np.asarray(value)
        except ValueError as error:
            raise ValueError(
                f"`warmup_inputs` must be a rectangular array for input {name!r}. "
                f"Received: warmup_inputs[{name!r}] that numpy cannot stack ({error})"
            ) from error
        expected = np.dtype(dtype.as_numpy_dtype)
        if not np.can_cast(array.dtype, expected, casting="same_kind"):
            raise ValueError(
                f"`warmup_inputs` must have dtype {expected.name} (or the same kind) for "
                f"input {name!r}. Received: warmup_inputs[{name!r}].dtype={array.dtype}"
            )
        if array.ndim != len(shape) or array.shape[1:] != tuple(shape[1:]):
            raise ValueError(
                f"`warmup_inputs` must have shape (n, {', '.join(map(str, shape[1:]))}) for "
                f"input {name!r} (serving signature shape {shape}). "
                f"Received: warmup_inputs[{name!r}].shape={array.shape}"
            )
        counts.add(array.shape[0])
        examples[name] = array.astype(expected, copy=False)
    if len(counts) != 1:
        raise ValueError(
            "`warmup_inputs` must have the same number of examples for every input. "
            f"Received: warmup_inputs with {sorted(counts)} examples"
        )
    count = counts.pop()
    if not 1 <= count <= MAX_WARMUP_RECORDS:
        raise ValueError(
            f"`warmup_inputs` must hold between 1 and {MAX_WARMUP_RECORDS} examples (TF "
            f"Serving's limit). Received: warmup_inputs with {count} examples"
        )
    return examples


def _write_warmup(path: str, examples: dict[str, np.ndarray], model_name: str) -> None:
    """Writes one PredictionLog record per example (a batch of 1) as a TFRecord file."""
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    os.makedirs(os.path.dirname(path), exist_ok=True)
    count = len(next(iter(examples.values())))
    with tf.io.TFRecordWriter(path) as writer:
        for i in range(count):
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(name=model_name, signature_name=SIGNATURE_NAME)
            )
            for name, array in examples.items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(array[i : i + 1]))
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)
            )
            writer.write(log.SerializeToString())
