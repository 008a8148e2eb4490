"""Pictures of results, written as PNG files (matplotlib, no screen needed)."""

from kerasdl.plot.det import plot_det
from kerasdl.plot.detection import draw_detections
from kerasdl.plot.embeddings import embeddings_tsne
from kerasdl.plot.images import image_grid
from kerasdl.plot.roc import plot_roc
from kerasdl.plot.wakeword import plot_wakeword_errors, plot_wakeword_scores

__all__ = [
    "draw_detections",
    "embeddings_tsne",
    "image_grid",
    "plot_det",
    "plot_roc",
    "plot_wakeword_errors",
    "plot_wakeword_scores",
]
