"""Error analysis counts and ceilings against hand counts, for every way of tagging
(function, mapping table, boolean array, pandas); markdown, CSV and the bar chart; the
misclassification error helpers against numpy; learning curves on real digits."""

import csv
import io

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.diagnostics.curves import learning_curve, plot_learning_curves
from kerasdl.diagnostics.error_analysis import error_analysis
from kerasdl.diagnostics.errors import (
    misclassification_error,
    misclassified,
    model_error,
    predict_with_labels,
)


def notes_case():
    """The notes' spreadsheet: 100 dev errors looked at, dev error 10%."""
    errors = [{"dog"}] * 8 + [{"great cat", "blurry"}] * 12 + [{"great cat"}] * 31
    errors += [{"blurry"}] * 49
    return errors  # 100 errors: dog 8, great cat 43, blurry 61


def test_counts_fractions_and_ceilings_by_hand():
    result = error_analysis(notes_case(), lambda e: e, dev_error=0.10)
    assert result.categories == ("blurry", "great cat", "dog")
    np.testing.assert_array_equal(result.counts, [61, 43, 8])
    np.testing.assert_allclose(result.fractions, [0.61, 0.43, 0.08])
    # Fixing all dogs brings dev error from 10% to 9.2% at best.
    np.testing.assert_allclose(result.ceilings, [0.061, 0.043, 0.008])
    assert result.rows()[2]["dev_error_if_fixed"] == pytest.approx(0.092)
    assert result.n_errors == 100


def test_table_forms_agree():
    errors = notes_case()
    names = ["dog", "great cat", "blurry", "incorrectly labeled"]
    table = np.array([[name in e for name in names] for e in errors])
    by_function = error_analysis(errors, lambda e: e, categories=names)
    by_array = error_analysis(100, table, categories=names)
    by_mapping = error_analysis(100, {n: table[:, i] for i, n in enumerate(names)})
    for result in (by_array, by_mapping):
        assert result.categories == by_function.categories
        np.testing.assert_array_equal(result.counts, by_function.counts)
    assert by_function.categories[-1] == "incorrectly labeled"
    assert by_function.counts[-1] == 0
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame(table, columns=names)
    np.testing.assert_array_equal(error_analysis(100, frame).counts, by_function.counts)


def test_markdown_csv_and_plot(tmp_path):
    result = error_analysis(notes_case(), lambda e: sorted(e), dev_error=0.10)
    text = result.to_markdown()
    assert "| blurry | 61 | 61.0% | 6.10% | 3.90% |" in text
    assert "100 errors looked at; dev error 10.00%." in text
    csv_text = result.to_csv(tmp_path / "errors.csv")
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert rows[1]["category"] == "great cat" and rows[1]["count"] == "43"
    assert (tmp_path / "errors.csv").read_bytes().decode() == csv_text
    path = result.plot(tmp_path / "errors.png")
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_bad_tags():
    with pytest.raises(ValueError, match=r"`tags` must tag each of the 5 errors"):
        error_analysis(5, {"dog": [1, 0, 1]})
    with pytest.raises(ValueError, match=r"`categories` must name the 2 columns"):
        error_analysis(3, np.zeros((3, 2), bool))
    with pytest.raises(ValueError, match=r"categories missing from `categories`: \['cat'\]"):
        error_analysis(["a"], lambda e: ["cat"], categories=["dog"])
    with pytest.raises(TypeError, match=r"`errors` must be the examples themselves"):
        error_analysis(3, lambda e: [])


def test_misclassification_error_against_numpy():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(50, 4))
    labels = rng.integers(0, 4, size=50)
    weights = rng.uniform(0, 3, size=50)
    wrong = scores.argmax(1) != labels
    assert misclassification_error(labels, scores) == pytest.approx(wrong.mean())
    assert misclassification_error(labels, scores, weights) == pytest.approx(
        (weights * wrong).sum() / weights.sum()
    )
    np.testing.assert_array_equal(misclassified(np.eye(4)[labels], scores), wrong)
    probabilities = rng.uniform(size=(50, 1))
    binary = rng.integers(0, 2, size=50)
    assert misclassification_error(binary, probabilities, threshold=0.3) == pytest.approx(
        np.mean((probabilities[:, 0] > 0.3) != binary)
    )


def test_model_error_on_arrays_and_shuffled_dataset():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 3)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    y = rng.integers(0, 2, size=64)
    expected = np.mean(model.predict(x, verbose=0).argmax(1) != y)
    assert model_error(model, (x, y)) == pytest.approx(expected)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(64, seed=0).batch(10)
    assert model_error(model, dataset) == pytest.approx(expected)
    labels, predictions, weights = predict_with_labels(model, dataset)
    assert labels.shape == (64,) and predictions.shape == (64, 2) and weights is None


def test_learning_curve_on_digits(tmp_path):
    from kerasdl.data.digits import load_digits_images

    keras.utils.set_random_seed(0)
    (x, y), (x_dev, y_dev) = load_digits_images()
    x, x_dev = x.reshape(len(x), -1), x_dev.reshape(len(x_dev), -1)

    def make_model():
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10)])
        model.compile(
            keras.optimizers.Adam(0.05),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        return model

    curve = learning_curve(
        make_model, (x, y), (x_dev, y_dev), [20, 1000], {"epochs": 15, "batch_size": 64}
    )
    assert curve.dev_errors[1] < curve.dev_errors[0] - 0.1
    assert curve.train_errors[0] <= 0.05
    curve.plot(tmp_path / "curve.png", human_level_error=0.01)
    history = {"train_error": [0.3, 0.1], "dev_error": [0.35, 0.2], "variance": [0.05, 0.1]}
    plot_learning_curves(history, tmp_path / "epochs.png", human_level_error=0.01)
    for name in ("curve.png", "epochs.png"):
        with open(tmp_path / name, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match=r"`sizes` must be positive counts <= 1437"):
        learning_curve(make_model, (x, y), (x_dev, y_dev), [5000])
