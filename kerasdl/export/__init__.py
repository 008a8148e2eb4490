"""Export for serving and devices: TF Serving SavedModels and TFLite (LiteRT) files."""

from kerasdl.export.saved_model import saved_model

__all__ = ["saved_model"]
