"""TripletPerAnchorSemiHardLoss against a loop-based numpy re-derivation of TensorFlow
Similarity's per-anchor rule (hardest positive, closest negative beyond it, else the
farthest negative), on known answers and random batches; how it differs from the
tensorflow-addons rule; edge cases and training. Gradients, XLA, MirroredStrategy, label
shapes, errors and config are checked with the other mined losses in test_triplet.py."""

import keras
import numpy as np
import pytest

from kerasdl.losses.triplet import TripletSemiHardLoss
from kerasdl.losses.triplet_per_anchor import TripletPerAnchorSemiHardLoss
from tests.losses.triplet_reference import reference_distances


@keras.saving.register_keras_serializable(package="kerasdl_tests")
def chebyshev(embeddings):
    """A callable distance metric: the L-infinity distance matrix."""
    return keras.ops.max(keras.ops.abs(embeddings[:, None, :] - embeddings[None, :, :]), axis=-1)


def reference_per_anchor(labels, x, margin=1.0, soft=False, metric="L2"):
    """One triplet per anchor: TF Similarity's positive 'hard', negative 'semi-hard'."""
    d = reference_distances(x, metric)
    losses = []
    for a in range(len(labels)):
        pos = [d[a, p] for p in range(len(labels)) if p != a and labels[p] == labels[a]]
        neg = [d[a, n] for n in range(len(labels)) if labels[n] != labels[a]]
        hardest = max(pos) if pos else min(d[a])
        beyond = [v for v in neg if v > hardest]
        if beyond:
            negative = min(beyond)
        elif neg:
            negative = max(neg)
        else:
            negative = max(d[a])
        gap = hardest - negative
        losses.append(np.log1p(np.exp(gap)) if soft else max(gap + margin, 0))
    return float(np.mean(losses))


def batch(seed, size, dim=5, classes=4, dtype="float32"):
    rng = np.random.default_rng(seed)
    return rng.integers(0, classes, size=size), rng.normal(size=(size, dim)).astype(dtype)


METRICS = ["L2", "squared-L2", "angular", chebyshev]


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m if isinstance(m, str) else "callable")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("seed,size", [(0, 8), (1, 17), (2, 32)])
def test_matches_reference(metric, dtype, seed, size):
    labels, x = batch(seed, size, dtype=dtype)
    ref_metric = metric if isinstance(metric, str) else "Linf"
    tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == "float32" else {"rtol": 1e-9, "atol": 1e-10}
    for margin, soft in ((1.0, False), (0.3, False), (1.0, True)):
        loss = TripletPerAnchorSemiHardLoss(margin, soft=soft, distance_metric=metric, dtype=dtype)
        got = loss(labels, x)
        assert got.dtype == dtype
        np.testing.assert_allclose(
            float(got), reference_per_anchor(labels, x, margin, soft, ref_metric), **tol
        )


