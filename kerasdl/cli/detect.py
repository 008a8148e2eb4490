"""`kerasdl detect`: run an exported detector (SavedModel or TFLite) on an image file."""

from __future__ import annotations

import os
import re

import numpy as np


def _read_image(path: str) -> tuple[bytes, np.ndarray]:
    """The file's bytes and its pixels as floats in [0, 1]; a clear error for non-images."""
    from PIL import Image, UnidentifiedImageError

    if not os.path.isfile(path):
        raise ValueError(f"`image` must be an existing file. Received: image={path!r}")
    with open(path, "rb") as f:
        content = f.read()
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"), dtype="float32") / 255.0
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(
            f"`image` must be a JPEG or PNG image file. Received: image={path!r} ({error})"
        ) from None
    return content, pixels


def _version_dir(path: str) -> str:
    """A SavedModel directory, or the newest integer version inside a TF Serving base."""
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return path
    versions = [d for d in os.listdir(path) if re.fullmatch(r"\d+", d)]
    if not versions:
        raise ValueError(
            "`model` must be a .tflite file, a SavedModel directory or a TF Serving model "
            f"directory with integer versions. Received: model={path!r}"
        )
    return os.path.join(path, max(versions, key=int))


def detect(model_path: str, image_path: str) -> tuple[dict, np.ndarray]:
    """Runs the detector on one image file; returns (detections of a batch of 1, pixels).

    `model_path` is an int8/float `.tflite` file (the image is resized to its input size
    here, bilinear as in the SavedModel) or a SavedModel written by
    `kerasdl.export.saved_model` with the encoded-image signature (the newest version of a
    TF Serving model directory is used).
    """
    import tensorflow as tf

    content, pixels = _read_image(image_path)
    if not os.path.exists(model_path):
        raise ValueError(f"`model` must exist. Received: model={model_path!r}")
    if model_path.endswith(".tflite"):
        from kerasdl.export import TFLiteModel

        runner = TFLiteModel(model_path)
        _, height, width, _ = runner.input_details[0]["shape"]
        resized = tf.image.resize(pixels, (int(height), int(width))).numpy()
        outputs = runner(resized[np.newaxis])
    else:
        signature = tf.saved_model.load(_version_dir(model_path)).signatures["serving_default"]
        _, specs = signature.structured_input_signature
        if len(specs) != 1 or next(iter(specs.values())).dtype != tf.string:
            raise ValueError(
                "`model` must serve encoded images (one tf.string input, see "
                "kerasdl.export.image_bytes_serving_fn). "
                f"Received: a signature taking {dict(specs)}"
            )
        (name,) = specs
        outputs = signature(**{name: tf.constant([content])})
    outputs = {k: np.asarray(v) for k, v in dict(outputs).items()}
    missing = {"detection_boxes", "detection_scores", "detection_classes", "num_detections"}
    missing -= set(outputs)
    if missing:
        raise ValueError(
            f"`model` must return the detection outputs; {sorted(missing)} are missing. "
            f"Received outputs {sorted(outputs)}"
        )
    return outputs, pixels


def run_detect(
    model_path: str,
    image_path: str,
    out_path: str | None = None,
    class_names: tuple[str, ...] = (),
    min_score: float = 0.3,
) -> list[dict]:
    """Prints the detections above `min_score` and optionally draws them to `out_path`."""
    from kerasdl.plot import draw_detections

    outputs, pixels = detect(model_path, image_path)
    height, width, _ = pixels.shape
    count = int(outputs["num_detections"][0])
    keep = [j for j in range(count) if outputs["detection_scores"][0, j] >= min_score]
    found = []
    for j in keep:
        y0, x0, y1, x1 = outputs["detection_boxes"][0, j]
        cls = int(outputs["detection_classes"][0, j])
        found.append(
            {
                "class": class_names[cls] if cls < len(class_names) else cls,
                "score": float(outputs["detection_scores"][0, j]),
                "box_pixels": (
                    round(float(x0) * width),
                    round(float(y0) * height),
                    round(float(x1) * width),
                    round(float(y1) * height),
                ),
            }
        )
    print(f"{len(found)} detections with score >= {min_score} in {image_path}:")
    for d in found:
        x0, y0, x1, y1 = d["box_pixels"]
        print(f"  {d['class']!s:<10} {d['score']:.3f}  x {x0}-{x1}, y {y0}-{y1}")
    if out_path:
        shown = {
            "detection_boxes": outputs["detection_boxes"][:, keep],
            "detection_scores": outputs["detection_scores"][:, keep],
            "detection_classes": outputs["detection_classes"][:, keep],
            "num_detections": np.array([len(keep)]),
        }
        draw_detections(pixels[np.newaxis], shown, out_path, class_names, columns=1)
        print(f"boxes drawn: {out_path}")
    return found
