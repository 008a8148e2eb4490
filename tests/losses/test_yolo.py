"""YoloLoss against a cell-by-cell numpy re-derivation of its formula, hand cases (perfect
predictions, images without objects), gradients, XLA, the errors, and agreement with
YoloDecoder's conventions."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.data.detection import encode_yolo_targets
from kerasdl.layers.detection import YoloDecoder
from kerasdl.losses.yolo import YoloLoss

ANCHORS = [[0.15, 0.15], [0.4, 0.2], [0.2, 0.45]]
NUM_CLASSES = 3


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def box_iou(a, b):
    dy = min(a[2], b[2]) - max(a[0], b[0])
    dx = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(dy, 0) * max(dx, 0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def reference_loss(
    y_true,
    y_pred,
    anchors=ANCHORS,
    lambda_coord=5.0,
    lambda_noobj=0.5,
    lambda_obj=1.0,
    lambda_class=1.0,
    objectness_loss="binary_crossentropy",
    ignore_thresh=None,
    gt_boxes=None,
):
    """Per-image losses, one cell and anchor at a time, in float64."""
    batch, sy, sx, num_anchors, depth = y_true.shape
    t = np.asarray(y_pred, "float64").reshape(batch, sy, sx, num_anchors, depth)
    losses = np.zeros(batch)
    for b in range(batch):
        for row in range(sy):
            for col in range(sx):
                for a in range(num_anchors):
                    aw, ah = anchors[a]
                    y, p = y_true[b, row, col, a].astype("float64"), t[b, row, col, a]
                    pc = sigmoid(p[0])
                    bx, by = sigmoid(p[1]), sigmoid(p[2])
                    bh, bw = ah * sy * np.exp(p[3]), aw * sx * np.exp(p[4])
                    if y[0] == 1:
                        coord = (bx - y[1]) ** 2 + (by - y[2]) ** 2
                        coord += (np.sqrt(bh) - np.sqrt(y[3])) ** 2
                        coord += (np.sqrt(bw) - np.sqrt(y[4])) ** 2
                        if objectness_loss == "binary_crossentropy":
                            obj = -np.log(pc)
                        else:
                            obj = (1 - pc) ** 2
                        probs = np.exp(p[5:]) / np.exp(p[5:]).sum()
                        cls = -np.sum(y[5:] * np.log(probs))
                        losses[b] += lambda_coord * coord + lambda_obj * obj + lambda_class * cls
                        continue
                    if ignore_thresh is not None:
                        x, yc = (col + bx) / sx, (row + by) / sy
                        h, w = bh / sy, bw / sx
                        box = [yc - h / 2, x - w / 2, yc + h / 2, x + w / 2]
                        if any(box_iou(box, g) > ignore_thresh for g in gt_boxes[b]):
                            continue
                    noobj = -np.log(1 - pc) if objectness_loss == "binary_crossentropy" else pc**2
                    losses[b] += lambda_noobj * noobj
    return losses


def random_case(seed, batch=4, grid=4, max_objects=5, scale=1.0):
    """Targets of random boxes, the boxes that made it into them, and a random head."""
    rng = np.random.default_rng(seed)
    centre = rng.uniform(0.1, 0.9, (batch, max_objects, 2))
    size = rng.uniform(0.05, 0.5, (batch, max_objects, 2))
    boxes = np.clip(np.concatenate([centre - size / 2, centre + size / 2], -1), 0, 1)
    classes = rng.integers(0, NUM_CLASSES, (batch, max_objects))
    classes[:, 3:] = np.where(rng.random((batch, max_objects - 3)) < 0.5, -1, classes[:, 3:])
    y_true, dropped = encode_yolo_targets(boxes, classes, grid, ANCHORS, NUM_CLASSES, True)
    assert dropped.sum() == 0
    gt = [boxes[b][classes[b] >= 0] for b in range(batch)]
    y_pred = (rng.normal(size=(*y_true.shape,)) * scale).astype("float32")
    return y_true, y_pred, gt


@pytest.mark.parametrize("objectness_loss", ["binary_crossentropy", "squared_error"])
@pytest.mark.parametrize("flat_head", [False, True])
def test_matches_reference(objectness_loss, flat_head):
    y_true, y_pred, _ = random_case(0)
    weights = dict(lambda_coord=3.0, lambda_noobj=0.25, lambda_obj=2.0, lambda_class=0.5)
    expected = reference_loss(y_true, y_pred, objectness_loss=objectness_loss, **weights)
    if flat_head:
        y_pred = y_pred.reshape(*y_pred.shape[:3], -1)
    loss = YoloLoss(
        ANCHORS, NUM_CLASSES, objectness_loss=objectness_loss, reduction=None, **weights
    )
    np.testing.assert_allclose(loss(y_true, y_pred).numpy(), expected, rtol=1e-5)


def test_default_weights_are_yolo_v1():
    y_true, y_pred, _ = random_case(1, grid=3)
    expected = reference_loss(y_true, y_pred)  # lambda_coord 5, lambda_noobj 0.5
    got = YoloLoss(ANCHORS, NUM_CLASSES, reduction=None)(y_true, y_pred).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5)


@pytest.mark.parametrize("objectness_loss", ["binary_crossentropy", "squared_error"])
def test_ignore_thresh_matches_reference(objectness_loss):
    # Predictions near anchor size overlap the ground truth often enough to be ignored.
    y_true, y_pred, gt = random_case(2, scale=0.5)
    loss = YoloLoss(
        ANCHORS, NUM_CLASSES, ignore_thresh=0.3, objectness_loss=objectness_loss, reduction=None
    )
    expected = reference_loss(
        y_true, y_pred, objectness_loss=objectness_loss, ignore_thresh=0.3, gt_boxes=gt
    )
    np.testing.assert_allclose(loss(y_true, y_pred).numpy(), expected, rtol=1e-5)
    without = reference_loss(y_true, y_pred, objectness_loss=objectness_loss)
    assert np.all(expected <= without) and np.any(expected < without - 1e-3)


def test_reductions_and_sample_weights():
    y_true, y_pred, _ = random_case(3)
    per_image = reference_loss(y_true, y_pred)
    weights = np.array([1.0, 0.0, 2.0, 0.5])
    cases = {
        "sum_over_batch_size": (per_image.mean(), (weights * per_image).sum() / 4),
        "sum": (per_image.sum(), (weights * per_image).sum()),
        "mean_with_sample_weight": (per_image.mean(), (weights * per_image).sum() / weights.sum()),
    }
    for reduction, (plain, weighted) in cases.items():
        loss = YoloLoss(ANCHORS, NUM_CLASSES, reduction=reduction)
        np.testing.assert_allclose(float(loss(y_true, y_pred)), plain, rtol=1e-5)
        np.testing.assert_allclose(
            float(loss(y_true, y_pred, sample_weight=weights)), weighted, rtol=1e-5
        )


def perfect_head(y_true, confidence):
    """The raw head that decodes exactly to `y_true`, with objectness and class logits
    of size `confidence`."""
    sy, sx = y_true.shape[1:3]
    anchors = np.array(ANCHORS)
    obj = y_true[..., 0] == 1
    t = np.zeros(y_true.shape, "float64")
    t[..., 0] = np.where(obj, confidence, -confidence)
    bx, by = (np.clip(y_true[..., i], 1e-6, 1 - 1e-6) for i in (1, 2))
    t[..., 1], t[..., 2] = np.log(bx / (1 - bx)), np.log(by / (1 - by))
    t[..., 3] = np.log(np.where(obj, y_true[..., 3], 1) / (anchors[:, 1] * sy))
    t[..., 4] = np.log(np.where(obj, y_true[..., 4], 1) / (anchors[:, 0] * sx))
    t[..., 5:] = confidence * y_true[..., 5:]
    return t.astype("float32")


def test_perfect_prediction_leaves_only_the_irreducible_parts():
    y_true, _, _ = random_case(4)
    num_obj = y_true[..., 0].sum(axis=(1, 2, 3))
    num_noobj = np.prod(y_true.shape[1:4]) - num_obj
    c = 8.0
    y_pred = perfect_head(y_true, c)
    # Coordinates are exact: without the other terms the loss vanishes.
    coord_only = YoloLoss(
        ANCHORS, NUM_CLASSES, lambda_obj=0, lambda_noobj=0, lambda_class=0, reduction=None
    )
    np.testing.assert_allclose(coord_only(y_true, y_pred).numpy(), 0, atol=1e-9)
    # Finite logits leave softplus(-c) per anchor and log(1 + (K - 1) e^-c) per object.
    softplus = np.log1p(np.exp(-c))
    cross_entropy = np.log1p((NUM_CLASSES - 1) * np.exp(-c))
    expected = num_obj * (softplus + cross_entropy) + 0.5 * num_noobj * softplus
    got = YoloLoss(ANCHORS, NUM_CLASSES, reduction=None)(y_true, y_pred).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4)
    squared = YoloLoss(ANCHORS, NUM_CLASSES, objectness_loss="squared_error", reduction=None)
    expected = num_obj * (sigmoid(-c) ** 2 + cross_entropy) + 0.5 * num_noobj * sigmoid(-c) ** 2
    np.testing.assert_allclose(squared(y_true, y_pred).numpy(), expected, rtol=1e-4)


def test_images_without_objects_only_pay_the_no_object_term():
    rng = np.random.default_rng(5)
    y_true = np.zeros((2, 3, 3, 3, 8), "float32")
    y_pred = rng.normal(size=y_true.shape).astype("float32")
    loss = YoloLoss(ANCHORS, NUM_CLASSES, lambda_noobj=0.7, reduction=None)
    expected = 0.7 * np.log1p(np.exp(y_pred[..., 0].astype("float64"))).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(loss(y_true, y_pred).numpy(), expected, rtol=1e-5)
    changed = y_pred.copy()
    changed[..., 1:] = rng.normal(size=changed[..., 1:].shape) * 10
    np.testing.assert_allclose(loss(y_true, changed).numpy(), expected, rtol=1e-5)


def test_gradients_are_finite_and_only_where_the_terms_are():
    y_true, y_pred, _ = random_case(6)
    y_pred[0, 0, 0, 0, :] = [40, -40, 40, 30, -30, 50, -50, 0]  # saturated, large sizes
    y_pred[1, 1, 1, 1, :] = [-40, 40, -40, -30, 30, -50, 50, 0]
    for objectness_loss in ("binary_crossentropy", "squared_error"):
        loss = YoloLoss(ANCHORS, NUM_CLASSES, objectness_loss=objectness_loss, ignore_thresh=0.5)
        x = tf.constant(y_pred)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = loss(y_true, x)
        grad = tape.gradient(value, x).numpy()
        assert np.isfinite(value.numpy()) and np.all(np.isfinite(grad))
        empty = y_true[..., 0] == 0
        # Anchors without an object are only pushed on their objectness.
        assert np.all(grad[empty][:, 1:] == 0)
        assert np.all(np.abs(grad[~empty][:, 1:5]).sum(axis=-1) > 0)


def test_xla_matches_eager():
    y_true, y_pred, _ = random_case(7)
    loss = YoloLoss(ANCHORS, NUM_CLASSES, ignore_thresh=0.4)
    eager = loss(y_true, y_pred).numpy()
    compiled = tf.function(lambda a, b: loss(a, b), jit_compile=True)(y_true, y_pred).numpy()
    np.testing.assert_allclose(compiled, eager, rtol=1e-5)


def test_trains_a_model_and_survives_saving(tmp_path):
    y_true, y_pred, _ = random_case(8, batch=8)
    inputs = keras.Input(y_pred.shape[1:])
    model = keras.Model(inputs, keras.layers.Dense(8)(inputs))
    model.compile(keras.optimizers.Adam(0.01), loss=YoloLoss(ANCHORS, NUM_CLASSES))
    history = model.fit(y_pred, y_true, epochs=30, batch_size=4, verbose=0).history["loss"]
    assert history[-1] < 0.7 * history[0]
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.loss.get_config() == model.loss.get_config()
    np.testing.assert_allclose(
        loaded.evaluate(y_pred, y_true, verbose=0), model.evaluate(y_pred, y_true, verbose=0)
    )


def test_trained_head_decodes_to_the_targets():
    # YoloLoss and YoloDecoder share one convention: a head fitted to targets by the loss
    # decodes back to the target boxes and classes.
    boxes = np.array([[[0.1, 0.1, 0.4, 0.3], [0.5, 0.55, 0.9, 0.95]]])
    classes = np.array([[1, 2]])
    targets = encode_yolo_targets(boxes, classes, 3, ANCHORS, NUM_CLASSES)
    head = tf.Variable(tf.zeros((1, 3, 3, len(ANCHORS) * (5 + NUM_CLASSES))))
    loss = YoloLoss(ANCHORS, NUM_CLASSES)
    optimizer = keras.optimizers.Adam(0.1)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            value = loss(targets, head)
        optimizer.apply_gradients([(tape.gradient(value, head), head)])
        return value

    first = float(step())
    for _ in range(300):
        last = float(step())
    assert last < 0.01 * first
    out = YoloDecoder(ANCHORS, NUM_CLASSES, score_threshold=0.5)(head.numpy())
    out = {key: value.numpy() for key, value in out.items()}
    assert out["num_detections"].tolist() == [2]
    found = sorted(
        zip(out["detection_classes"][0, :2].tolist(), out["detection_boxes"][0, :2], strict=True)
    )
    assert [c for c, _ in found] == [1, 2]
    np.testing.assert_allclose([b for _, b in found], boxes[0], atol=0.02)


def test_one_class_has_no_class_term_and_no_warning():
    y_true = encode_yolo_targets([[0.2, 0.2, 0.5, 0.6]], [0], 2, ANCHORS, 1)[None]
    y_pred = np.random.default_rng(9).normal(size=y_true.shape).astype("float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = YoloLoss(ANCHORS, 1, reduction=None)(y_true, y_pred).numpy()
    np.testing.assert_allclose(got, reference_loss(y_true, y_pred), rtol=1e-5)


def test_config_round_trip():
    loss = YoloLoss(
        ANCHORS, 3, lambda_coord=2.0, objectness_loss="squared_error", ignore_thresh=0.6
    )
    config = loss.get_config()
    assert config["anchors"] == [list(a) for a in ANCHORS] and config["ignore_thresh"] == 0.6
    clone = YoloLoss.from_config(config)
    assert clone.get_config() == config
    assert keras.saving.get_registered_name(YoloLoss) == "kerasdl>YoloLoss"


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            {"anchors": [0.1, 0.2, 0.3]},
            ValueError,
            r"`anchors` must have shape \[A, 2\].*Received: anchors.shape=\(3,\)",
        ),
        ({"num_classes": 0}, ValueError, r"`num_classes` must be > 0"),
        ({"lambda_coord": -1}, ValueError, r"`lambda_coord` must be >= 0. Received: lambda_coord"),
        ({"lambda_noobj": "big"}, TypeError, r"`lambda_noobj` must be a number"),
        ({"objectness_loss": "focal"}, ValueError, r"`objectness_loss` must be one of"),
        ({"ignore_thresh": 1.5}, ValueError, r"`ignore_thresh` must be in \(0, 1\]"),
        ({"reduction": "median"}, ValueError, r"reduction"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        YoloLoss(**{"anchors": ANCHORS, "num_classes": 3, **kwargs})


def test_bad_shapes_are_named():
    y_true, y_pred, _ = random_case(10, grid=3)
    loss = YoloLoss(ANCHORS, NUM_CLASSES)
    with pytest.raises(ValueError, match=r"`y_true` must have shape \[B, Sy, Sx, A, 5 \+ K\] = "):
        loss(y_true[..., :7], y_pred[..., :7])
    with pytest.raises(
        ValueError, match=r"`y_pred` must have shape .*y_pred.shape=\(4, 3, 3, 23\)"
    ):
        loss(y_true, y_pred.reshape(4, 3, 3, 24)[..., :23])
    with pytest.raises(ValueError, match=r"`y_pred` must have the grid of `y_true`, \(3, 3\)"):
        loss(y_true, np.zeros((4, 2, 2, 3, 8), "float32"))
    with pytest.raises(ValueError, match=r"for A=2 anchors"):
        YoloLoss(ANCHORS[:2], NUM_CLASSES)(y_true, y_pred)
