"""The triplet losses against loop-based numpy re-derivations of tensorflow-addons' rules
(semi-hard, hard), of "batch all" and of the notes' formula; edge cases (one class, all
labels distinct, ties), gradients, XLA, MirroredStrategy, label shapes, errors, config and
a large batch; the generic checks cover TripletPerAnchorSemiHardLoss too."""

import inspect
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.losses.triplet import (
    TripletBatchAllLoss,
    TripletHardLoss,
    TripletLoss,
    TripletSemiHardLoss,
    pairwise_distances,
)
from kerasdl.losses.triplet_per_anchor import TripletPerAnchorSemiHardLoss
from tests.losses.triplet_reference import reference_distances
from tests.strategies import two_cpu_strategy


@keras.saving.register_keras_serializable(package="kerasdl_tests")
def manhattan(embeddings):
    """A callable distance metric: the L1 distance matrix."""
    return keras.ops.sum(keras.ops.abs(embeddings[:, None, :] - embeddings[None, :, :]), axis=-1)


def reference_semihard(labels, x, margin=1.0, metric="L2"):
    return reference_semihard_from_distances(labels, reference_distances(x, metric), margin)


def reference_semihard_from_distances(labels, d, margin=1.0):
    """TFA's semi-hard rule on a distance matrix `d`, by loops over (A, P) and N."""
    b = len(labels)
    total, count = 0.0, 0
    for a in range(b):
        negs = [d[a, n] for n in range(b) if labels[n] != labels[a]]
        for p in range(b):
            if p == a or labels[p] != labels[a]:
                continue
            beyond = [v for v in negs if v > d[a, p]]
            if beyond:
                neg = min(beyond)
            elif negs:
                neg = max(negs)
            else:
                neg = min(d[a])  # TFA: the row minimum when there is no negative
            total += max(d[a, p] - neg + margin, 0)
            count += 1
    return total / count if count else 0.0


def reference_hard(labels, x, margin=1.0, soft=False, metric="L2"):
    d = reference_distances(x, metric)
    b = len(labels)
    losses = []
    for a in range(b):
        pos = [d[a, p] for p in range(b) if p != a and labels[p] == labels[a]]
        neg = [d[a, n] for n in range(b) if labels[n] != labels[a]]
        hp = max(pos) if pos else min(d[a])
        hn = min(neg) if neg else max(d[a])
        losses.append(np.log1p(np.exp(hp - hn)) if soft else max(hp - hn + margin, 0))
    return float(np.mean(losses))


def reference_batch_all(labels, x, margin=1.0, metric="L2"):
    d = reference_distances(x, metric)
    b = len(labels)
    total, active = 0.0, 0
    for a in range(b):
        for p in range(b):
            if p == a or labels[p] != labels[a]:
                continue
            for n in range(b):
                if labels[n] == labels[a]:
                    continue
                loss = max(d[a, p] - d[a, n] + margin, 0)
                if loss > 0:
                    total += loss
                    active += 1
    return total / active if active else 0.0


def reference_triplet(triplets, margin):
    losses = []
    for a, p, n in np.asarray(triplets, np.float64):
        losses.append(max(np.sum((a - p) ** 2) - np.sum((a - n) ** 2) + margin, 0))
    return float(np.mean(losses))


def batch(seed, size, dim=6, classes=4, dtype="float32"):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=size)
    x = rng.normal(size=(size, dim)).astype(dtype)
    return labels, x


METRICS = ["L2", "squared-L2", "angular", manhattan]


def metric_id(metric):
    return metric if isinstance(metric, str) else "callable"


@pytest.mark.parametrize("metric", METRICS, ids=metric_id)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("seed,size", [(0, 8), (1, 17), (2, 32)])
def test_mined_losses_match_reference(metric, dtype, seed, size):
    labels, x = batch(seed, size, dtype=dtype)
    ref_metric = metric if isinstance(metric, str) else "L1"
    tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == "float32" else {"rtol": 1e-9, "atol": 1e-10}
    margin = 0.7 if metric in ("angular",) else 1.0
    got = TripletSemiHardLoss(margin, distance_metric=metric, dtype=dtype)(labels, x)
    assert got.dtype == dtype
    np.testing.assert_allclose(float(got), reference_semihard(labels, x, margin, ref_metric), **tol)
    for soft in (False, True):
        got = TripletHardLoss(margin, soft=soft, distance_metric=metric, dtype=dtype)(labels, x)
        np.testing.assert_allclose(
            float(got), reference_hard(labels, x, margin, soft, ref_metric), **tol
        )
    got = TripletBatchAllLoss(margin, distance_metric=metric, dtype=dtype)(labels, x)
    np.testing.assert_allclose(
        float(got), reference_batch_all(labels, x, margin, ref_metric), **tol
    )


