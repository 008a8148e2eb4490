"""MeanAveragePrecision against pycocotools' COCOeval and a numpy VOC devkit AP."""

import contextlib
import io

import keras
import numpy as np
import pytest
import tensorflow as tf
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from kerasdl.metrics import MeanAveragePrecision
from kerasdl.metrics.detection import COCO_IOU_THRESHOLDS
from tests.strategies import two_cpu_strategy

# References ---------------------------------------------------------------------------


def coco_eval(y_true, y_pred, num_classes, iou_thresholds, max_detections=100):
    """pycocotools' COCOeval (bbox, area "all", maxDets=[max_detections]) on padded
    arrays: image i of the arrays is image id i + 1, class c is category c + 1."""
    images, annotations, results = [], [], []
    for i, (boxes, detections) in enumerate(zip(y_true, y_pred, strict=True)):
        images.append({"id": i + 1})
        for ymin, xmin, ymax, xmax, cls in boxes.astype("float64"):
            if cls >= 0:
                w, h = xmax - xmin, ymax - ymin
                annotations.append(
                    {
                        "id": len(annotations) + 1,  # COCOeval treats id 0 as "unmatched"
                        "image_id": i + 1,
                        "category_id": int(cls) + 1,
                        "bbox": [xmin, ymin, w, h],
                        "area": w * h,
                        "iscrowd": 0,
                    }
                )
        for ymin, xmin, ymax, xmax, score, cls in detections.astype("float64"):
            if cls >= 0:
                results.append(
                    {
                        "image_id": i + 1,
                        "category_id": int(cls) + 1,
                        "bbox": [xmin, ymin, xmax - xmin, ymax - ymin],
                        "score": score,
                    }
                )
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {
            "images": images,
            "annotations": annotations,
            "categories": [{"id": c + 1} for c in range(num_classes)],
        }
        gt.createIndex()
        evaluation = COCOeval(gt, gt.loadRes(results), iouType="bbox")
        evaluation.params.iouThrs = np.asarray(iou_thresholds, dtype="float64")
        evaluation.params.maxDets = [max_detections]
        evaluation.params.areaRng = [[0, 1e10]]
        evaluation.params.areaRngLbl = ["all"]
        evaluation.evaluate()
        evaluation.accumulate()
    return evaluation


def coco_per_class(evaluation):
    """pycocotools' AP per class (averaged over IoU thresholds), -1 without ground truth."""
    precision = evaluation.eval["precision"][:, :, :, 0, 0]  # (T, R, K)
    return np.where(precision[0, 0] > -1, precision.mean(axis=(0, 1)), -1.0)


def coco_map(evaluation):
    """COCOeval.summarize()'s mean: over every precision entry > -1."""
    precision = evaluation.eval["precision"][:, :, :, 0, 0]
    return precision[precision > -1].mean()


def voc_all_point_ap(tp, num_gt):
    """The VOC2010+ devkit's `voc_ap`: TP flags of a class's detections sorted by score."""
    tp = np.asarray(tp, dtype="float64")
    tp_sum = np.cumsum(tp)
    fp_sum = np.cumsum(1 - tp)
    recall = tp_sum / num_gt
    precision = tp_sum / np.maximum(tp_sum + fp_sum, np.finfo(np.float64).eps)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    for i in range(len(mpre) - 2, -1, -1):  # precision envelope
        mpre[i] = max(mpre[i], mpre[i + 1])
    change = np.where(mrec[1:] != mrec[:-1])[0]  # points where recall changes
    return np.sum((mrec[change + 1] - mrec[change]) * mpre[change + 1])


def voc_per_class(evaluation, num_classes):
    """VOC all-point AP per class and threshold from pycocotools' own per-image matches."""
    num_thresholds = len(evaluation.params.iouThrs)
    ap = -np.ones((num_classes, num_thresholds))
    num_images = len(evaluation.params.imgIds)
    for k in range(num_classes):
        evals = [e for e in evaluation.evalImgs[k * num_images : (k + 1) * num_images] if e]
        num_gt = sum(len(e["gtIds"]) for e in evals)
        if num_gt == 0:
            continue
        if not evals or not any(e["dtScores"] for e in evals):
            ap[k] = 0.0
            continue
        scores = np.concatenate([e["dtScores"] for e in evals])
        matches = np.concatenate([e["dtMatches"] for e in evals], axis=1)
        order = np.argsort(-scores, kind="mergesort")
        for t in range(num_thresholds):
            ap[k, t] = voc_all_point_ap(matches[t, order] > 0, num_gt)
    return ap


