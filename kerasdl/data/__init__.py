"""Data sets and tf.data pipelines that need no network."""

from kerasdl.data.digits import load_digits_images

__all__ = ["load_digits_images"]