def test_semihard_uses_the_fallback_and_a_nontrivial_choice():
    """The random batches exercise both branches of the semi-hard choice."""
    labels, x = batch(0, 16)
    d = reference_distances(x, "L2")
    found = fallback = 0
    for a in range(16):
        negs = d[a][labels != labels[a]]
        for p in range(16):
            if p != a and labels[p] == labels[a]:
                if np.any(negs > d[a, p]):
                    found += 1
                else:
                    fallback += 1
    assert found > 0 and fallback > 0


@pytest.mark.parametrize("seed", [0, 1])
def test_triplet_loss_matches_notes_formula(seed):
    rng = np.random.default_rng(seed)
    triplets = rng.normal(size=(12, 3, 5)).astype("float32") * 0.5
    for margin in (0.2, 1.0, 3.0):
        got = float(TripletLoss(margin)(np.zeros(12), triplets))
        np.testing.assert_allclose(got, reference_triplet(triplets, margin), rtol=1e-5)


def test_one_class_batch():
    """No negative: semi-hard = alpha + mean positive distance; hard = alpha + mean
    farthest positive - row max = alpha; batch all = 0 (no valid triplet)."""
    _, x = batch(3, 8)
    labels = np.zeros(8, "int32")
    d = reference_distances(x, "L2")
    semi = float(TripletSemiHardLoss(margin=0.5)(labels, x))
    np.testing.assert_allclose(semi, 0.5 + d.sum() / (8 * 7), rtol=1e-5)
    np.testing.assert_allclose(semi, reference_semihard(labels, x, 0.5), rtol=1e-5)
    hard = float(TripletHardLoss(margin=0.5)(labels, x))
    np.testing.assert_allclose(hard, 0.5, rtol=1e-5)
    assert float(TripletBatchAllLoss()(labels, x)) == 0.0


def test_all_labels_distinct():
    """No positive pair: semi-hard and batch all give 0 (TFA: NaN); hard keeps TFA's mean
    over anchors of max(0 - nearest negative + alpha, 0)."""
    labels, x = np.arange(8), batch(4, 8)[1]
    assert float(TripletSemiHardLoss()(labels, x)) == 0.0
    assert float(TripletBatchAllLoss()(labels, x)) == 0.0
    hard = float(TripletHardLoss(margin=5.0)(labels, x))
    assert np.isfinite(hard)
    np.testing.assert_allclose(hard, reference_hard(labels, x, 5.0), rtol=1e-5)


def test_soft_hard_loss_does_not_overflow():
    labels = np.array([0, 0, 1, 1])
    x = np.array([[0.0], [200.0], [0.5], [300.0]], "float32")
    got = float(TripletHardLoss(soft=True)(labels, x))
    assert np.isfinite(got)
    np.testing.assert_allclose(got, np.mean([199.5, 100.0, 299.0, 199.5]), rtol=1e-6)
    # TFA's log1p(exp(299)) is inf in float32.


LOSSES = [
    lambda: TripletSemiHardLoss(),
    lambda: TripletSemiHardLoss(distance_metric="angular"),
    lambda: TripletHardLoss(),
    lambda: TripletHardLoss(soft=True, distance_metric="squared-L2"),
    lambda: TripletBatchAllLoss(),
    lambda: TripletPerAnchorSemiHardLoss(),
    lambda: TripletPerAnchorSemiHardLoss(soft=True, distance_metric="angular"),
]


@pytest.mark.parametrize("make", LOSSES)
def test_gradients_finite_with_duplicate_embeddings(make):
    labels, x = batch(5, 10)
    x[1] = x[0]  # identical embeddings: the distance's sqrt is at 0
    x = tf.Variable(x)
    with tf.GradientTape() as tape:
        loss = make()(labels, x)
    grad = tape.gradient(loss, x)
    assert np.all(np.isfinite(grad.numpy()))
    assert np.any(grad.numpy() != 0)