def voc_map(evaluation, num_classes):
    ap = voc_per_class(evaluation, num_classes)
    has_gt = ap[:, 0] > -1
    return ap[has_gt].mean()


# Data ---------------------------------------------------------------------------------


def random_dataset(num_images, num_classes, seed, max_boxes=8, max_detections=20):
    """Padded ground truth and detections: jittered copies of most boxes (some with the
    wrong class, some duplicated), random false positives, random scores."""
    rng = np.random.default_rng(seed)
    y_true = np.zeros((num_images, max_boxes, 5), "float32")
    y_true[..., 4] = -1
    y_pred = np.zeros((num_images, max_detections, 6), "float32")
    y_pred[..., 5] = -1
    for i in range(num_images):
        n = rng.integers(0, max_boxes + 1)
        corner = rng.uniform(0, 400, size=(n, 2))
        size = rng.uniform(10, 150, size=(n, 2))
        boxes = np.concatenate([corner, corner + size], axis=1)
        classes = rng.integers(0, num_classes, size=n)
        y_true[i, :n] = np.concatenate([boxes, classes[:, None]], axis=1)
        detections = []
        for box, cls in zip(boxes, classes, strict=True):
            for _ in range(rng.choice([0, 1, 1, 1, 2])):
                jitter = rng.normal(scale=0.12, size=4) * np.tile(box[2:] - box[:2], 2)
                wrong = rng.random() < 0.1
                detections.append(
                    [*(box + jitter), 0, rng.integers(0, num_classes) if wrong else cls]
                )
        for _ in range(rng.integers(0, 5)):
            corner = rng.uniform(0, 400, size=2)
            size = rng.uniform(10, 150, size=2)
            detections.append([*corner, *(corner + size), 0, rng.integers(0, num_classes)])
        detections = np.array(detections, "float32").reshape(-1, 6)[:max_detections]
        detections[:, 4] = rng.uniform(0.01, 1.0, size=len(detections))
        slots = rng.permutation(max_detections)[: len(detections)]  # padding anywhere
        y_pred[i, slots] = detections
    return y_true, y_pred


def metric_result(y_true, y_pred, batch_size=None, **kwargs):
    metric = MeanAveragePrecision(**kwargs)
    batch_size = batch_size or len(y_true)
    for start in range(0, len(y_true), batch_size):
        metric.update_state(y_true[start : start + batch_size], y_pred[start : start + batch_size])
    return metric


def box(ymin, xmin, ymax, xmax, *rest):
    return [ymin, xmin, ymax, xmax, *rest]


def pad(rows, width, length):
    out = np.zeros((length, width), "float32")
    out[:, -1] = -1
    out[: len(rows)] = rows
    return out


def images(*pairs, max_boxes=4, max_detections=6):
    """Stacks hand-written (ground truth rows, detection rows) pairs into padded arrays."""
    y_true = np.stack([pad(g, 5, max_boxes) for g, _ in pairs])
    y_pred = np.stack([pad(d, 6, max_detections) for _, d in pairs])
    return y_true, y_pred


COCO_AP = {"iou_thresholds": "coco", "ap_method": "coco_101"}
VOC_AP = {"iou_thresholds": (0.5,), "ap_method": "voc_all_point"}


def reference(y_true, y_pred, num_classes, settings, max_detections=100):
    """(mAP, AP per class) from pycocotools, or from the VOC_AP formula on its matches."""
    thresholds = settings["iou_thresholds"]
    thresholds = COCO_IOU_THRESHOLDS if thresholds == "coco" else thresholds
    evaluation = coco_eval(y_true, y_pred, num_classes, thresholds, max_detections)
    if settings["ap_method"] == "coco_101":
        return coco_map(evaluation), coco_per_class(evaluation)
    ap = voc_per_class(evaluation, num_classes)
    return voc_map(evaluation, num_classes), np.where(ap[:, 0] > -1, ap.mean(axis=1), -1.0)


