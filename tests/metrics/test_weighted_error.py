"""WeightedError against the notes' formula in numpy, streamed over batches, against
Keras' accuracy (all weights 1), inside fit/evaluate and under MirroredStrategy."""

import keras
import numpy as np
import pytest

from kerasdl.metrics.weighted_error import WeightedError
from tests.strategies import two_cpu_strategy


def reference(labels, predicted, weights):
    """(1 / sum w) * sum w[i] * [prediction != label]."""
    wrong = (np.asarray(labels) != np.asarray(predicted)).astype("float64")
    return float(np.sum(weights * wrong) / np.sum(weights))


def random_case(seed, n=40, classes=4):
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(n, classes)).astype("float32")
    labels = rng.integers(0, classes, size=n)
    weights = rng.choice([1.0, 10.0], size=n).astype("float32")
    return labels, scores, weights


def test_notes_example_porn_filter():
    # Ten dev images, 2 mistakes: one ordinary (w=1) and one pornographic (w=10).
    labels = np.zeros(10, "int64")
    scores = np.zeros((10, 2), "float32")
    scores[:, 0] = 1.0
    scores[[3, 7], 1] = 2.0
    weights = np.ones(10, "float32")
    weights[[7, 8]] = 10.0
    metric = WeightedError()
    metric.update_state(labels, scores, sample_weight=weights)
    assert float(metric.result()) == pytest.approx(11 / 28)


@pytest.mark.parametrize("seed", range(3))
def test_streaming_matches_reference(seed):
    labels, scores, weights = random_case(seed)
    metric = WeightedError()
    for start in range(0, len(labels), 16):
        part = slice(start, start + 16)
        metric.update_state(labels[part, None], scores[part], sample_weight=weights[part])
    expected = reference(labels, scores.argmax(-1), weights)
    np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-6)
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_unweighted_is_one_minus_keras_accuracy_and_one_hot_labels_agree():
    labels, scores, _ = random_case(4)
    accuracy = keras.metrics.SparseCategoricalAccuracy()
    accuracy.update_state(labels, scores)
    metric = WeightedError()
    metric.update_state(labels, scores)
    np.testing.assert_allclose(float(metric.result()), 1 - float(accuracy.result()), rtol=1e-6)
    one_hot = WeightedError()
    one_hot.update_state(np.eye(4)[labels], scores)
    assert float(one_hot.result()) == pytest.approx(float(metric.result()))


def test_binary_threshold():
    labels = np.array([1, 0, 1, 0, 1])
    probabilities = np.array([[0.6], [0.4], [0.3], [0.7], [0.55]], "float32")
    weights = np.array([1, 2, 3, 4, 5], "float32")
    metric = WeightedError(threshold=0.5)
    metric.update_state(labels, probabilities, weights)
    assert float(metric.result()) == pytest.approx(reference(labels, [1, 0, 0, 1, 1], weights))
    strict = WeightedError(threshold=0.58)
    strict.update_state(labels, probabilities, weights)
    assert float(strict.result()) == pytest.approx(reference(labels, [1, 0, 0, 1, 0], weights))


def evaluate_weighted(strategy):
    labels, scores, weights = random_case(9, n=48)
    with strategy.scope():
        inputs = keras.Input((4,))
        model = keras.Model(inputs, keras.layers.Identity()(inputs))
        model.compile(loss="mse", weighted_metrics=[WeightedError()])
    result = model.evaluate(
        scores,
        np.eye(4, dtype="float32")[labels],
        sample_weight=weights,
        batch_size=12,
        verbose=0,
        return_dict=True,
    )
    return result["weighted_error"], reference(labels, scores.argmax(-1), weights)


def test_evaluate_single_device_and_mirrored_match_reference():
    import tensorflow as tf

    single, expected = evaluate_weighted(tf.distribute.get_strategy())
    mirrored, _ = evaluate_weighted(two_cpu_strategy())
    np.testing.assert_allclose(single, expected, rtol=1e-6)
    np.testing.assert_allclose(mirrored, expected, rtol=1e-6)


def test_config_round_trip():
    metric = WeightedError(threshold=0.3, name="cost_weighted")
    clone = WeightedError.from_config(metric.get_config())
    assert clone.get_config() == metric.get_config()