@pytest.mark.parametrize("make", LOSSES)
def test_jit_equals_eager(make):
    labels, x = batch(6, 16)
    loss = make()
    eager = float(loss(labels, x))
    jitted = tf.function(lambda y, e: loss(y, e), jit_compile=True)
    np.testing.assert_allclose(float(jitted(labels, x)), eager, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", LOSSES)
def test_label_shapes_and_dtypes(make):
    labels, x = batch(7, 12)
    loss = make()
    expected = float(loss(labels, x))
    for y in (labels[:, None], labels.astype("float32"), labels.astype("float32")[:, None]):
        np.testing.assert_allclose(float(loss(y, x)), expected, rtol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fit_trains_embeddings(seed):
    # Seeded initial weights: the test must not depend on what ran before it.
    keras.utils.set_random_seed(seed)
    labels, x = batch(8, 16)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4)])
    model.compile(optimizer=keras.optimizers.SGD(0.2), loss=TripletSemiHardLoss())
    history = model.fit(x, labels[:, None], batch_size=16, epochs=30, verbose=0)
    losses = history.history["loss"]
    # Mining changes the chosen negatives from step to step, so compare averages.
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])


MINED = [TripletSemiHardLoss, TripletHardLoss, TripletBatchAllLoss, TripletPerAnchorSemiHardLoss]


@pytest.mark.parametrize("cls", [*MINED, TripletLoss])
def test_bad_margin(cls):
    with pytest.raises(ValueError, match=r"`margin` must be >= 0. Received: margin=-0.1"):
        cls(margin=-0.1)
    with pytest.raises(TypeError, match=r"`margin` must be a number"):
        cls(margin="1")


@pytest.mark.parametrize("cls", MINED)
def test_bad_arguments_and_inputs(cls):
    with pytest.raises(ValueError, match=r"`distance_metric` must be one of .*'cosine'"):
        cls(distance_metric="cosine")
    with pytest.raises(TypeError, match=r"`distance_metric` must be one of"):
        cls(distance_metric=3)
    loss = cls()
    with pytest.raises(
        ValueError,
        match=r"`y_pred` \(the embeddings\) must have rank 2.*"
        r"Received: y_pred.shape=\(4, 2, 3\)",
    ):
        loss(np.zeros(4), np.zeros((4, 2, 3), "float32"))
    with pytest.raises(
        ValueError,
        match=r"`y_true` \(the labels\) must have the batch size"
        r".*B=4. Received: y_true.shape=\(5,\)",
    ):
        loss(np.zeros(5), np.zeros((4, 3), "float32"))
    with pytest.raises(ValueError, match=r"`y_true` \(the labels\) must have shape \[B\] or"):
        loss(np.zeros((4, 2)), np.zeros((4, 3), "float32"))


def test_bad_soft_and_triplet_loss_bad_input():
    for cls in (TripletHardLoss, TripletPerAnchorSemiHardLoss):
        with pytest.raises(TypeError, match=r"`soft` must be a bool. Received: soft=1"):
            cls(soft=1)
    with pytest.raises(ValueError, match=r"`y_pred` must have shape \[B, 3, D\].*\(4, 2, 3\)"):
        TripletLoss()(np.zeros(4), np.zeros((4, 2, 3), "float32"))


@pytest.mark.parametrize(
    "loss",
    [
        TripletSemiHardLoss(margin=0.3, distance_metric="angular"),
        TripletSemiHardLoss(distance_metric=manhattan),
        TripletHardLoss(margin=0.5, soft=True, distance_metric="squared-L2"),
        TripletBatchAllLoss(margin=2.0, dtype="float64"),
        TripletLoss(margin=0.4),
        TripletPerAnchorSemiHardLoss(margin=0.3, soft=True, distance_metric="angular"),
        TripletPerAnchorSemiHardLoss(distance_metric=manhattan, dtype="float64"),
    ],
    ids=[
        "semihard",
        "semihard-callable",
        "hard",
        "batch-all",
        "explicit",
        "per-anchor",
        "per-anchor-callable",
    ],
)
def test_config_round_trip(loss):
    config = loss.get_config()
    assert config["dtype"] == loss.dtype
    assert set(inspect.signature(type(loss)).parameters) == set(config)
    clone = type(loss).from_config(config)
    assert clone.get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert restored.get_config() == config
    if isinstance(loss, TripletLoss):
        y = np.random.default_rng(0).normal(size=(6, 3, 4)).astype("float32")
    else:
        y = batch(9, 12)[1]
    labels = np.zeros(len(y)) if isinstance(loss, TripletLoss) else batch(9, 12)[0]
    np.testing.assert_allclose(float(restored(labels, y)), float(loss(labels, y)), rtol=1e-6)


