"""Hyperparameter search on the right scale: uniform, log-uniform and `1 - beta`
log-uniform dimensions, random search and coarse-to-fine zooming, and a KerasTuner
oracle that zooms (`CoarseToFineOracle`, needs the optional `keras-tuner` package)."""

from kerasdl.tuning.search import (
    SearchResult,
    best_trials,
    coarse_to_fine,
    random_search,
    zoom,
)
from kerasdl.tuning.space import (
    Choice,
    Dimension,
    IntUniform,
    LogUniform,
    OneMinusLogUniform,
    Uniform,
    declare,
    from_keras_tuner,
)

__all__ = [
    "Choice",
    "CoarseToFineOracle",
    "Dimension",
    "IntUniform",
    "LogUniform",
    "OneMinusLogUniform",
    "SearchResult",
    "Uniform",
    "best_trials",
    "coarse_to_fine",
    "declare",
    "from_keras_tuner",
    "random_search",
    "zoom",
]


def __getattr__(name: str):
    # The oracle subclasses keras_tuner.Oracle: import it (and KerasTuner) only when used.
    if name == "CoarseToFineOracle":
        from kerasdl.tuning.oracle import CoarseToFineOracle

        return CoarseToFineOracle
    raise AttributeError(f"module 'kerasdl.tuning' has no attribute {name!r}")
