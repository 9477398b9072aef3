"""Evaluation of trained classifiers: metrics, collapse detection, tables and figures.

Importing this package does not import TensorFlow: :func:`compute_metrics` and
:func:`detect_collapse` need only numpy and scikit-learn (the exporter's parity gate uses them).
"""

from trainer.evaluation.collapse import (
    CollapseReport,
    CollapseThresholds,
    detect_collapse,
    raise_if_collapsed,
)
from trainer.evaluation.evaluate import METRICS_NAME, evaluate_model, predict_probabilities
from trainer.evaluation.figures import plot_confusion_matrix, plot_misclassified, save_figure
from trainer.evaluation.metrics import compute_metrics, most_confused_pairs
from trainer.evaluation.tables import per_class_csv, per_class_markdown

__all__ = [
    "METRICS_NAME",
    "CollapseReport",
    "CollapseThresholds",
    "compute_metrics",
    "detect_collapse",
    "evaluate_model",
    "most_confused_pairs",
    "per_class_csv",
    "per_class_markdown",
    "plot_confusion_matrix",
    "plot_misclassified",
    "predict_probabilities",
    "raise_if_collapsed",
    "save_figure",
]
