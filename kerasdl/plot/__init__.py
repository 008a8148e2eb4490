"""Pictures of results, written as PNG files (matplotlib, no screen needed)."""

from kerasdl.plot.images import image_grid

__all__ = ["image_grid"]
