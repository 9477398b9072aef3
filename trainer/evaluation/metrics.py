"""Classification metrics as plain JSON-ready numbers (numpy + scikit-learn, no TensorFlow).

:func:`compute_metrics` is shared by the trainer's evaluation and the exporter's parity gate, so it
imports nothing heavier than scikit-learn and takes arrays, not models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from edge_runtime.common.errors import DataError
from trainer.evaluation.collapse import CollapseThresholds, detect_collapse

# Probabilities are clipped before the log so one confident mistake gives a large, finite loss.
_LOG_EPS = 1e-7


def _as_labels(name: str, y: Any, num_classes: int) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise DataError(f"{name} must be a 1-D array of class indices, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise DataError(f"{name} must hold integer class indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
        raise DataError(
            f"{name} spans {arr.min()}..{arr.max()} but there are {num_classes} classes "
            f"(valid indices 0..{num_classes - 1}); check the labels and class_names"
        )
    return arr


def most_confused_pairs(
    cm: np.ndarray, class_names: Sequence[str], top: int = 10
) -> list[dict[str, Any]]:
    """Off-diagonal confusion-matrix cells, largest first: which true class became which.

    ``share_of_true`` is the fraction of that true class's samples that went to ``predicted``.
    """
    cm = np.asarray(cm)
    support = cm.sum(axis=1)
    cells = [
        (int(cm[t, p]), t, p)
        for t in range(cm.shape[0])
        for p in range(cm.shape[1])
        if t != p and cm[t, p] > 0
    ]
    # Ties broken by class index so the order is deterministic.
    cells.sort(key=lambda c: (-c[0], c[1], c[2]))
    return [
        {
            "true": t,
            "true_name": class_names[t],
            "predicted": p,
            "predicted_name": class_names[p],
            "count": n,
            "share_of_true": float(n / support[t]) if support[t] else 0.0,
        }
        for n, t, p in cells[:top]
    ]


def _probability_stats(probs: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    finite_rows = np.isfinite(probs).all(axis=1)
    out: dict[str, Any] = {"non_finite_outputs": int((~finite_rows).sum())}
    if not finite_rows.any():
        return out | {"mean_confidence": None, "top2_accuracy": None, "log_loss": None}
    p = probs[finite_rows]
    t, yp = y_true[finite_rows], y_pred[finite_rows]
    conf = p.max(axis=1)
    correct = yp == t
    top2 = np.argsort(-p, axis=1)[:, :2] if p.shape[1] >= 2 else np.argsort(-p, axis=1)
    p_true = np.clip(p[np.arange(len(t)), t], _LOG_EPS, 1.0)
    return out | {
        "mean_confidence": float(conf.mean()),
        "mean_confidence_correct": float(conf[correct].mean()) if correct.any() else None,
        "mean_confidence_wrong": float(conf[~correct].mean()) if (~correct).any() else None,
        "top2_accuracy": float((top2 == t[:, None]).any(axis=1).mean()),
        "log_loss": float(-np.log(p_true).mean()),
    }


def compute_metrics(
    y_true: Any,
    y_pred: Any | None,
    probs: Any | None,
    class_names: Sequence[str],
    *,
    top_confused: int = 10,
    collapse_thresholds: CollapseThresholds | None = None,
) -> dict[str, Any]:
    """Accuracy, macro / weighted F1, per-class P/R/F1/support, confusion matrix, collapse check.

    Args:
        y_true: true class indices, shape (N,).
        y_pred: predicted class indices, shape (N,); ``None`` takes the argmax of ``probs``.
        probs: class probabilities, shape (N, K), or ``None`` (then the confidence statistics
            are omitted).
        class_names: the K class names, index order.
        top_confused: how many of the most confused (true, predicted) pairs to list.
        collapse_thresholds: thresholds of the collapse detector (defaults if ``None``).

    Returns:
        A JSON-ready dict (only ints, floats, strings, lists, dicts, None). ``collapse`` holds
        the :class:`CollapseReport` and ``status`` is ``"COLLAPSE"`` when it fired, else ``"ok"``.
    """
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    names = [str(c) for c in class_names]
    k = len(names)
    if k < 2:
        raise DataError(f"need at least 2 class names to evaluate a classifier, got {names!r}")
    t = _as_labels("y_true", y_true, k)
    p_arr = None
    if probs is not None:
        p_arr = np.asarray(probs, dtype=np.float64)
        if p_arr.shape != (len(t), k):
            raise DataError(
                f"probs must have shape (N, K) = ({len(t)}, {k}) to match y_true and "
                f"class_names, got {p_arr.shape}"
            )
    if y_pred is None:
        if p_arr is None:
            raise DataError("compute_metrics needs y_pred or probs; both are None")
        # NaN rows become class 0 here; the collapse detector reports them separately.
        y_pred = np.nan_to_num(p_arr, nan=-np.inf).argmax(axis=1)
    yp = _as_labels("y_pred", y_pred, k)
    if len(yp) != len(t):
        raise DataError(f"y_true has {len(t)} samples but y_pred has {len(yp)}")
    if len(t) == 0:
        raise DataError("no samples to evaluate: y_true is empty")

    labels = list(range(k))
    cm = confusion_matrix(t, yp, labels=labels)
    prec, rec, f1, support = precision_recall_fscore_support(t, yp, labels=labels, zero_division=0)
    macro = precision_recall_fscore_support(t, yp, labels=labels, average="macro", zero_division=0)
    weighted = precision_recall_fscore_support(
        t, yp, labels=labels, average="weighted", zero_division=0
    )
    per_class = [
        {
            "index": i,
            "name": names[i],
            "precision": float(prec[i]),
            "recall": float(rec[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
            "predicted": int(cm[:, i].sum()),
        }
        for i in labels
    ]
    prob_stats = _probability_stats(p_arr, t, yp) if p_arr is not None else {}
    report = detect_collapse(
        t,
        yp,
        k,
        thresholds=collapse_thresholds,
        class_names=names,
        non_finite_outputs=prob_stats.get("non_finite_outputs", 0),
    )
    return {
        "status": "COLLAPSE" if report.detected else "ok",
        "n_samples": int(len(t)),
        "num_classes": k,
        "class_names": names,
        "accuracy": float(accuracy_score(t, yp)),
        "macro_precision": float(macro[0]),
        "macro_recall": float(macro[1]),
        "macro_f1": float(macro[2]),
        "weighted_precision": float(weighted[0]),
        "weighted_recall": float(weighted[1]),
        "weighted_f1": float(weighted[2]),
        **prob_stats,
        "per_class": per_class,
        "confusion_matrix": cm.astype(int).tolist(),
        "most_confused": most_confused_pairs(cm, names, top=top_confused),
        "collapse": report.to_dict(),
    }
