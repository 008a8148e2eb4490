"""Export for serving and devices: TF Serving SavedModels and TFLite (LiteRT) files."""

from kerasdl.export.saved_model import saved_model
from kerasdl.export.serving import decode_image_bytes, image_bytes_serving_fn
from kerasdl.export.tflite import ParityReport, TFLiteModel, ops_in_flatbuffer, tflite

__all__ = [
    "ParityReport",
    "TFLiteModel",
    "decode_image_bytes",
    "image_bytes_serving_fn",
    "ops_in_flatbuffer",
    "saved_model",
    "tflite",
]
