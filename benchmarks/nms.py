"""NMS: kerasdl's vectorised pass vs tf.image's serial kernels, in the same run.

The batched rows time per-class NMS over a batch (8 images, 4 classes, 100 boxes kept per
class and per image) against what users write without kerasdl: a Python loop over images
and classes calling `tf.image.non_max_suppression`, traced into one `tf.function`, then a
top-k merge over classes. The loop gives the very same detections (checked before
timing). The fused C++ kernel `tf.image.combined_non_max_suppression` is timed too, for
reference. The single rows compare one NMS problem with `tf.image.non_max_suppression`.
kerasdl runs three ways: in a plain `tf.function` (op by op: each elementwise op of an IoU
block is its own pass over memory), in a plain `tf.function` with `jit_compile=True` on the
NMS call (its tiled pass compiled alone by XLA; not the default, because TF Serving on CPU
does not run XLA-compiled functions unless started with `--xla_cpu_compilation_enabled`),
and under XLA (`tf.function(jit_compile=True)`, what Keras' `jit_compile="auto"` does for
TF models). The loop and the TF kernels run as plain graph ops.

Boxes look like a detector's raw output: objects with about 20 jittered boxes each.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from benchmarks.timing import compare, row
from kerasdl.ops.nms import batched_non_max_suppression, non_max_suppression

IOU_THRESHOLD = 0.5


def detector_output(
    rng: np.random.Generator, batch: int, num_boxes: int, num_classes: int
) -> tuple[tf.Tensor, tf.Tensor]:
    objects = num_boxes // 20 + 1
    centres = rng.uniform(0.1, 0.9, (batch, objects, 2))
    owner = rng.integers(0, objects, (batch, num_boxes))
    centre = np.take_along_axis(centres, owner[..., None], axis=1)
    centre = centre + rng.normal(0, 0.01, (batch, num_boxes, 2))
    size = rng.uniform(0.05, 0.2, (batch, num_boxes, 2))
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=-1)
    scores = rng.uniform(0, 1, (batch, num_boxes, num_classes))
    return tf.constant(boxes, tf.float32), tf.constant(scores, tf.float32)


def loop_of_tf_image_nms(per_class: int, total: int):
    """Per image and class tf.image.non_max_suppression, merged by a top-k over classes."""

    @tf.function
    def nms(boxes, scores):
        batch, _, num_classes = scores.shape
        out_boxes, out_scores, out_classes, counts = [], [], [], []
        for b in range(batch):
            picked_scores, picked_boxes, picked_classes = [], [], []
            for c in range(num_classes):
                kept = tf.image.non_max_suppression(
                    boxes[b], scores[b, :, c], per_class, IOU_THRESHOLD
                )
                picked_scores.append(tf.gather(scores[b, :, c], kept))
                picked_boxes.append(tf.gather(boxes[b], kept))
                picked_classes.append(tf.fill(tf.shape(kept), c))
            merged = tf.concat(picked_scores, axis=0)
            count = tf.minimum(tf.shape(merged)[0], total)
            top_scores, top = tf.math.top_k(merged, k=count)
            pad = [[0, total - count]]
            out_scores.append(tf.pad(top_scores, pad))
            out_boxes.append(tf.pad(tf.gather(tf.concat(picked_boxes, 0), top), pad + [[0, 0]]))
            out_classes.append(tf.pad(tf.gather(tf.concat(picked_classes, 0), top), pad))
            counts.append(count)
        return tf.stack(out_boxes), tf.stack(out_scores), tf.stack(out_classes), tf.stack(counts)

    return nms


def timed(ours, peer, *args) -> tuple[float, float]:
    """Median seconds of `ours(*args)` and `peer(*args)`, interleaved."""
    return compare(lambda: ours(*args), lambda: peer(*args), repeats=11)


def batched_rows(boxes, scores, per_class: int, total: int) -> list[str]:
    batch, num_boxes, num_classes = scores.shape

    def batched(b, s, jit_compile=False):
        return batched_non_max_suppression(
            b, s, per_class, total, IOU_THRESHOLD, jit_compile=jit_compile
        )

    ours_graph = tf.function(batched)
    ours_pass = tf.function(lambda b, s: batched(b, s, jit_compile=True))
    ours_xla = tf.function(batched, jit_compile=True)
    variants = (
        ("graph", ours_graph),
        ("graph, NMS jit_compile=True", ours_pass),
        ("XLA", ours_xla),
    )
    loop = loop_of_tf_image_nms(per_class, total)
    combined = tf.function(
        lambda b, s: tf.image.combined_non_max_suppression(
            b[:, :, None, :], s, per_class, total, IOU_THRESHOLD, clip_boxes=False
        )
    )
    expected = loop(boxes, scores)
    for _, ours in variants:
        for got, want in zip(ours(boxes, scores), expected, strict=True):
            np.testing.assert_array_equal(got.numpy(), want.numpy())

    label = f"batched per-class NMS, {batch} x {num_boxes} boxes x {num_classes} classes"
    loop_name = "loop of tf.image.non_max_suppression (graph)"
    rows = []
    for name, ours in variants:
        rows.append(row(f"{label}, {name}", loop_name, *timed(ours, loop, boxes, scores), "< 1"))
    combined_name = "tf.image.combined_non_max_suppression (graph)"
    for name, ours in (("graph", ours_graph), ("XLA", ours_xla)):
        rows.append(
            row(f"{label}, {name}", combined_name, *timed(ours, combined, boxes, scores), "peer")
        )
    return rows


def single_rows(boxes, scores, max_output_size: int) -> list[str]:
    def single(b, s, jit_compile=False):
        return non_max_suppression(
            b, s, max_output_size, IOU_THRESHOLD, padded=True, jit_compile=jit_compile
        )

    peer = tf.function(
        lambda b, s: tf.image.non_max_suppression(b, s, max_output_size, IOU_THRESHOLD)
    )
    want = peer(boxes, scores).numpy()
    rows = []
    for name, ours in (
        ("graph", tf.function(single)),
        ("graph, NMS jit_compile=True", tf.function(lambda b, s: single(b, s, True))),
        ("XLA", tf.function(single, jit_compile=True)),
    ):
        indices, count = ours(boxes, scores)
        np.testing.assert_array_equal(indices.numpy()[: int(count)], want)
        rows.append(
            row(
                f"single NMS, {boxes.shape[0]} boxes, {name}",
                "tf.image.non_max_suppression (graph)",
                *timed(ours, peer, boxes, scores),
                "peer",
            )
        )
    return rows


def run(
    batch: int = 8,
    num_classes: int = 4,
    sizes: tuple[int, ...] = (1000, 10000),
    per_class: int = 100,
    total: int = 100,
) -> list[str]:
    rng = np.random.default_rng(0)
    rows = []
    for num_boxes in sizes:
        boxes, scores = detector_output(rng, batch, num_boxes, num_classes)
        rows += batched_rows(boxes, scores, per_class, total)
        rows += single_rows(boxes[0], scores[0, :, 0], per_class)
    return rows
