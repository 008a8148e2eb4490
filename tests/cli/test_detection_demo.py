"""The detection demo's pipeline end to end (briefly trained), and `kerasdl detect`."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kerasdl.cli.detect import detect
from kerasdl.cli.detection_demo import run_detection_demo
from kerasdl.data import shapes_dataset

KEYS = {"detection_boxes", "detection_scores", "detection_classes", "num_detections"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return out, run_detection_demo(str(out), epochs=2, num_train=128, num_test=32, seed=3)


@pytest.fixture(scope="module")
def shape_png(tmp_path_factory):
    images, _, _ = shapes_dataset(1, seed=5)
    path = tmp_path_factory.mktemp("img") / "shapes.png"
    Image.fromarray((images[0] * 255).astype("uint8")).resize((150, 100)).save(path)
    return str(path)


@pytest.mark.slow
def test_demo_writes_every_artefact(demo):
    out, result = demo
    assert result["saved_model_dir"] == str(out / "shapes_detector" / "1")
    assert (out / "shapes_detector" / "1" / "assets.extra" / "tf_serving_warmup_requests").exists()
    report = result["tflite_report"]
    assert report.quantization == "int8" and not report.uses_flex
    assert "NON_MAX_SUPPRESSION_V4" in report.ops
    assert os.path.getsize(result["tflite_path"]) == report.size_bytes
    assert 0.0 <= result["map50"] <= 1.0 and 0.0 <= result["tflite_map50"] <= 1.0
    assert np.isclose(
        result["map50_change_points"], 100 * (result["tflite_map50"] - result["map50"])
    )
    with open(result["picture"], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    # The figures file holds the run's own numbers.
    with open(result["results_path"]) as f:
        figures = json.load(f)
    assert figures["map50"] == round(result["map50"], 4)
    assert figures["tflite_int8_map50"] == round(result["tflite_map50"], 4)
    assert figures["train_seconds"] == round(result["train_seconds"], 1)
    assert figures["targets"] == {"map50": 0.85, "train_seconds": 300, "map50_points_lost": 2.0}


@pytest.mark.slow
def test_detect_with_either_export_agrees(demo, shape_png):
    out, result = demo
    served, pixels = detect(str(out / "shapes_detector"), shape_png)
    on_device, _ = detect(result["tflite_path"], shape_png)
    assert pixels.shape == (100, 150, 3)
    assert set(served) == set(on_device) == KEYS
    for outputs in (served, on_device):
        count = int(outputs["num_detections"][0])
        boxes, scores = outputs["detection_boxes"][0], outputs["detection_scores"][0]
        assert outputs["detection_boxes"].shape == (1, 20, 4)
        assert np.all((boxes >= 0) & (boxes <= 1))
        assert np.all(np.diff(scores[:count]) <= 1e-6)  # best first
        assert np.all(scores[count:] == 0)


@pytest.mark.slow
def test_detect_cli_draws_and_rejects_non_images(demo, shape_png, tmp_path):
    out, result = demo
    picture = tmp_path / "boxes.png"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kerasdl.cli.main",
            "detect",
            f"--model={result['tflite_path']}",
            shape_png,
            f"--out={picture}",
            "--min_score=0",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "detections with score >= 0.0" in done.stdout
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    text = tmp_path / "notes.png"
    text.write_text("not an image")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kerasdl.cli.main",
            "detect",
            f"--model={out / 'shapes_detector'}",
            str(text),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    assert "`image` must be a JPEG or PNG image file" in done.stderr


def test_detect_rejects_models_that_are_not_detectors(tmp_path, shape_png):
    with pytest.raises(ValueError, match=r"`model` must exist"):
        detect(str(tmp_path / "missing"), shape_png)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"integer versions"):
        detect(str(tmp_path / "empty"), shape_png)


def test_serving_signature_rejects_non_images(demo):
    _, result = demo
    served = tf.saved_model.load(result["saved_model_dir"]).signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"not a JPEG or PNG image"):
        served(encoded_image=tf.constant([b"GIF89a..."]))
