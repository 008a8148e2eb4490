"""Non-max suppression: `tf.image`'s greedy NMS, vectorised over batches, classes and XLA.

The notes' algorithm: take the most confident remaining detection, output it, and
suppress every remaining detection whose IoU with it exceeds the threshold; repeat.
Precisely, as `tf.image.non_max_suppression` (the NonMaxSuppressionV3 kernel) defines it:

- candidates are the boxes with `score > score_threshold` (strict; NaN scores never
  qualify), visited by decreasing score, equal scores by increasing box index;
- a candidate is selected when its IoU with every box selected so far is
  `<= iou_threshold` (strict `>` suppresses, so `iou_threshold=1` keeps duplicates and
  `iou_threshold=0` suppresses any overlap), until `max_output_size` boxes are selected;
- IoU sorts each box's corners (either order is accepted) and is 0 when either box has
  zero area (see `kerasdl.ops.boxes`); it is computed in float32 (float64 for float64
  boxes) with the kernel's order of operations, so boundary cases land on the same side.

Implementation: a batch of problems (images, or images times classes) goes through one
`tf.while_loop` over tiles of `tile_size` candidates, in (score descending, index
ascending) order. Each tile is first suppressed by the boxes already selected (one
`[tile, max_output_size]` IoU block), then by itself: greedy selection inside the tile is
the unique fixed point of `keep[j] = candidate[j] and not any(keep[i] and IoU[i, j] > t for
i < j)`, reached by iterating that update as a batched matrix product (position j is final
after j + 1 iterations; in practice a handful). The loop stops as soon as every problem has
`max_output_size` boxes or has no candidates left. Candidates are not sorted in full up
front: `top_k` fetches a first chunk (about `2 * max_output_size`), and a larger chunk only
when some problem runs out, so the cost follows the boxes actually visited, as in the
serial kernel. Memory is `O(tile * (tile + max_output_size))` per problem, never
`O(N^2)`. All shapes are static when the inputs' are, so it runs under
`tf.function(jit_compile=True)`, which is also where it is fastest on CPU: op by op, as
plain graph mode runs it, each elementwise op of an IoU block is its own pass over memory
(2-3x slower than a loop of TF's serial kernel), while XLA fuses each block into one loop.
Inside a plain `tf.function`, `jit_compile=True` compiles just the pass (a nested
`jit_compile=True` function, compiled once per input shape). It is off by default because
a SavedModel holding an XLA-compiled function does not run in TF Serving on CPU unless
the server is started with `--xla_cpu_compilation_enabled`.

TFLite: `tf.image.non_max_suppression`, `_padded` and `_with_scores` convert to the builtin
NON_MAX_SUPPRESSION_V4 / V5 kernels, while `tf.image.combined_non_max_suppression` has no
builtin and needs Flex (select TF) ops, which most device runtimes do not ship. The
builtin-only route for multi-class detection is `class_agnostic_nms`: each box's best class
score, then one NON_MAX_SUPPRESSION_V4 per image (TFLite's kernel visits tied scores in no
fixed order and mishandles zero-area boxes; `class_agnostic_nms` works around both).
`batched_non_max_suppression` (per-class) also converts with builtins only when its input
shapes are static: it becomes WHILE, TOPK_V2, GATHER_ND, SCATTER_ND, BATCH_MATMUL and
elementwise ops, tested to give the same detections in LiteRT, at the cost of a loop that
the delegates do not accelerate.
"""

from __future__ import annotations

import numbers
from typing import Any

import tensorflow as tf

from kerasdl._validation import check_bool, check_count, check_in_range

_FLOATS = (tf.float16, tf.bfloat16, tf.float32, tf.float64)


def _check_thresholds(iou_threshold: Any, score_threshold: Any) -> tuple[float, float]:
    if isinstance(iou_threshold, numbers.Real) and not isinstance(iou_threshold, bool):
        iou_threshold = float(iou_threshold)
    iou_threshold = check_in_range("iou_threshold", iou_threshold, 0, 1, include_high=True)
    if isinstance(score_threshold, bool) or not isinstance(score_threshold, numbers.Real):
        raise TypeError(
            f"`score_threshold` must be a number. Received: score_threshold={score_threshold!r}"
        )
    score_threshold = float(score_threshold)
    if score_threshold != score_threshold:
        raise ValueError(
            f"`score_threshold` must not be NaN. Received: score_threshold={score_threshold}"
        )
    return iou_threshold, score_threshold


