"""The gate's view of a model's outputs: accuracy, macro-F1 and per-class F1 of its arg-max.

The metrics themselves are ``edge_runtime.evaluation``'s, the same functions ``edgetk predict``
reports with, so the gate and the device agree on the same images.
"""

from __future__ import annotations

import numpy as np

from edge_runtime.evaluation import accuracy, macro_f1, per_class_f1


def classification_metrics(
    y_true: np.ndarray, probs: np.ndarray, num_classes: int
) -> dict[str, float | list[float]]:
    """Accuracy, macro-F1 and per-class F1 of the arg-max predictions of ``probs``."""
    pred = np.argmax(probs, axis=1)
    return {
        "accuracy": accuracy(y_true, pred),
        "macro_f1": macro_f1(y_true, pred, num_classes),
        "per_class_f1": [float(v) for v in per_class_f1(y_true, pred, num_classes)],
    }


__all__ = ["accuracy", "classification_metrics", "macro_f1", "per_class_f1"]
