"""Random search and coarse-to-fine zooming on objectives with a known optimum, and the
KerasTuner oracle that zooms, run by a Tuner on a synthetic objective."""

import math

import numpy as np
import pytest

from kerasdl.tuning.search import best_trials, coarse_to_fine, random_search, zoom
from kerasdl.tuning.space import Choice, IntUniform, LogUniform, OneMinusLogUniform

SPACE = {"lr": LogUniform(1e-5, 1.0), "beta": OneMinusLogUniform(0.8, 0.9999)}
OPTIMUM = {"lr": 3e-3, "beta": 0.99}


def distance(point):
    """Distance to the optimum on the notes' scales (log10 lr, log10 of 1 - beta)."""
    return math.hypot(
        math.log10(point["lr"] / OPTIMUM["lr"]),
        math.log10((1 - point["beta"]) / (1 - OPTIMUM["beta"])),
    )


def test_random_search_is_deterministic_and_in_range():
    first = random_search(SPACE, 50, seed=3)
    assert first == random_search(SPACE, 50, seed=3)
    assert first != random_search(SPACE, 50, seed=4)
    assert all(1e-5 <= p["lr"] <= 1 and 0.8 <= p["beta"] <= 0.9999 for p in first)
    assert all(isinstance(p["lr"], float) for p in first)


def test_best_trials_and_zoom_hand_case():
    trials = [
        {"lr": 1e-4, "n": 2},
        {"lr": 1e-3, "n": 4},
        {"lr": 1e-2, "n": 3},
        {"lr": 1e-1, "n": 8},
    ]
    scores = [0.5, float("nan"), 0.1, 0.2]
    assert best_trials(trials, scores, 2, "min") == [trials[2], trials[3]]
    assert best_trials(trials, scores, 1, "max") == [trials[0]]
    space = {"lr": LogUniform(1e-5, 1.0), "n": IntUniform(1, 10)}
    narrowed = zoom(space, trials, scores, top_k=2, margin=0.0)
    assert (narrowed["lr"].low, narrowed["lr"].high) == pytest.approx((1e-2, 1e-1))
    assert narrowed["n"] == IntUniform(3, 8)


def test_coarse_to_fine_zooms_onto_the_optimum_and_beats_random_search():
    result = coarse_to_fine(distance, SPACE, rounds=4, trials_per_round=12, seed=0)
    assert len(result.trials) == 48 and result.rounds == sorted(result.rounds)
    # Each round's region lies inside the previous one and still holds the optimum.
    for outer, inner in zip(result.spaces, result.spaces[1:], strict=False):
        for name in SPACE:
            assert outer[name].low <= inner[name].low + 1e-12
            assert inner[name].high <= outer[name].high + 1e-12
            assert inner[name].low <= OPTIMUM[name] <= inner[name].high
    # Later trials lie inside their round's region.
    for trial, r in zip(result.trials, result.rounds, strict=True):
        for name, dim in result.spaces[r].items():
            assert dim.low - 1e-12 <= trial[name] <= dim.high + 1e-12
    random_best = [min(distance(p) for p in random_search(SPACE, 48, seed=s)) for s in range(10)]
    fine_best = [
        coarse_to_fine(distance, SPACE, rounds=4, trials_per_round=12, seed=s).best_score
        for s in range(10)
    ]
    assert np.median(fine_best) < 0.5 * np.median(random_best), (fine_best, random_best)


def test_maximisation_and_choices():
    space = {"units": IntUniform(1, 64), "activation": Choice(("relu", "tanh", "sigmoid"))}

    def score(p):
        return -abs(p["units"] - 40) + (5 if p["activation"] == "tanh" else 0)

    result = coarse_to_fine(score, space, rounds=3, trials_per_round=15, direction="max", seed=1)
    assert result.best["activation"] == "tanh"
    assert abs(result.best["units"] - 40) <= 2
    assert result.spaces[-1]["activation"].values == ("tanh",)


def test_plot(tmp_path):
    result = coarse_to_fine(distance, SPACE, rounds=2, trials_per_round=5, seed=0)
    path = result.plot(tmp_path / "search.png")
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_bad_arguments():
    with pytest.raises(TypeError, match=r"`space` must be a non-empty dict"):
        random_search({}, 3)
    with pytest.raises(TypeError, match=r"`space\['lr'\]` must be a Dimension"):
        random_search({"lr": (1e-4, 1)}, 3)
    with pytest.raises(ValueError, match=r"`direction` must be one of"):
        coarse_to_fine(distance, SPACE, direction="up")
    with pytest.raises(ValueError, match=r"`scores` must have one score per trial"):
        zoom(SPACE, [OPTIMUM], [0.1, 0.2])


# KerasTuner ----------------------------------------------------------------------------


def run_tuner(tmp_path, max_trials=24, trials_per_round=8, seed=0):
    keras_tuner = pytest.importorskip("keras_tuner")
    from kerasdl.tuning.oracle import CoarseToFineOracle

    class Synthetic(keras_tuner.Tuner):
        def run_trial(self, trial, *args, **kwargs):
            hp = trial.hyperparameters
            point = {
                "lr": hp.Float("lr", 1e-5, 1.0, sampling="log"),
                "beta": 1 - hp.Float("one_minus_beta", 1e-4, 0.2, sampling="log"),
            }
            return distance(point)

    oracle = CoarseToFineOracle(
        max_trials=max_trials, trials_per_round=trials_per_round, top_k=3, seed=seed
    )
    tuner = Synthetic(oracle=oracle, directory=str(tmp_path), project_name="c2f", overwrite=True)
    tuner.search(verbose=0)
    return oracle


def test_keras_tuner_oracle_zooms_each_round(tmp_path):
    oracle = run_tuner(tmp_path)
    trials = [oracle.trials[i] for i in oracle.start_order]
    assert len(trials) == 24 and oracle.round == 2
    space = {hp.name: hp for hp in oracle.hyperparameters.space}
    low, high = oracle.regions["lr"]
    assert 0.0 <= low < high <= 1.0 and high - low < 0.6
    for trial in trials[16:]:
        value = trial.hyperparameters.values["lr"]
        assert low - 1e-9 <= space["lr"].value_to_prob(value) <= high + 1e-9
    # The last round's trials are closer to the optimum than the coarse round's.
    scores = np.array([t.score for t in trials])
    assert np.median(scores[16:]) < np.median(scores[:8])
    best = oracle.get_best_trials(1)[0]
    assert best.score < 0.5


def test_keras_tuner_oracle_state_round_trip(tmp_path):
    oracle = run_tuner(tmp_path, max_trials=10, trials_per_round=4)
    state = oracle.get_state()
    assert state["round"] == 2 and set(state["regions"]) == {"lr", "one_minus_beta"}
    from kerasdl.tuning.oracle import CoarseToFineOracle

    fresh = CoarseToFineOracle(max_trials=10, trials_per_round=4)
    fresh.trials = oracle.trials
    fresh.set_state(state)
    assert fresh.regions == oracle.regions and fresh.round == oracle.round


def test_keras_tuner_oracle_bad_arguments():
    pytest.importorskip("keras_tuner")
    from kerasdl.tuning.oracle import CoarseToFineOracle

    with pytest.raises(ValueError, match=r"`trials_per_round` must be > 0"):
        CoarseToFineOracle(trials_per_round=0)
    with pytest.raises(ValueError, match=r"`margin` must be in \[0, 1\]"):
        CoarseToFineOracle(margin=2.0)
