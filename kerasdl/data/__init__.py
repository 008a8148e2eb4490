"""Data sets and tf.data pipelines that need no network."""

from kerasdl.data.detection import decode_yolo_targets, encode_yolo_targets, localization_target
from kerasdl.data.digits import load_digits_images
from kerasdl.data.shapes import shapes_dataset, shapes_tf_dataset

__all__ = [
    "decode_yolo_targets",
    "encode_yolo_targets",
    "load_digits_images",
    "localization_target",
    "shapes_dataset",
    "shapes_tf_dataset",
]
