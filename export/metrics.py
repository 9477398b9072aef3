"""Classification metrics in plain numpy (the trainer's are above this layer in the import order)."""

from __future__ import annotations

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts ``cm[true, pred]``."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)), 1)
    return cm


def per_class_f1(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """F1 of each class; 0 where a class is neither present nor predicted (sklearn's
    ``zero_division=0``)."""
    cm = confusion_matrix(y_true, y_pred, num_classes)
    tp = np.diag(cm).astype(np.float64)
    denom = cm.sum(axis=0) + cm.sum(axis=1)  # 2tp + fp + fn
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(denom > 0, 2 * tp / denom, 0.0)
    return f1


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    y_true = np.asarray(y_true)
    return float(np.mean(y_true == np.asarray(y_pred))) if len(y_true) else 0.0


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> float:
    return float(np.mean(per_class_f1(y_true, y_pred, num_classes)))


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