# tensorflow-similarity 0.17.1 (TF 2.15): `tfsim.losses.TripletLoss(distance, margin)`
# with its default mining (positive "hard", negative "semi-hard") on the batches of
# `batch(seed, size, classes=classes)`, unit-normalised for "cosine" (here "angular");
# rows: (seed, size, classes, distance_metric, margin (None: soft margin), loss).
TF_SIMILARITY_VALUES = [
    (0, 8, 4, "angular", 1.0, 0.7507705092430115),
    (0, 8, 4, "angular", 0.3, 0.14014112949371338),
    (0, 8, 4, "angular", None, 0.5836621522903442),
    (0, 8, 4, "L2", 1.0, 0.6894554495811462),
    (0, 8, 4, "L2", 0.3, 0.13193640112876892),
    (0, 8, 4, "L2", None, 0.5351853370666504),
    (0, 8, 4, "squared-L2", 1.0, 0.4861002564430237),
    (0, 8, 4, "squared-L2", 0.3, 0.25342220067977905),
    (0, 8, 4, "squared-L2", None, 0.42741644382476807),
    (1, 17, 4, "angular", 1.0, 0.993146538734436),
    (1, 17, 4, "angular", 0.3, 0.2931465804576874),
    (1, 17, 4, "angular", None, 0.6928088665008545),
    (1, 17, 4, "L2", 1.0, 0.6744562387466431),
    (1, 17, 4, "L2", 0.3, 0.2001279890537262),
    (1, 17, 4, "L2", None, 0.5663988590240479),
    (1, 17, 4, "squared-L2", 1.0, 0.9436572790145874),
    (1, 17, 4, "squared-L2", 0.3, 0.7218306660652161),
    (1, 17, 4, "squared-L2", None, 0.859501838684082),
    (2, 32, 4, "angular", 1.0, 0.9223925471305847),
    (2, 32, 4, "angular", 0.3, 0.22333812713623047),
    (2, 32, 4, "angular", None, 0.6566177010536194),
    (2, 32, 4, "L2", 1.0, 0.8684350252151489),
    (2, 32, 4, "L2", 0.3, 0.22468392550945282),
    (2, 32, 4, "L2", None, 0.6425368189811707),
    (2, 32, 4, "squared-L2", 1.0, 0.8654581308364868),
    (2, 32, 4, "squared-L2", 0.3, 0.5366048216819763),
    (2, 32, 4, "squared-L2", None, 0.7837579250335693),
    (3, 64, 8, "angular", 1.0, 0.9766755700111389),
    (3, 64, 8, "angular", 0.3, 0.27667561173439026),
    (3, 64, 8, "angular", None, 0.6818795204162598),
    (3, 64, 8, "L2", 1.0, 0.9522318840026855),
    (3, 64, 8, "L2", 0.3, 0.26810222864151),
    (3, 64, 8, "L2", None, 0.6743254065513611),
    (3, 64, 8, "squared-L2", 1.0, 0.9422937631607056),
    (3, 64, 8, "squared-L2", 0.3, 0.4367727041244507),
    (3, 64, 8, "squared-L2", None, 0.7628847360610962),
    (4, 24, 3, "angular", 1.0, 1.0775340795516968),
    (4, 24, 3, "angular", 0.3, 0.37753406167030334),
    (4, 24, 3, "angular", None, 0.7361971735954285),
    (4, 24, 3, "L2", 1.0, 1.0002961158752441),
    (4, 24, 3, "L2", 0.3, 0.3183993995189667),
    (4, 24, 3, "L2", None, 0.707000732421875),
    (4, 24, 3, "squared-L2", 1.0, 1.6437538862228394),
    (4, 24, 3, "squared-L2", 0.3, 1.2515292167663574),
    (4, 24, 3, "squared-L2", None, 1.3753576278686523),
    (5, 12, 6, "angular", 1.0, 0.9716517329216003),
    (5, 12, 6, "angular", 0.3, 0.2716517150402069),
    (5, 12, 6, "angular", None, 0.6896002888679504),
    (5, 12, 6, "L2", 1.0, 0.8792905807495117),
    (5, 12, 6, "L2", 0.3, 0.2491600513458252),
    (5, 12, 6, "L2", None, 0.6419034600257874),
    (5, 12, 6, "squared-L2", 1.0, 0.9567349553108215),
    (5, 12, 6, "squared-L2", 0.3, 0.607511043548584),
    (5, 12, 6, "squared-L2", None, 0.8436295390129089),
]


@pytest.mark.parametrize("seed,size,classes,metric,margin,expected", TF_SIMILARITY_VALUES)
def test_matches_tensorflow_similarity(seed, size, classes, metric, margin, expected):
    labels, x = batch(seed, size, classes=classes)
    if metric == "angular":
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
    soft = margin is None
    loss = TripletPerAnchorSemiHardLoss(1.0 if soft else margin, soft=soft, distance_metric=metric)
    np.testing.assert_allclose(float(loss(labels, x)), expected, rtol=1e-4, atol=1e-6)


def test_random_batches_use_both_branches_of_the_choice():
    labels, x = batch(0, 16)
    d = reference_distances(x, "L2")
    beyond = fallback = 0
    for a in range(16):
        pos = d[a][(labels == labels[a]) & (np.arange(16) != a)]
        neg = d[a][labels != labels[a]]
        if np.any(neg > pos.max(initial=0)):
            beyond += 1
        else:
            fallback += 1
    assert beyond > 0 and fallback > 0


