"""kerasdl's mined triplet losses against tensorflow-addons 0.23 itself.

TFA needs TensorFlow 2.15 and Keras 2, so it runs in its own venv `.venv-tfa` (`make
tfa-venv`): one child process computes TFA's values of all cases
(`benchmarks/tfa_reference.py values`), and each is compared with kerasdl's here. The
random cases agree to 1e-5; where TFA is broken the test checks TFA's actual failure and
kerasdl's better answer: NaN without a positive pair (kerasdl: 0), float64 embeddings
(TFA raises), the soft hard-loss overflowing to inf (kerasdl: softplus).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.losses.triplet import TripletHardLoss, TripletSemiHardLoss

ROOT = Path(__file__).resolve().parents[2]
TFA_PYTHON = Path(os.environ.get("KERASDL_TFA_PYTHON", ROOT / ".venv-tfa" / "bin" / "python"))
REFERENCE = ROOT / "benchmarks" / "tfa_reference.py"
TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}

# One child process of TensorFlow 2.15 for all cases: a few tens of seconds.
pytestmark = pytest.mark.slow


def l1(embeddings):
    return keras.ops.sum(keras.ops.abs(embeddings[:, None, :] - embeddings[None, :, :]), axis=-1)


def dot(embeddings):
    return keras.ops.matmul(embeddings, keras.ops.transpose(embeddings))


CALLABLES = {"L1": l1, "dot": dot}


def kerasdl_loss(case, dtype=None):
    metric = CALLABLES.get(case["distance_metric"], case["distance_metric"])
    if case["loss"] == "semihard":
        return TripletSemiHardLoss(case["margin"], distance_metric=metric, dtype=dtype)
    return TripletHardLoss(case["margin"], soft=case["soft"], distance_metric=metric, dtype=dtype)


def make_labels(rng, size, pattern):
    if pattern == "one":
        labels = np.full(size, 7)
    elif pattern == "distinct":
        labels = rng.permutation(size) * 3 - 5
    elif pattern == "few":
        labels = rng.integers(0, rng.integers(2, 5), size=size)
    else:  # "many": about two examples per class
        labels = rng.integers(0, max(1, size // 2), size=size)
    dtype = rng.choice(["int32", "int64", "float32"])
    labels = labels.astype(dtype)
    return labels[:, None] if rng.random() < 0.5 else labels


def random_cases(seed=0, count=160):
    """Random batches over B in 2..64, several D, label patterns and shapes, margins,
    every metric and both hard-loss forms. Semi-hard without a positive pair is left to
    `test_no_positive_pair`: TFA's NaN is not a value to match."""
    rng = np.random.default_rng(seed)
    cases = []
    metrics = ["L2", "squared-L2", "angular", "L1", "dot"]
    for i in range(count):
        loss = "semihard" if i % 2 == 0 else "hard"
        size = int(rng.integers(2, 65))
        patterns = ["few", "many", "one"] + ([] if loss == "semihard" else ["distinct"])
        labels = make_labels(rng, size, rng.choice(patterns))
        if loss == "semihard" and len(np.unique(labels)) == size:
            labels = labels.copy()
            labels[-1] = labels[0]  # keep one positive pair
        dim = int(rng.choice([1, 3, 8, 32, 128]))
        scale = rng.choice([0.1, 1.0, 3.0])
        embeddings = (rng.normal(size=(size, dim)) * scale).astype("float32")
        if rng.random() < 0.3:
            embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
        case = {
            "loss": loss,
            "margin": float(rng.choice([0.0, 0.2, 1.0, 2.5])),
            "soft": bool(loss == "hard" and rng.random() < 0.4),
            "distance_metric": metrics[i // 2 % len(metrics)],
        }
        cases.append((case, labels, embeddings))
    return cases


def tie_cases():
    """Integer coordinates: distances are exact, so a negative exactly as far as the
    positive must not count as semi-hard in either implementation."""
    labels = np.array([0, 0, 1, 1, 2, 2, 0])
    x = np.array([[0.0], [1.0], [-1.0], [3.0], [1.0], [2.0], [0.0]], "float32")
    return [
        ({"loss": loss, "margin": 1.0, "soft": False, "distance_metric": metric}, labels, x)
        for loss in ("semihard", "hard")
        for metric in ("L2", "squared-L2", "L1")
    ]


def no_positive_cases():
    rng = np.random.default_rng(1)
    cases = []
    for size in (1, 2, 5, 16):
        x = rng.normal(size=(size, 4)).astype("float32")
        for metric in ("L2", "angular"):
            case = {"loss": "semihard", "margin": 1.0, "soft": False, "distance_metric": metric}
            cases.append((case, np.arange(size), x))
    return cases


def float64_cases():
    rng = np.random.default_rng(2)
    cases = []
    for loss in ("semihard", "hard"):
        labels = rng.integers(0, 3, size=12)
        x = rng.normal(size=(12, 5))  # float64
        case = {"loss": loss, "margin": 1.0, "soft": False, "distance_metric": "L2"}
        cases.append((case, labels, x))
    return cases


def overflow_cases():
    """Distances of hundreds: TFA's log1p(exp(gap)) is inf in float32 for gap > 88.7."""
    labels = np.array([0, 0, 1, 1])
    x = np.array([[0.0], [200.0], [0.5], [300.0]], "float32")
    rng = np.random.default_rng(3)
    wide = (rng.normal(size=(16, 8)) * 100).astype("float32")
    case = {"loss": "hard", "margin": 1.0, "soft": True, "distance_metric": "L2"}
    return [
        (case, labels, x),
        (dict(case, distance_metric="squared-L2"), rng.integers(0, 3, size=16), wide),
    ]


GROUPS = {
    "random": random_cases(),
    "ties": tie_cases(),
    "no_positive": no_positive_cases(),
    "float64": float64_cases(),
    "overflow": overflow_cases(),
}


@pytest.fixture(scope="module")
def tfa(tmp_path_factory):
    """TFA's value (or error) of every case of GROUPS, from one child process."""
    if not TFA_PYTHON.exists():
        pytest.skip(
            f"tensorflow-addons reference venv not found at {TFA_PYTHON}; "
            "create it with `make tfa-venv`"
        )
    folder = tmp_path_factory.mktemp("tfa")
    flat = [(group, i) for group, cases in GROUPS.items() for i in range(len(cases))]
    arrays, spec = {}, []
    for n, (group, i) in enumerate(flat):
        case, labels, embeddings = GROUPS[group][i]
        # Eagerly: no tracing of one graph per shape. float64 goes through the tf.function,
        # where TFA's users meet its TypeError.
        spec.append(dict(case, eager=group != "float64"))
        arrays[f"labels_{n}"], arrays[f"embeddings_{n}"] = labels, embeddings
    np.savez(folder / "cases.npz", spec=np.array(json.dumps(spec)), **arrays)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [TFA_PYTHON, REFERENCE, "values", folder / "cases.npz", folder / "out.npz"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with np.load(folder / "out.npz") as out:
        values, errors = out["values"], out["errors"]
    results = {group: [] for group in GROUPS}
    for n, (group, _) in enumerate(flat):
        results[group].append((float(values[n]), str(errors[n])))
    return results


def test_random_cases_match_tfa(tfa):
    mismatches = []
    worst = 0.0
    for (case, labels, x), (want, error) in zip(GROUPS["random"], tfa["random"], strict=True):
        assert not error, (case, error)
        got = float(kerasdl_loss(case)(labels, x))
        worst = max(worst, abs(got - want) / max(1.0, abs(want)))
        if not np.isclose(got, want, **TOLERANCE):
            mismatches.append((case, labels.shape, x.shape, got, want))
    print(f"largest difference to TFA (relative above 1): {worst:.2e}", file=sys.stderr)
    assert not mismatches, mismatches[:5]


def test_random_cases_cover_the_rules(tfa):
    """The random cases reach every metric, both losses and forms, [B] and [B, 1] labels,
    one-class batches, and losses both zero and positive."""
    cases = GROUPS["random"]
    seen = {(c["loss"], c["distance_metric"], c["soft"]) for c, _, _ in cases}
    for metric in ("L2", "squared-L2", "angular", "L1", "dot"):
        for key in (("semihard", metric, False), ("hard", metric, False), ("hard", metric, True)):
            assert key in seen, key
    assert {labels.ndim for _, labels, _ in cases} == {1, 2}
    assert any(len(np.unique(labels)) == 1 for _, labels, _ in cases)
    values = np.array([value for value, _ in tfa["random"]])
    assert np.sum(values == 0) >= 3 and np.sum(values > 0) >= 100


def test_ties_match_tfa(tfa):
    """Eagerly, and the semi-hard loss under XLA too (Keras' default in `fit`)."""
    for (case, labels, x), (want, error) in zip(GROUPS["ties"], tfa["ties"], strict=True):
        assert not error
        loss = kerasdl_loss(case)
        np.testing.assert_allclose(float(loss(labels, x)), want, **TOLERANCE)
        if case["loss"] == "semihard":
            jitted = tf.function(lambda y, e, loss=loss: loss(y, e), jit_compile=True)
            np.testing.assert_allclose(float(jitted(labels, x)), want, **TOLERANCE)


def test_no_positive_pair(tfa):
    """TFA divides by the number of positive pairs: 0 / 0 = NaN. kerasdl gives 0."""
    for (case, labels, x), (want, error) in zip(
        GROUPS["no_positive"], tfa["no_positive"], strict=True
    ):
        assert not error and np.isnan(want), (case, labels, want)
        assert float(kerasdl_loss(case)(labels, x)) == 0.0


def test_float64(tfa):
    """TFA mixes float32 masks into the float64 distances and raises; kerasdl computes in
    float64 and agrees with TFA's float32 value of the same inputs."""
    for (case, labels, x), (_, error) in zip(GROUPS["float64"], tfa["float64"], strict=True):
        assert error.startswith("TypeError"), f"tensorflow-addons gave {error!r} for {case}"
        got = kerasdl_loss(case, dtype="float64")(labels, x)
        assert got.dtype == "float64"
        want = float(kerasdl_loss(case)(labels, x.astype("float32")))
        np.testing.assert_allclose(float(got), want, rtol=1e-5)


def reference_soft_hard(labels, x, metric):
    """The soft hard-loss in float64 with a stable softplus (np.logaddexp)."""
    x = np.asarray(x, np.float64)
    squared = np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)
    d = squared if metric == "squared-L2" else np.sqrt(squared)
    same = labels[:, None] == labels[None, :]
    positive = same & ~np.eye(len(labels), dtype=bool)
    hardest_positive = np.where(positive, d, -np.inf).max(axis=1)
    hardest_negative = np.where(~same, d, np.inf).min(axis=1)
    return float(np.mean(np.logaddexp(0.0, hardest_positive - hardest_negative)))


def test_soft_hard_loss_overflow(tfa):
    """TFA's log1p(exp(gap)) is inf for these batches; kerasdl's softplus is finite and
    equals the float64 re-derivation."""
    for (case, labels, x), (want, error) in zip(GROUPS["overflow"], tfa["overflow"], strict=True):
        assert not error and np.isinf(want), (case, want)
        got = float(kerasdl_loss(case)(labels, x))
        expected = reference_soft_hard(labels, x, case["distance_metric"])
        np.testing.assert_allclose(got, expected, rtol=1e-5)
