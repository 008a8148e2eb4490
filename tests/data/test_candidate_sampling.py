"""Candidate samplers against TensorFlow's (probabilities and expected counts read back
from tf.random.*_candidate_sampler), the unique sampler against a numpy simulation of
"draw until s distinct", and the sampled-softmax dataset."""

import numpy as np
import pytest
import tensorflow as tf

from kerasdl.data.candidate_sampling import (
    candidate_distribution,
    expected_counts,
    sample_candidates,
    sampled_softmax_dataset,
)
from kerasdl.data.skipgrams import alias_table

VOCAB = 40
COUNTS = (np.arange(VOCAB, 0, -1) ** 1.7).round()


def tf_expected_counts(sampler, num_sampled, unique, seed=0):
    """TF's true_expected_count for every class as the true class, and its sample."""
    every_class = tf.constant(np.arange(VOCAB).reshape(1, -1), tf.int64)
    if sampler == "log_uniform":
        out = tf.random.log_uniform_candidate_sampler(
            every_class, VOCAB, num_sampled, unique, VOCAB, seed=seed
        )
    elif sampler == "uniform":
        out = tf.random.uniform_candidate_sampler(
            every_class, VOCAB, num_sampled, unique, VOCAB, seed=seed
        )
    else:
        out = tf.random.fixed_unigram_candidate_sampler(
            every_class, VOCAB, num_sampled, unique, VOCAB, distortion=0.75,
            unigrams=COUNTS.tolist(), seed=seed,
        )  # fmt: skip
    return out[0].numpy(), out[1].numpy()[0], out[2].numpy()


