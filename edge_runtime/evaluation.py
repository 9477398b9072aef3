"""Classification metrics with numpy only: accuracy, per-class precision / recall / F1, confusion.

The one implementation of these metrics in the project: the export gate (``export.metrics``), the
tuning objective (``trainer.tuning.metric``) and ``edgetk predict`` all call the functions here, so
they report the same macro-F1 on the same images. It lives in the bottom layer because the device
runtime must not need scikit-learn; the tests compare it with scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # numpy.typing stays off `edgetk predict`'s cold start
    from numpy.typing import ArrayLike


@dataclass(frozen=True)
class ClassMetrics:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Evaluation:
    """Metrics of predictions against true labels. ``confusion[t, p]`` counts true t predicted p."""

    labels: tuple[str, ...]
    confusion: np.ndarray
    accuracy: float
    macro_f1: float
    per_class: tuple[ClassMetrics, ...]

    @property
    def n(self) -> int:
        return int(self.confusion.sum())

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 6),
            "macro_f1": round(self.macro_f1, 6),
            "per_class": [
                {
                    "label": c.label,
                    "precision": round(c.precision, 6),
                    "recall": round(c.recall, 6),
                    "f1": round(c.f1, 6),
                    "support": c.support,
                }
                for c in self.per_class
            ],
            "labels": list(self.labels),
            "confusion": self.confusion.tolist(),
        }

    def format_table(self) -> str:
        """Accuracy, per-class F1 and the confusion matrix as plain text."""
        w = max(8, *(len(lab) for lab in self.labels))
        lines = [
            f"evaluated {self.n} images: accuracy {self.accuracy:.4f}, macro-F1 {self.macro_f1:.4f}",
            f"{'class':<{w}}  precision  recall     f1  support",
        ]
        for c in self.per_class:
            lines.append(
                f"{c.label:<{w}}  {c.precision:9.4f}  {c.recall:6.4f}  {c.f1:5.4f}  {c.support:7d}"
            )
        lines.append("confusion (rows: true, columns: predicted, in label order)")
        cw = max(4, len(str(int(self.confusion.max(initial=0)))))
        for lab, row in zip(self.labels, self.confusion):
            lines.append(f"{lab:<{w}}  " + " ".join(f"{int(v):>{cw}d}" for v in row))
        return "\n".join(lines)


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int) -> np.ndarray:
    """Counts ``cm[true, pred]`` over the class indices ``0 .. num_classes - 1``."""
    t = np.asarray(y_true, dtype=np.int64).ravel()
    p = np.asarray(y_pred, dtype=np.int64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"{t.shape[0]} true labels but {p.shape[0]} predictions")
    cm = np.bincount(t * num_classes + p, minlength=num_classes * num_classes)
    return cm.reshape(num_classes, num_classes)


def _f1_from_confusion(cm: np.ndarray) -> np.ndarray:
    tp = np.diag(cm).astype(np.float64)
    denom = cm.sum(axis=0) + cm.sum(axis=1)  # predicted + actual = 2TP + FP + FN
    return np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)


def per_class_f1(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int) -> np.ndarray:
    """F1 of each class; 0 for a class neither present nor predicted (scikit-learn's
    ``zero_division=0``)."""
    return _f1_from_confusion(confusion_matrix(y_true, y_pred, num_classes))


def macro_f1(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int) -> float:
    """Unweighted mean of the per-class F1 over all ``num_classes`` classes of the label set.

    A class absent from a subset still counts (with F1 0 unless it is predicted, then also 0), as
    scikit-learn's ``f1_score(labels=range(num_classes), average="macro", zero_division=0)``: so a
    model cannot gain by never predicting a rare class, and the number does not depend on which
    classes a subset happens to hold.
    """
    return float(per_class_f1(y_true, y_pred, num_classes).mean())


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    t = np.asarray(y_true).ravel()
    return float(np.mean(t == np.asarray(y_pred).ravel())) if t.size else 0.0


def evaluate(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]) -> Evaluation:
    """Metrics of class indices ``y_pred`` against ``y_true``; macro-F1 as ``macro_f1``."""
    k = len(labels)
    confusion = confusion_matrix(y_true, y_pred, k)
    tp = np.diag(confusion).astype(np.float64)
    predicted = confusion.sum(axis=0)
    support = confusion.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    f1 = _f1_from_confusion(confusion)
    per_class = tuple(
        ClassMetrics(
            labels[i], float(precision[i]), float(recall[i]), float(f1[i]), int(support[i])
        )
        for i in range(k)
    )
    n = int(confusion.sum())
    return Evaluation(
        labels=tuple(labels),
        confusion=confusion,
        accuracy=float(tp.sum() / n) if n else 0.0,
        macro_f1=float(f1.mean()) if k else 0.0,
        per_class=per_class,
    )


__all__ = [
    "ClassMetrics",
    "Evaluation",
    "accuracy",
    "confusion_matrix",
    "evaluate",
    "macro_f1",
    "per_class_f1",
]
