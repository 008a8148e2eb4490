"""YoloDecoder: decoding math against numpy, NMS against tf.image.non_max_suppression and a
numpy greedy NMS, padding, batching paths, XLA, SavedModel and builtin-only TFLite
export."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasdl
from kerasdl.layers.detection import YoloDecoder, decode_yolo_output

ANCHORS = [[0.2, 0.2], [0.5, 0.25]]
K = 3


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def numpy_decode(raw, anchors=ANCHORS):
    """Boxes [B, N, 4] (clipped), scores [B, N] and classes [B, N] in grid order."""
    batch, sy, sx, num_anchors, _ = raw.shape
    raw = raw.astype("float64")
    boxes = np.zeros((batch, sy, sx, num_anchors, 4))
    for row in range(sy):
        for col in range(sx):
            for a, (aw, ah) in enumerate(anchors):
                t = raw[:, row, col, a]
                x = (col + sigmoid(t[:, 1])) / sx
                y = (row + sigmoid(t[:, 2])) / sy
                h = ah * sy * np.exp(t[:, 3]) / sy
                w = aw * sx * np.exp(t[:, 4]) / sx
                boxes[:, row, col, a] = np.stack([y - h / 2, x - w / 2, y + h / 2, x + w / 2], -1)
    logits = raw[..., 5:]
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    scores = sigmoid(raw[..., 0]) * probs.max(-1)
    return (
        np.clip(boxes, 0, 1).reshape(batch, -1, 4),
        scores.reshape(batch, -1),
        probs.argmax(-1).reshape(batch, -1),
    )


def iou(a, b):
    dy = min(a[2], b[2]) - max(a[0], b[0])
    dx = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(dy, 0) * max(dx, 0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def numpy_nms(boxes, scores, max_out, iou_threshold, score_threshold):
    """The notes' greedy NMS: take the best, drop what overlaps it, repeat."""
    kept = []
    for i in np.argsort(-scores, kind="stable"):
        if scores[i] <= score_threshold or len(kept) == max_out:
            break
        if all(iou(boxes[i], boxes[j]) <= iou_threshold for j in kept):
            kept.append(i)
    return kept


def random_head(batch, seed, grid=4, spread=2.0):
    rng = np.random.default_rng(seed)
    raw = rng.normal(size=(batch, grid, grid, len(ANCHORS), 5 + K)).astype("float32")
    raw[..., 0] *= spread
    raw[..., 5:] *= 2
    return raw


def as_numpy(outputs):
    return {key: np.asarray(value) for key, value in outputs.items()}


def test_decode_yolo_output_matches_numpy():
    raw = random_head(2, 0, grid=3)
    out = decode_yolo_output(raw.reshape(2, 3, 3, -1), ANCHORS, K)
    boxes, _, _ = numpy_decode(raw)
    unclipped = keras.ops.convert_to_numpy(out["boxes"]).reshape(2, -1, 4)
    np.testing.assert_allclose(np.clip(unclipped, 0, 1), boxes, atol=1e-6)
    np.testing.assert_allclose(out["objectness"], sigmoid(raw[..., 0]), atol=1e-6)
    np.testing.assert_allclose(
        np.sum(keras.ops.convert_to_numpy(out["class_probs"]), -1), 1, atol=1e-6
    )


def test_one_confident_object_per_cell_gives_its_exact_box():
    # A 2x2 grid, anchors (w, h) = (0.2, 0.2) and (0.5, 0.25); logit(0.75) = log 3.
    raw = np.full((1, 2, 2, 2, 5 + K), -12.0)
    raw[..., 5:] = 0
    # Cell (0, 0), anchor 0, t = 0: x = y = 0.5 / 2, anchor-sized 0.2 x 0.2; class 2.
    raw[0, 0, 0, 0] = [9, 0, 0, 0, 0, 0, 0, 20]
    # Cell (0, 1), anchor 1: x = (1 + 0.25) / 2 = 0.625, y = 0.75 / 2 = 0.375,
    # h = 0.25 * 2 = 0.5, w = 0.5; class 0.
    raw[0, 0, 1, 1] = [8, -np.log(3), np.log(3), np.log(2), 0, 20, 0, 0]
    # Cell (1, 0), anchor 0: x = 0.75 / 2 = 0.375, y = (1 + 0.25) / 2 = 0.625,
    # h = 0.2 * 0.5 = 0.1, w = 0.2 * 1.5 = 0.3; class 1.
    raw[0, 1, 0, 0] = [7, np.log(3), -np.log(3), np.log(0.5), np.log(1.5), 0, 20, 0]
    decoder = YoloDecoder(ANCHORS, K, max_detections=4, score_threshold=0.5)
    out = as_numpy(decoder(raw.astype("float32")))
    assert out["num_detections"].tolist() == [3]
    np.testing.assert_allclose(
        out["detection_boxes"][0],
        [
            [0.15, 0.15, 0.35, 0.35],
            [0.125, 0.375, 0.625, 0.875],
            [0.575, 0.225, 0.675, 0.525],
            [0, 0, 0, 0],
        ],
        atol=1e-6,
    )
    assert out["detection_classes"][0].tolist() == [2, 0, 1, -1]
    class_prob = 1 / (1 + 2 * np.exp(-20.0))
    np.testing.assert_allclose(
        out["detection_scores"][0], [*(sigmoid(np.array([9, 8, 7.0])) * class_prob), 0], rtol=1e-6
    )