def assert_matches_reference(y_true, y_pred, num_classes, settings, max_detections=100, **kw):
    metric = metric_result(
        y_true, y_pred, num_classes=num_classes, max_detections=max_detections, **settings, **kw
    )
    expected_map, expected_per_class = reference(
        y_true, y_pred, num_classes, settings, max_detections
    )
    np.testing.assert_allclose(float(metric.result()), expected_map, atol=1e-4, rtol=0)
    np.testing.assert_allclose(metric.per_class_ap().numpy(), expected_per_class, atol=1e-4)
    return float(metric.result())


# Hand-built cases with known AP -------------------------------------------------------

SETTINGS = [pytest.param(VOC_AP, id="voc"), pytest.param(COCO_AP, id="coco")]


@pytest.mark.parametrize("settings", SETTINGS)
def test_perfect_detections_give_one(settings):
    y_true, y_pred = random_dataset(6, 3, seed=1, max_boxes=5, max_detections=5)
    y_pred = np.zeros((6, 5, 6), "float32")
    y_pred[..., :4] = y_true[..., :4]
    y_pred[..., 4] = np.linspace(0.9, 0.1, 5)
    y_pred[..., 5] = y_true[..., 4]
    assert (y_true[..., 4] >= 0).sum() > 5
    assert assert_matches_reference(y_true, y_pred, 3, settings) == pytest.approx(1.0)


@pytest.mark.parametrize("settings", SETTINGS)
def test_false_positive_above_a_true_positive_halves_ap(settings):
    # One box; the better-scored detection misses it: P = 1/2 at R = 1 everywhere.
    y_true, y_pred = images(
        ([box(0, 0, 10, 10, 0)], [box(50, 50, 60, 60, 0.9, 0), box(0, 0, 10, 10, 0.8, 0)])
    )
    assert assert_matches_reference(y_true, y_pred, 1, settings) == pytest.approx(0.5)


def test_tp_fp_tp_areas():
    # Two boxes, detections TP, FP, TP: P = 1 at R = 1/2, P = 2/3 at R = 1.
    y_true, y_pred = images(
        (
            [box(0, 0, 10, 10, 0), box(20, 20, 30, 30, 0)],
            [
                box(0, 0, 10, 10, 0.9, 0),
                box(50, 50, 60, 60, 0.8, 0),
                box(20, 20, 30, 30, 0.7, 0),
            ],
        )
    )
    voc = assert_matches_reference(y_true, y_pred, 1, VOC_AP)
    assert voc == pytest.approx((1 + 2 / 3) / 2)
    coco = assert_matches_reference(y_true, y_pred, 1, COCO_AP)
    # r = 0, 0.01, ..., 0.5 see P* = 1 (51 points); r = 0.51, ..., 1 see 2/3 (50 points).
    assert coco == pytest.approx((51 + 50 * 2 / 3) / 101)


@pytest.mark.parametrize("settings", SETTINGS)
def test_duplicate_detection_is_a_false_positive(settings):
    y_true, y_pred = images(
        ([box(0, 0, 10, 10, 0)], [box(0, 0, 10, 10, 0.9, 0), box(0, 0, 10, 11, 0.8, 0)])
    )
    assert assert_matches_reference(y_true, y_pred, 1, settings) == pytest.approx(1.0)
    y_true, y_pred = images(
        ([box(0, 0, 10, 10, 0)], [box(0, 0, 10, 11, 0.9, 0), box(0, 0, 10, 10, 0.95, 0)])
    )
    assert assert_matches_reference(y_true, y_pred, 1, settings) == pytest.approx(1.0)


def test_iou_exactly_at_the_threshold_matches():
    # IoU = 50 / 100 exactly: pycocotools matches at IoU >= threshold.
    y_true, y_pred = images(([box(0, 0, 10, 10, 0)], [box(0, 0, 10, 5, 0.9, 0)]))
    assert assert_matches_reference(y_true, y_pred, 1, VOC_AP) == pytest.approx(1.0)


