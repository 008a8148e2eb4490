"""kerasdl: reusable Keras 3 building blocks for classic deep-learning applications."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from kerasdl import distribute, export, layers, models  # noqa: E402

__version__ = "0.1.0"

__all__ = ["distribute", "export", "layers", "models", "__version__"]