def test_nms_removes_duplicates_of_one_object():
    raw = np.full((1, 2, 2, 2, 5 + K), -10.0, "float32")
    raw[..., 5:] = 0
    # Both anchors of cell (0, 0) see the same object; anchor 1 is a little less sure.
    raw[0, 0, 0, 0, :5] = [4.0, 0.0, 0.0, np.log(0.5 / 0.2), np.log(0.5 / 0.2)]
    raw[0, 0, 0, 1, :5] = [3.0, 0.1, 0.0, np.log(0.5 / 0.25), 0.0]
    raw[0, 1, 1, 0, :5] = [2.0, 0.0, 0.0, 0.0, 0.0]  # another object elsewhere
    out = as_numpy(YoloDecoder(ANCHORS, K, max_detections=4, iou_threshold=0.5)(raw))
    assert out["num_detections"].tolist() == [2]
    np.testing.assert_allclose(out["detection_scores"][0, :2], sigmoid(np.array([4.0, 2.0])) / K)
    np.testing.assert_allclose(out["detection_boxes"][0, 0], [0.0, 0.0, 0.5, 0.5], atol=1e-6)
    # The duplicate, (0, 0.0125, 0.5, 0.5125), has IoU 0.24375 / 0.25625 = 0.951 with the
    # first box: a threshold above that keeps both.
    lenient = as_numpy(YoloDecoder(ANCHORS, K, max_detections=4, iou_threshold=0.96)(raw))
    assert lenient["num_detections"].tolist() == [3]


@pytest.mark.parametrize("iou_threshold, score_threshold", [(0.5, 0.05), (0.3, 0.2), (0.7, 0.0)])
def test_class_agnostic_matches_tf_and_numpy_nms(iou_threshold, score_threshold):
    raw = random_head(3, 1)
    decoder = YoloDecoder(
        ANCHORS, K, max_detections=10, iou_threshold=iou_threshold, score_threshold=score_threshold
    )
    out = as_numpy(decoder(raw))
    boxes, scores, classes = numpy_decode(raw)
    for b in range(3):
        kept = numpy_nms(boxes[b], scores[b], 10, iou_threshold, score_threshold)
        reference = tf.image.non_max_suppression(
            boxes[b].astype("float32"),
            scores[b].astype("float32"),
            10,
            iou_threshold,
            score_threshold,
        ).numpy()
        assert kept == reference.tolist()
        n = len(kept)
        assert out["num_detections"][b] == n
        np.testing.assert_allclose(out["detection_boxes"][b, :n], boxes[b][kept], atol=1e-6)
        np.testing.assert_allclose(out["detection_scores"][b, :n], scores[b][kept], rtol=1e-5)
        assert out["detection_classes"][b, :n].tolist() == classes[b][kept].tolist()
        assert np.all(out["detection_classes"][b, n:] == -1)


def test_per_class_nms_keeps_overlapping_boxes_of_other_classes():
    raw = random_head(2, 2, spread=3.0)
    decoder = YoloDecoder(ANCHORS, K, max_detections=12, iou_threshold=0.4, class_agnostic=False)
    out = as_numpy(decoder(raw))
    boxes, _, _ = numpy_decode(raw)
    logits = raw[..., 5:].astype("float64")
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    class_scores = (sigmoid(raw[..., 0:1].astype("float64")) * probs).reshape(2, -1, K)
    for b in range(2):
        found = []
        for k in range(K):
            kept = numpy_nms(boxes[b], class_scores[b, :, k], 12, 0.4, 0.05)
            found += [(class_scores[b, i, k], k, i) for i in kept]
        found.sort(key=lambda item: -item[0])
        found = found[:12]
        n = len(found)
        assert out["num_detections"][b] == n
        np.testing.assert_allclose(out["detection_scores"][b, :n], [f[0] for f in found], rtol=1e-5)
        assert out["detection_classes"][b, :n].tolist() == [f[1] for f in found]
        np.testing.assert_allclose(
            out["detection_boxes"][b, :n], boxes[b][[f[2] for f in found]], atol=1e-6
        )
    agnostic = as_numpy(YoloDecoder(ANCHORS, K, max_detections=12, iou_threshold=0.4)(raw))
    assert np.all(out["num_detections"] >= agnostic["num_detections"])


