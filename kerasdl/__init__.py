"""kerasdl: reusable Keras 3 building blocks for classic deep-learning applications."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from kerasdl import (  # noqa: E402
    callbacks,
    data,
    decoding,
    diagnostics,
    distribute,
    export,
    layers,
    losses,
    metrics,
    models,
    ops,
    plot,
    tuning,
    verification,
)

__version__ = "0.1.0"

__all__ = [
    "callbacks",
    "data",
    "decoding",
    "diagnostics",
    "distribute",
    "export",
    "layers",
    "losses",
    "metrics",
    "models",
    "ops",
    "plot",
    "tuning",
    "verification",
    "__version__",
]
