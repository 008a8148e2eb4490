"""Mean average precision of object detections, as pycocotools and the VOC devkit compute it."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerasdl._validation import check_one_of, check_positive_int

# pycocotools' Params.iouThrs and Params.recThrs, built the same way so that every
# comparison against them rounds exactly as pycocotools' own comparisons do.
COCO_IOU_THRESHOLDS = tuple(np.linspace(0.5, 0.95, round((0.95 - 0.5) / 0.05) + 1).tolist())
RECALL_THRESHOLDS = tuple(np.linspace(0.0, 1.00, round((1.00 - 0.0) / 0.01) + 1).tolist())
# Whether a recall of exactly j / 100 (as float64 division rounds it) reaches pycocotools'
# threshold j; np.linspace rounds 10 of them above j / 100.
_REACHES_OWN_THRESHOLD = tuple(
    int(threshold <= j / 100) for j, threshold in enumerate(RECALL_THRESHOLDS)
)
# pycocotools divides by tp + fp + np.spacing(1).
_PRECISION_EPS = float(np.spacing(1))
_MAX_CAPACITY = 20_000_000
_SMALLEST_PREFIX = 4096
# Dict detections: short names, or the TF Object Detection API's (YoloDecoder's).
_PREDICTION_KEYS = ("boxes", "scores", "classes", "num_detections")
_DETECTION_API_KEYS = ("detection_boxes", "detection_scores", "detection_classes", "num_detections")


@keras.saving.register_keras_serializable(package="kerasdl")
class MeanAveragePrecision(keras.metrics.Metric):
    """Mean average precision (mAP) of object detections, streamed over batches.

    Detections are matched to ground truth as pycocotools does (`COCOeval`, bbox, area
    "all", no crowd boxes). In each image and for each class, detections are taken by
    score, highest first (ties keep their input order), the `max_detections` best are kept,
    and each takes the still unmatched ground-truth box of its class with the highest

        IoU = area(detection ∩ box) / area(detection ∪ box)

    provided IoU >= threshold (among equal IoUs the later box wins, as in pycocotools). A
    matched detection is a true positive (TP), any other a false positive (FP). Over the
    whole dataset, the detections of class c sorted by score give after the first i of them

        P_i = TP_i / (TP_i + FP_i)        R_i = TP_i / n_c

    with `n_c` the number of ground-truth boxes of class c. With the precision envelope
    `P*(i) = max_{j >= i} P_j`, the average precision of class c at one IoU threshold is

        "voc_all_point" (VOC2010+ devkit):  AP = sum over TP detections i of P*(i) / n_c
            (the area under the envelope, measured at every point where R changes);
        "coco_101" (pycocotools):  AP = 1/101 * sum_{r in 0, 0.01, ..., 1} P*(first i
            with R_i >= r), or 0 when R never reaches r.

    The metric is the mean of AP over the IoU thresholds and over the classes that have
    ground truth; classes with no ground-truth box are left out (pycocotools gives them
    -1 and its mean skips them). `iou_thresholds="coco", ap_method="coco_101"` is COCO's
    AP@[.50:.95] (`COCOeval.stats[0]`); the defaults give VOC mAP@0.5 with the matching
    above. The VOC devkit matches differently when boxes of one class overlap: it takes
    the best-IoU box even if already matched (the detection is then a FP) and requires
    IoU > 0.5 strictly; this metric always uses the pycocotools rule.

    Each batch's detections are matched in the graph (a loop over the detections of
    each image, vectorised over the batch and the thresholds) and their score, class and
    TP flag at each threshold are appended to a buffer of `capacity` rows, with the
    number of ground-truth boxes per class; `result()` sorts the buffer and computes the
    APs in the graph. Keras calls `result()` after every step of `fit` and `evaluate`,
    so it works on the shortest buffer prefix of `capacity / 4**k` rows (k >= 0, at
    least 4096 rows) that holds the stored detections: its cost follows the number of
    detections seen, within a factor 4, times `len(iou_thresholds)` (under XLA each
    prefix length is compiled once). IoUs, recalls and precisions are float64, so that
    thresholds compare exactly as in pycocotools (XLA on TPU has no float64).
    Under a `tf.distribute` strategy, each replica gathers the rows of the whole global
    batch (`all_gather`, in replica order, which is batch order) and appends them, so
    every replica holds the buffer a single device would; the variables are read from the
    first replica (`ON_READ`, `ONLY_FIRST_REPLICA`), so the cross-replica `result()`
    that ends `evaluate` is the single-device one.

    Args:
        num_classes: int, number of classes; class ids are `0 .. num_classes - 1`.
        iou_thresholds: a float, a sequence of floats in (0, 1), or `"coco"` for
            0.50:0.05:0.95 (10 thresholds, as pycocotools' `iouThrs`).
        ap_method: `"voc_all_point"` or `"coco_101"` (see above).
        max_detections: int, detections kept per image and class, highest scores first
            (pycocotools' `maxDets`, which it also applies per image and class).
        capacity: int (at most 20_000_000), detections the buffer holds across all
            batches since the last `reset_state()`. Adding more raises (`ValueError` eagerly,
            `tf.errors.InvalidArgumentError` in a graph; under `jit_compile=True`, where
            XLA drops assertions, the extra detections are dropped and the next eager
            `result()`, as at the end of `evaluate`, raises). COCO val2017 with 100
            detections per image needs 500_000.
        name: name of the metric.
        **kwargs: base `keras.metrics.Metric` arguments (`dtype`).

    Call arguments (`update_state`):
        y_true: ground truth, float `(batch, max_boxes, 5)` rows
            `(ymin, xmin, ymax, xmax, class)`; rows with class -1 are padding. Classes
            (here and in `y_pred`) at or above `num_classes` raise (`ValueError` eagerly,
            `tf.errors.InvalidArgumentError` in a graph; under XLA they count as padding).
        y_pred: detections, either float `(batch, max_detections, 6)` rows
            `(ymin, xmin, ymax, xmax, score, class)` where rows with class < 0 are
            padding (the score does not mark padding: a score of 0 is a detection), or a
            dict `{"boxes": (batch, n, 4), "scores": (batch, n), "classes": (batch, n),
            "num_detections": (batch,)}`, also with the TF Object Detection API's names
            "detection_boxes", "detection_scores", "detection_classes" that
            `kerasdl.layers.YoloDecoder` outputs (0-based classes), where rows at or
            beyond `num_detections`, or with class < 0, are padding. `compile(metrics=...)`
            hands a metric one output tensor, so there use the packed form; the dict form
            is for calling `update_state` on a decoder's outputs. Boxes are corners in
            "yxyx" order, in pixels or normalised (IoU is the same either way).
        sample_weight: not supported (a weight per image has no meaning for AP); anything
            but `None` raises `ValueError`.

    Returns (`result()`):
        float scalar mAP; 0 before any ground truth is seen. `per_class_ap()` gives the
        AP of each class averaged over the thresholds (-1 for classes without ground
        truth) and `result_dict()` a report with the AP at each threshold.

    Example:

    >>> import numpy as np
    >>> y_true = np.array([[[0, 0, 10, 10, 0], [20, 20, 30, 30, 1]]], "float32")
    >>> y_pred = np.array(
    ...     [[[0, 0, 10, 10, 0.9, 0],      # TP, class 0: AP = 1
    ...       [50, 50, 60, 60, 0.95, 1],   # FP above the TP of class 1
    ...       [20, 20, 30, 31, 0.8, 1],    # TP (IoU 0.91): P = 1/2 at R = 1, AP = 0.5
    ...       [0, 0, 0, 0, 0, -1]]],       # padding
    ...     "float32",
    ... )
    >>> metric = MeanAveragePrecision(num_classes=2)
    >>> metric.update_state(y_true, y_pred)
    >>> float(metric.result())
    0.75
    >>> metric.per_class_ap().numpy()
    array([1. , 0.5], dtype=float32)

    Reference:
        Everingham et al., "The PASCAL Visual Object Classes (VOC) Challenge", IJCV 2010;
        Lin et al., "Microsoft COCO: Common Objects in Context", ECCV 2014, and the
        pycocotools `COCOeval` implementation.
    """

    def __init__(
        self,
        num_classes,
        iou_thresholds=(0.5,),
        ap_method="voc_all_point",
        max_detections=100,
        capacity=100_000,
        name="mean_average_precision",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.num_classes = check_positive_int("num_classes", num_classes)
        self.iou_thresholds = _check_iou_thresholds(iou_thresholds)
        self.ap_method = check_one_of("ap_method", ap_method, ("voc_all_point", "coco_101"))
        self.max_detections = check_positive_int("max_detections", max_detections)
        self.capacity = check_positive_int("capacity", capacity)
        if self.capacity > _MAX_CAPACITY:  # 100 * TP count stays within int32
            raise ValueError(
                f"`capacity` must be <= {_MAX_CAPACITY}. Received: capacity={capacity}"
            )
        thresholds = COCO_IOU_THRESHOLDS if self.iou_thresholds == "coco" else self.iou_thresholds
        self.thresholds = tuple(thresholds)
        # Every replica holds the same rows (see update_state), so a cross-replica read
        # takes the first replica's copy instead of summing them.
        state = {"aggregation": "only_first_replica", "initializer": "zeros"}
        # Columns: score, class, then the TP flag (0 or 1) at each IoU threshold.
        self.detections = self.add_variable(
            shape=(self.capacity, 2 + len(self.thresholds)),
            dtype="float32",
            name="detections",
            **state,
        )
        self.num_stored = self.add_variable(shape=(), dtype="int32", name="num_stored", **state)
        self.ground_truth_counts = self.add_variable(
            shape=(self.num_classes,), dtype="int32", name="ground_truth_counts", **state
        )

    # update ------------------------------------------------------------------------

    def update_state(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            raise ValueError(
                "`sample_weight` is not supported by MeanAveragePrecision: average "
                "precision has no per-image weighting. Received: "
                f"sample_weight={sample_weight!r}"
            )
        gt_boxes, gt_classes = self._ground_truth(y_true)
        boxes, scores, classes, valid = self._predictions(y_pred)
        assertions = [
            _check_same_batch(gt_boxes, boxes),
            _check_classes("y_true", gt_classes, gt_classes >= 0, self.num_classes),
            _check_classes("y_pred", classes, valid, self.num_classes),
        ]
        # In a graph, the matching must wait for the checks or fail first on its own.
        # Out-of-range classes only get here under XLA, which drops the assertions: they
        # are then left out as padding.
        gt_classes = ops.where(gt_classes < self.num_classes, gt_classes, -1)
        valid = valid & (classes < self.num_classes)
        with tf.control_dependencies([a for a in assertions if a is not None]):
            rows = self._match(gt_boxes, gt_classes, boxes, scores, classes, valid)
        counts = ops.sum(ops.one_hot(gt_classes, self.num_classes, dtype="int32"), axis=(0, 1))
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            # Every replica appends the whole global batch, in replica order (the order
            # of the batch), so each holds what a single device would have.
            rows = context.all_gather(rows, axis=0)
            counts = context.all_reduce(tf.distribute.ReduceOp.SUM, counts)
        self._append(rows, counts)

    def _ground_truth(self, y_true):
        y_true = ops.convert_to_tensor(y_true)
        shape = tuple(y_true.shape)
        if len(shape) != 3 or shape[-1] != 5:
            raise ValueError(
                "`y_true` must have shape (batch, max_boxes, 5) with rows "
                f"(ymin, xmin, ymax, xmax, class). Received: y_true.shape={shape}"
            )
        y_true = _pad_empty(ops.cast(y_true, "float64"), fill=-1.0)
        classes = ops.cast(ops.round(y_true[..., 4]), "int32")
        return y_true[..., :4], ops.where(classes >= 0, classes, -1)

    def _predictions(self, y_pred):
        if isinstance(y_pred, dict):
            names = [k for k in (_PREDICTION_KEYS, _DETECTION_API_KEYS) if set(k) == set(y_pred)]
            if not names:
                raise ValueError(
                    f"`y_pred` as a dict must have exactly the keys {_PREDICTION_KEYS} or "
                    f"{_DETECTION_API_KEYS}. Received: y_pred.keys()={tuple(sorted(y_pred))}"
                )
            boxes, scores, classes, count = (ops.convert_to_tensor(y_pred[k]) for k in names[0])
            shapes = {
                k: tuple(v.shape)
                for k, v in zip(_PREDICTION_KEYS, (boxes, scores, classes, count), strict=True)
            }
            if (
                len(shapes["boxes"]) != 3
                or shapes["boxes"][-1] != 4
                or shapes["scores"] != shapes["boxes"][:2]
                or shapes["classes"] != shapes["boxes"][:2]
                or shapes["num_detections"] != shapes["boxes"][:1]
            ):
                raise ValueError(
                    "`y_pred` as a dict must hold boxes (batch, n, 4), scores (batch, n), "
                    f"classes (batch, n) and num_detections (batch,). Received: {shapes}"
                )
            boxes = ops.cast(boxes, "float64")
            scores = ops.cast(scores, "float32")
            classes = ops.cast(ops.round(ops.cast(classes, "float32")), "int32")
            index = ops.arange(ops.shape(boxes)[1], dtype="int32")
            valid = (index[None, :] < ops.cast(count, "int32")[:, None]) & (classes >= 0)
        else:
            y_pred = ops.convert_to_tensor(y_pred)
            shape = tuple(y_pred.shape)
            if len(shape) != 3 or shape[-1] != 6:
                raise ValueError(
                    "`y_pred` must have shape (batch, max_detections, 6) with rows "
                    "(ymin, xmin, ymax, xmax, score, class), or be a dict with keys "
                    f"{_PREDICTION_KEYS}. Received: y_pred.shape={shape}"
                )
            boxes = ops.cast(y_pred[..., :4], "float64")
            scores = ops.cast(y_pred[..., 4], "float32")
            classes = ops.cast(ops.round(y_pred[..., 5]), "int32")
            valid = classes >= 0
        return boxes, scores, classes, valid

    def _match(self, gt_boxes, gt_classes, boxes, scores, classes, valid):
        """Rows (score, class, TP flag at each threshold) of every detection, in each
        image's score order; class -1 marks padding and detections beyond
        `max_detections` of their class."""
        # Best first; a stable sort keeps ties in input order, as pycocotools' mergesort.
        order = tf.argsort(ops.where(valid, -scores, np.inf), axis=1, stable=True)
        boxes = ops.take_along_axis(boxes, order[..., None], axis=1)
        scores = ops.take_along_axis(scores, order, axis=1)
        classes = ops.take_along_axis(classes, order, axis=1)
        valid = ops.take_along_axis(valid, order, axis=1)

        # Rank of each detection among the better ones of its class in its image.
        n = ops.shape(classes)[1]
        earlier = ops.arange(n)[None, :] < ops.arange(n)[:, None]
        same_class = (classes[:, :, None] == classes[:, None, :]) & valid[:, None, :]
        rank = ops.sum(ops.cast(same_class & earlier[None], "int32"), axis=-1)
        keep = valid & (rank < self.max_detections)

        # IoU with the ground-truth boxes of the same class, -1 for any other pair.
        iou = _pairwise_iou(boxes, gt_boxes)
        pairs = (classes[:, :, None] == gt_classes[:, None, :]) & (gt_classes >= 0)[:, None, :]
        iou = ops.where(pairs & keep[:, :, None], iou, -1.0)

        # pycocotools caps the threshold at 1 - 1e-10 so that IoU = 1 still matches at 1.
        thresholds = np.minimum(self.thresholds, 1 - 1e-10)[None, :, None]
        thresholds = ops.convert_to_tensor(thresholds, dtype="float64")
        num_boxes = ops.shape(iou)[2]

        def match_one(matched, iou_of_detection):
            # matched, candidates: (batch, thresholds, boxes); iou_of_detection: (batch, boxes)
            overlap = iou_of_detection[:, None, :]
            candidates = ops.logical_not(matched) & (overlap >= thresholds)
            masked = ops.where(candidates, overlap, -1.0)
            best = ops.max(masked, axis=-1, keepdims=True)
            winners = candidates & (masked == best)
            # pycocotools keeps the later box among equal best IoUs.
            last = num_boxes - 1 - ops.argmax(ops.flip(winners, axis=-1), axis=-1)
            hit = ops.any(candidates, axis=-1)
            won = ops.cast(ops.one_hot(last, num_boxes), "bool") & hit[..., None]
            return matched | won, hit

        batch, num_detections = ops.shape(iou)[0], ops.shape(iou)[1]
        per_detection = ops.transpose(iou, (1, 0, 2))

        def body(i, matched, hits):
            matched, hit = match_one(matched, per_detection[i])
            return i + 1, matched, hits.write(i, hit)

        _, _, hits = tf.while_loop(
            lambda i, *_: i < num_detections,
            body,
            (
                tf.constant(0),
                ops.zeros((batch, len(self.thresholds), num_boxes), dtype="bool"),
                tf.TensorArray(tf.bool, size=num_detections, element_shape=(None, None)),
            ),
        )
        hits = hits.stack()
        tp = ops.cast(ops.transpose(hits, (1, 0, 2)), "float32")
        row_class = ops.cast(ops.where(keep, classes, -1), "float32")
        rows = ops.concatenate([scores[..., None], row_class[..., None], tp], axis=-1)
        return ops.reshape(rows, (-1, 2 + len(self.thresholds)))

    def _append(self, rows, counts):
        keep = rows[:, 1] >= 0
        keep_int = ops.cast(keep, "int32")
        added = ops.sum(keep_int)
        stored = ops.convert_to_tensor(self.num_stored)
        _check(
            stored + added <= self.capacity,
            f"MeanAveragePrecision holds at most `capacity`={self.capacity} detections "
            "and this batch would exceed it; create the metric with a larger `capacity`",
        )
        # Rows at and after `num_stored` are zeros (reset_state zeroes them and nothing
        # else writes there), so adding a row there stores it, and adding zeros (padding,
        # or what does not fit) anywhere changes nothing, whatever the order.
        slot = stored + ops.cumsum(keep_int) - keep_int
        write = keep & (slot < self.capacity)
        slot = ops.where(write, slot, 0)
        rows = ops.where(write[:, None], rows, 0.0)
        self.detections.assign(
            tf.tensor_scatter_nd_add(ops.convert_to_tensor(self.detections), slot[:, None], rows)
        )
        self.num_stored.assign(stored + added)
        self.ground_truth_counts.assign_add(counts)

    # result ------------------------------------------------------------------------

    def average_precisions(self):
        """AP of every class at every IoU threshold, float64 `(num_classes, thresholds)`,
        and a bool `(num_classes,)` that says which classes have ground truth."""
        capacity = self.capacity
        stored = ops.convert_to_tensor(self.num_stored)
        _check(
            stored <= capacity,
            f"MeanAveragePrecision received more detections than `capacity`={capacity}; "
            "create the metric with a larger `capacity`",
        )
        table = ops.convert_to_tensor(self.detections)
        gt_counts = ops.convert_to_tensor(self.ground_truth_counts)
        # The stored rows come first, so while they fit in a shorter prefix of the buffer
        # the work can stop there: one branch per prefix length, static shapes in each
        # (XLA compiles them all and runs one; a graph runs only one).
        sizes = [capacity]
        while sizes[-1] // 4 >= _SMALLEST_PREFIX:
            sizes.append(sizes[-1] // 4)
        sizes = sizes[::-1]
        if len(sizes) == 1:
            return self._average_precisions(table, stored, gt_counts), gt_counts > 0
        branch = ops.sum(ops.cast(ops.convert_to_tensor(sizes[:-1]) < stored, "int32"))
        ap = tf.switch_case(
            branch,
            [
                functools.partial(self._average_precisions, table[:size], stored, gt_counts)
                for size in sizes
            ],
        )
        return ap, gt_counts > 0

    def _average_precisions(self, table, stored, gt_counts):
        num_classes, capacity = self.num_classes, table.shape[0]
        filled = ops.arange(capacity, dtype="int32") < stored
        classes = ops.where(filled, ops.cast(table[:, 1], "int32"), num_classes)

        # By class, then by score (highest first), then by arrival: pycocotools breaks
        # score ties by image order and then by the order within the image.
        order = tf.argsort(_class_then_score_key(classes, table[:, 0]), stable=True)
        # tf.gather: ops.take adds a pass over the indices for negative ones.
        classes = tf.gather(classes, order)
        tp = ops.cast(tf.gather(table[:, 2:], order) > 0.5, "int32")

        # TP counts within each class's run of rows; TP + FP is the row's position in it.
        segments = num_classes + 1  # the last one holds the empty rows
        sizes = ops.segment_sum(ops.ones_like(classes), classes, segments)
        position = ops.arange(capacity, dtype="int32") - tf.gather(
            ops.cumsum(sizes) - sizes, classes
        )
        class_tp = ops.segment_sum(tp, classes, segments)
        tp_before = tf.gather(ops.cumsum(class_tp, axis=0) - class_tp, classes)
        tp_count = ops.cumsum(tp, axis=0) - tp_before
        tp64 = ops.cast(tp_count, "float64")
        detected = ops.cast(position + 1, "float64") + _PRECISION_EPS
        precision = tp64 / detected[:, None]
        # Classes without ground truth are dropped; 1 keeps their arithmetic finite.
        n_gt = ops.maximum(tf.gather(ops.pad(gt_counts, [(0, 1)]), classes), 1)[:, None]

        if self.ap_method == "voc_all_point":
            # Sum over TPs of P*(i) / n_c: recall rises by 1 / n_c at each TP.
            envelope = _suffix_max_by_class(precision, classes)
            area = ops.where(tp > 0, envelope / ops.cast(n_gt, "float64"), 0.0)
            ap = ops.segment_sum(area, classes, segments)[:num_classes]
        else:
            # P*(first i with R_i >= r) = max{P_i : R_i >= r}, as R grows with i. Rows
            # whose recall reaches exactly b thresholds form bucket b; the envelope at
            # threshold r is the largest precision in the buckets b > r.
            buckets = len(RECALL_THRESHOLDS) + 1
            num_thresholds = len(self.thresholds)
            reached = ops.minimum(_count_reached(tp_count, n_gt), buckets - 1)
            column = ops.arange(num_thresholds, dtype="int32")[None, :] * buckets
            segment = (classes * (num_thresholds * buckets))[:, None] + column + reached
            best = ops.segment_max(
                ops.reshape(precision, (-1,)),
                ops.reshape(segment, (-1,)),
                segments * num_thresholds * buckets,
            )
            best = ops.reshape(best, (segments, num_thresholds, buckets))[:num_classes]
            best = ops.maximum(best, 0.0)  # empty buckets; P* is 0 where R never gets
            envelope = _suffix_max(best)[..., 1:]
            ap = ops.mean(envelope, axis=-1)
        return ap

    def result(self):
        ap, has_gt = self.average_precisions()
        per_class = ops.mean(ap, axis=1)
        with_gt = ops.sum(ops.cast(has_gt, "float64"))
        total = ops.sum(ops.where(has_gt, per_class, 0.0))
        return ops.cast(ops.where(with_gt > 0, total / ops.maximum(with_gt, 1.0), 0.0), self.dtype)

    def per_class_ap(self):
        """AP of each class averaged over the IoU thresholds, `(num_classes,)`; -1 for
        classes without ground truth, as pycocotools."""
        ap, has_gt = self.average_precisions()
        return ops.cast(ops.where(has_gt, ops.mean(ap, axis=1), -1.0), self.dtype)

    def result_dict(self) -> dict:
        """A report (eager): `{"map": float, "ap_per_class": np.ndarray (-1 without ground
        truth), "map_per_iou_threshold": {threshold: float}}`."""
        ap, has_gt = (ops.convert_to_numpy(x) for x in self.average_precisions())
        per_threshold = ap[has_gt].mean(axis=0) if has_gt.any() else np.zeros(ap.shape[1])
        return {
            "map": float(ops.convert_to_numpy(self.result())),
            "ap_per_class": np.where(has_gt, ap.mean(axis=1), -1.0).astype(self.dtype),
            "map_per_iou_threshold": {
                t: float(v) for t, v in zip(self.thresholds, per_threshold, strict=True)
            },
        }

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "iou_thresholds": self.iou_thresholds,
            "ap_method": self.ap_method,
            "max_detections": self.max_detections,
            "capacity": self.capacity,
        }


def _check_iou_thresholds(value) -> str | tuple[float, ...]:
    if isinstance(value, str):
        if value != "coco":
            raise ValueError(
                '`iou_thresholds` must be "coco", a float or a sequence of floats in (0, 1). '
                f"Received: iou_thresholds={value!r}"
            )
        return value
    values = (value,) if isinstance(value, int | float) else value
    if not isinstance(values, Sequence) or not values:
        raise ValueError(
            '`iou_thresholds` must be "coco", a float or a non-empty sequence of floats '
            f"in (0, 1). Received: iou_thresholds={value!r}"
        )
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float | np.floating):
            raise TypeError(
                f"`iou_thresholds` must hold numbers. Received: iou_thresholds={value!r}"
            )
        if not 0 < v < 1:
            raise ValueError(
                f"`iou_thresholds` must be in (0, 1). Received: iou_thresholds={value!r}"
            )
    return tuple(float(v) for v in values)


def _check(condition, message: str):
    """Raises ValueError eagerly; in a graph, returns an assertion op (which XLA drops)."""
    if tf.executing_eagerly():
        if not bool(ops.convert_to_numpy(condition)):
            raise ValueError(message)
        return None
    return tf.debugging.Assert(condition, [message])


def _check_classes(name, classes, valid, num_classes):
    in_range = ops.all(ops.logical_not(valid) | (classes < num_classes))
    return _check(
        in_range,
        f"`{name}` classes must be < num_classes={num_classes} (or -1 for padding)",
    )


def _check_same_batch(gt_boxes, boxes):
    true_batch, pred_batch = gt_boxes.shape[0], boxes.shape[0]
    if true_batch is not None and pred_batch is not None:
        if true_batch != pred_batch:
            raise ValueError(
                "`y_true` and `y_pred` must have the same batch size. Received: "
                f"y_true batch={true_batch}, y_pred batch={pred_batch}"
            )
        return None
    return _check(
        ops.shape(gt_boxes)[0] == ops.shape(boxes)[0],
        "`y_true` and `y_pred` must have the same batch size",
    )


def _pad_empty(y_true, fill):
    """A padding row when there is no box slot at all, so that argmax has an axis."""
    if y_true.shape[1] == 0:
        return ops.full((ops.shape(y_true)[0], 1, 5), fill, dtype=y_true.dtype)
    return y_true


def _pairwise_iou(boxes, gt_boxes):
    """IoU of (batch, n, 4) with (batch, m, 4) yxyx boxes, as pycocotools' bbox IoU: 0
    unless the boxes overlap with a positive width and height."""
    b = boxes[:, :, None, :]
    g = gt_boxes[:, None, :, :]
    height = ops.minimum(b[..., 2], g[..., 2]) - ops.maximum(b[..., 0], g[..., 0])
    width = ops.minimum(b[..., 3], g[..., 3]) - ops.maximum(b[..., 1], g[..., 1])
    overlap = (height > 0) & (width > 0)
    inter = ops.where(overlap, height * width, 0.0)
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    area_g = (g[..., 2] - g[..., 0]) * (g[..., 3] - g[..., 1])
    union = area_b + area_g - inter
    return ops.where(overlap, inter / ops.where(overlap, union, 1.0), 0.0)


def _class_then_score_key(classes, scores):
    """int64 sort key: class ascending, then score descending, exact for every float32."""
    scores = scores + 0.0  # -0.0 -> 0.0, which pycocotools sees as a tie
    bits = tf.bitcast(ops.cast(scores, "float32"), tf.int32)
    # Float bits read as int32 grow with the float for positives and shrink for
    # negatives; flipping the non-sign bits of negatives makes them grow everywhere.
    ascending = ops.where(bits < 0, tf.bitwise.bitwise_xor(bits, 0x7FFFFFFF), bits)
    descending = (2**31 - 1) - ops.cast(ascending, "int64")  # in [0, 2**32)
    return ops.cast(classes, "int64") * 2**32 + descending


def _segmented_max(earlier, later):
    """Combines prefix maxima over (class, value) rows sorted by class: the later part's
    value takes the earlier one's into account only within the same class."""
    earlier_class, earlier_value = earlier
    later_class, later_value = later
    same = (earlier_class == later_class)[:, None]
    return later_class, ops.where(same, ops.maximum(earlier_value, later_value), later_value)


def _prefix_scan(combine, classes, values):
    """Inclusive scan with an associative `combine`, by odd/even recursion: O(rows)
    work and log2(rows) depth with static shapes (XLA-friendly)."""
    rows = classes.shape[0]
    if rows < 2:
        return classes, values
    pairs = combine((classes[0:-1:2], values[0:-1:2]), (classes[1::2], values[1::2]))
    odd_classes, odd_values = _prefix_scan(combine, *pairs)
    if rows % 2 == 0:
        previous = (odd_classes[:-1], odd_values[:-1])
    else:
        previous = (odd_classes, odd_values)
    even_classes, even_values = combine(previous, (classes[2::2], values[2::2]))
    even_classes = ops.concatenate([classes[:1], even_classes], axis=0)
    even_values = ops.concatenate([values[:1], even_values], axis=0)
    return (
        _interleave(even_classes, odd_classes, rows),
        _interleave(even_values, odd_values, rows),
    )


def _interleave(even, odd, rows):
    if odd.shape[0] < even.shape[0]:
        odd = ops.pad(odd, [(0, 1)] + [(0, 0)] * (len(odd.shape) - 1))
    both = ops.stack([even, odd], axis=1)
    return ops.reshape(both, (-1, *even.shape[1:]))[:rows]


def _suffix_max_by_class(values, classes):
    """max_{j >= i, class_j = class_i} values_j, for rows sorted by class."""
    _, suffix = _prefix_scan(_segmented_max, ops.flip(classes, 0), ops.flip(values, 0))
    return ops.flip(suffix, 0)


def _suffix_max(values):
    """max_{j >= i} values[..., j] along the last axis, by doubling (short axes)."""
    length = values.shape[-1]
    shift = 1
    while shift < length:
        tail = ops.pad(values[..., shift:], [(0, 0)] * (len(values.shape) - 1) + [(0, shift)])
        values = ops.maximum(values, tail)
        shift *= 2
    return values


def _count_reached(tp_count, n_gt):
    """How many of pycocotools' recall thresholds each recall R = tp_count / n_gt
    reaches, with pycocotools' float64 comparisons, in integer arithmetic."""
    scaled = tp_count * 100
    low = scaled // n_gt
    # Unless 100 * R is an integer j, R lies strictly between thresholds low and low + 1
    # (far from both next to float rounding). When it is, R rounds to the double nearest
    # j / 100, which np.linspace's threshold j exceeds for some j (0.35, 0.41, ...).
    on_threshold = scaled - low * n_gt == 0
    reaches_own = ops.convert_to_tensor(_REACHES_OWN_THRESHOLD, dtype=tp_count.dtype)
    exact = tf.gather(reaches_own, ops.minimum(low, len(RECALL_THRESHOLDS) - 1))
    return low + ops.where(on_threshold, exact, 1)