# `keras.saving.serialize_keras_object` of each loss as saved before the losses shared a
# base class for the `soft` argument: .keras files hold these in their compile config.
SAVED_CONFIGS = [
    {
        "module": "kerasdl.losses.triplet",
        "class_name": "TripletSemiHardLoss",
        "config": {
            "name": "triplet_semihard_loss",
            "reduction": "sum_over_batch_size",
            "margin": 0.3,
            "distance_metric": "angular",
            "dtype": "float32",
        },
        "registered_name": "kerasdl>TripletSemiHardLoss",
    },
    {
        "module": "kerasdl.losses.triplet",
        "class_name": "TripletHardLoss",
        "config": {
            "name": "triplet_hard_loss",
            "reduction": "sum_over_batch_size",
            "margin": 0.5,
            "distance_metric": "squared-L2",
            "dtype": "float32",
            "soft": True,
        },
        "registered_name": "kerasdl>TripletHardLoss",
    },
    {
        "module": "kerasdl.losses.triplet",
        "class_name": "TripletBatchAllLoss",
        "config": {
            "name": "triplet_batch_all_loss",
            "reduction": "sum_over_batch_size",
            "margin": 2.0,
            "distance_metric": "L2",
            "dtype": "float64",
        },
        "registered_name": "kerasdl>TripletBatchAllLoss",
    },
    {
        "module": "kerasdl.losses.triplet",
        "class_name": "TripletLoss",
        "config": {
            "name": "triplet_loss",
            "reduction": "sum_over_batch_size",
            "margin": 0.4,
            "dtype": "float32",
        },
        "registered_name": "kerasdl>TripletLoss",
    },
    {
        "module": "kerasdl.losses.triplet_per_anchor",
        "class_name": "TripletPerAnchorSemiHardLoss",
        "config": {
            "name": "triplet_per_anchor_semihard_loss",
            "reduction": "sum_over_batch_size",
            "margin": 0.7,
            "distance_metric": "L2",
            "dtype": "float32",
            "soft": True,
        },
        "registered_name": "kerasdl>TripletPerAnchorSemiHardLoss",
    },
]
SAVED_EQUIVALENTS = [
    lambda: TripletSemiHardLoss(margin=0.3, distance_metric="angular"),
    lambda: TripletHardLoss(margin=0.5, soft=True, distance_metric="squared-L2"),
    lambda: TripletBatchAllLoss(margin=2.0, dtype="float64"),
    lambda: TripletLoss(margin=0.4),
    lambda: TripletPerAnchorSemiHardLoss(margin=0.7, soft=True),
]


@pytest.mark.parametrize("saved,make", zip(SAVED_CONFIGS, SAVED_EQUIVALENTS, strict=True))
def test_configs_saved_before_still_load(saved, make):
    restored = keras.saving.deserialize_keras_object(saved)
    loss = make()
    assert type(restored) is type(loss)
    assert restored.get_config() == saved["config"] == loss.get_config()
    if isinstance(loss, TripletLoss):
        labels, y = np.zeros(6), np.random.default_rng(0).normal(size=(6, 3, 4))
    else:
        labels, y = batch(9, 12)
    np.testing.assert_allclose(float(restored(labels, y)), float(loss(labels, y)), rtol=1e-6)


def test_pairwise_distances_zero_diagonal_and_symmetric():
    x = batch(10, 9)[1]
    for metric in ("L2", "squared-L2", "angular"):
        d = pairwise_distances(keras.ops.convert_to_tensor(x), metric).numpy()
        np.testing.assert_allclose(d, reference_distances(x, metric), rtol=1e-4, atol=1e-5)
        assert np.all(np.diag(d) == 0)