def test_equal_ious_go_to_the_later_box():
    # The first detection overlaps both boxes with IoU 0.5; pycocotools gives it the
    # later box, which leaves the earlier box to the second detection: AP = 1. Taking the
    # earlier box would make the second detection a false positive.
    y_true, y_pred = images(
        (
            [box(0, 0, 10, 10, 0), box(0, 10, 10, 20, 0)],
            [box(0, 0, 10, 20, 0.9, 0), box(0, 0, 10, 10, 0.8, 0)],
        )
    )
    assert assert_matches_reference(y_true, y_pred, 1, VOC_AP) == pytest.approx(1.0)


def test_detection_takes_the_best_unmatched_box():
    # Detection 1 matches box A (IoU 0.9) over box B; detection 2 overlaps A best but A
    # is taken, so it takes B (IoU 0.6) as pycocotools does (the VOC_AP devkit would not).
    y_true, y_pred = images(
        (
            [box(0, 0, 10, 10, 0), box(0, 4, 10, 14, 0)],
            [box(0, 0, 10, 9, 0.9, 0), box(0, 2, 10, 12, 0.8, 0)],
        )
    )
    assert assert_matches_reference(y_true, y_pred, 1, VOC_AP) == pytest.approx(1.0)


def test_wrong_class_is_a_false_positive_and_classes_without_ground_truth_are_left_out():
    y_true, y_pred = images(
        (
            [box(0, 0, 10, 10, 0), box(20, 20, 30, 30, 1)],
            [
                box(0, 0, 10, 10, 0.9, 0),
                box(20, 20, 30, 30, 0.95, 2),  # class 2 has no ground truth: left out
                box(20, 20, 30, 30, 0.5, 1),
            ],
        )
    )
    metric = metric_result(y_true, y_pred, num_classes=4, **VOC_AP)
    np.testing.assert_allclose(metric.per_class_ap().numpy(), [1, 1, -1, -1])
    assert float(metric.result()) == pytest.approx(1.0)
    assert_matches_reference(y_true, y_pred, 4, VOC_AP)
    assert_matches_reference(y_true, y_pred, 4, COCO_AP)


def test_ground_truth_without_detections_gives_zero_for_its_class():
    y_true, y_pred = images(
        ([box(0, 0, 10, 10, 0), box(20, 20, 30, 30, 1)], [box(0, 0, 10, 10, 0.9, 0)])
    )
    assert assert_matches_reference(y_true, y_pred, 2, COCO_AP) == pytest.approx(0.5)


@pytest.mark.parametrize("settings", SETTINGS)
def test_max_detections_per_image_and_class(settings):
    # 3 detections of class 0 and 2 of class 1 in one image; max_detections=2 drops
    # only the lowest class-0 one (the true positive), as pycocotools' maxDets does.
    y_true, y_pred = images(
        (
            [box(0, 0, 10, 10, 0), box(20, 20, 30, 30, 1)],
            [
                box(50, 50, 60, 60, 0.9, 0),
                box(70, 70, 80, 80, 0.8, 0),
                box(0, 0, 10, 10, 0.1, 0),
                box(20, 20, 30, 30, 0.7, 1),
                box(90, 90, 99, 99, 0.6, 1),
            ],
        )
    )
    assert assert_matches_reference(y_true, y_pred, 2, settings, max_detections=3) > 0.5
    dropped = assert_matches_reference(y_true, y_pred, 2, settings, max_detections=2)
    assert dropped == pytest.approx(0.5)


def test_score_ties_are_broken_by_image_order_as_pycocotools():
    # Equal scores in two images: the FP of image 1 comes before the TP of image 2.
    y_true, y_pred = images(
        ([box(0, 0, 10, 10, 0)], [box(0, 0, 10, 10, 0.5, 0)]),
        ([box(0, 0, 10, 10, 0)], [box(50, 50, 60, 60, 0.5, 0), box(0, 0, 10, 10, 0.5, 0)]),
        ([box(0, 0, 10, 10, 0)], [box(0, 0, 10, 10, 0.5, 0)]),
    )
    for settings in (VOC_AP, COCO_AP):
        assert_matches_reference(y_true, y_pred, 1, settings)


