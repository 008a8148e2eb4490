"""NMS against tf.image's kernels (the peer) on thousands of seeded random cases.

Single-class NMS must return exactly `tf.image.non_max_suppression`'s indices in the same
order; the batched per-class NMS exactly `tf.image.combined_non_max_suppression`'s
detections when scores are distinct, and the documented tie order otherwise.
"""

import os
import tempfile

import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from kerasdl.export.tflite import ops_in_flatbuffer
from kerasdl.ops.nms import batched_non_max_suppression, class_agnostic_nms, non_max_suppression

INF = float("inf")


def random_problem(rng, n, ties=False):
    """Boxes of every awkward kind: clustered, flipped, duplicated, zero-area, far away."""
    centres = rng.uniform(0, 1, (max(1, n // 4), 2))[rng.integers(0, max(1, n // 4), n)]
    centres = centres + rng.normal(0, 0.03, (n, 2))
    sizes = rng.uniform(0.02, 0.4, (n, 2))
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)
    kind = rng.random(n)
    boxes[kind < 0.1] = boxes[kind < 0.1][:, [2, 3, 0, 1]]  # corners max-first
    boxes[(kind >= 0.1) & (kind < 0.15), 2] = boxes[(kind >= 0.1) & (kind < 0.15), 0]  # h = 0
    if n > 1:
        duplicates = rng.integers(0, n, n // 5)
        boxes[duplicates] = boxes[rng.integers(0, n, len(duplicates))]
    if ties:
        scores = rng.integers(0, 6, n) / 5.0  # many exact ties
    else:
        scores = rng.uniform(-0.2, 1.0, n)
    return boxes.astype("float32"), scores.astype("float32")


def tf_image_nms(boxes, scores, max_output_size, iou_threshold, score_threshold):
    return tf.image.non_max_suppression(
        boxes, scores, max_output_size, iou_threshold, score_threshold
    ).numpy()


def numpy_greedy_nms(boxes, scores, max_output_size, iou_threshold, score_threshold):
    """The algorithm as the notes and the TF kernel state it, one box at a time."""
    order = sorted(
        (i for i in range(len(scores)) if scores[i] > score_threshold),
        key=lambda i: (-scores[i], i),
    )
    selected = []
    for i in order:
        if len(selected) == max_output_size:
            break
        if all(pair_iou(boxes[i], boxes[j]) <= iou_threshold for j in selected):
            selected.append(i)
    return np.array(selected, dtype=np.int32)


def pair_iou(a, b):
    ya0, ya1 = sorted((a[0], a[2]))
    xa0, xa1 = sorted((a[1], a[3]))
    yb0, yb1 = sorted((b[0], b[2]))
    xb0, xb1 = sorted((b[1], b[3]))
    area_a, area_b = (ya1 - ya0) * (xa1 - xa0), (yb1 - yb0) * (xb1 - xb0)
    if area_a <= 0 or area_b <= 0:
        return 0.0
    inter = max(min(ya1, yb1) - max(ya0, yb0), 0) * max(min(xa1, xb1) - max(xa0, xb0), 0)
    return inter / (area_a + area_b - inter)


# (N, max_output_size, iou_threshold, score_threshold, tile_size, ties); each config runs
# PROBLEMS random problems through one padded, batched call.
CONFIGS = [
    (1, 1, 0.5, -INF, 32, False),
    (1, 3, 0.5, 0.5, 32, False),
    (2, 1, 0.0, -INF, 1, True),
    (5, 10, 0.5, -INF, 2, True),
    (9, 4, 0.3, 0.1, 4, False),
    (16, 16, 0.7, -INF, 4, True),
    (17, 5, 0.5, 0.4, 3, False),
    (31, 40, 0.5, -INF, 8, False),
    (40, 0, 0.5, -INF, 8, False),
    (40, 7, 1.0, -INF, 8, True),
    (40, 40, 0.0, -INF, 8, False),
    (64, 12, 0.45, 0.2, 16, True),
    (64, 64, 0.5, -INF, 32, False),
    (100, 3, 0.6, -INF, 7, False),
    (100, 20, 0.5, 0.0, 32, True),
    (150, 150, 0.5, -INF, 32, False),
    (150, 30, 0.2, -INF, 10, True),
    (256, 25, 0.5, 0.3, 32, False),
    (300, 100, 0.5, -INF, 64, True),
    (500, 50, 0.5, -INF, 32, False),
]
PROBLEMS = 120


@pytest.mark.parametrize("n, max_out, iou_threshold, score_threshold, tile, ties", CONFIGS)
def test_random_cases_match_tf_image(n, max_out, iou_threshold, score_threshold, tile, ties):
    rng = np.random.default_rng(n * 1000 + max_out)
    problems = [random_problem(rng, n, ties) for _ in range(PROBLEMS)]
    boxes = np.stack([p[0] for p in problems])
    scores = np.stack([p[1] for p in problems])
    indices, counts = non_max_suppression(
        boxes, scores, max_out, iou_threshold, score_threshold, padded=True, tile_size=tile
    )
    assert indices.shape == (PROBLEMS, max_out) and counts.shape == (PROBLEMS,)
    for p in range(PROBLEMS):
        expected = tf_image_nms(boxes[p], scores[p], max_out, iou_threshold, score_threshold)
        got = indices[p, : counts[p]].numpy()
        np.testing.assert_array_equal(got, expected, err_msg=f"problem {p}")
        assert (indices[p, counts[p] :].numpy() == 0).all()  # zero padding, as TF pads


def test_unpadded_single_problems_match_tf_image():
    rng = np.random.default_rng(11)
    for trial in range(80):
        n = int(rng.integers(0, 60))
        boxes, scores = random_problem(rng, n, ties=trial % 2 == 0)
        max_out = int(rng.integers(0, n + 5))
        iou_threshold = float(rng.choice([0.0, 0.3, 0.5, 0.7, 1.0]))
        score_threshold = float(rng.choice([-INF, 0.0, 0.5]))
        got = non_max_suppression(
            boxes, scores, max_out, iou_threshold, score_threshold, tile_size=5
        ).numpy()
        expected = tf_image_nms(boxes, scores, max_out, iou_threshold, score_threshold)
        np.testing.assert_array_equal(got, expected, err_msg=f"trial {trial}")


def test_tf_image_breaks_ties_by_lower_index_and_so_do_we():
    # Identical boxes 0, 2, 3 with equal scores: the lowest index survives.
    boxes = np.array([[0, 0, 1, 1], [5, 5, 6, 6], [0, 0, 1, 1], [0, 0, 1, 1]], "float32")
    scores = np.array([0.5, 0.9, 0.5, 0.5], "float32")
    for impl in (tf_image_nms, lambda *a: non_max_suppression(*a).numpy()):
        np.testing.assert_array_equal(impl(boxes, scores, 10, 0.5, -INF), [1, 0])
        np.testing.assert_array_equal(
            impl(boxes[::-1].copy(), scores[::-1].copy(), 10, 0.5, -INF), [2, 0]
        )
    # Disjoint boxes, all scores equal: selection order is index order.
    disjoint = np.array([[i, 0, i + 0.5, 1] for i in range(6)], "float32")
    equal = np.full(6, 0.3, "float32")
    np.testing.assert_array_equal(tf_image_nms(disjoint, equal, 6, 0.5, -INF), np.arange(6))
    np.testing.assert_array_equal(non_max_suppression(disjoint, equal, 6).numpy(), np.arange(6))
    # -0.0 and 0.0 are the same score.
    signed = np.array([0.0, -0.0, 0.0], "float32")
    np.testing.assert_array_equal(non_max_suppression(disjoint[:3], signed, 3).numpy(), [0, 1, 2])


def test_boundary_cases_of_the_threshold_rules():
    half = np.array([[0, 0, 2, 1], [0, 0, 1, 1]], "float32")  # IoU exactly 0.5
    for thr, expected in ((0.5, [0, 1]), (0.4999, [0])):
        np.testing.assert_array_equal(tf_image_nms(half, [0.9, 0.8], 5, thr, -INF), expected)
        np.testing.assert_array_equal(
            non_max_suppression(half, [0.9, 0.8], 5, thr).numpy(), expected
        )
    duplicates = np.array([[0, 0, 1, 1]] * 3, "float32")
    np.testing.assert_array_equal(
        non_max_suppression(duplicates, [0.1, 0.3, 0.2], 5, 1.0), [1, 2, 0]
    )
    # Zero-area boxes suppress nothing and are never suppressed, even at threshold 0.
    points = np.array([[0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 1, 1]], "float32")
    np.testing.assert_array_equal(non_max_suppression(points, [0.9, 0.8, 0.7], 5, 0.0), [0, 1, 2])
    # score_threshold is strict, and NaN scores never qualify.
    disjoint = np.array([[0, 0, 1, 1], [2, 2, 3, 3], [4, 4, 5, 5]], "float32")
    scores = np.array([0.5, np.nan, 0.6], "float32")
    np.testing.assert_array_equal(non_max_suppression(disjoint, scores, 5, 0.5, 0.5), [2])
    np.testing.assert_array_equal(tf_image_nms(disjoint, scores, 5, 0.5, 0.5), [2])


def test_empty_and_tiny_inputs():
    empty = non_max_suppression(np.zeros((0, 4), "float32"), np.zeros((0,), "float32"), 5)
    assert empty.shape == (0,)
    indices, count = non_max_suppression(np.zeros((0, 4)), np.zeros((0,)), 3, padded=True)
    np.testing.assert_array_equal(indices, [0, 0, 0])
    assert int(count) == 0
    one = np.array([[0.1, 0.1, 0.5, 0.5]], "float32")
    np.testing.assert_array_equal(non_max_suppression(one, [0.2], 5), [0])
    np.testing.assert_array_equal(non_max_suppression(one, [0.2], 0), np.zeros(0))
    np.testing.assert_array_equal(non_max_suppression(one, [0.2], 5, score_threshold=0.2), [])


def test_deep_candidate_lists_use_every_sorting_stage():
    # 290 near-duplicates outscore 10 separate boxes: the greedy pass must visit far past
    # the first top_k chunk (max(2 * 5, 4 * 4) = 16) to find the 5 boxes it keeps.
    rng = np.random.default_rng(3)
    near = np.array([0.2, 0.2, 0.6, 0.6]) + rng.normal(0, 0.002, (290, 4))
    far = np.array([[0.7 + 0.02 * i, 0.7, 0.71 + 0.02 * i, 0.75] for i in range(10)])
    boxes = np.concatenate([near, far]).astype("float32")
    scores = np.concatenate([rng.uniform(0.5, 1, 290), rng.uniform(0, 0.4, 10)]).astype("float32")
    perm = rng.permutation(300)
    boxes, scores = boxes[perm], scores[perm]
    expected = tf_image_nms(boxes, scores, 5, 0.5, -INF)
    assert len(expected) == 5
    np.testing.assert_array_equal(non_max_suppression(boxes, scores, 5, tile_size=4), expected)
    compiled = tf.function(
        lambda b, s: non_max_suppression(b, s, 5, padded=True, tile_size=4), jit_compile=True
    )
    indices, count = compiled(boxes, scores)
    np.testing.assert_array_equal(indices.numpy()[: int(count)], expected)


def dense_problem(rng, n):
    """Near-duplicates with tied scores and zero-area boxes: few boxes survive each chunk,
    so the greedy pass crosses several top_k chunk boundaries, often inside a run of
    equal scores."""
    centre = rng.uniform(0.3, 0.7, 2) + rng.normal(0, 0.01, (n, 2))
    size = rng.uniform(0.2, 0.3, 2) * rng.uniform(0.9, 1.1, (n, 2))
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
    zero = rng.random(n) < 0.15
    boxes[zero, 3] = boxes[zero, 1]
    scores = rng.integers(0, 4, n) / 3.0
    return boxes.astype("float32"), scores.astype("float32")


@pytest.mark.parametrize("iou_threshold", [0.5, 1.0])
def test_chunk_boundaries_inside_runs_of_ties(iou_threshold):
    rng = np.random.default_rng(int(iou_threshold * 10))
    problems = [dense_problem(rng, 120) for _ in range(150)]
    boxes = np.stack([p[0] for p in problems])
    scores = np.stack([p[1] for p in problems])
    # tile 2 and max_output_size 6: chunks of 12, 36 and 72 candidates.
    indices, counts = non_max_suppression(
        boxes, scores, 6, iou_threshold, 0.1, padded=True, tile_size=2
    )
    for p in range(len(problems)):
        expected = tf_image_nms(boxes[p], scores[p], 6, iou_threshold, 0.1)
        np.testing.assert_array_equal(indices[p, : counts[p]], expected, err_msg=f"problem {p}")


@pytest.mark.parametrize("tile", [3, 32])
def test_xla_and_graph_with_dynamic_shapes(tile):
    rng = np.random.default_rng(tile)
    boxes = np.stack([random_problem(rng, 200, ties=True)[0] for _ in range(4)])
    scores = np.stack([random_problem(rng, 200, ties=True)[1] for _ in range(4)])

    def padded(b, s):
        return non_max_suppression(b, s, 30, 0.5, 0.1, padded=True, tile_size=tile)

    xla = tf.function(padded, jit_compile=True)
    dynamic = tf.function(
        padded,
        input_signature=[
            tf.TensorSpec([None, None, 4], tf.float32),
            tf.TensorSpec([None, None], tf.float32),
        ],
    )
    for fn in (xla, dynamic):
        indices, counts = fn(boxes, scores)
        for p in range(4):
            expected = tf_image_nms(boxes[p], scores[p], 30, 0.5, 0.1)
            np.testing.assert_array_equal(indices[p, : counts[p]].numpy(), expected)


def compiled_calls(concrete_function):
    """Names of the functions that a traced graph calls with XLA compilation forced."""
    return [
        op.name
        for op in concrete_function.graph.get_operations()
        if op.type in ("PartitionedCall", "StatefulPartitionedCall")
        and op.node_def.attr["_XlaMustCompile"].b
    ]


# With jit_compile=True a plain tf.function runs the tiled pass XLA-compiled (for speed), so
# the random configurations run there too, not only eagerly: every third one, ties and
# thresholds included, each a fresh compilation for its shapes.
@pytest.mark.parametrize(
    "n, max_out, iou_threshold, score_threshold, tile, ties", CONFIGS[1::3] + [CONFIGS[-2]]
)
def test_graph_mode_runs_the_pass_compiled_and_matches_tf_image(
    n, max_out, iou_threshold, score_threshold, tile, ties
):
    rng = np.random.default_rng(n * 1000 + max_out + 1)
    problems = [random_problem(rng, n, ties) for _ in range(40)]
    boxes = np.stack([p[0] for p in problems])
    scores = np.stack([p[1] for p in problems])
    graph = tf.function(
        lambda b, s: non_max_suppression(
            b,
            s,
            max_out,
            iou_threshold,
            score_threshold,
            padded=True,
            tile_size=tile,
            jit_compile=True,
        )
    )
    if max_out > 0:
        assert compiled_calls(graph.get_concrete_function(boxes, scores))
    indices, counts = graph(boxes, scores)
    for p in range(len(problems)):
        expected = tf_image_nms(boxes[p], scores[p], max_out, iou_threshold, score_threshold)
        np.testing.assert_array_equal(indices[p, : counts[p]].numpy(), expected, f"problem {p}")


def test_graph_mode_compiles_nothing_by_default():
    # A SavedModel holding an XLA-compiled function does not run in TF Serving on CPU by
    # default, so the pass is compiled only on request.
    boxes, scores = random_problem(np.random.default_rng(3), 50)
    single = tf.function(lambda b, s: non_max_suppression(b, s, 5, padded=True))
    batched = tf.function(lambda b, s: batched_non_max_suppression(b, s, 5, 10))
    assert not compiled_calls(single.get_concrete_function(boxes, scores))
    b, s = boxes[None], np.stack([scores, scores[::-1]], axis=-1)[None]
    assert not compiled_calls(batched.get_concrete_function(b, s))
    with pytest.raises(TypeError, match="`jit_compile` must be a bool. Received: jit_compile=1"):
        non_max_suppression(boxes, scores, 5, jit_compile=1)
    with pytest.raises(TypeError, match="`jit_compile` must be a bool"):
        batched_non_max_suppression(b, s, 5, 10, jit_compile="yes")


def test_padded_matches_the_v4_kernel_with_batch_dimensions():
    rng = np.random.default_rng(5)
    boxes = np.stack([random_problem(rng, 60)[0] for _ in range(6)]).reshape(2, 3, 60, 4)
    scores = np.stack([random_problem(rng, 60)[1] for _ in range(6)]).reshape(2, 3, 60)
    indices, counts = non_max_suppression(boxes, scores, 25, 0.4, 0.2, padded=True)
    assert indices.shape == (2, 3, 25) and counts.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            ref_indices, ref_count = tf.raw_ops.NonMaxSuppressionV4(
                boxes=boxes[i, j],
                scores=scores[i, j],
                max_output_size=25,
                iou_threshold=0.4,
                score_threshold=0.2,
                pad_to_max_output_size=True,
            )
            np.testing.assert_array_equal(indices[i, j], ref_indices)
            assert int(counts[i, j]) == int(ref_count)


def test_half_and_double_precision():
    rng = np.random.default_rng(6)
    for trial in range(20):
        boxes, scores = random_problem(rng, 80, ties=trial % 2 == 0)
        b16, s16 = boxes.astype("float16"), scores.astype("float16")
        np.testing.assert_array_equal(
            non_max_suppression(b16, s16, 30, 0.5).numpy(), tf_image_nms(b16, s16, 30, 0.5, -INF)
        )
        b64, s64 = boxes.astype("float64"), scores.astype("float64")  # tf.image has no float64
        np.testing.assert_array_equal(
            non_max_suppression(b64, s64, 30, 0.5).numpy(),
            numpy_greedy_nms(b64, s64, 30, 0.5, -INF),
        )


def test_numpy_reference_agrees_with_tf_image():
    # The float64 check above leans on this reference; pin it to the peer too.
    rng = np.random.default_rng(7)
    for trial in range(30):
        boxes, scores = random_problem(rng, 40, ties=trial % 2 == 0)
        np.testing.assert_array_equal(
            numpy_greedy_nms(boxes.astype("float64"), scores, 15, 0.5, 0.0),
            tf_image_nms(boxes, scores, 15, 0.5, 0.0),
        )


def test_bad_arguments():
    boxes, scores = np.zeros((3, 4), "float32"), np.zeros((3,), "float32")
    with pytest.raises(
        ValueError, match=r"`iou_threshold` must be in \[0, 1\]\. Received: iou_threshold=1\.5"
    ):
        non_max_suppression(boxes, scores, 2, iou_threshold=1.5)
    with pytest.raises(
        ValueError, match=r"`boxes` must have shape \[N, 4\]\. Received: boxes\.shape=\(3, 5\)"
    ):
        non_max_suppression(np.zeros((3, 5)), scores, 2)
    with pytest.raises(
        ValueError, match=r"`boxes` must have shape \[N, 4\]\. Received: boxes\.shape=\(2, 3, 4\)"
    ):
        non_max_suppression(np.zeros((2, 3, 4)), np.zeros((2, 3)), 2)
    with pytest.raises(ValueError, match=r"`scores` must have shape \[N\] matching `boxes`"):
        non_max_suppression(boxes, np.zeros((4,)), 2)
    with pytest.raises(
        ValueError, match=r"`max_output_size` must be >= 0\. Received: max_output_size=-1"
    ):
        non_max_suppression(boxes, scores, -1)
    with pytest.raises(TypeError, match=r"`max_output_size` must be a Python int"):
        non_max_suppression(boxes, scores, 2.0)
    with pytest.raises(ValueError, match=r"`score_threshold` must not be NaN"):
        non_max_suppression(boxes, scores, 2, score_threshold=float("nan"))
    with pytest.raises(TypeError, match=r"`boxes` must be a float tensor"):
        non_max_suppression(np.array([["a"] * 4] * 3), scores, 2)


# ---------------------------------------------------------------------------------------
# Batched per-class NMS vs tf.image.combined_non_max_suppression


def batched_problem(rng, batch, n, classes, ties=False):
    problems = [random_problem(rng, n) for _ in range(batch)]
    boxes = np.stack([p[0] for p in problems])
    if ties:
        scores = rng.integers(0, 5, (batch, n, classes)) / 4.0
    else:
        scores = rng.uniform(0, 1, (batch, n, classes))
    return boxes, scores.astype("float32")


def tie_order_reference(boxes, scores, per_class, total, iou_threshold, score_threshold):
    """Per-class tf.image NMS, merged by (score desc, class asc, selection order)."""
    batch, _, classes = scores.shape
    out_boxes = np.zeros((batch, total, 4), "float32")
    out_scores = np.zeros((batch, total), "float32")
    out_classes = np.zeros((batch, total), "int32")
    counts = np.zeros(batch, "int32")
    for b in range(batch):
        picked = []
        for c in range(classes):
            kept = tf_image_nms(
                boxes[b], scores[b, :, c], per_class, iou_threshold, score_threshold
            )
            picked += [(-scores[b, i, c], c, rank, i) for rank, i in enumerate(kept)]
        picked.sort()
        picked = picked[:total]
        counts[b] = len(picked)
        for k, (neg_score, c, _, i) in enumerate(picked):
            out_boxes[b, k], out_scores[b, k], out_classes[b, k] = boxes[b, i], -neg_score, c
    return out_boxes, out_scores, out_classes, counts


BATCHED_CONFIGS = [
    # (batch, N, classes, per_class, total, iou_threshold, score_threshold)
    (1, 1, 1, 1, 1, 0.5, -INF),
    (2, 7, 3, 2, 4, 0.5, -INF),
    (3, 50, 4, 10, 20, 0.5, 0.3),
    (2, 50, 4, 10, 100, 0.6, 0.1),  # max_total > classes * per_class: padded
    (4, 200, 2, 30, 40, 0.4, 0.05),
    (2, 120, 5, 100, 50, 0.5, 0.5),  # per_class > N's selections
    (1, 300, 3, 8, 8, 0.0, 0.2),
]


@pytest.mark.parametrize(
    "batch, n, classes, per_class, total, iou_threshold, score_threshold", BATCHED_CONFIGS
)
def test_batched_matches_combined_nms(
    batch, n, classes, per_class, total, iou_threshold, score_threshold
):
    rng = np.random.default_rng(n + classes)
    for _ in range(5):
        boxes, scores = batched_problem(rng, batch, n, classes)
        assert len(np.unique(scores)) == scores.size  # distinct scores: TF's order is defined
        expected = tf.image.combined_non_max_suppression(
            boxes[:, :, None, :],
            scores,
            per_class,
            total,
            iou_threshold,
            score_threshold,
            clip_boxes=False,
        )
        got = batched_non_max_suppression(
            boxes, scores, per_class, total, iou_threshold, score_threshold
        )
        names = ("boxes", "scores", "classes", "num_detections")
        for name, g, e in zip(names, got, expected, strict=True):
            np.testing.assert_array_equal(
                g.numpy(), e.numpy().astype(g.dtype.as_numpy_dtype), err_msg=name
            )
        assert got[2].dtype == tf.int32 and got[3].dtype == tf.int32


def test_batched_in_graph_mode_matches_combined_nms_and_the_tie_order():
    rng = np.random.default_rng(21)
    for ties in (False, True):
        boxes, scores = batched_problem(rng, 3, 150, 4, ties=ties)
        graph = tf.function(
            lambda b, s: batched_non_max_suppression(b, s, 12, 30, 0.5, 0.1, jit_compile=True)
        )
        assert compiled_calls(graph.get_concrete_function(boxes, scores))
        got = graph(boxes, scores)
        if ties:
            expected = tie_order_reference(boxes, scores, 12, 30, 0.5, 0.1)
        else:
            expected = tf.image.combined_non_max_suppression(
                boxes[:, :, None, :], scores, 12, 30, 0.5, 0.1, clip_boxes=False
            )
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_array_equal(g.numpy(), np.asarray(e).astype(g.dtype.as_numpy_dtype))


def test_batched_per_class_boxes_and_clipping():
    rng = np.random.default_rng(8)
    boxes, scores = batched_problem(rng, 2, 40, 3)
    per_class_boxes = (boxes[:, :, None, :] + rng.normal(0, 0.05, (2, 40, 3, 4))).astype("float32")
    per_class_boxes = per_class_boxes * 1.4 - 0.2  # some coordinates outside [0, 1]
    for q_boxes in (per_class_boxes, per_class_boxes[:, :, :1]):
        for clip in (False, True):
            expected = tf.image.combined_non_max_suppression(
                q_boxes, scores, 6, 12, 0.5, 0.2, clip_boxes=clip
            )
            got = batched_non_max_suppression(q_boxes, scores, 6, 12, 0.5, 0.2, clip_boxes=clip)
            for g, e in zip(got, expected, strict=True):
                np.testing.assert_array_equal(g.numpy(), e.numpy().astype(g.dtype.as_numpy_dtype))


def test_batched_ties_follow_the_documented_order():
    rng = np.random.default_rng(9)
    for trial in range(8):
        boxes, scores = batched_problem(rng, 3, 60, 4, ties=True)
        expected = tie_order_reference(boxes, scores, 7, 15, 0.5, 0.2)
        got = batched_non_max_suppression(boxes, scores, 7, 15, 0.5, 0.2, tile_size=8)
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_array_equal(g.numpy(), e, err_msg=f"trial {trial}")


def test_batched_under_xla_and_with_a_dynamic_batch():
    rng = np.random.default_rng(10)
    boxes, scores = batched_problem(rng, 3, 80, 3, ties=True)
    eager = batched_non_max_suppression(boxes, scores, 10, 20, 0.5, 0.1)
    xla = tf.function(
        lambda b, s: batched_non_max_suppression(b, s, 10, 20, 0.5, 0.1), jit_compile=True
    )
    dynamic = tf.function(
        lambda b, s: batched_non_max_suppression(b, s, 10, 20, 0.5, 0.1),
        input_signature=[tf.TensorSpec([None, None, 4]), tf.TensorSpec([None, None, 3])],
    )
    for fn in (xla, dynamic):
        for g, e in zip(fn(boxes, scores), eager, strict=True):
            np.testing.assert_array_equal(g.numpy(), e.numpy())


def test_batched_with_no_boxes():
    boxes, scores, classes, count = batched_non_max_suppression(
        np.zeros((2, 0, 4), "float32"), np.zeros((2, 0, 3), "float32"), 4, 5
    )
    assert boxes.shape == (2, 5, 4) and scores.shape == (2, 5) and classes.shape == (2, 5)
    np.testing.assert_array_equal(count, [0, 0])
    assert not boxes.numpy().any() and not scores.numpy().any()


def test_batched_bad_arguments():
    boxes, scores = np.zeros((2, 5, 4), "float32"), np.zeros((2, 5, 3), "float32")
    with pytest.raises(
        ValueError, match=r"`scores` must have shape \[B, N, C\].*Received: scores\.shape=\(2, 5\)"
    ):
        batched_non_max_suppression(boxes, scores[..., 0], 2, 4)
    with pytest.raises(
        ValueError,
        match=r"`boxes` must have shape \[B, N, 4\].*Received: boxes\.shape=\(2, 5, 2, 4\)",
    ):
        batched_non_max_suppression(np.zeros((2, 5, 2, 4)), scores, 2, 4)
    with pytest.raises(ValueError, match=r"`boxes` and `scores` must agree on \[B, N\]"):
        batched_non_max_suppression(np.zeros((2, 6, 4)), scores, 2, 4)
    with pytest.raises(
        ValueError, match=r"`max_total_size` must be >= 1\. Received: max_total_size=0"
    ):
        batched_non_max_suppression(boxes, scores, 2, 0)
    with pytest.raises(
        ValueError, match=r"`iou_threshold` must be in \[0, 1\]\. Received: iou_threshold=-0\.1"
    ):
        batched_non_max_suppression(boxes, scores, 2, 4, iou_threshold=-0.1)


# ---------------------------------------------------------------------------------------
# Class-agnostic NMS and TFLite builtins


def class_agnostic_reference(boxes, scores, max_out, iou_threshold, score_threshold):
    """tf.image NMS on each box's best class score, zero-area boxes left out."""
    best, best_class = scores.max(-1), scores.argmax(-1)
    zero_area = (boxes[..., 2] == boxes[..., 0]) | (boxes[..., 3] == boxes[..., 1])
    out = []
    for b in range(len(boxes)):
        candidates = np.flatnonzero(~zero_area[b])
        kept = candidates[
            tf_image_nms(
                boxes[b, candidates], best[b, candidates], max_out, iou_threshold, score_threshold
            )
        ]
        padded = np.zeros(max_out, "int32")
        padded[: len(kept)] = kept
        valid = np.arange(max_out) < len(kept)
        out.append(
            (
                np.where(valid[:, None], boxes[b, padded], 0),
                np.where(valid, best[b, padded], 0),
                np.where(valid, best_class[b, padded], 0),
                len(kept),
            )
        )
    return [np.stack([o[i] for o in out]) for i in range(4)]


def test_class_agnostic_matches_tf_image_on_best_class_scores():
    rng = np.random.default_rng(12)
    for trial in range(6):
        boxes, scores = batched_problem(rng, 3, 70, 4, ties=trial % 2 == 0)
        got = class_agnostic_nms(boxes, scores, 12, 0.5, 0.3)
        for g, e in zip(got, class_agnostic_reference(boxes, scores, 12, 0.5, 0.3), strict=True):
            np.testing.assert_array_equal(g.numpy(), e)


def convert_builtins_only(fn, input_specs):
    """SavedModel with a static signature, then the converter with TFLITE_BUILTINS only."""

    class Detector(tf.Module):
        @tf.function(input_signature=input_specs)
        def detect(self, boxes, scores):
            b, s, c, n = fn(boxes, scores)
            return {"boxes": b, "scores": s, "classes": c, "num_detections": n}

    module = Detector()
    with tempfile.TemporaryDirectory() as export_dir:
        path = os.path.join(export_dir, "detector")
        tf.saved_model.save(module, path, signatures=module.detect.get_concrete_function())
        converter = tf.lite.TFLiteConverter.from_saved_model(path)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        content = converter.convert()
    return module, content


@pytest.mark.parametrize(
    "name, batch",
    [("class_agnostic", 1), ("class_agnostic", None), ("batched", 2)],
)
def test_tflite_builtins_only_conversion_gives_the_same_detections(name, batch):
    n, classes = 40, 3
    if name == "class_agnostic":
        fn = lambda b, s: class_agnostic_nms(b, s, 8, 0.5, 0.2)  # noqa: E731
    else:
        fn = lambda b, s: batched_non_max_suppression(b, s, 5, 8, 0.5, 0.2, tile_size=8)  # noqa: E731
    specs = [
        tf.TensorSpec([batch, n, 4], tf.float32),
        tf.TensorSpec([batch, n, classes], tf.float32),
    ]
    module, content = convert_builtins_only(fn, specs)
    ops = ops_in_flatbuffer(content)
    assert not any(op.startswith("Flex") for op in ops), ops
    if name == "class_agnostic":
        assert "NON_MAX_SUPPRESSION_V4" in ops
    runner = Interpreter(model_content=content).get_signature_runner()
    rng = np.random.default_rng(13)
    for trial in range(6):
        boxes, scores = batched_problem(rng, batch or 1, n, classes, ties=trial % 2 == 0)
        got = runner(boxes=boxes, scores=scores)
        expected = module.detect(boxes, scores)
        for key in expected:
            np.testing.assert_array_equal(got[key], expected[key].numpy(), err_msg=key)
    # And the TF side is the peer's answer, not only self-consistent.
    if name == "class_agnostic":
        reference = class_agnostic_reference(boxes, scores, 8, 0.5, 0.2)
    else:
        reference = tie_order_reference(boxes, scores, 5, 8, 0.5, 0.2)
    for key, e in zip(("boxes", "scores", "classes", "num_detections"), reference, strict=True):
        np.testing.assert_array_equal(got[key], e, err_msg=key)