def _as_float(name: str, value: Any) -> tf.Tensor:
    value = tf.convert_to_tensor(value)
    if value.dtype not in _FLOATS:
        if not (value.dtype.is_integer or value.dtype.is_bool):
            raise TypeError(
                f"`{name}` must be a float tensor. Received: {name}.dtype={value.dtype.name}"
            )
        value = tf.cast(value, tf.float32)
    return value


def _canonical(boxes: tf.Tensor) -> tf.Tensor:
    """`[..., 4]` boxes to `[..., 5]` (ymin, xmin, ymax, xmax, area), corners sorted."""
    dtype = tf.float64 if boxes.dtype == tf.float64 else tf.float32
    y1, x1, y2, x2 = tf.unstack(tf.cast(boxes, dtype), axis=-1)
    ymin, ymax = tf.minimum(y1, y2), tf.maximum(y1, y2)
    xmin, xmax = tf.minimum(x1, x2), tf.maximum(x1, x2)
    return tf.stack([ymin, xmin, ymax, xmax, (ymax - ymin) * (xmax - xmin)], axis=-1)


def _pairwise_iou(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """IoU of canonical boxes `a [P, T, 5]` and `b [P, K, 5]`: `[P, T, K]`.

    The same float operations, in the same order, as the NonMaxSuppressionV3 kernel,
    except that a pair with a zero-area box gives 0/x = 0 or 0/0 = NaN instead of the
    kernel's early 0: both compare false with any threshold >= 0, which is all NMS asks.
    """
    # expand_dims and unstack rather than slicing: the same graph, far less Python
    # overhead when run eagerly.
    ymin_a, xmin_a, ymax_a, xmax_a, area_a = tf.unstack(tf.expand_dims(a, 2), axis=-1)
    ymin_b, xmin_b, ymax_b, xmax_b, area_b = tf.unstack(tf.expand_dims(b, 1), axis=-1)
    inter_h = tf.maximum(tf.minimum(ymax_a, ymax_b) - tf.maximum(ymin_a, ymin_b), 0)
    inter_w = tf.maximum(tf.minimum(xmax_a, xmax_b) - tf.maximum(xmin_a, xmin_b), 0)
    intersection = inter_h * inter_w
    return intersection / (area_a + area_b - intersection)


def _self_suppress(candidates: tf.Tensor, overlaps: tf.Tensor) -> tf.Tensor:
    """Greedy selection inside one tile: candidates `[P, T]`, overlaps `[P, T, T]` (i < j)."""

    overlaps = tf.cast(overlaps, tf.float32)

    def step(keep, _):
        # Any kept i < j overlapping j, as a batched vector-matrix product: one fused
        # kernel instead of a [P, T, T] boolean intermediate.
        hits = tf.squeeze(tf.matmul(tf.expand_dims(tf.cast(keep, tf.float32), 1), overlaps), 1)
        new_keep = candidates & tf.equal(hits, 0)
        return new_keep, tf.reduce_any(tf.math.not_equal(new_keep, keep))

    keep, _ = tf.while_loop(
        lambda keep, changed: changed,
        step,
        (candidates, tf.constant(True)),
        maximum_iterations=tf.shape(candidates)[1] + 1,
    )
    return keep


def _chunk_sizes(num_boxes: int, max_output_size: int, tile: int) -> list[int]:
    """How many candidates each sorting stage fetches: a first chunk sized for the
    common case, then chunks growing 4x, until all `num_boxes` are covered."""
    first = -(-max(2 * max_output_size, 4 * tile) // tile) * tile
    sizes, covered = [], 0
    while covered < num_boxes:
        size = min(first if not sizes else 3 * covered, num_boxes - covered)
        sizes.append(size)
        covered += size
    return sizes


def _greedy_nms(
    *args: Any, jit_compile: bool = False, **kwargs: Any
) -> tuple[tf.Tensor, tf.Tensor]:
    """`_vectorised_greedy_nms(*args, **kwargs)`, inside a `tf.function` with
    `jit_compile=True` as its own XLA-compiled function."""
    compiled = jit_compile and not tf.executing_eagerly()
    return (_compiled_greedy_nms if compiled else _vectorised_greedy_nms)(*args, **kwargs)


def _vectorised_greedy_nms(
    boxes: tf.Tensor,
    scores: tf.Tensor,
    max_output_size: int,
    iou_threshold: float,
    score_threshold: float,
    tile_size: int,
    problems_per_box_set: int = 1,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Greedy NMS of P independent problems: scores `[P, N]` over boxes `[G, N, 4]`.

    Problem p uses box set `p // problems_per_box_set` (G * problems_per_box_set = P), so
    the classes of an image share its boxes without copying them C times.

    Returns the selected box indices `[P, max_output_size]` (int32, in selection order,
    zero-padded) and how many are valid `[P]` (int32).
    """
    num_problems = tf.shape(scores)[0]
    out = max_output_size
    static_n = scores.shape[1]
    if static_n is not None and static_n > 0:
        tile = min(tile_size, static_n)
        chunks = _chunk_sizes(static_n, out, tile)
    else:
        # Unknown (or zero) N: append one tile of never-valid boxes so that top_k and the
        # gathers below always have rows, and sort everything in one stage.
        tile = tile_size
        boxes = tf.pad(boxes, [[0, 0], [0, tile], [0, 0]])
        scores = tf.pad(scores, [[0, 0], [0, tile]], constant_values=float("-inf"))
        chunks = [None]
    num_boxes = tf.shape(scores)[1]

    valid = scores > tf.cast(score_threshold, scores.dtype)
    num_valid = tf.reduce_sum(tf.cast(valid, tf.int32), axis=1)
    sort_dtype = tf.float64 if scores.dtype == tf.float64 else tf.float32
    sort_scores = tf.cast(scores, sort_dtype)
    # -0.0 == 0.0 for the kernel's comparisons; make them bitwise equal so no sort can
    # order them. Invalid candidates go last; the valid ones are > -inf.
    sort_scores = tf.where(tf.equal(sort_scores, 0), tf.zeros_like(sort_scores), sort_scores)
    sort_scores = tf.where(valid, sort_scores, tf.constant(float("-inf"), sort_dtype))
    box_ids = tf.range(num_boxes)[None, :]
    input_dtype = boxes.dtype
    boxes = _canonical(boxes)
    half = input_dtype in (tf.float16, tf.bfloat16)
    compare_dtype = input_dtype if half else boxes.dtype
    threshold = tf.cast(iou_threshold, compare_dtype)

    def over_threshold(iou):
        # The kernel casts the float IoU to the boxes' type before comparing.
        return tf.cast(iou, compare_dtype) > threshold

    positions = tf.range(tile)
    later = positions[:, None] < positions[None, :]  # i < j: i is visited before j
    problem_ids = tf.broadcast_to(tf.range(num_problems)[:, None], [num_problems, tile])
    box_set_ids = problem_ids // problems_per_box_set

    def run_tiles(order, limit, count, selected, selected_index):
        """Greedy pass over `order` [P, L] (sorted candidates; the first `limit` real)."""
        length = tf.shape(order)[1]
        num_tiles = (length + tile - 1) // tile
        order = tf.pad(order, [[0, 0], [0, num_tiles * tile - length]])
        order = tf.reshape(order, [num_problems, num_tiles, tile])

        def cond(t, count, selected, selected_index):
            more = (count < out) & (t * tile < limit)
            return (t < num_tiles) & tf.reduce_any(more)

        def body(t, count, selected, selected_index):
            current_index = tf.gather(order, t, axis=1)  # [P, T]
            current = tf.gather_nd(boxes, tf.stack([box_set_ids, current_index], axis=-1))
            candidates = tf.expand_dims(t * tile + positions, 0) < tf.expand_dims(limit, 1)
            # One IoU block against the selected boxes and the tile itself. Selected
            # slots not yet filled hold zeros: zero area, so they suppress nothing.
            previous = tf.slice(selected, [0, 0, 0], [-1, out, -1])
            over = over_threshold(_pairwise_iou(current, tf.concat([previous, current], axis=1)))
            # tf.slice, not tf.split: TFLite has no builtin SplitV for booleans.
            by_previous = tf.slice(over, [0, 0, 0], [-1, -1, out])
            overlaps = tf.slice(over, [0, 0, out], [-1, -1, tile])
            candidates &= ~tf.reduce_any(by_previous, axis=2)
            overlaps &= later
            keep = _self_suppress(candidates, overlaps)
            # Append the kept boxes after the `count` already selected; the rest (and
            # those past max_output_size) go to one scratch slot each beyond `out`.
            keep_int = tf.cast(keep, tf.int32)
            slot = tf.expand_dims(count, 1) + tf.cumsum(keep_int, axis=1, exclusive=True)
            slot = tf.where(keep & (slot < out), slot, out + positions)
            scatter_at = tf.stack([problem_ids, slot], axis=-1)
            selected = tf.tensor_scatter_nd_update(selected, scatter_at, current)
            selected_index = tf.tensor_scatter_nd_update(selected_index, scatter_at, current_index)
            count = tf.minimum(count + tf.reduce_sum(keep_int, axis=1), out)
            return t + 1, count, selected, selected_index

        _, count, selected, selected_index = tf.while_loop(
            cond, body, (tf.constant(0), count, selected, selected_index)
        )
        return count, selected, selected_index

    # Sorting everything costs O(N log N) up front, while NMS usually stops after a few
    # hundred candidates. So candidates are fetched in stages, in (score descending,
    # index ascending) order: top_k of a first chunk, and only when some problem still
    # needs boxes, top_k of the next (4x larger) chunk of the boxes after the last one
    # fetched. top_k breaks ties by lower index, as the kernel does.
    def fetch_and_run(size, offset, state):
        count, selected, selected_index, last_score, last_id = state
        if offset == 0:
            remaining = sort_scores
        else:
            after_last = (sort_scores < last_score[:, None]) | (
                tf.equal(sort_scores, last_score[:, None]) & (box_ids > last_id[:, None])
            )
            remaining = tf.where(after_last, sort_scores, float("-inf"))
        values, order = tf.math.top_k(remaining, k=num_boxes if size is None else size)
        limit = num_valid - offset
        count, selected, selected_index = run_tiles(order, limit, count, selected, selected_index)
        # The last fetched (score, index), by reductions: slicing top_k's outputs lets XLA
        # fold the slices into its sort, which then stops being a cheap partial top-k.
        last_score = tf.reduce_min(values, axis=1)
        at_last = tf.equal(values, last_score[:, None])
        last_id = tf.reduce_max(tf.where(at_last, order, -1), axis=1)
        return count, selected, selected_index, last_score, last_id

    state = (
        tf.zeros([num_problems], tf.int32),
        tf.zeros([num_problems, out + tile, 5], boxes.dtype),
        tf.zeros([num_problems, out + tile], tf.int32),
        tf.fill([num_problems], tf.constant(float("inf"), sort_dtype)),
        tf.fill([num_problems], -1),
    )
    offset = 0
    for size in chunks:
        if offset == 0:
            state = fetch_and_run(size, 0, state)
        else:
            needed = tf.reduce_any((state[0] < out) & (num_valid > offset))
            state = tf.cond(
                needed,
                lambda size=size, offset=offset, state=state: fetch_and_run(size, offset, state),
                lambda state=state: state,
            )
        offset += size or 0
    count, _, selected_index, _, _ = state
    return selected_index[:, :out], count


def non_max_suppression(
    boxes: Any,
    scores: Any,
    max_output_size: int,
    iou_threshold: float = 0.5,
    score_threshold: float = float("-inf"),
    padded: bool = False,
    tile_size: int = 32,
    jit_compile: bool = False,
) -> tf.Tensor | tuple[tf.Tensor, tf.Tensor]:
    """Greedy non-max suppression, the same indices as `tf.image.non_max_suppression`.

    Selects boxes by decreasing score (ties: lower index first) and drops every box whose
    IoU with an already selected box is `> iou_threshold`; boxes with
    `score <= score_threshold` are never selected. See the module docstring for the exact
    rules and how it is vectorised.

    Args:
        boxes: `[N, 4]` boxes `(y1, x1, y2, x2)`, corners in either order, normalised or
            in pixels; with `padded=True` also `[..., N, 4]` (a batch of images, each
            suppressed on its own).
        scores: `[N]` (or `[..., N]`) scores of the boxes.
        max_output_size: the most boxes to select, a Python int >= 0.
        iou_threshold: in [0, 1]; a box is suppressed when its IoU is strictly greater.
        score_threshold: boxes need `score > score_threshold` to be selected.
        padded: `False` returns the selected indices, `[K]` with `K <= max_output_size`
            (a dynamic shape, so not under XLA). `True` returns
            `(indices [..., max_output_size], valid_count [...])` with static shapes,
            indices zero-padded past `valid_count` like
            `tf.image.non_max_suppression_padded(..., pad_to_max_output_size=True)`;
            this form runs under `tf.function(jit_compile=True)`.
        tile_size: boxes per tile of the vectorised pass (a speed/memory knob; results do
            not depend on it).
        jit_compile: inside a plain `tf.function`, run the pass XLA-compiled on its own
            (faster on CPU; a SavedModel holding it needs TF Serving's
            `--xla_cpu_compilation_enabled`). Under an outer `jit_compile=True` and
            eagerly it changes nothing.

    Returns:
        int32 indices into `boxes` in selection order, and with `padded=True` the int32
        number of valid entries.

    Raises:
        ValueError: on bad shapes, `iou_threshold` outside [0, 1], a negative
            `max_output_size`, or a NaN `score_threshold`.
        TypeError: when `max_output_size` is not an int or an input is not numeric.

    Example:

    >>> boxes = [[0, 0, 1, 1], [0, 0.1, 1, 1.1], [0, -0.1, 1, 0.9], [0, 10, 1, 11]]
    >>> scores = [0.9, 0.75, 0.6, 0.95]
    >>> non_max_suppression(boxes, scores, max_output_size=3).numpy()
    array([3, 0], dtype=int32)
    >>> indices, count = non_max_suppression(boxes, scores, 3, padded=True)
    >>> indices.numpy(), int(count)
    (array([3, 0, 0], dtype=int32), 2)
    """
    max_output_size = check_count("max_output_size", max_output_size, 0)
    iou_threshold, score_threshold = _check_thresholds(iou_threshold, score_threshold)
    tile_size = check_count("tile_size", tile_size, 1)
    boxes = _as_float("boxes", boxes)
    scores = _as_float("scores", scores)
    layout = "[..., N, 4]" if padded else "[N, 4]"
    if (
        boxes.shape.rank is None
        or boxes.shape.rank < 2
        or (not padded and boxes.shape.rank != 2)
        or boxes.shape[-1] not in (4, None)
    ):
        raise ValueError(f"`boxes` must have shape {layout}. Received: boxes.shape={boxes.shape}")
    if not boxes.shape[:-1].is_compatible_with(scores.shape):
        raise ValueError(
            f"`scores` must have shape {layout[:-4]}] matching `boxes`. "
            f"Received: scores.shape={scores.shape} with boxes.shape={boxes.shape}"
        )
    batch_shape = tf.shape(scores)[:-1]
    indices, count = _greedy_nms(
        tf.reshape(boxes, [-1, tf.shape(boxes)[-2], 4]),
        tf.reshape(scores, [-1, tf.shape(scores)[-1]]),
        max_output_size,
        iou_threshold,
        score_threshold,
        tile_size,
        jit_compile=check_bool("jit_compile", jit_compile),
    )
    if not padded:
        return indices[0, : count[0]]
    indices = tf.reshape(indices, tf.concat([batch_shape, [max_output_size]], axis=0))
    indices.set_shape(scores.shape[:-1].concatenate([max_output_size]))
    count = tf.reshape(count, batch_shape)
    count.set_shape(scores.shape[:-1])
    return indices, count


def _check_batched(boxes: tf.Tensor, scores: tf.Tensor) -> None:
    if scores.shape.rank != 3 or scores.shape[-1] is None:
        raise ValueError(
            "`scores` must have shape [B, N, C] with a static number of classes C. "
            f"Received: scores.shape={scores.shape}"
        )
    rank_ok = boxes.shape.rank in (3, 4) and boxes.shape[-1] in (4, None)
    if rank_ok and boxes.shape.rank == 4:
        rank_ok = boxes.shape[2] in (1, scores.shape[-1], None)
    if not rank_ok:
        raise ValueError(
            "`boxes` must have shape [B, N, 4] (or [B, N, q, 4] with q = 1 or C). "
            f"Received: boxes.shape={boxes.shape}"
        )
    if not boxes.shape[:2].is_compatible_with(scores.shape[:2]):
        raise ValueError(
            "`boxes` and `scores` must agree on [B, N]. "
            f"Received: boxes.shape={boxes.shape} with scores.shape={scores.shape}"
        )


def batched_non_max_suppression(
    boxes: Any,
    scores: Any,
    max_output_size_per_class: int,
    max_total_size: int,
    iou_threshold: float = 0.5,
    score_threshold: float = float("-inf"),
    clip_boxes: bool = False,
    tile_size: int = 32,
    jit_compile: bool = False,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
    """Per-class NMS for a batch, like `tf.image.combined_non_max_suppression`.

    For each image and each class, greedy NMS (see `non_max_suppression`) on that class's
    scores keeps up to `max_output_size_per_class` boxes; then each image keeps its
    `max_total_size` highest-scoring detections over all classes, sorted by decreasing
    score. All `B * C` problems run as one vectorised batch in a single loop (no Python
    loop over images or classes).

    It returns the same detections as `tf.image.combined_non_max_suppression(...,
    clip_boxes=clip_boxes)` whenever no two candidate scores of an image are exactly equal.
    With exact ties the TF kernel's order is unspecified (a heap pop within a class, an
    unstable `std::sort` across classes); here ties go to the lower box index within a
    class (as `tf.image.non_max_suppression` does) and to the lower class index across
    classes. Class ids are int32 (TF returns them as float32).

    Args:
        boxes: `[B, N, 4]` boxes shared by all classes, or `[B, N, q, 4]` with `q = 1` or
            `q = C` (one box per class), `(y1, x1, y2, x2)` as in `non_max_suppression`.
        scores: `[B, N, C]` per-class scores (C static).
        max_output_size_per_class: most boxes kept per image and class, an int > 0.
        max_total_size: most detections kept per image, an int > 0; the outputs are padded
            to this size.
        iou_threshold: in [0, 1]; suppression when IoU is strictly greater.
        score_threshold: candidates need `score > score_threshold`.
        clip_boxes: clip the returned boxes to [0, 1] (for normalised coordinates; TF's
            default is `True`).
        tile_size: boxes per tile of the vectorised pass (speed only).
        jit_compile: as in `non_max_suppression`.

    Returns:
        `(boxes [B, max_total_size, 4], scores [B, max_total_size],
        classes [B, max_total_size] int32, num_detections [B] int32)`; entries past
        `num_detections` are zeros.

    Raises:
        ValueError: on bad shapes or argument values.
        TypeError: when a size is not an int or an input is not numeric.

    Example:

    >>> boxes = [[[0, 0, 1, 1], [0, 0.1, 1, 1.1], [0, 5, 1, 6]]]
    >>> scores = [[[0.9, 0.1], [0.8, 0.7], [0.2, 0.3]]]  # [B=1, N=3, C=2]
    >>> b, s, c, n = batched_non_max_suppression(boxes, scores, 2, 4, score_threshold=0.25)
    >>> s.numpy().round(2), c.numpy(), n.numpy()
    (array([[0.9, 0.7, 0.3, 0. ]], dtype=float32), array([[0, 1, 1, 0]], dtype=int32), \
array([3], dtype=int32))
    """
    per_class = check_count("max_output_size_per_class", max_output_size_per_class, 1)
    max_total_size = check_count("max_total_size", max_total_size, 1)
    iou_threshold, score_threshold = _check_thresholds(iou_threshold, score_threshold)
    tile_size = check_count("tile_size", tile_size, 1)
    boxes = _as_float("boxes", boxes)
    scores = _as_float("scores", scores)
    _check_batched(boxes, scores)
    num_classes = scores.shape[-1]
    if scores.shape[1] is None or scores.shape[1] == 0:
        # One never-valid box (score -inf) so that the gathers below have a row to read
        # even when an image has no boxes at all.
        box_padding = [[0, 0], [0, 1]] + [[0, 0]] * (boxes.shape.rank - 2)
        boxes = tf.pad(boxes, box_padding)
        scores = tf.pad(scores, [[0, 0], [0, 1], [0, 0]], constant_values=float("-inf"))
    batch, num_boxes = tf.shape(scores)[0], tf.shape(scores)[1]

    per_class_boxes = boxes.shape.rank == 4 and boxes.shape[2] != 1
    if per_class_boxes:
        box_sets = tf.reshape(tf.transpose(boxes, [0, 2, 1, 3]), [-1, num_boxes, 4])  # B * C
    else:
        box_sets = tf.reshape(boxes, [batch, num_boxes, 4])  # shared by the C classes
    class_scores = tf.transpose(scores, [0, 2, 1])  # [B, C, N]
    index, count = _greedy_nms(
        box_sets,
        tf.reshape(class_scores, [-1, num_boxes]),
        per_class,
        iou_threshold,
        score_threshold,
        tile_size,
        problems_per_box_set=1 if per_class_boxes else num_classes,
        jit_compile=check_bool("jit_compile", jit_compile),
    )
    index = tf.reshape(index, [batch, num_classes, per_class])
    count = tf.reshape(count, [batch, num_classes])

    # Merge the classes: the best max_total_size selected scores of each image.
    picked_scores = tf.gather(class_scores, index, batch_dims=2)  # [B, C, per_class]
    live = tf.range(per_class)[None, None, :] < count[:, :, None]
    sort_dtype = tf.float64 if scores.dtype == tf.float64 else tf.float32
    merged = tf.where(live, tf.cast(picked_scores, sort_dtype), float("-inf"))
    merged = tf.reshape(merged, [batch, num_classes * per_class])
    k = min(max_total_size, num_classes * per_class)
    _, flat = tf.math.top_k(merged, k=k)  # ties: lower class, then selection order
    classes = flat // per_class
    box_index = tf.gather(tf.reshape(index, [batch, -1]), flat, batch_dims=1)
    out_scores = tf.gather(tf.reshape(picked_scores, [batch, -1]), flat, batch_dims=1)
    if per_class_boxes:
        out_boxes = tf.gather(boxes, box_index, batch_dims=1)  # [B, k, C, 4]
        out_boxes = tf.gather(out_boxes, classes, axis=2, batch_dims=2)  # [B, k, 4]
    else:
        out_boxes = tf.gather(tf.reshape(boxes, [batch, num_boxes, 4]), box_index, batch_dims=1)

    num_detections = tf.minimum(tf.reduce_sum(count, axis=1), max_total_size)
    valid = tf.range(k)[None, :] < num_detections[:, None]
    if clip_boxes:
        out_boxes = tf.clip_by_value(out_boxes, tf.cast(0, boxes.dtype), tf.cast(1, boxes.dtype))
    out_boxes = tf.where(valid[:, :, None], out_boxes, tf.zeros_like(out_boxes))
    out_scores = tf.where(valid, out_scores, tf.zeros_like(out_scores))
    classes = tf.where(valid, classes, tf.zeros_like(classes))
    pad = max_total_size - k
    if pad:
        out_boxes = tf.pad(out_boxes, [[0, 0], [0, pad], [0, 0]])
        out_scores = tf.pad(out_scores, [[0, 0], [0, pad]])
        classes = tf.pad(classes, [[0, 0], [0, pad]])
    return out_boxes, out_scores, classes, num_detections


def class_agnostic_nms(
    boxes: Any,
    scores: Any,
    max_output_size: int,
    iou_threshold: float = 0.5,
    score_threshold: float = float("-inf"),
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
    """One NMS per image over each box's best class: the TFLite-builtin route.

    Each box is scored by its best class (`max` over C, ties to the lower class), then one
    greedy NMS per image keeps up to `max_output_size` boxes, the same ones, in the same
    order, as `tf.image.non_max_suppression` on those scores, except that zero-area
    boxes are left out (see below). Unlike per-class NMS, a box can suppress an
    overlapping box of another class. Every op converts to a TFLite builtin (TOPK_V2,
    GATHER, NON_MAX_SUPPRESSION_V4, REDUCE_MAX, ARG_MAX, ...), so a model ending in it
    converts with `supported_ops=[tf.lite.OpsSet.TFLITE_BUILTINS]`, which
    `tf.image.combined_non_max_suppression` does not (and `batched_non_max_suppression`
    only with static shapes, as a WHILE loop that no delegate accelerates). With a static
    batch size the images are unrolled (use batch 1 on devices); with a dynamic one they
    go through `tf.map_fn`, which converts to a builtin WHILE.

    TFLite's NON_MAX_SUPPRESSION_V4 kernel departs from TF's in two ways, both worked
    around here so that TF and TFLite return the same detections: it visits equal scores
    in no fixed order, and it returns a zero-area box over and over once it selects one
    (such a box has IoU 0 with itself, so it never leaves the candidates). The boxes are
    therefore sorted first (`top_k`: score descending, index ascending, as TF's kernel
    visits them), handed to the kernel with distinct decreasing ranks as scores, and
    boxes of zero area (junk for a detector) are never candidates.

    Args:
        boxes: `[B, N, 4]` boxes `(y1, x1, y2, x2)`, corners in either order.
        scores: `[B, N, C]` per-class scores.
        max_output_size: most detections per image, an int > 0.
        iou_threshold: in [0, 1]; suppression when IoU is strictly greater.
        score_threshold: boxes need a best-class score `> score_threshold`.

    Returns:
        `(boxes [B, max_output_size, 4], scores [B, max_output_size],
        classes [B, max_output_size] int32, num_detections [B] int32)`, in decreasing
        score order, zeros past `num_detections`.

    Raises:
        ValueError: on bad shapes or argument values.
        TypeError: when `max_output_size` is not an int.

    Example:

    >>> boxes = [[[0, 0, 1, 1], [0, 0.1, 1, 1.1], [0, 5, 1, 6]]]
    >>> scores = [[[0.9, 0.1], [0.2, 0.8], [0.2, 0.3]]]
    >>> b, s, c, n = class_agnostic_nms(boxes, scores, 3)
    >>> s.numpy().round(2), c.numpy(), n.numpy()
    (array([[0.9, 0.3, 0. ]], dtype=float32), array([[0, 1, 0]], dtype=int32), \
array([2], dtype=int32))
    """
    max_output_size = check_count("max_output_size", max_output_size, 1)
    iou_threshold, score_threshold = _check_thresholds(iou_threshold, score_threshold)
    boxes = tf.cast(_as_float("boxes", boxes), tf.float32)
    scores = tf.cast(_as_float("scores", scores), tf.float32)
    _check_batched(boxes, scores)
    if boxes.shape.rank != 3:
        raise ValueError(f"`boxes` must have shape [B, N, 4]. Received: boxes.shape={boxes.shape}")
    best_scores = tf.reduce_max(scores, axis=-1)
    best_classes = tf.argmax(scores, axis=-1, output_type=tf.int32)
    y1, x1, y2, x2 = tf.unstack(boxes, axis=-1)
    area = tf.abs(y2 - y1) * tf.abs(x2 - x1)
    valid = (best_scores > score_threshold) & (area > 0)
    # Sort once in the kernel's visiting order (-0.0 and 0.0 made bitwise equal first).
    sort_key = tf.where(tf.equal(best_scores, 0), tf.zeros_like(best_scores), best_scores)
    sort_key = tf.where(valid, sort_key, float("-inf"))
    num_boxes = tf.shape(best_scores)[1]
    _, order = tf.math.top_k(sort_key, k=num_boxes if boxes.shape[1] is None else boxes.shape[1])
    sorted_boxes = tf.gather(boxes, order, batch_dims=1)
    # Ranks N, N-1, ... for the valid boxes (exact in float32 up to 2^24 boxes), 0 for
    # the rest, which the kernel's `score > 0` test leaves out.
    num_valid = tf.reduce_sum(tf.cast(valid, tf.int32), axis=1, keepdims=True)
    positions = tf.range(num_boxes)[None, :]
    ranks = tf.where(positions < num_valid, tf.cast(num_boxes - positions, tf.float32), 0.0)

    def one_image(args):
        image_boxes, image_ranks = args
        index, count = tf.raw_ops.NonMaxSuppressionV4(
            boxes=image_boxes,
            scores=image_ranks,
            max_output_size=max_output_size,
            iou_threshold=iou_threshold,
            score_threshold=0.0,
            pad_to_max_output_size=True,
        )
        return index, count

    if boxes.shape[0] is not None:
        results = [one_image((sorted_boxes[i], ranks[i])) for i in range(boxes.shape[0])]
        index = tf.stack([r[0] for r in results])
        count = tf.stack([r[1] for r in results])
    else:
        index, count = tf.map_fn(
            one_image,
            (sorted_boxes, ranks),
            fn_output_signature=(
                tf.TensorSpec([max_output_size], tf.int32),
                tf.TensorSpec([], tf.int32),
            ),
        )
    index = tf.gather(order, index, batch_dims=1)  # back to the caller's box indices
    valid_out = tf.range(max_output_size)[None, :] < count[:, None]
    out_boxes = tf.gather(boxes, index, batch_dims=1)
    out_scores = tf.gather(best_scores, index, batch_dims=1)
    out_classes = tf.gather(best_classes, index, batch_dims=1)
    out_boxes = tf.where(valid_out[:, :, None], out_boxes, tf.zeros_like(out_boxes))
    out_scores = tf.where(valid_out, out_scores, tf.zeros_like(out_scores))
    out_classes = tf.where(valid_out, out_classes, tf.zeros_like(out_classes))
    return out_boxes, out_scores, out_classes, count


# `jit_compile=True` in graph mode: the tiled pass XLA-compiled on its own (see the module
# docstring for why it is faster and why it is not the default).
_compiled_greedy_nms = tf.function(_vectorised_greedy_nms, jit_compile=True, autograph=False)