def test_zero_area_and_disjoint_boxes_give_zero_iou():
    y_true, y_pred = images(
        (
            [box(0, 0, 10, 10, 0), box(5, 5, 5, 5, 0)],
            [box(5, 5, 5, 5, 0.9, 0), box(10, 10, 20, 20, 0.8, 0), box(0, 0, 10, 10, 0.1, 0)],
        )
    )
    for settings in (VOC_AP, COCO_AP):
        assert_matches_reference(y_true, y_pred, 1, settings)


def test_dict_predictions_equal_packed_predictions():
    y_true, y_pred = random_dataset(12, 3, seed=5)
    packed = metric_result(y_true, y_pred, num_classes=3, **COCO_AP)
    # The dict form holds its detections first, then num_detections says how many.
    order = np.argsort(y_pred[..., 5] < 0, axis=1, kind="stable")
    dense = np.take_along_axis(y_pred, order[..., None], axis=1)
    as_dict = {
        "boxes": dense[..., :4],
        "scores": dense[..., 4],
        "classes": np.where(dense[..., 5] < 0, 0, dense[..., 5]).astype("int32"),
        "num_detections": (dense[..., 5] >= 0).sum(axis=1).astype("int32"),
    }
    api_names = {
        "detection_boxes": as_dict["boxes"],
        "detection_scores": as_dict["scores"],
        "detection_classes": as_dict["classes"],
        "num_detections": as_dict["num_detections"],
    }
    for detections in (as_dict, api_names):
        from_dict = MeanAveragePrecision(num_classes=3, **COCO_AP)
        from_dict.update_state(y_true, detections)
        assert float(from_dict.result()) == float(packed.result())


def test_yolo_decoder_outputs_feed_the_metric():
    from kerasdl.layers import YoloDecoder

    raw = np.full((2, 2, 2, 1, 7), -8.0, "float32")  # one object of class 1 per image
    raw[:, 1, 0, 0, :5] = [8.0, 0.0, 0.0, 0.0, 0.0]
    raw[:, 1, 0, 0, 5:] = [0.0, 9.0]
    decoded = YoloDecoder([[0.5, 0.25]], num_classes=2, max_detections=3)(raw)
    box_found = decoded["detection_boxes"][0, 0].numpy()
    y_true = np.array([[[*box_found, 1]], [[*(box_found + [0, 0.25, 0, 0.25]), 1]]], "float32")
    metric = MeanAveragePrecision(num_classes=2)
    metric.update_state(y_true, decoded)  # image 2's box is off by half its width: FP
    np.testing.assert_allclose(metric.per_class_ap().numpy(), [-1, 0.5])


# Random data ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings, max_detections",
    [
        pytest.param(VOC_AP, 100, id="voc"),
        pytest.param(COCO_AP, 100, id="coco"),
        pytest.param(COCO_AP, 4, id="coco-max-4"),
        pytest.param({"iou_thresholds": (0.3, 0.6, 0.9), "ap_method": "voc_all_point"}, 6),
    ],
)
def test_random_images_match_pycocotools(settings, max_detections):
    y_true, y_pred = random_dataset(120, 5, seed=11)
    assert_matches_reference(y_true, y_pred, 5, settings, max_detections=max_detections)


def test_voc_formula_reference_is_the_devkit_area():
    # The numpy reference itself, on a curve worked by hand: TP FP TP FP with 3 boxes.
    # Envelope 1 on R in (0, 1/3], 2/3 on (1/3, 2/3], 0 after: AP = 1/3 + 2/9.
    assert voc_all_point_ap([1, 0, 1, 0], 3) == pytest.approx(1 / 3 + 2 / 9)