def test_nothing_above_threshold_gives_padding_only():
    raw = np.full((2, 2, 2, 2, 5 + K), -9.0, "float32")
    out = as_numpy(YoloDecoder(ANCHORS, K, max_detections=3, score_threshold=0.3)(raw))
    assert out["num_detections"].tolist() == [0, 0]
    assert out["detection_classes"].tolist() == [[-1] * 3] * 2
    assert not out["detection_boxes"].any() and not out["detection_scores"].any()
    assert out["detection_boxes"].dtype == np.float32
    assert out["detection_classes"].dtype == np.int32 and out["num_detections"].dtype == np.int32


def test_boxes_are_clipped_to_the_image():
    raw = np.full((1, 2, 2, 1, 5 + K), -9.0, "float32")
    raw[0, 0, 0, 0, :5] = [5.0, 0.0, 0.0, np.log(3.0), np.log(3.0)]  # 0.6 x 0.6 at (0.25, 0.25)
    out = as_numpy(YoloDecoder([[0.2, 0.2]], K)(raw))
    np.testing.assert_allclose(out["detection_boxes"][0, 0], [0.0, 0.0, 0.55, 0.55], atol=1e-6)


def test_flat_input_dynamic_batch_and_large_batch_agree():
    raw = random_head(20, 3)
    decoder = YoloDecoder(ANCHORS, K, max_detections=6)
    # 20 > 16 images: tf.map_fn; one image at a time: the unrolled loop.
    together = as_numpy(decoder(raw.reshape(20, 4, 4, -1)))
    alone = [as_numpy(decoder(raw[i : i + 1])) for i in range(20)]
    dynamic = tf.function(decoder, input_signature=[tf.TensorSpec((None, 4, 4, 2, 5 + K))])
    traced = as_numpy(dynamic(raw[:5]))
    for key in together:
        np.testing.assert_array_equal(together[key], np.concatenate([a[key] for a in alone]))
        np.testing.assert_array_equal(traced[key], together[key][:5])


def test_xla_matches_eager():
    raw = random_head(4, 4)
    decoder = YoloDecoder(ANCHORS, K, max_detections=8)
    eager = as_numpy(decoder(raw))
    compiled = as_numpy(tf.function(decoder, jit_compile=True)(raw))
    for key in eager:
        np.testing.assert_allclose(compiled[key], eager[key], atol=1e-6)


def detector(grid=4, seed=0, class_agnostic=True):
    """A tiny model: image -> 1x1 conv head -> YoloDecoder."""
    keras.utils.set_random_seed(seed)
    images = keras.Input((grid * 4, grid * 4, 3))
    features = keras.layers.Conv2D(8, 4, strides=4, activation="relu")(images)
    head = keras.layers.Conv2D(len(ANCHORS) * (5 + K), 1)(features)
    decoder = YoloDecoder(
        ANCHORS, K, max_detections=6, score_threshold=0.1, class_agnostic=class_agnostic
    )
    return keras.Model(images, decoder(head))


def test_keras_file_round_trip(tmp_path):
    model = detector()
    x = np.random.default_rng(5).uniform(size=(3, 16, 16, 3)).astype("float32")
    expected = model.predict(x, verbose=0)
    path = os.fspath(tmp_path / "detector.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    got = loaded.predict(x, verbose=0)
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key])
    layer = loaded.layers[-1]
    assert layer.get_config() == model.layers[-1].get_config()
    assert layer.anchors == tuple(tuple(a) for a in ANCHORS)


def test_saved_model_serving_signature(tmp_path):
    model = detector()
    x = np.random.default_rng(6).uniform(size=(4, 16, 16, 3)).astype("float32")
    expected = model.predict(x, verbose=0)
    version = kerasdl.export.saved_model(model, os.fspath(tmp_path / "serving"))
    signature = tf.saved_model.load(version).signatures["serving_default"]
    (name,) = signature.structured_input_signature[1]
    outputs = signature(**{name: tf.constant(x)})
    assert sorted(outputs) == sorted(expected)
    for key in expected:
        np.testing.assert_allclose(outputs[key].numpy(), expected[key], atol=1e-6)