@pytest.mark.parametrize("sampler", ["log_uniform", "unigram", "uniform"])
def test_distribution_equals_tf_samplers(sampler):
    # Without uniqueness TF's expected count is num_sampled * Q(w).
    _, true_expected, _ = tf_expected_counts(sampler, 7, unique=False)
    q = candidate_distribution(sampler, VOCAB, counts=COUNTS)
    np.testing.assert_allclose(q * 7, true_expected, rtol=1e-5)
    assert q.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("sampler", ["log_uniform", "unigram"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_expected_counts_equal_tf_for_some_number_of_tries(sampler, seed):
    num_sampled = 12
    sampled, true_expected, sampled_expected = tf_expected_counts(
        sampler, num_sampled, unique=True, seed=seed
    )
    q = candidate_distribution(sampler, VOCAB, counts=COUNTS)
    tries = np.arange(num_sampled, 2000)
    every = expected_counts(q[None, :], num_sampled, tries[:, None]).numpy()
    matches = tries[np.all(np.isclose(every, true_expected, rtol=2e-5, atol=0), axis=1)].tolist()
    assert len(matches) == 1, matches
    np.testing.assert_allclose(
        expected_counts(q[sampled], num_sampled, matches[0]).numpy(), sampled_expected, rtol=2e-5
    )


def test_expected_counts_formula():
    got = expected_counts([0.2, 0.01], num_sampled=3, num_tries=[[3], [5]]).numpy()
    np.testing.assert_allclose(got, [[0.6, 0.03], [1 - 0.8**5, 1 - 0.99**5]], rtol=1e-6)
    np.testing.assert_allclose(
        expected_counts([0.2], num_sampled=3, num_tries=9, unique=False).numpy(), [0.6], rtol=1e-6
    )


def numpy_unique_sample(rng, q, num_sampled):
    """Draws one class at a time until num_sampled distinct ones came up."""
    seen, tries = [], 0
    while len(seen) < num_sampled:
        tries += 1
        w = rng.choice(len(q), p=q)
        if w not in seen:
            seen.append(w)
    return seen, tries


def test_unique_sample_distribution_equals_sequential_draws():
    q = candidate_distribution("log_uniform", 12)
    table = alias_table(q)
    runs, num_sampled = 1500, 6
    draw = tf.function(lambda seed: sample_candidates(table, num_sampled, seed))
    ours = [draw(tf.constant([i, 7], tf.int64)) for i in range(runs)]
    rng = np.random.default_rng(0)
    theirs = [numpy_unique_sample(rng, q, num_sampled) for _ in range(runs)]
    for (sampled, tries), _ in zip(ours[:50], range(50), strict=False):
        assert len(set(sampled.numpy().tolist())) == num_sampled and tries >= num_sampled
    ours_first = np.bincount([int(s[0]) for s, _ in ours], minlength=12) / runs
    theirs_first = np.bincount([s[0] for s, _ in theirs], minlength=12) / runs
    ours_in = np.bincount(np.concatenate([s.numpy() for s, _ in ours]), minlength=12) / runs
    theirs_in = np.bincount(np.concatenate([s for s, _ in theirs]), minlength=12) / runs
    # Four standard errors of a frequency estimated from `runs` draws, for both sides.
    tolerance = 4 * np.sqrt(2 * 0.25 / runs)
    np.testing.assert_allclose(ours_first, q, atol=tolerance)
    np.testing.assert_allclose(ours_first, theirs_first, atol=tolerance)
    np.testing.assert_allclose(ours_in, theirs_in, atol=tolerance)
    ours_tries = np.array([int(t) for _, t in ours], float)
    theirs_tries = np.array([t for _, t in theirs], float)
    standard_error = np.sqrt((ours_tries.var() + theirs_tries.var()) / runs)
    assert abs(ours_tries.mean() - theirs_tries.mean()) < 4 * standard_error


def test_sample_is_deterministic_and_sample_with_repeats_takes_s_tries():
    table = alias_table(candidate_distribution("uniform", 30))
    a, tries_a = sample_candidates(table, 10, seed=[3, 4])
    b, tries_b = sample_candidates(table, 10, seed=[3, 4])
    c, _ = sample_candidates(table, 10, seed=[3, 5])
    np.testing.assert_array_equal(a, b)
    assert int(tries_a) == int(tries_b)
    assert not np.array_equal(a, c)
    whole, _ = sample_candidates(table, 30, seed=[1, 1])
    assert sorted(whole.numpy().tolist()) == list(range(30))
    _, tries = sample_candidates(table, 10, seed=[3, 4], unique=False)
    assert int(tries) == 10


def source_batches(as_dict=False):
    rng = np.random.default_rng(2)
    words = rng.integers(0, VOCAB, (4, 16)).astype("int32")
    candidates = rng.integers(0, VOCAB, (4, 16, 2)).astype("int32")
    candidates[:, :3, 0] = 0  # frequent targets make accidental hits likely
    labels = np.broadcast_to(np.float32([1, 0]), (4, 16, 2))
    features = {"word": words, "candidates": candidates} if as_dict else (words, candidates)
    return tf.data.Dataset.from_tensor_slices((features, labels)), words, candidates


@pytest.mark.parametrize("as_dict", [False, True])
def test_dataset_candidates_and_labels(as_dict):
    source, words, candidates = source_batches(as_dict)
    num_sampled = 8
    data = sampled_softmax_dataset(source, VOCAB, num_sampled, seed=3)
    q = candidate_distribution("log_uniform", VOCAB)
    hits = 0
    for i, (features, log_q) in enumerate(data):
        got_words, got = (features["word"], features["candidates"]) if as_dict else features
        got, log_q = got.numpy(), log_q.numpy()
        np.testing.assert_array_equal(got_words, words[i])
        np.testing.assert_array_equal(got[:, 0], candidates[i, :, 0])
        sample = got[0, 1:]
        assert np.all(got[:, 1:] == sample) and len(set(sample.tolist())) == num_sampled
        is_hit = got[:, 1:] == got[:, :1]
        hits += int(is_hit.sum())
        assert np.all(np.isposinf(log_q[:, 1:]) == is_hit) and np.isfinite(log_q[:, 0]).all()
        # One number of tries explains every candidate's correction.
        classes = np.concatenate([got[:, 0], sample])
        observed = np.concatenate([log_q[:, 0], log_q[0, 1:]])
        finite = np.isfinite(observed)
        tries = np.arange(num_sampled, 500)[:, None]
        every = np.log(expected_counts(q[classes][None, :], num_sampled, tries).numpy())
        assert np.any(np.all(np.isclose(every[:, finite], observed[finite], 1e-5, 1e-6), axis=1))
    assert hits > 0


def test_dataset_draws_a_new_sample_every_epoch():
    source, _, _ = source_batches()
    data = sampled_softmax_dataset(source, VOCAB, 5, sampler="unigram", counts=COUNTS, seed=1)
    first = [c.numpy()[0, 1:] for (_, c), _ in data]
    second = [c.numpy()[0, 1:] for (_, c), _ in data]
    again = [c.numpy()[0, 1:] for (_, c), _ in sampled_softmax_dataset(
        source, VOCAB, 5, sampler="unigram", counts=COUNTS, seed=1)]  # fmt: skip
    assert not all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert len({tuple(x) for x in first}) > 1  # a new sample per batch too
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"sampler": "zipf"}, ValueError, r"`sampler` must be one of .*Received: sampler='zipf'"),
        ({"sampler": "unigram"}, ValueError, r'`counts` must be given for sampler="unigram"'),
        ({"sampler": "unigram", "counts": [1, 2]}, ValueError, r"`counts` must have one entry"),
        ({"num_sampled": 41}, ValueError, r"`num_sampled` must be <= 40.*Received: num_sampled=41"),
        ({"num_sampled": 0}, ValueError, r"`num_sampled` must be > 0. Received: num_sampled=0"),
        ({"unique": 1}, TypeError, r"`unique` must be a bool. Received: unique=1"),
        ({"remove_accidental_hits": "no"}, TypeError, r"`remove_accidental_hits` must be a bool"),
        ({"seed": 1.5}, TypeError, r"`seed` must be an int. Received: seed=1.5"),
    ],
)  # fmt: skip
def test_bad_arguments(kwargs, error, match):
    source, _, _ = source_batches()
    with pytest.raises(error, match=match):
        sampled_softmax_dataset(source, VOCAB, **{"num_sampled": 4, **kwargs})
