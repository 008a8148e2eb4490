"""Pure tensor and shape math, with no Keras objects."""

from kerasdl.ops.anchors import kmeans_anchors
from kerasdl.ops.audio import hz_to_mel, mel_filterbank, mel_to_hz, num_frames, samples_for_frames
from kerasdl.ops.boxes import BOX_FORMATS, convert_boxes, elementwise_iou, iou
from kerasdl.ops.conv_arithmetic import conv_multiplications, conv_output_size
from kerasdl.ops.embeddings import (
    bias_direction,
    complete_analogy,
    cosine_similarity,
    equalize,
    nearest_neighbors,
    neutralize,
)
from kerasdl.ops.nms import batched_non_max_suppression, class_agnostic_nms, non_max_suppression

__all__ = [
    "bias_direction",
    "complete_analogy",
    "conv_multiplications",
    "conv_output_size",
    "cosine_similarity",
    "equalize",
    "hz_to_mel",
    "mel_filterbank",
    "mel_to_hz",
    "nearest_neighbors",
    "neutralize",
    "num_frames",
    "samples_for_frames",
]
__all__ += ["BOX_FORMATS", "convert_boxes", "elementwise_iou", "iou"]
__all__ += ["batched_non_max_suppression", "class_agnostic_nms", "non_max_suppression"]
__all__ += ["kmeans_anchors"]
