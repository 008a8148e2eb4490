"""ML strategy diagnostics: splits, bias/variance/data-mismatch gaps, error analysis and
learning curves (numpy and matplotlib, outside the training graph)."""

from kerasdl.diagnostics.curves import LearningCurve, learning_curve, plot_learning_curves
from kerasdl.diagnostics.error_analysis import ErrorAnalysis, error_analysis
from kerasdl.diagnostics.errors import (
    misclassification_error,
    misclassified,
    model_error,
    predict_with_labels,
    predicted_labels,
)
from kerasdl.diagnostics.gaps import (
    REMEDIES,
    ErrorGaps,
    comparison_table,
    plot_error_gaps,
)
from kerasdl.diagnostics.splits import (
    Splits,
    mismatched_split,
    split_sizes,
    train_dev_test_split,
)

__all__ = [
    "REMEDIES",
    "ErrorAnalysis",
    "ErrorGaps",
    "LearningCurve",
    "Splits",
    "comparison_table",
    "error_analysis",
    "learning_curve",
    "misclassification_error",
    "misclassified",
    "mismatched_split",
    "model_error",
    "plot_error_gaps",
    "plot_learning_curves",
    "predict_with_labels",
    "predicted_labels",
    "split_sizes",
    "train_dev_test_split",
]
