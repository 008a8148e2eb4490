"""Export for serving and devices: TF Serving SavedModels, TFLite (LiteRT) files, and a
TensorFlow Lite for Microcontrollers runner to check them as a device runs them."""

from kerasdl.export.micro import MicroModel, micro_arena_bytes
from kerasdl.export.saved_model import saved_model
from kerasdl.export.serving import decode_image_bytes, image_bytes_serving_fn
from kerasdl.export.tflite import ParityReport, TFLiteModel, ops_in_flatbuffer, tflite

__all__ = [
    "MicroModel",
    "ParityReport",
    "TFLiteModel",
    "decode_image_bytes",
    "image_bytes_serving_fn",
    "micro_arena_bytes",
    "ops_in_flatbuffer",
    "saved_model",
    "tflite",
]
