"""Face verification and recognition on encodings: the threshold `tau` from labelled
pairs (ROC, AUC, EER, TAR at a FAR), labelled pairs, and a database of enrolled
identities with nearest-identity search."""

from kerasdl.verification.database import EncodingDatabase
from kerasdl.verification.pairs import all_pairs, balanced_pairs
from kerasdl.verification.roc import (
    equal_error_rate,
    roc_auc,
    roc_curve,
    tar_at_far,
    threshold_for_far,
    verification_accuracy,
)
from kerasdl.verification.wakeword import (
    BootstrapOperatingPoints,
    OperatingCurve,
    WakeWordErrors,
    WakeWordScores,
    bootstrap_operating_point,
    combine_scores,
    detection_events,
    detection_steps,
    match_detections,
    operating_curve,
    threshold_for_false_activations,
    wakeword_errors,
    wakeword_scores,
)

__all__ = [
    "BootstrapOperatingPoints",
    "EncodingDatabase",
    "OperatingCurve",
    "WakeWordErrors",
    "WakeWordScores",
    "all_pairs",
    "balanced_pairs",
    "bootstrap_operating_point",
    "combine_scores",
    "detection_events",
    "detection_steps",
    "equal_error_rate",
    "match_detections",
    "operating_curve",
    "roc_auc",
    "roc_curve",
    "tar_at_far",
    "threshold_for_false_activations",
    "threshold_for_far",
    "verification_accuracy",
    "wakeword_errors",
    "wakeword_scores",
]
