"""BLEUEvaluation inside model.fit: a small copy model learns, the logged val_bleu is the
corpus BLEU of its own greedy outputs (checked with corpus_bleu on the ids as words),
History and CSVLogger receive it on the right epochs, datasets and config."""

import csv

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.callbacks.bleu import BLEUEvaluation
from kerasdl.metrics.bleu import corpus_bleu

VOCAB = 12
LENGTH = 8


def copy_task(n, seed):
    """Sequences of ids 3..11 with 0 padding; the target is the input (end id 2 appended
    inside the length when there is room)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(3, VOCAB, size=(n, LENGTH))
    lengths = rng.integers(4, LENGTH + 1, size=n)
    x[np.arange(LENGTH)[None, :] >= lengths[:, None]] = 0
    return x.astype("int32")


def make_model():
    inputs = keras.Input((LENGTH,), dtype="int32")
    h = keras.layers.Embedding(VOCAB, 16)(inputs)
    outputs = keras.layers.Dense(VOCAB)(h)
    model = keras.Model(inputs, outputs)
    model.compile(
        keras.optimizers.Adam(0.05),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


@keras.saving.register_keras_serializable(package="kerasdl_tests")
def greedy(model, inputs):
    return np.argmax(model.predict_on_batch(inputs), axis=-1)


def words(ids):
    return " ".join(str(t) for t in ids if t != 0)


def test_logs_val_bleu_of_the_models_own_outputs():
    keras.utils.set_random_seed(0)
    x_train, x_dev = copy_task(256, 0), copy_task(40, 1)
    model = make_model()
    callback = BLEUEvaluation(greedy, x_dev, references=x_dev, batch_size=16, every=2)
    history = model.fit(x_train, x_train, epochs=4, batch_size=64, verbose=0, callbacks=[callback])
    logged = history.history["val_bleu"]
    assert len(logged) == 2 and sorted(callback.scores) == [1, 3]
    # The last value is sacrebleu's corpus BLEU of what the trained model outputs now.
    decoded = greedy(model, x_dev)
    expected = corpus_bleu(
        [words(row) for row in decoded], [[words(row) for row in x_dev]], tokenize="none"
    )
    assert logged[-1] == pytest.approx(expected.score, abs=1e-9)
    assert callback.scores[3].counts == expected.counts
    assert logged[-1] > logged[0] - 1e-9 and logged[-1] > 50  # it learns to copy


def test_every_epoch_reaches_csv_logger(tmp_path):
    keras.utils.set_random_seed(1)
    x_train, x_dev = copy_task(64, 4), copy_task(16, 5)
    model = make_model()
    callback = BLEUEvaluation(greedy, x_dev, references=x_dev)
    csv_path = tmp_path / "log.csv"
    history = model.fit(
        x_train,
        x_train,
        epochs=2,
        batch_size=32,
        verbose=0,
        callbacks=[callback, keras.callbacks.CSVLogger(str(csv_path))],
    )
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    logged = [float(r["val_bleu"]) for r in rows]
    np.testing.assert_allclose(logged, history.history["val_bleu"], rtol=1e-12)
    assert len(logged) == 2


def test_dataset_several_references_and_end_id():
    x_dev = copy_task(24, 2)
    references = np.stack([x_dev, np.roll(x_dev, 1, axis=1)], axis=1)
    dataset = tf.data.Dataset.from_tensor_slices((x_dev, references)).batch(10)

    def decode(model, inputs):
        out = np.array(inputs)
        out[:, 5] = 2  # end: what follows is ignored
        return out

    callback = BLEUEvaluation(decode, dataset, end_id=2, smooth_method="floor")
    logs = {}
    callback.on_epoch_end(0, logs)
    hyps = [words(r[:5]) for r in x_dev]
    streams = [
        [words(r[k][: list(r[k]).index(2)] if 2 in r[k] else r[k]) for r in references]
        for k in range(2)
    ]
    expected = corpus_bleu(hyps, streams, tokenize="none", smooth_method="floor")
    assert logs["val_bleu"] == pytest.approx(expected.score, abs=1e-9)


def test_config_round_trip_and_errors():
    x_dev = copy_task(8, 3)
    callback = BLEUEvaluation(greedy, x_dev, x_dev, every=3, max_order=2, name="dev_bleu")
    config = callback.get_config()
    clone = BLEUEvaluation.from_config(config)
    assert clone.decode_fn is greedy
    assert clone.every == 3 and clone.metric.max_order == 2 and clone.name == "dev_bleu"
    with pytest.raises(TypeError, match=r"`decode_fn` must be a callable"):
        BLEUEvaluation("greedy", x_dev, x_dev)
    with pytest.raises(ValueError, match=r"`references` must hold the reference ids"):
        BLEUEvaluation(greedy, x_dev)
    with pytest.raises(ValueError, match=r"same number of examples.*references with 7"):
        BLEUEvaluation(greedy, x_dev, x_dev[:7])
    with pytest.raises(ValueError, match=r"`every` must be > 0"):
        BLEUEvaluation(greedy, x_dev, x_dev, every=0)
    dataset = tf.data.Dataset.from_tensor_slices((x_dev, x_dev)).batch(4)
    with pytest.raises(ValueError, match=r"`references` must be None when `inputs` is a"):
        BLEUEvaluation(greedy, dataset, x_dev)
