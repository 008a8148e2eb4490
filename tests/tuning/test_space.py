"""Sampling scales against their distributions (Kolmogorov-Smirnov tests, scipy): the
learning rate log-uniform, momentum's 1 - beta log-uniform; KerasTuner's reverse_log is
shown not to be the notes' 1 - beta scale; unit-coordinate round trips and errors."""

import numpy as np
import pytest
from scipy import stats

from kerasdl.tuning.space import (
    Choice,
    IntUniform,
    LogUniform,
    OneMinusLogUniform,
    Uniform,
    declare,
    from_keras_tuner,
)

N = 4000


def test_log_uniform_learning_rate_is_uniform_in_log10():
    samples = LogUniform(1e-4, 1.0).sample(0, N)
    assert samples.min() >= 1e-4 and samples.max() <= 1.0
    # r = log10(alpha) ~ Uniform(-4, 0)
    assert stats.kstest(np.log10(samples), stats.uniform(loc=-4, scale=4).cdf).pvalue > 0.01
    # Each decade gets a quarter of the trials, unlike uniform sampling (90% in [0.1, 1]).
    shares = np.histogram(samples, bins=[1e-4, 1e-3, 1e-2, 1e-1, 1.0])[0] / N
    np.testing.assert_allclose(shares, 0.25, atol=0.03)
    # The same samples are far from uniform on the linear scale: the test can fail.
    assert stats.kstest(samples, stats.uniform(loc=1e-4, scale=1 - 1e-4).cdf).pvalue < 1e-10


def test_one_minus_beta_is_uniform_in_log10():
    samples = OneMinusLogUniform(0.9, 0.999).sample(1, N)
    assert samples.min() >= 0.9 and samples.max() <= 0.999
    r = np.log10(1 - samples)  # ~ Uniform(-3, -1)
    assert stats.kstest(r, stats.uniform(loc=-3, scale=2).cdf).pvalue > 0.01
    # Half of the trials have beta above 0.99 (averaging over more than 100 values).
    assert np.mean(samples > 0.99) == pytest.approx(0.5, abs=0.03)
    # Plain log-uniform sampling of beta itself would be almost uniform: it fails.
    naive = LogUniform(0.9, 0.999).sample(1, N)
    assert stats.kstest(np.log10(1 - naive), stats.uniform(loc=-3, scale=2).cdf).pvalue < 1e-10


def test_keras_tuner_reverse_log_is_not_the_one_minus_beta_scale_but_declare_is():
    keras_tuner = pytest.importorskip("keras_tuner")
    hp = keras_tuner.engine.hyperparameters.Float("beta", 0.9, 0.999, sampling="reverse_log")
    samples = np.array([hp.random_sample(seed) for seed in range(N)])
    reference = stats.uniform(loc=-3, scale=2).cdf
    assert stats.kstest(np.log10(1 - samples), reference).pvalue < 1e-10
    # declare() registers 1 - beta as a log-sampled Float; KerasTuner's own sampler then
    # draws beta on the notes' scale.
    hps = keras_tuner.HyperParameters()
    declare(hps, {"beta": OneMinusLogUniform(0.9, 0.999)})
    (entry,) = hps.space
    assert entry.name == "one_minus_beta" and entry.sampling == "log"
    betas = 1 - np.array([entry.random_sample(seed) for seed in range(N)])
    assert stats.kstest(np.log10(1 - betas), reference).pvalue > 0.01


def test_from_keras_tuner_maps_scales_and_rejects_reverse_log():
    keras_tuner = pytest.importorskip("keras_tuner")
    hp = keras_tuner.HyperParameters()
    hp.Float("lr", 1e-4, 1.0, sampling="log")
    hp.Float("dropout", 0.0, 0.5)
    hp.Int("units", 8, 64)
    hp.Choice("activation", ["relu", "tanh"])
    hp.Boolean("batch_norm")
    space = from_keras_tuner(hp)
    assert space == {
        "lr": LogUniform(1e-4, 1.0),
        "dropout": Uniform(0.0, 0.5),
        "units": IntUniform(8, 64),
        "activation": Choice(("relu", "tanh")),
        "batch_norm": Choice((False, True)),
    }
    hp.Float("beta", 0.9, 0.999, sampling="reverse_log")
    with pytest.raises(ValueError, match="'beta' uses sampling='reverse_log'"):
        from_keras_tuner(hp)


@pytest.mark.parametrize(
    "dimension",
    [Uniform(-1.0, 3.0), LogUniform(1e-5, 10.0), OneMinusLogUniform(0.8, 0.9999)],
    ids=lambda d: type(d).__name__,
)
def test_unit_coordinates_round_trip_and_uniform_sampling(dimension):
    u = np.linspace(0, 1, 11)
    np.testing.assert_allclose(dimension.to_unit(dimension.from_unit(u)), u, atol=1e-9)
    assert dimension.from_unit(0.0) == pytest.approx(dimension.low)
    assert dimension.from_unit(1.0) == pytest.approx(dimension.high)
    units = dimension.to_unit(dimension.sample(3, N))
    assert stats.kstest(units, stats.uniform.cdf).pvalue > 0.01


def test_int_uniform_and_choice_are_equally_likely():
    samples = IntUniform(2, 6).sample(4, N)
    counts = np.bincount(samples - 2, minlength=5)
    assert stats.chisquare(counts).pvalue > 0.01
    assert set(samples.tolist()) == {2, 3, 4, 5, 6}
    picks = Choice(("a", "b", "c")).sample(5, N)
    assert stats.chisquare([picks.count(v) for v in "abc"]).pvalue > 0.01
    assert Choice(("a", "b", "c")).zoom(["c", "a", "c"]) == Choice(("a", "c"))


def test_zoom_on_each_scale():
    lr = LogUniform(1e-4, 1.0).zoom([1e-3, 1e-2], margin=0.0)
    assert (lr.low, lr.high) == pytest.approx((1e-3, 1e-2))
    # margin 0.1 of the 4-decade range = 0.4 decade on each side.
    lr = LogUniform(1e-4, 1.0).zoom([1e-3, 1e-2], margin=0.1)
    assert (lr.low, lr.high) == pytest.approx((10**-3.4, 10**-1.6))
    beta = OneMinusLogUniform(0.9, 0.999).zoom([0.99, 0.995], margin=0.0)
    assert (beta.low, beta.high) == pytest.approx((0.99, 0.995))
    clipped = Uniform(0.0, 1.0).zoom([0.05, 0.2], margin=0.1)
    assert (clipped.low, clipped.high) == pytest.approx((0.0, 0.3))
    assert IntUniform(1, 10).zoom([4], margin=0.0) == IntUniform(4, 5)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: LogUniform(0.0, 1.0), ValueError, r"`low` must be > 0 on a log scale"),
        (lambda: LogUniform(1.0, 0.1), ValueError, r"`low` must be < `high`"),
        (lambda: OneMinusLogUniform(0.9, 1.0), ValueError, r"`high` must be < 1"),
        (lambda: Uniform("0", 1.0), TypeError, r"`low` must be a number"),
        (lambda: IntUniform(1, 2.5), TypeError, r"`high` must be an int"),
        (lambda: Choice(()), ValueError, r"`values` must hold at least one value"),
    ],
)
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()
