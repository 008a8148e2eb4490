"""SampledSoftmaxLoss against tf.nn.sampled_softmax_loss itself on the same sampled
candidates (TF's own samplers, accidental hits included), and against the full softmax
cross-entropy in numpy as the sample covers the vocabulary."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdl.data.candidate_sampling import (
    candidate_distribution,
    expected_counts,
    sample_candidates,
    sampled_softmax_targets,
)
from kerasdl.data.skipgrams import alias_table
from kerasdl.losses.sampled_softmax import SampledSoftmaxLoss

VOCAB, DIM, BATCH = 60, 5, 24


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(VOCAB, DIM)).astype("float32")
    biases = rng.normal(scale=0.3, size=VOCAB).astype("float32")
    inputs = rng.normal(size=(BATCH, DIM)).astype("float32")
    labels = rng.integers(0, VOCAB, BATCH)
    return weights, biases, inputs, labels


def candidate_logits(weights, biases, inputs, candidates):
    candidates = np.asarray(candidates)
    return (np.einsum("bkd,bd->bk", weights[candidates], inputs) + biases[candidates]).astype(
        "float32"
    )


def tf_sampler(name, labels, num_sampled, unique, seed):
    true_classes = tf.constant(labels.reshape(-1, 1), tf.int64)
    if name == "log_uniform":
        return tf.random.log_uniform_candidate_sampler(
            true_classes, 1, num_sampled, unique, VOCAB, seed=seed
        )
    counts = np.arange(VOCAB, 0, -1).astype(float) ** 1.5
    return tf.random.fixed_unigram_candidate_sampler(
        true_classes, 1, num_sampled, unique, VOCAB, distortion=0.75, unigrams=counts.tolist(),
        seed=seed,
    )  # fmt: skip


@pytest.mark.parametrize("sampler", ["log_uniform", "unigram"])
@pytest.mark.parametrize("unique", [True, False])
@pytest.mark.parametrize("seed", [1, 2])
def test_equals_tf_sampled_softmax_loss(problem, sampler, unique, seed):
    weights, biases, inputs, labels = problem
    labels = labels.copy()
    sampled, true_expected, sampled_expected = (
        x.numpy() for x in tf_sampler(sampler, labels, 20, unique, seed)
    )
    if not unique:
        # A sample with repeats holds one class twice whatever TF's random state: rows 0
        # and 1 then hit it twice.
        sampled[1], sampled_expected[1] = sampled[0], sampled_expected[0]
    # Accidental hits on purpose: some targets are sampled classes (with TF's expected
    # counts of those classes).
    labels[:6] = sampled[:6]
    true_expected[:6, 0] = sampled_expected[:6]
    sampled_values = (sampled, true_expected, sampled_expected)
    expected = tf.nn.sampled_softmax_loss(
        weights, biases, tf.constant(labels.reshape(-1, 1), tf.int64), inputs,
        num_sampled=20, num_classes=VOCAB, sampled_values=sampled_values,
    ).numpy()  # fmt: skip
    candidates, log_q = sampled_softmax_targets(labels, sampled, true_expected, sampled_expected)
    assert np.isinf(log_q.numpy()[:6]).any(axis=1).all()
    logits = candidate_logits(weights, biases, inputs, candidates)
    got = SampledSoftmaxLoss(reduction=None)(log_q.numpy(), logits).numpy()
    # TF marks only the last repeat of a hit in a sample with repeats (unique=False);
    # every repeat is removed here, which the numpy reference checks on those rows.
    repeated_hit = (sampled[None, :] == labels[:, None]).sum(axis=1) > 1
    assert repeated_hit[:2].all() if not unique else not repeated_hit.any()
    np.testing.assert_allclose(got[~repeated_hit], expected[~repeated_hit], rtol=1e-5, atol=1e-5)
    adjusted = logits.astype(float) - np.log(
        np.c_[true_expected, np.tile(sampled_expected, (BATCH, 1))]
    )
    adjusted[:, 1:][sampled[None, :] == labels[:, None]] = -np.inf
    reference = np.log(np.exp(adjusted).sum(axis=1)) - adjusted[:, 0]
    np.testing.assert_allclose(got, reference, rtol=1e-5, atol=1e-5)


def test_without_removing_hits_equals_tf(problem):
    weights, biases, inputs, labels = problem
    labels = labels.copy()
    sampled, true_expected, sampled_expected = (
        x.numpy() for x in tf_sampler("log_uniform", labels, 12, True, 3)
    )
    labels[:4] = sampled[:4]
    true_expected[:4, 0] = sampled_expected[:4]
    sampled_values = (sampled, true_expected, sampled_expected)
    expected = tf.nn.sampled_softmax_loss(
        weights, biases, tf.constant(labels.reshape(-1, 1), tf.int64), inputs,
        num_sampled=12, num_classes=VOCAB, sampled_values=sampled_values,
        remove_accidental_hits=False,
    ).numpy()  # fmt: skip
    candidates, log_q = sampled_softmax_targets(
        labels, sampled_values[0], sampled_values[1], sampled_values[2],
        remove_accidental_hits=False,
    )  # fmt: skip
    assert np.isfinite(log_q.numpy()).all()
    logits = candidate_logits(weights, biases, inputs, candidates)
    got = SampledSoftmaxLoss(reduction=None)(log_q.numpy(), logits).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def full_softmax_cross_entropy(weights, biases, inputs, labels):
    logits = inputs.astype(np.float64) @ weights.T.astype(np.float64) + biases
    logits -= logits.max(axis=1, keepdims=True)
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return -log_softmax[np.arange(len(labels)), labels]


def kerasdl_sampled_loss(problem, sampler, num_sampled, seed):
    weights, biases, inputs, labels = problem
    q = candidate_distribution(sampler, VOCAB)
    sampled, tries = sample_candidates(alias_table(q), num_sampled, seed=[seed, 0])
    candidates, log_q = sampled_softmax_targets(
        labels,
        sampled,
        expected_counts(q[labels], num_sampled, tries),
        expected_counts(tf.gather(q, sampled), num_sampled, tries),
    )
    logits = candidate_logits(weights, biases, inputs, candidates)
    return SampledSoftmaxLoss(reduction=None)(log_q.numpy(), logits).numpy()


def test_uniform_sample_of_the_whole_vocabulary_is_the_full_softmax(problem):
    expected = full_softmax_cross_entropy(*problem)
    got = kerasdl_sampled_loss(problem, "uniform", VOCAB, seed=5)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_log_uniform_sample_approaches_the_full_softmax(problem):
    expected = full_softmax_cross_entropy(*problem)
    errors = []
    for num_sampled in (VOCAB // 6, VOCAB // 2, VOCAB):
        losses = np.stack([kerasdl_sampled_loss(problem, "log_uniform", num_sampled, s)
                           for s in range(8)])  # fmt: skip
        errors.append(float(np.abs(losses - expected).mean()))
    assert errors[0] > errors[1] > errors[2], errors
    # With every class in the sample only 1 - Q(w) < 1 separates the corrections from 0.
    assert errors[2] < 0.05, errors


def test_reductions_sample_weight_and_gradient():
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(6, 4)).astype("float32")
    log_q = np.log(rng.uniform(0.1, 1.0, size=(6, 4))).astype("float32")
    log_q[1, 2] = log_q[4, 1] = np.inf
    adjusted = np.where(np.isinf(log_q), -np.inf, logits - np.where(np.isinf(log_q), 0, log_q))
    softmax = np.exp(adjusted - adjusted.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    per_example = -np.log(softmax[:, 0])
    weights = rng.uniform(size=6).astype("float32")
    for reduction, expected in [("sum_over_batch_size", per_example.mean()),
                                ("sum", per_example.sum()), (None, per_example)]:  # fmt: skip
        np.testing.assert_allclose(
            SampledSoftmaxLoss(reduction=reduction)(log_q, logits), expected, rtol=1e-5
        )
    np.testing.assert_allclose(
        SampledSoftmaxLoss(reduction="sum")(log_q, logits, sample_weight=weights),
        (per_example * weights).sum(),
        rtol=1e-5,
    )
    z = tf.Variable(logits)
    with tf.GradientTape() as tape:
        loss = SampledSoftmaxLoss(reduction="sum")(log_q, z)
    grad = tape.gradient(loss, z).numpy()
    one_hot = np.eye(4)[np.zeros(6, int)]
    np.testing.assert_allclose(grad, softmax - one_hot, rtol=1e-5, atol=1e-6)
    assert grad[1, 2] == 0 and grad[4, 1] == 0


def test_jit_compiled_with_removed_candidates():
    log_q = np.float32([[0.0, np.inf, -1.0], [-2.0, -0.5, np.inf]])
    logits = np.float32([[1.0, 3.0, 0.5], [0.2, 0.1, 4.0]])
    loss = SampledSoftmaxLoss(reduction=None)
    eager = loss(log_q, logits).numpy()
    compiled = tf.function(loss, jit_compile=True)(log_q, logits).numpy()
    np.testing.assert_allclose(compiled, eager, rtol=1e-6)
    assert np.isfinite(eager).all()


def test_config_round_trip():
    loss = SampledSoftmaxLoss(reduction="sum", name="ss", dtype="float64")
    assert SampledSoftmaxLoss.from_config(loss.get_config()).get_config() == loss.get_config()
    assert keras.saving.get_registered_name(SampledSoftmaxLoss) == "kerasdl>SampledSoftmaxLoss"


@pytest.mark.parametrize(
    "y_true, y_pred, match",
    [
        ((2, 3), (2, 3, 1), r"`y_pred` must have shape \[B, 1 \+ s\].*y_pred.shape=\(2, 3, 1\)"),
        ((2, 4), (2, 3), r"`y_true` must have the shape of `y_pred`.*y_true.shape=\(2, 4\)"),
    ],
)
def test_bad_shapes(y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        SampledSoftmaxLoss()(np.zeros(y_true, "float32"), np.zeros(y_pred, "float32"))