def test_streaming_equals_one_batch():
    y_true, y_pred = random_dataset(60, 4, seed=3)
    one = metric_result(y_true, y_pred, num_classes=4, **COCO_AP)
    streamed = metric_result(y_true, y_pred, batch_size=7, num_classes=4, **COCO_AP)
    np.testing.assert_array_equal(streamed.per_class_ap().numpy(), one.per_class_ap().numpy())
    assert float(streamed.result()) == float(one.result())
    expected, _ = reference(y_true, y_pred, 4, COCO_AP)
    assert float(streamed.result()) == pytest.approx(expected, abs=1e-4)


def test_every_prefix_branch_gives_the_same_result():
    # capacity 4 * 4096 computes on the first 4096 rows while they hold every detection,
    # and on all rows after: the same numbers as a metric whose buffer is just big enough.
    y_true, y_pred = random_dataset(800, 5, seed=12, max_detections=12)
    stored = int((y_pred[..., 5] >= 0).sum())
    assert stored > 4096
    results = {}
    for capacity in (4 * 4096, stored):
        metric = MeanAveragePrecision(num_classes=5, capacity=capacity, **COCO_AP)
        update = tf.function(metric.update_state)
        update(y_true[:200], y_pred[:200])
        assert int(metric.num_stored.numpy()) < 4096
        results[capacity] = [float(metric.result())]
        for start in range(200, 800, 200):
            update(y_true[start : start + 200], y_pred[start : start + 200])
        results[capacity].append(float(metric.result()))
    assert results[4 * 4096] == results[stored]
    first, last = results[stored]
    assert first == pytest.approx(reference(y_true[:200], y_pred[:200], 5, COCO_AP)[0], abs=1e-4)
    assert last == pytest.approx(reference(y_true, y_pred, 5, COCO_AP)[0], abs=1e-4)


def test_reset_state_forgets_everything():
    y_true, y_pred = random_dataset(10, 2, seed=4)
    metric = metric_result(y_true, y_pred, num_classes=2, **VOC_AP)
    assert float(metric.result()) > 0
    metric.reset_state()
    assert float(metric.result()) == 0.0
    np.testing.assert_array_equal(metric.per_class_ap().numpy(), [-1, -1])
    metric.update_state(y_true[:5], y_pred[:5])
    fresh = metric_result(y_true[:5], y_pred[:5], num_classes=2, **VOC_AP)
    assert float(metric.result()) == float(fresh.result())


def test_result_dict_reports_each_threshold():
    y_true, y_pred = random_dataset(20, 3, seed=6)
    metric = metric_result(y_true, y_pred, num_classes=3, **COCO_AP)
    report = metric.result_dict()
    evaluation = coco_eval(y_true, y_pred, 3, COCO_IOU_THRESHOLDS)
    precision = evaluation.eval["precision"][:, :, :, 0, 0]
    assert report["map"] == pytest.approx(coco_map(evaluation), abs=1e-4)
    np.testing.assert_allclose(report["ap_per_class"], coco_per_class(evaluation), atol=1e-4)
    assert list(report["map_per_iou_threshold"]) == list(COCO_IOU_THRESHOLDS)
    for t, value in enumerate(report["map_per_iou_threshold"].values()):
        at_t = precision[t]
        assert value == pytest.approx(at_t[at_t > -1].mean(), abs=1e-4)


# Graph, XLA and distribution ------------------------------------------------------------


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
def test_tf_function_and_xla_equal_eager(jit_compile):
    y_true, y_pred = random_dataset(24, 3, seed=8)
    eager = metric_result(y_true, y_pred, batch_size=8, num_classes=3, **COCO_AP)
    metric = MeanAveragePrecision(num_classes=3, **COCO_AP)
    update = tf.function(metric.update_state, jit_compile=jit_compile)
    result = tf.function(metric.result, jit_compile=jit_compile)
    for start in range(0, 24, 8):
        update(y_true[start : start + 8], y_pred[start : start + 8])
    assert float(result()) == float(eager.result())


