"""A KerasTuner oracle that searches coarse to fine (needs `pip install keras-tuner`)."""

from __future__ import annotations

import random

import keras_tuner
from keras_tuner.engine import trial as trial_module  # public re-export of Trial(Status)

from kerasdl._validation import check_positive_int

_NUMERIC = ("Float", "Int")
_CATEGORICAL = ("Choice", "Boolean")


class CoarseToFineOracle(keras_tuner.Oracle):
    """Random search that zooms into the best region every `trials_per_round` trials.

    Round 1 samples KerasTuner's space at random. Before each later round, every numeric
    hyperparameter's region becomes the span of the `top_k` best completed trials'
    values, widened by `margin` (a fraction of the current span) each side, measured in
    KerasTuner's own unit coordinate of that hyperparameter (`value_to_prob`), so log-
    sampled ones (`sampling="log"`) zoom on the log scale. A Choice or Boolean keeps the
    values the best trials used. Trials of a round are then drawn uniformly inside the
    region. Use it as `keras_tuner.Tuner(oracle=CoarseToFineOracle(...), hypermodel=...)`.

    Args:
        objective: the KerasTuner objective (e.g. "val_loss" or
            `keras_tuner.Objective("val_accuracy", "max")`).
        max_trials: total number of trials.
        trials_per_round: trials per round (the first round is the coarse one).
        top_k: completed trials that define the next region.
        margin: widening of the region, in [0, 1], a fraction of the current span.
        seed: seed of the sampling.
        hyperparameters, allow_new_entries, tune_new_entries, max_retries_per_trial,
        max_consecutive_failed_trials: as for `keras_tuner.oracles.RandomSearchOracle`.

    Example:

    >>> import keras_tuner
    >>> oracle = CoarseToFineOracle("loss", max_trials=20, trials_per_round=5, seed=1)
    >>> oracle.trials_per_round, oracle.top_k
    (5, 3)
    """

    def __init__(
        self,
        objective=None,
        max_trials: int = 30,
        trials_per_round: int = 10,
        top_k: int = 3,
        margin: float = 0.1,
        seed: int | None = None,
        hyperparameters=None,
        allow_new_entries: bool = True,
        tune_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
    ):
        super().__init__(
            objective=objective,
            max_trials=max_trials,
            hyperparameters=hyperparameters,
            allow_new_entries=allow_new_entries,
            tune_new_entries=tune_new_entries,
            seed=seed,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
        )
        self.trials_per_round = check_positive_int("trials_per_round", trials_per_round)
        self.top_k = check_positive_int("top_k", top_k)
        if not 0.0 <= margin <= 1.0:
            raise ValueError(f"`margin` must be in [0, 1]. Received: margin={margin}")
        self.margin = float(margin)
        # name -> [low_prob, high_prob] for numeric entries, or the allowed values.
        self.regions: dict[str, list] = {}
        self.round = 0

    def _zoom(self) -> None:
        best = [
            t
            for t in self.get_best_trials(self.top_k)
            if t.status == trial_module.TrialStatus.COMPLETED
        ]
        if not best:
            return
        for hp in self.hyperparameters.space:
            kind = type(hp).__name__
            used = [t.hyperparameters.values[hp.name] for t in best]
            used = [v for v in used if v is not None]
            if not used:
                continue
            if kind in _NUMERIC:
                low, high = self.regions.get(hp.name, [0.0, 1.0])
                probs = [hp.value_to_prob(v) for v in used]
                widen = self.margin * (high - low)
                self.regions[hp.name] = [
                    max(low, min(probs) - widen),
                    min(high, max(probs) + widen),
                ]
            elif kind in _CATEGORICAL:
                self.regions[hp.name] = sorted(set(used), key=list(hp.values).index)

    def populate_space(self, trial_id):
        round_now = len(self.trials) // self.trials_per_round
        if round_now > self.round:
            self.round = round_now
            self._zoom()
        for _ in range(self._max_collisions + 1):
            values = self._sample()
            if not self._duplicate(values):
                return {"status": trial_module.TrialStatus.RUNNING, "values": values}
        return {"status": trial_module.TrialStatus.STOPPED, "values": None}

    def _sample(self) -> dict:
        rng = random.Random(self._seed_state)
        self._seed_state += 1
        hps = keras_tuner.HyperParameters()
        for hp in self.hyperparameters.space:
            hps.merge([hp])
            if not hps.is_active(hp):
                continue
            region = self.regions.get(hp.name)
            if region is None:
                hps.values[hp.name] = hp.random_sample(rng.randint(0, 2**31))
            elif type(hp).__name__ in _NUMERIC:
                low, high = region
                hps.values[hp.name] = hp.prob_to_value(low + rng.random() * (high - low))
            else:
                hps.values[hp.name] = rng.choice(region)
        return hps.values

    def get_state(self):
        state = super().get_state()
        state.update(regions=self.regions, round=self.round)
        return state

    def set_state(self, state):
        super().set_state(state)
        self.regions = state.get("regions", {})
        self.round = state.get("round", 0)
