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

__all__ = [
    "EncodingDatabase",
    "all_pairs",
    "balanced_pairs",
    "equal_error_rate",
    "roc_auc",
    "roc_curve",
    "tar_at_far",
    "threshold_for_far",
    "verification_accuracy",
]