def test_mirrored_strategy_gathers_every_replica():
    strategy = two_cpu_strategy()
    y_true, y_pred = random_dataset(29, 3, seed=9)
    with strategy.scope():
        metric = MeanAveragePrecision(num_classes=3, **COCO_AP)
    # 29 images in batches of 8: the replicas get 4 + 4 images, then 3 + 2.
    dataset = tf.data.Dataset.from_tensor_slices((y_true, y_pred)).batch(8)

    @tf.function
    def update(batch):
        strategy.run(metric.update_state, args=batch)

    for batch in strategy.experimental_distribute_dataset(dataset):
        update(batch)
    single = metric_result(y_true, y_pred, batch_size=8, num_classes=3, **COCO_AP)
    assert float(metric.result()) == float(single.result())
    np.testing.assert_array_equal(metric.per_class_ap().numpy(), single.per_class_ap().numpy())
    # Every replica holds the whole buffer, so a per-replica result is the full one too.
    per_replica = strategy.run(tf.function(metric.result))
    for value in strategy.experimental_local_results(per_replica):
        assert float(value) == float(single.result())


def test_model_evaluate_under_mirrored_strategy_matches_pycocotools():
    y_true, y_pred = random_dataset(49, 4, seed=10)
    expected, _ = reference(y_true, y_pred, 4, COCO_AP)
    with two_cpu_strategy().scope():
        inputs = keras.Input(shape=y_pred.shape[1:])
        model = keras.Model(inputs, keras.layers.Identity()(inputs))
        # evaluate needs a loss; this one is 0. Batches of 16 leave a last batch of 1,
        # so one replica gets no image at all.
        model.compile(
            loss=lambda y_true, y_pred: 0.0 * keras.ops.mean(y_pred),
            metrics=[MeanAveragePrecision(num_classes=4, **COCO_AP)],
        )
    logs = model.evaluate(y_pred, y_true, batch_size=16, verbose=0, return_dict=True)
    assert logs["mean_average_precision"] == pytest.approx(expected, abs=1e-4)


def test_recall_threshold_counts_round_as_pycocotools():
    # R = m / n compared with np.linspace(0, 1, 101) in float64, including the exact
    # fractions (35 / 100, 41 / 100, ...) where the rounding of both sides decides.
    from kerasdl.metrics.detection import RECALL_THRESHOLDS, _count_reached

    pairs = np.array([(m, n) for n in range(1, 401) for m in range(n + 1)], "int32")
    expected = np.searchsorted(np.linspace(0.0, 1.00, 101), pairs[:, 0] / pairs[:, 1], side="right")
    got = _count_reached(tf.constant(pairs[:, 0]), tf.constant(pairs[:, 1]))
    np.testing.assert_array_equal(got.numpy(), expected)
    assert (expected[pairs[:, 0] * 100 == 35 * pairs[:, 1]] == 35).all()  # not 36
    np.testing.assert_array_equal(RECALL_THRESHOLDS, np.linspace(0.0, 1.00, 101))
    np.testing.assert_array_equal(COCO_IOU_THRESHOLDS, np.linspace(0.5, 0.95, 10))


# Configuration and bad input -------------------------------------------------------------