def test_known_answers():
    """Hand-computed on a line: anchors 0..3 of labels (0, 0, 0, 1)."""
    labels = np.array([0, 0, 0, 1])
    x = np.array([[0.0], [1.0], [3.0], [2.0]], "float32")
    # d+ = 3, 2, 3, 0; d- = 2 (farthest, none beyond 3), 1 (farthest), 1, 1 (nearest > 0)
    assert float(TripletPerAnchorSemiHardLoss()(labels, x)) == (2 + 2 + 3 + 0) / 4
    assert float(TripletPerAnchorSemiHardLoss(margin=0.5)(labels, x)) == (1.5 + 1.5 + 2.5) / 4
    # TFA's semi-hard averages over the 6 positive pairs instead: 10 / 6.
    np.testing.assert_allclose(float(TripletSemiHardLoss()(labels, x)), 10 / 6, rtol=1e-6)


def test_negative_must_be_strictly_farther_than_the_hardest_positive():
    """d(0, 2) == d(0, 1) == 1 is not 'farther': anchor 0 takes the negative at 3."""
    labels = np.array([0, 0, 1, 1])
    x = np.array([[0.0], [1.0], [-1.0], [3.0]], "float32")
    # anchor 0: 1 - 3 + 1 = 0 (not 1 - 1 + 1); 1: 1 - 2 + 1; 2: 4 - 2 + 1; 3: 4 - 3 + 1
    expected = (0 + 0 + 3 + 2) / 4
    assert reference_per_anchor(labels, x) == expected
    assert float(TripletPerAnchorSemiHardLoss()(labels, x)) == expected


def test_equals_tfa_semihard_when_each_anchor_has_one_positive():
    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(6), 2)
    x = rng.normal(size=(12, 4)).astype("float32")
    for metric in ("L2", "angular"):
        np.testing.assert_allclose(
            float(TripletPerAnchorSemiHardLoss(0.5, distance_metric=metric)(labels, x)),
            float(TripletSemiHardLoss(0.5, distance_metric=metric)(labels, x)),
            rtol=1e-6,
        )


def test_differs_from_tfa_semihard_with_several_positives():
    labels, x = batch(4, 24, classes=3)
    ours = float(TripletPerAnchorSemiHardLoss()(labels, x))
    tfa = float(TripletSemiHardLoss()(labels, x))
    assert abs(ours - tfa) > 0.05


def test_one_class_batch():
    """No negative: d- is the row maximum, which is the hardest positive: alpha each."""
    labels, x = np.zeros(8, "int32"), batch(5, 8)[1]
    np.testing.assert_allclose(float(TripletPerAnchorSemiHardLoss(0.4)(labels, x)), 0.4, rtol=1e-6)
    np.testing.assert_allclose(
        float(TripletPerAnchorSemiHardLoss(soft=True)(labels, x)), np.log(2), rtol=1e-6
    )


def test_all_labels_distinct():
    """No positive: d+ = 0 and each anchor's nearest negative is pushed past the margin."""
    labels, x = np.arange(8), batch(6, 8)[1]
    d = reference_distances(x, "L2")
    nearest = np.where(np.eye(8, dtype=bool), np.inf, d).min(axis=1)
    expected = np.mean(np.maximum(4.0 - nearest, 0))
    got = float(TripletPerAnchorSemiHardLoss(margin=4.0)(labels, x))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert got == pytest.approx(reference_per_anchor(labels, x, 4.0), rel=1e-5)


def test_soft_margin_does_not_overflow():
    labels = np.array([0, 0, 1, 1])
    x = np.array([[0.0], [300.0], [0.5], [200.0]], "float32")
    got = float(TripletPerAnchorSemiHardLoss(soft=True)(labels, x))
    assert np.isfinite(got)
    # d+ = 300, 300, 199.5, 199.5; d- = 200 and 299.5 (farthest, none beyond), 299.5, 200
    gaps = np.array([100.0, 0.5, -100.0, -0.5])
    np.testing.assert_allclose(got, np.mean(np.logaddexp(0, gaps)), rtol=1e-6)
    np.testing.assert_allclose(got, reference_per_anchor(labels, x, soft=True), rtol=1e-6)


def test_fit_trains_embeddings():
    """Clustered inputs (class means + noise): the hardest positive can be pulled in."""
    keras.utils.set_random_seed(0)
    labels, noise = batch(10, 16, dim=6)
    x = 2 * np.eye(6, dtype="float32")[labels] + 0.5 * noise
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4)])
    model.compile(optimizer=keras.optimizers.SGD(0.2), loss=TripletPerAnchorSemiHardLoss())
    losses = model.fit(x, labels[:, None], batch_size=16, epochs=30, verbose=0).history["loss"]
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])
