"""Anchor box shapes chosen by k-means on the training boxes (YOLOv2).

The notes: rather than choosing anchor boxes by hand, "use a k-means algorithm to group
together two types of object shapes you tend to get", and use the groups as anchors. As in
YOLOv2 (Redmon & Farhadi, 2017), the boxes are compared by shape only, as if they shared a
centre, with the distance

    d(box, anchor) = 1 - IoU(box, anchor),
    IoU = min(w1, w2) * min(h1, h2) / (w1 * h1 + w2 * h2 - min(w1, w2) * min(h1, h2))

so that large boxes do not dominate as they would with Euclidean distance on (w, h).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kerasdl._validation import check_positive_int


def _shape_iou(sizes: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """IoU of centre-aligned boxes: sizes `[n, 2]` vs anchors `[k, 2]` -> `[n, k]`."""
    inter = np.minimum(sizes[:, None, 0], anchors[None, :, 0]) * np.minimum(
        sizes[:, None, 1], anchors[None, :, 1]
    )
    union = (sizes[:, 0] * sizes[:, 1])[:, None] + (anchors[:, 0] * anchors[:, 1])[None, :]
    return inter / (union - inter)


def _check_sizes(box_sizes: Any) -> np.ndarray:
    try:
        sizes = np.asarray(box_sizes, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"`box_sizes` must be an array of (w, h) numbers. Received: {box_sizes!r:.200}"
        ) from error
    if sizes.ndim != 2 or sizes.shape[1] != 2 or sizes.shape[0] == 0:
        raise ValueError(
            f"`box_sizes` must have shape [N, 2] with N >= 1 (w, h) pairs. "
            f"Received: box_sizes.shape={sizes.shape}"
        )
    bad = ~(np.isfinite(sizes) & (sizes > 0))
    if bad.any():
        row = int(np.argwhere(bad)[0, 0])
        raise ValueError(
            "`box_sizes` must hold finite widths and heights > 0. "
            f"Received: box_sizes[{row}]={sizes[row].tolist()}"
        )
    return sizes


def _kmeans_pp_init(sizes: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    # k-means++: each next centre is drawn with probability proportional to d^2, d the
    # distance (1 - IoU) to the nearest centre chosen so far.
    centres = [sizes[rng.integers(len(sizes))]]
    nearest = 1.0 - _shape_iou(sizes, np.asarray(centres))[:, 0]
    for _ in range(1, k):
        weights = np.maximum(nearest, 0.0) ** 2
        centre = sizes[rng.choice(len(sizes), p=weights / weights.sum())]
        centres.append(centre)
        nearest = np.minimum(nearest, 1.0 - _shape_iou(sizes, centre[None])[:, 0])
    return np.asarray(centres)


def kmeans_anchors(
    box_sizes: Any, k: int, seed: int = 0, max_iter: int = 300
) -> tuple[np.ndarray, float]:
    """k anchor shapes `(w, h)` by k-means with distance `1 - IoU` (YOLOv2).

    Lloyd's algorithm on the boxes' (w, h): assign each box to the anchor it overlaps most
    (centres aligned), move each anchor to the mean (w, h) of its boxes, repeat until the
    assignment stops changing or `max_iter` rounds. Initialised k-means++ style (seeded,
    so the result is deterministic); an anchor left without boxes is moved to the box that
    its current anchor fits worst.

    Args:
        box_sizes: `[N, 2]` widths and heights of the training boxes, all > 0, in any
            unit (pixels or fractions of the image), e.g. `convert_boxes(boxes, "yxyx",
            "cxcywh")[:, 2:]`.
        k: the number of anchors, an int with `1 <= k <=` the number of distinct sizes.
        seed: seed of the k-means++ initialisation.
        max_iter: the most assignment/update rounds, an int > 0.

    Returns:
        `(anchors, mean_iou)`: anchors `[k, 2]` float64 `(w, h)` sorted by area
        (smallest first), and the mean over the boxes of the IoU with their best anchor,
        the figure YOLOv2 reports (its Table 1: 0.61 with k = 5 on VOC).

    Raises:
        ValueError: when `box_sizes` is not `[N, 2]`, holds a size <= 0 or not finite, or
            `k` exceeds the number of distinct sizes.
        TypeError: when `k`, `seed` or `max_iter` is not an int.

    Example:

    >>> sizes = [[10, 20], [11, 21], [9, 19], [50, 50], [52, 49], [48, 51]]
    >>> anchors, mean_iou = kmeans_anchors(sizes, k=2)
    >>> anchors
    array([[10., 20.],
           [50., 50.]])
    >>> round(mean_iou, 3)
    0.934
    """
    sizes = _check_sizes(box_sizes)
    k = check_positive_int("k", int(k) if isinstance(k, np.integer) else k)
    max_iter = check_positive_int(
        "max_iter", int(max_iter) if isinstance(max_iter, np.integer) else max_iter
    )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"`seed` must be an int. Received: seed={seed!r}")
    distinct = len(np.unique(sizes, axis=0))
    if k > distinct:
        raise ValueError(
            f"`k` must be <= the number of distinct box sizes ({distinct}). Received: k={k}"
        )

    rng = np.random.default_rng(seed)
    anchors = _kmeans_pp_init(sizes, k, rng)
    assignment = None
    for _ in range(max_iter):
        iou = _shape_iou(sizes, anchors)
        new_assignment = iou.argmax(axis=1)
        if assignment is not None and np.array_equal(new_assignment, assignment):
            break
        assignment = new_assignment
        best = iou[np.arange(len(sizes)), assignment]
        for cluster in range(k):
            members = assignment == cluster
            if members.any():
                anchors[cluster] = sizes[members].mean(axis=0)
            else:
                worst = int(best.argmin())
                anchors[cluster] = sizes[worst]
                best[worst] = 1.0  # not the next empty cluster's pick too
    order = np.lexsort((anchors[:, 0], anchors[:, 0] * anchors[:, 1]))
    anchors = anchors[order]
    mean_iou = float(_shape_iou(sizes, anchors).max(axis=1).mean())
    return anchors, mean_iou
