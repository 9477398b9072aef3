"""The parity gate: an artifact's outputs next to the Keras model's, on held-out labelled data.

Every metric is computed, every threshold checked, and every failure collected (never just the
first), each naming the number and the allowed bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge_runtime.common.errors import DataError
from export.metrics import classification_metrics
from export.thresholds import ParityThresholds


def compare_outputs(
    ref_probs: np.ndarray,
    probs: np.ndarray,
    y_true: np.ndarray,
    labels: Sequence[str],
) -> dict[str, Any]:
    """Accuracy, macro-F1 and per-class F1 of both models, their deltas (artifact - Keras),
    top-1 agreement and the max / mean absolute output difference."""
    if ref_probs.shape != probs.shape:
        raise DataError(
            f"artifact output shape {probs.shape} differs from the Keras model's {ref_probs.shape}"
        )
    if len(y_true) != len(probs):
        raise DataError(f"{len(probs)} outputs but {len(y_true)} labels")
    k = len(labels)
    ref = classification_metrics(y_true, ref_probs, k)
    art = classification_metrics(y_true, probs, k)
    f1_delta = [a - r for a, r in zip(art["per_class_f1"], ref["per_class_f1"])]
    worst = int(np.argmin(f1_delta))
    diff = np.abs(probs.astype(np.float64) - ref_probs.astype(np.float64))
    return {
        "images": int(len(y_true)),
        "keras_accuracy": ref["accuracy"],
        "accuracy": art["accuracy"],
        "accuracy_delta": art["accuracy"] - ref["accuracy"],
        "keras_macro_f1": ref["macro_f1"],
        "macro_f1": art["macro_f1"],
        "macro_f1_delta": art["macro_f1"] - ref["macro_f1"],
        "per_class_f1": dict(zip(labels, art["per_class_f1"])),
        "per_class_f1_delta": dict(zip(labels, f1_delta)),
        "worst_class": labels[worst],
        "worst_class_f1_delta": f1_delta[worst],
        "agreement": float(np.mean(np.argmax(probs, 1) == np.argmax(ref_probs, 1))),
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
    }


def judge(metrics: dict[str, Any], t: ParityThresholds) -> list[str]:
    """Every threshold ``metrics`` breaks, as readable sentences with the numbers."""
    fails = []
    if t.max_accuracy_drop is not None and -metrics["accuracy_delta"] > t.max_accuracy_drop:
        fails.append(
            f"accuracy drop {-100 * metrics['accuracy_delta']:.2f} points > "
            f"{100 * t.max_accuracy_drop:.2f} allowed ({100 * metrics['keras_accuracy']:.2f}% -> "
            f"{100 * metrics['accuracy']:.2f}%)"
        )
    if t.max_macro_f1_drop is not None and -metrics["macro_f1_delta"] > t.max_macro_f1_drop:
        fails.append(
            f"macro-F1 drop {-100 * metrics['macro_f1_delta']:.2f} points > "
            f"{100 * t.max_macro_f1_drop:.2f} allowed"
        )
    if t.max_class_f1_drop is not None and -metrics["worst_class_f1_delta"] > t.max_class_f1_drop:
        fails.append(
            f"F1 of class {metrics['worst_class']!r} drops "
            f"{-100 * metrics['worst_class_f1_delta']:.2f} points > "
            f"{100 * t.max_class_f1_drop:.2f} allowed"
        )
    if t.min_agreement is not None and metrics["agreement"] < t.min_agreement:
        fails.append(
            f"top-1 agreement with Keras {100 * metrics['agreement']:.2f}% < "
            f"{100 * t.min_agreement:.2f}% required"
        )
    if t.max_prob_diff is not None and metrics["max_abs_diff"] > t.max_prob_diff:
        fails.append(
            f"max output difference {metrics['max_abs_diff']:.2e} > {t.max_prob_diff:.2e} allowed"
        )
    return fails


@dataclass(frozen=True)
class ParityResult:
    """One artifact's gate outcome: the metrics, the thresholds it was held to, what failed."""

    key: str
    precision: str
    metrics: dict[str, Any]
    thresholds: ParityThresholds
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.metrics,
            "thresholds": self.thresholds.to_dict(),
            "verdict": "pass" if self.passed else "fail",
            "failures": list(self.failures),
        }


def check_parity(
    key: str,
    precision: str,
    ref_probs: np.ndarray,
    probs: np.ndarray,
    y_true: np.ndarray,
    labels: Sequence[str],
    thresholds: ParityThresholds,
) -> ParityResult:
    """Compare and judge one artifact."""
    metrics = compare_outputs(ref_probs, probs, y_true, labels)
    return ParityResult(key, precision, metrics, thresholds, tuple(judge(metrics, thresholds)))


def gate_message(results: Sequence[ParityResult]) -> str:
    """One message naming every failed artifact and every broken threshold."""
    failed = [r for r in results if not r.passed]
    parts = [f"{r.key}: " + "; ".join(r.failures) for r in failed]
    return (
        f"parity gate failed for {len(failed)} of {len(results)} artifact(s): "
        + " | ".join(parts)
        + ". Fix the export (more or better calibration data, precision recovery) or pass "
        "--allow-parity-failure to export anyway (recorded in the manifest)"
    )