def assert_same_detections(got, expected):
    """The TFLite detections equal Keras': counts and classes exactly, boxes and scores
    to float32 rounding; the model must have found something, or the check is empty."""
    assert expected["num_detections"].min() > 0
    for key in ("num_detections", "detection_classes"):
        np.testing.assert_array_equal(got[key], expected[key])
    for key in ("detection_boxes", "detection_scores"):
        np.testing.assert_allclose(got[key], expected[key], atol=1e-5)


def test_tflite_uses_builtin_ops_only_and_matches_keras(tmp_path):
    model = detector()
    x = np.random.default_rng(7).uniform(size=(5, 16, 16, 3)).astype("float32")
    path = os.fspath(tmp_path / "detector.tflite")
    report = kerasdl.export.tflite(model, path, check_inputs=x)
    assert not report.uses_flex and "NON_MAX_SUPPRESSION_V4" in report.ops
    assert "WHILE" not in report.ops  # static batch 1: the per-image loop is unrolled
    assert report.max_abs_diff < 1e-5
    got = kerasdl.export.TFLiteModel(path)(x)
    assert_same_detections(got, model.predict(x, verbose=0))


def test_per_class_nms_converts_with_builtin_ops_and_matches_keras(tmp_path):
    model = detector(seed=3, class_agnostic=False)
    x = np.random.default_rng(8).uniform(size=(3, 16, 16, 3)).astype("float32")
    path = os.fspath(tmp_path / "per_class.tflite")
    report = kerasdl.export.tflite(model, path, check_inputs=x)
    assert not report.uses_flex
    got = kerasdl.export.TFLiteModel(path)(x)
    assert_same_detections(got, model.predict(x, verbose=0))


def test_per_class_xla_matches_eager_and_tf_combined_nms():
    raw = random_head(3, 4, spread=3.0)
    decoder = YoloDecoder(ANCHORS, K, max_detections=10, iou_threshold=0.4, class_agnostic=False)
    eager = as_numpy(decoder(raw))
    compiled = as_numpy(tf.function(decoder, jit_compile=True)(raw))
    for key in eager:
        np.testing.assert_allclose(compiled[key], eager[key], atol=1e-6)
    boxes, _, _ = numpy_decode(raw)
    logits = raw[..., 5:].astype("float64")
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    class_scores = (sigmoid(raw[..., 0:1].astype("float64")) * probs).reshape(3, -1, K)
    peer = tf.image.combined_non_max_suppression(
        tf.constant(boxes.reshape(3, -1, 1, 4), tf.float32),
        tf.constant(class_scores, tf.float32),
        10,
        10,
        iou_threshold=0.4,
        score_threshold=0.05,
        clip_boxes=False,
    )
    np.testing.assert_array_equal(eager["num_detections"], peer.valid_detections.numpy())
    np.testing.assert_allclose(eager["detection_scores"], peer.nmsed_scores.numpy(), atol=1e-6)
    np.testing.assert_allclose(eager["detection_boxes"], peer.nmsed_boxes.numpy(), atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"anchors": [0.2, 0.2]}, ValueError, r"`anchors` must have shape \[A, 2\].*shape=\(2,\)"),
        ({"num_classes": 0}, ValueError, r"`num_classes` must be > 0"),
        ({"max_detections": 2.5}, TypeError, r"`max_detections` must be a positive int"),
        ({"iou_threshold": 1.5}, ValueError, r"`iou_threshold` must be in \[0, 1\]"),
        ({"score_threshold": 1.0}, ValueError, r"`score_threshold` must be in \[0, 1\)"),
        ({"class_agnostic": "yes"}, TypeError, r"`class_agnostic` must be a bool"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        YoloDecoder(**{"anchors": ANCHORS, "num_classes": K, **kwargs})


def test_bad_inputs_are_named():
    decoder = YoloDecoder(ANCHORS, K)
    with pytest.raises(
        ValueError, match=r"`inputs` must have shape .*inputs.shape=\(2, 3, 3, 15\)"
    ):
        decoder(np.zeros((2, 3, 3, 15), "float32"))
    with pytest.raises(ValueError, match=r"for A=2 anchors and K=3 classes.*\(2, 3, 3, 3, 8\)"):
        decoder(np.zeros((2, 3, 3, 3, 8), "float32"))
    with pytest.raises(ValueError, match=r"`inputs` must have a static grid size"):
        decoder.build((None, None, None, 16))
