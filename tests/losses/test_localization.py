"""LocalizationLoss against a numpy re-derivation of the notes' formula and its logistic /
softmax variants, "don't care" entries, reductions, gradients, XLA and the errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.data.detection import localization_target
from kerasdl.losses.localization import LocalizationLoss

K, L = 3, 2  # classes, landmarks


def reference_loss(y_true, y_pred, pc_loss="squared_error", class_loss="squared_error"):
    """One image at a time, in float64."""
    losses = []
    for y, p in zip(y_true.astype("float64"), y_pred.astype("float64"), strict=True):
        if pc_loss == "logistic":
            prob = 1 / (1 + np.exp(-p[0]))
            loss = -y[0] * np.log(prob) - (1 - y[0]) * np.log(1 - prob)
        else:
            loss = (p[0] - y[0]) ** 2
        if y[0] == 1:
            loss += np.sum((p[1:5] - y[1:5]) ** 2)
            if class_loss == "softmax":
                probs = np.exp(p[5 : 5 + K]) / np.exp(p[5 : 5 + K]).sum()
                loss += -np.sum(y[5 : 5 + K] * np.log(probs))
            else:
                loss += np.sum((p[5 : 5 + K] - y[5 : 5 + K]) ** 2)
            loss += np.sum((p[5 + K :] - y[5 + K :]) ** 2)
        losses.append(loss)
    return np.array(losses)


def targets(n=8, seed=0):
    rng = np.random.default_rng(seed)
    centre = rng.uniform(0.3, 0.7, (n, 2))
    size = rng.uniform(0.1, 0.5, (n, 2))
    boxes = np.concatenate([centre - size / 2, centre + size / 2], -1)
    classes = rng.integers(0, K, n)
    classes[::3] = -1  # background
    landmarks = rng.uniform(0, 1, (n, L, 2))
    return localization_target(boxes, classes, K, landmarks=landmarks)


@pytest.mark.parametrize("pc_loss", ["squared_error", "logistic"])
@pytest.mark.parametrize("class_loss", ["squared_error", "softmax"])
def test_matches_reference(pc_loss, class_loss):
    y_true = targets()
    y_pred = np.random.default_rng(1).normal(size=y_true.shape).astype("float32")
    loss = LocalizationLoss(K, L, pc_loss=pc_loss, class_loss=class_loss, reduction=None)
    expected = reference_loss(y_true, y_pred, pc_loss, class_loss)
    np.testing.assert_allclose(loss(y_true, y_pred).numpy(), expected, rtol=1e-5)


def test_default_is_the_notes_sum_of_squares():
    # pc = 1: (y^1 - y1)^2 + ... + (y^8 - y8)^2 ; pc = 0: (y^1 - y1)^2 only.
    y_true = np.array([[1, 0.5, 0.4, 0.3, 0.2, 0, 1, 0], [0, 0, 0, 0, 0, 0, 0, 0]], "float32")
    y_pred = np.array([[0.8, 0.6, 0.4, 0.1, 0.2, 0.1, 0.7, 0.0], [0.3, 5, 5, 5, 5, 5, 5, 5]])
    loss = LocalizationLoss(num_classes=3, reduction=None)
    expected = [np.sum((y_pred[0] - y_true[0]) ** 2), 0.3**2]
    np.testing.assert_allclose(loss(y_true, y_pred.astype("float32")).numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("pc_loss", ["squared_error", "logistic"])
def test_background_entries_do_not_matter(pc_loss):
    y_true = targets()
    rng = np.random.default_rng(2)
    y_pred = rng.normal(size=y_true.shape).astype("float32")
    loss = LocalizationLoss(K, L, pc_loss=pc_loss, class_loss="softmax", reduction=None)
    before = loss(y_true, y_pred).numpy()
    background = y_true[:, 0] == 0
    changed = y_pred.copy()
    changed[background, 1:] = rng.normal(size=changed[background, 1:].shape) * 100
    np.testing.assert_allclose(loss(y_true, changed).numpy(), before, rtol=1e-6)
    x = tf.constant(y_pred)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = loss(y_true, x)
    grad = tape.gradient(value, x).numpy()
    assert np.all(grad[background, 1:] == 0) and np.all(grad[background, 0] != 0)
    assert np.all(np.isfinite(grad))


def test_reductions_and_sample_weights():
    y_true = targets(4)
    y_pred = np.random.default_rng(3).normal(size=y_true.shape).astype("float32")
    per_image = reference_loss(y_true, y_pred)
    weights = np.array([0.5, 1.0, 0.0, 2.0])
    for reduction, plain, weighted in [
        ("sum_over_batch_size", per_image.mean(), (weights * per_image).mean()),
        ("sum", per_image.sum(), (weights * per_image).sum()),
    ]:
        loss = LocalizationLoss(K, L, reduction=reduction)
        np.testing.assert_allclose(float(loss(y_true, y_pred)), plain, rtol=1e-5)
        np.testing.assert_allclose(
            float(loss(y_true, y_pred, sample_weight=weights)), weighted, rtol=1e-5
        )


def test_logistic_is_stable_for_large_logits():
    y_true = np.array([[1, 0.5, 0.5, 0.2, 0.2, 1, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0]], "float32")
    y_pred = np.array([[-100, 0.5, 0.5, 0.2, 0.2, 100, 0, 0], [100, 0, 0, 0, 0, 0, 0, 0]])
    loss = LocalizationLoss(3, pc_loss="logistic", class_loss="softmax", reduction=None)
    np.testing.assert_allclose(loss(y_true, y_pred.astype("float32")).numpy(), [100, 100])


def test_xla_matches_eager_and_fits():
    y_true = targets(8)
    y_pred = np.random.default_rng(4).normal(size=y_true.shape).astype("float32")
    loss = LocalizationLoss(K, L, pc_loss="logistic", class_loss="softmax")
    compiled = tf.function(lambda a, b: loss(a, b), jit_compile=True)
    np.testing.assert_allclose(compiled(y_true, y_pred).numpy(), loss(y_true, y_pred).numpy())
    inputs = keras.Input(y_pred.shape[1:])
    model = keras.Model(inputs, keras.layers.Dense(y_true.shape[1])(inputs))
    model.compile(keras.optimizers.Adam(0.05), loss=loss, jit_compile=True)
    history = model.fit(y_pred, y_true, epochs=40, verbose=0).history["loss"]
    assert history[-1] < 0.5 * history[0]


def test_config_round_trip():
    loss = LocalizationLoss(4, num_landmarks=3, pc_loss="logistic", name="loc")
    config = loss.get_config()
    assert LocalizationLoss.from_config(config).get_config() == config
    assert config["num_landmarks"] == 3 and config["class_loss"] == "squared_error"
    assert keras.saving.get_registered_name(LocalizationLoss) == "kerasdl>LocalizationLoss"


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"num_classes": 0}, ValueError, r"`num_classes` must be > 0. Received: num_classes=0"),
        ({"num_landmarks": -1}, ValueError, r"`num_landmarks` must be >= 0"),
        ({"num_landmarks": 1.5}, TypeError, r"`num_landmarks` must be an int"),
        ({"pc_loss": "hinge"}, ValueError, r"`pc_loss` must be one of"),
        ({"class_loss": "sigmoid"}, ValueError, r"`class_loss` must be one of"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        LocalizationLoss(**{"num_classes": 3, **kwargs})


def test_bad_shapes_are_named():
    loss = LocalizationLoss(3, num_landmarks=1)
    with pytest.raises(
        ValueError, match=r"`y_true` must have shape \[B, 5 \+ K \+ 2L\] = \[B, 10\]"
    ):
        loss(np.zeros((2, 8), "float32"), np.zeros((2, 10), "float32"))
    with pytest.raises(ValueError, match=r"`y_pred` must have shape.*y_pred.shape=\(2, 3, 10\)"):
        loss(np.zeros((2, 10), "float32"), np.zeros((2, 3, 10), "float32"))
