"""Classification metrics with numpy only: accuracy, per-class precision / recall / F1, confusion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


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


def evaluate(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]) -> Evaluation:
    """Metrics of class indices ``y_pred`` against ``y_true`` (F1 is 0 for a class never predicted
    nor present, and the macro average runs over classes that occur in ``y_true`` or ``y_pred``)."""
    k = len(labels)
    t = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(y_pred, dtype=np.int64)
    if t.shape != p.shape:
        raise ValueError(f"{t.shape[0]} true labels but {p.shape[0]} predictions")
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (t, p), 1)
    tp = np.diag(confusion).astype(np.float64)
    predicted = confusion.sum(axis=0).astype(np.float64)
    support = confusion.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    present = (support > 0) | (predicted > 0)
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
        macro_f1=float(f1[present].mean()) if present.any() else 0.0,
        per_class=per_class,
    )


__all__ = ["ClassMetrics", "Evaluation", "evaluate"]