def test_config_round_trip():
    metric = MeanAveragePrecision(
        num_classes=7, iou_thresholds=(0.3, 0.7), ap_method="coco_101", capacity=50, name="m"
    )
    config = metric.get_config()
    assert config["iou_thresholds"] == (0.3, 0.7)
    assert MeanAveragePrecision.from_config(config).get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(metric))
    assert isinstance(restored, MeanAveragePrecision)
    assert restored.thresholds == (0.3, 0.7) and restored.capacity == 50
    assert MeanAveragePrecision(3, iou_thresholds="coco").thresholds == COCO_IOU_THRESHOLDS


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"num_classes": 0}, ValueError, r"`num_classes` must be > 0\. Received: num_classes=0"),
        ({"num_classes": 2.5}, TypeError, r"`num_classes` must be a positive int"),
        ({"iou_thresholds": 0.0}, ValueError, r"`iou_thresholds` must be in \(0, 1\)"),
        ({"iou_thresholds": (0.5, 1.0)}, ValueError, r"`iou_thresholds` must be in \(0, 1\)"),
        ({"iou_thresholds": 1.5}, ValueError, r"Received: iou_thresholds=1\.5"),
        ({"iou_thresholds": ()}, ValueError, r"`iou_thresholds` must be .*non-empty"),
        ({"iou_thresholds": "voc"}, ValueError, r"`iou_thresholds` must be \"coco\""),
        ({"iou_thresholds": ("a",)}, TypeError, r"`iou_thresholds` must hold numbers"),
        ({"ap_method": "11_point"}, ValueError, r"`ap_method` must be one of"),
        ({"max_detections": 0}, ValueError, r"`max_detections` must be > 0"),
        ({"capacity": -1}, ValueError, r"`capacity` must be > 0"),
        ({"capacity": 10**9}, ValueError, r"`capacity` must be <= 20000000"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        MeanAveragePrecision(**{"num_classes": 3, **kwargs})


def bad_inputs():
    y_true, y_pred = random_dataset(4, 3, seed=0)
    counts = np.full(4, 2, "int32")
    as_dict = {"boxes": y_pred[..., :4], "scores": y_pred[..., 4], "classes": y_pred[..., 5]}
    out_of_range = y_pred.copy()
    out_of_range[0, 0, 5] = 3
    return [
        (
            y_true[..., :4],
            y_pred,
            r"`y_true` must have shape \(batch, max_boxes, 5\).*"
            r"Received: y_true.shape=\(4, 8, 4\)",
        ),
        (y_true[0], y_pred, r"Received: y_true.shape=\(8, 5\)"),
        (
            y_true,
            y_pred[..., :5],
            r"`y_pred` must have shape \(batch, max_detections, 6\).*"
            r"Received: y_pred.shape=\(4, 20, 5\)",
        ),
        (y_true[:2], y_pred, r"same batch size.*y_true batch=2, y_pred batch=4"),
        (y_true, as_dict, r"`y_pred` as a dict must have exactly the keys"),
        (y_true, {**as_dict, "num_detections": counts[:, None]}, r"num_detections \(batch,\)"),
        (y_true, out_of_range, r"`y_pred` classes must be < num_classes=3"),
    ]


@pytest.mark.parametrize("case", range(7))
def test_bad_inputs_name_the_argument(case):
    y_true, y_pred, match = bad_inputs()[case]
    with pytest.raises(ValueError, match=match):
        MeanAveragePrecision(num_classes=3).update_state(y_true, y_pred)


def test_sample_weight_is_rejected():
    y_true, y_pred = random_dataset(2, 3, seed=0)
    with pytest.raises(ValueError, match=r"`sample_weight` is not supported"):
        MeanAveragePrecision(num_classes=3).update_state(y_true, y_pred, sample_weight=[1, 2])


def test_runtime_checks_in_a_graph():
    metric = MeanAveragePrecision(num_classes=3)
    spec = [tf.TensorSpec([None, 8, 5]), tf.TensorSpec([None, 20, 6])]
    update = tf.function(metric.update_state, input_signature=spec)
    y_true, y_pred = random_dataset(4, 3, seed=0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="same batch size"):
        update(y_true[:2], y_pred)
    y_true[0, 0, 4] = 5
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"`y_true` classes must be < num"):
        update(y_true, y_pred)


def test_capacity_overflow_raises():
    y_true, y_pred = random_dataset(8, 3, seed=0)
    detections = int((y_pred[..., 5] >= 0).sum())
    metric = MeanAveragePrecision(num_classes=3, capacity=detections)
    metric.update_state(y_true, y_pred)  # exactly full
    with pytest.raises(ValueError, match=rf"at most `capacity`={detections}"):
        metric.update_state(y_true[:1], y_pred[:1])
    graph = MeanAveragePrecision(num_classes=3, capacity=detections - 1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="`capacity`"):
        tf.function(graph.update_state)(y_true, y_pred)
    # XLA drops assertions: the update keeps what fits, and the eager result() raises.
    xla = MeanAveragePrecision(num_classes=3, capacity=detections - 1)
    tf.function(xla.update_state, jit_compile=True)(y_true, y_pred)
    with pytest.raises(ValueError, match="more detections than `capacity`"):
        xla.result()
