"""COCO mAP: kerasdl.metrics.MeanAveragePrecision (update + result) vs pycocotools
(loadRes + evaluate + accumulate) on the same detections."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import tensorflow as tf
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from benchmarks.timing import compare, row
from kerasdl.metrics import MeanAveragePrecision

NUM_CLASSES = 20


def detections(num_images: int, per_image: int = 10, max_boxes: int = 8, seed: int = 0):
    """Padded ground truth (batch, max_boxes, 5) and detections (batch, per_image, 6):
    jittered copies of the boxes, some with the wrong class, and random false positives."""
    rng = np.random.default_rng(seed)
    y_true = np.zeros((num_images, max_boxes, 5), "float32")
    y_true[..., 4] = -1
    y_pred = np.zeros((num_images, per_image, 6), "float32")
    for i in range(num_images):
        n = rng.integers(1, max_boxes + 1)
        corner = rng.uniform(0, 500, size=(n, 2))
        boxes = np.concatenate([corner, corner + rng.uniform(10, 150, size=(n, 2))], axis=1)
        classes = rng.integers(0, NUM_CLASSES, size=n)
        y_true[i, :n, :4], y_true[i, :n, 4] = boxes, classes
        source = rng.integers(0, n, size=per_image)
        jitter = rng.normal(scale=0.1, size=(per_image, 4)) * np.tile(
            boxes[source, 2:] - boxes[source, :2], 2
        )
        y_pred[i, :, :4] = boxes[source] + jitter
        y_pred[i, :, 5] = np.where(
            rng.random(per_image) < 0.2, rng.integers(0, NUM_CLASSES, per_image), classes[source]
        )
    y_pred[..., 4] = rng.uniform(0.01, 1.0, size=y_pred.shape[:2])
    return y_true, y_pred


def coco_inputs(y_true, y_pred):
    """The ground truth as a COCO index and the detections as loadRes' result list."""
    images, annotations, results = [], [], []
    for i, (boxes, dets) in enumerate(zip(y_true, y_pred, strict=True)):
        images.append({"id": i + 1})
        for ymin, xmin, ymax, xmax, cls in boxes.astype("float64"):
            if cls >= 0:
                w, h = xmax - xmin, ymax - ymin
                annotations.append(
                    {
                        "id": len(annotations) + 1,
                        "image_id": i + 1,
                        "category_id": int(cls) + 1,
                        "bbox": [xmin, ymin, w, h],
                        "area": w * h,
                        "iscrowd": 0,
                    }
                )
        for ymin, xmin, ymax, xmax, score, cls in dets.astype("float64"):
            results.append(
                {
                    "image_id": i + 1,
                    "category_id": int(cls) + 1,
                    "bbox": [xmin, ymin, xmax - xmin, ymax - ymin],
                    "score": score,
                }
            )
    with contextlib.redirect_stdout(io.StringIO()):
        ground_truth = COCO()
        ground_truth.dataset = {
            "images": images,
            "annotations": annotations,
            "categories": [{"id": c + 1} for c in range(NUM_CLASSES)],
        }
        ground_truth.createIndex()
    return ground_truth, results


def pycocotools_map(ground_truth, results) -> float:
    with contextlib.redirect_stdout(io.StringIO()):
        evaluation = COCOeval(ground_truth, ground_truth.loadRes(results), iouType="bbox")
        evaluation.params.areaRng = [[0, 1e10]]
        evaluation.params.areaRngLbl = ["all"]
        evaluation.params.maxDets = [100]
        evaluation.evaluate()
        evaluation.accumulate()
    precision = evaluation.eval["precision"][:, :, :, 0, 0]
    return float(precision[precision > -1].mean())


def kerasdl_map(y_true, y_pred, batch: int, capacity: int, jit_compile: bool, every_step: bool):
    """A compiled update per batch of images, then result(); or, as Keras' fit and
    evaluate do (`every_step`), result() after every update."""
    metric = MeanAveragePrecision(
        NUM_CLASSES, iou_thresholds="coco", ap_method="coco_101", capacity=capacity
    )
    update = tf.function(metric.update_state, jit_compile=jit_compile)
    result = tf.function(metric.result, jit_compile=jit_compile)
    batches = [
        (tf.constant(y_true[i : i + batch]), tf.constant(y_pred[i : i + batch]))
        for i in range(0, len(y_true), batch)
    ]

    def run() -> float:
        metric.reset_state()
        for batch_true, batch_pred in batches:
            update(batch_true, batch_pred)
            if every_step:
                result()
        return float(result())

    return run


def run() -> list[str]:
    cases = [
        # images, capacity, jit_compile, result after every update
        (500, 100_000, False, False),
        (500, 100_000, True, False),
        (500, 8_192, False, False),
        (500, 100_000, False, True),
        (2000, 100_000, False, False),
    ]
    rows = []
    for num_images, capacity, jit_compile, every_step in cases:
        rows.append(one_row(num_images, 50, capacity, jit_compile, every_step))
    return rows


def one_row(num_images, batch, capacity, jit_compile, every_step) -> str:
    y_true, y_pred = detections(num_images)
    ground_truth, results = coco_inputs(y_true, y_pred)
    peer = lambda: pycocotools_map(ground_truth, results)  # noqa: E731
    ours = kerasdl_map(y_true, y_pred, batch, capacity, jit_compile, every_step)
    expected, got = peer(), ours()
    if abs(got - expected) > 1e-4:
        raise AssertionError(f"kerasdl mAP {got} differs from pycocotools {expected}")
    t_ours, t_peer = compare(ours, peer, repeats=5, warmup=1)
    steps = num_images // batch
    work = f"{steps} updates + {steps if every_step else 1} result"
    mode = "XLA" if jit_compile else "graph"
    return row(
        f"COCO mAP@[.5:.95], {num_images} images / {len(results)} detections, {work}, "
        f"capacity {capacity}, {mode}",
        "pycocotools loadRes+evaluate+accumulate",
        t_ours,
        t_peer,
        "<= 1.0" if every_step else "<= 0.5",
    )


if __name__ == "__main__":
    for line in run():
        print(line)