def test_semihard_large_batch_runs():
    """B = 2048, D = 128: O(B^2) memory (a [B^2, B] tensor would be 32 GiB)."""
    rng = np.random.default_rng(11)
    labels = rng.integers(0, 200, size=2048)
    x = rng.normal(size=(2048, 128)).astype("float32")
    start = time.perf_counter()
    value = float(TripletSemiHardLoss()(labels, x))
    assert np.isfinite(value) and value > 0
    assert time.perf_counter() - start < 20


def test_semihard_negative_is_strictly_farther_than_the_positive():
    """d(0, 2) == d(0, 1) == 1: the tie is not semi-hard, so anchor 0 takes the negative
    at 3 (loss 0, not 1); anchors 2 and 3 fall back to their farthest negative."""
    labels = np.array([0, 0, 1, 1])
    x = np.array([[0.0], [1.0], [-1.0], [3.0]], "float32")
    expected = (0 + 0 + (4 - 2 + 1) + (4 - 3 + 1)) / 4
    assert reference_semihard(labels, x) == expected
    assert float(TripletSemiHardLoss()(labels, x)) == expected


@keras.saving.register_keras_serializable(package="kerasdl_tests")
def signed_products(embeddings):
    """A callable "distance" `x_i[0] * x_j[1]` with negative entries, 0.0 and -0.0: the
    semi-hard order must follow the floats, not their bit patterns."""
    return embeddings[:, :1] * keras.ops.transpose(embeddings[:, 1:2])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mode", ["eager", "graph", "xla"])
@pytest.mark.parametrize("seed", [0, 1])
def test_semihard_ties_in_every_mode(seed, mode, dtype):
    """Small integer coordinates: many negatives exactly as far as a positive, duplicates
    at distance 0, classes of one to many; equal to the reference in eager, graph and
    XLA, float32 and float64, also for a callable with negative values."""
    rng = np.random.default_rng(seed)
    size = int(rng.integers(20, 40))
    labels = rng.integers(0, int(rng.integers(2, 6)), size=size)
    x = rng.integers(-2, 3, size=(size, 2)).astype(dtype)
    x[(x == 0) & (rng.random(x.shape) < 0.5)] = -0.0
    cases = [("squared-L2", "squared-L2"), ("L1", manhattan), ("L2", "L2")]
    for ref_metric, metric in cases:
        loss = TripletSemiHardLoss(distance_metric=metric, dtype=dtype)
        call = loss if mode == "eager" else tf.function(loss.__call__, jit_compile=mode == "xla")
        want = reference_semihard(labels, x, 1.0, ref_metric)
        np.testing.assert_allclose(float(call(labels, x)), want, rtol=1e-6, atol=1e-6)
    d = x[:, :1].astype(np.float64) * x[:, 1].astype(np.float64)
    assert np.any(np.signbit(d[d == 0])) and not np.all(np.signbit(d[d == 0]))
    loss = TripletSemiHardLoss(distance_metric=signed_products, dtype=dtype)
    call = loss if mode == "eager" else tf.function(loss.__call__, jit_compile=mode == "xla")
    want = reference_semihard_from_distances(labels, d)
    np.testing.assert_allclose(float(call(labels, x)), want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("make", LOSSES)
def test_mirrored_training_matches_one_device(make):
    """Two replicas each see half the batch; the mined losses gather the global batch, so
    the loss, the trained weights and the reported losses equal one device's."""
    labels, x = batch(12, 8)
    labels = labels[:, None].astype("float32")

    def train(strategy):
        with strategy.scope():
            model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4)])
            model.set_weights([np.eye(6, 4, dtype="float32"), np.zeros(4, "float32")])
            model.compile(optimizer=keras.optimizers.SGD(0.05), loss=make())
        history = model.fit(x, labels, batch_size=8, epochs=2, shuffle=False, verbose=0)
        return history.history["loss"], model.get_weights()

    one_losses, one_weights = train(tf.distribute.get_strategy())
    two_losses, two_weights = train(two_cpu_strategy())
    np.testing.assert_allclose(two_losses, one_losses, rtol=1e-5, atol=1e-6)
    for a, b in zip(two_weights, one_weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
