"""The parity gate: an artifact's outputs next to the Keras model's, on held-out labelled data.

Every metric is computed, every threshold checked, and every failure collected (never just the
first), each naming the number and the allowed bound. A broken budget fails the gate only when
the paired test (``export.significance``) says the loss is real at the gate's confidence: with a
few dozen test images one image moves accuracy by 2 points, and a verdict one image can flip is
noise. Over-budget-but-unproven checks are kept as ``within_noise`` so the report can say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge_runtime.common.errors import DataError
from export.metrics import classification_metrics
from export.significance import (
    EXACT_MAX_DIFFERING,
    RANDOM_DRAWS,
    agreement_p,
    f1_drop_p,
    mcnemar_p,
    min_detectable_images,
)
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


def paired_significance(
    ref_probs: np.ndarray,
    probs: np.ndarray,
    y_true: np.ndarray,
    num_classes: int,
    metrics: dict[str, Any],
    t: ParityThresholds,
    confidence: float,
) -> dict[str, Any]:
    """The paired tests behind a verdict: how many images separate the two models, each
    count-based check's one-sided p-value, and the smallest accuracy drop this many images can
    show to be real. The F1 randomization tests run only where the drop is over budget (the
    only place their answer matters)."""
    y = np.asarray(y_true, np.int64)
    ref_pred, art_pred = np.argmax(ref_probs, 1), np.argmax(probs, 1)
    ref_ok, art_ok = ref_pred == y, art_pred == y
    keras_only = int(np.sum(ref_ok & ~art_ok))
    artifact_only = int(np.sum(art_ok & ~ref_ok))
    n = int(len(y))
    disagreements = int(np.sum(ref_pred != art_pred))
    alpha = 1.0 - confidence
    k_min = min_detectable_images(alpha)
    out: dict[str, Any] = {
        "confidence": confidence,
        "images": n,
        "keras_only_correct": keras_only,
        "artifact_only_correct": artifact_only,
        "disagreements": disagreements,
        "accuracy_p": mcnemar_p(keras_only, artifact_only),
        "agreement_p": (
            agreement_p(disagreements, n, t.min_agreement) if t.min_agreement is not None else None
        ),
        "macro_f1_p": None,
        "worst_class_f1_p": None,
        "min_detectable_images": k_min,
        "min_detectable_drop": k_min / n if n else None,
        "method": SIGNIFICANCE_METHOD,
    }
    over_macro = _over(t.max_macro_f1_drop, -metrics["macro_f1_delta"])
    over_worst = _over(t.max_class_f1_drop, -metrics["worst_class_f1_delta"])
    if over_macro or over_worst:
        p_macro, p_worst = f1_drop_p(y, ref_pred, art_pred, num_classes)
        out["macro_f1_p"] = p_macro if over_macro else None
        out["worst_class_f1_p"] = p_worst if over_worst else None
    return out


SIGNIFICANCE_METHOD = (
    "one-sided, paired: exact McNemar test (accuracy), exact binomial test against the allowed "
    "disagreement rate (agreement), randomization test swapping the two predictions of each "
    f"image where they differ (macro-F1, worst class F1; every pattern up to "
    f"{EXACT_MAX_DIFFERING} differing images, else {RANDOM_DRAWS:,} seeded draws)"
)


def _over(budget: float | None, value: float) -> bool:
    return budget is not None and value > budget


def _checks(metrics: dict[str, Any], t: ParityThresholds) -> list[tuple[str, str | None]]:
    """Every threshold ``metrics`` breaks: (sentence with the numbers, key of its p-value in
    the significance record, or None for a check that is not a count of images)."""
    over = []
    if _over(t.max_accuracy_drop, -metrics["accuracy_delta"]):
        over.append((
            f"accuracy drop {-100 * metrics['accuracy_delta']:.2f} points > "
            f"{100 * t.max_accuracy_drop:.2f} allowed ({100 * metrics['keras_accuracy']:.2f}% -> "
            f"{100 * metrics['accuracy']:.2f}%)",
            "accuracy_p",
        ))  # fmt: skip
    if _over(t.max_macro_f1_drop, -metrics["macro_f1_delta"]):
        over.append((
            f"macro-F1 drop {-100 * metrics['macro_f1_delta']:.2f} points > "
            f"{100 * t.max_macro_f1_drop:.2f} allowed",
            "macro_f1_p",
        ))  # fmt: skip
    if _over(t.max_class_f1_drop, -metrics["worst_class_f1_delta"]):
        over.append((
            f"F1 of class {metrics['worst_class']!r} drops "
            f"{-100 * metrics['worst_class_f1_delta']:.2f} points > "
            f"{100 * t.max_class_f1_drop:.2f} allowed",
            "worst_class_f1_p",
        ))  # fmt: skip
    if t.min_agreement is not None and metrics["agreement"] < t.min_agreement:
        over.append((
            f"top-1 agreement with Keras {100 * metrics['agreement']:.2f}% < "
            f"{100 * t.min_agreement:.2f}% required",
            "agreement_p",
        ))  # fmt: skip
    if _over(t.max_prob_diff, metrics["max_abs_diff"]):
        # A numeric tolerance on the outputs, not a count of images: no test, always judged.
        over.append(
            (f"max output difference {metrics['max_abs_diff']:.2e} > {t.max_prob_diff:.2e} allowed",
             None)
        )  # fmt: skip
    return over


def judge(metrics: dict[str, Any], t: ParityThresholds) -> tuple[list[str], list[str]]:
    """(failures, over budget but within noise), as readable sentences with the numbers.

    Without a ``significance`` record in ``metrics`` every broken threshold is a failure (the
    point-estimate rule precision recovery uses to choose). With one, a count-based check fails
    only when its p-value is at most 1 - confidence; otherwise it is reported as noise.
    """
    sig = metrics.get("significance")
    fails, noise = [], []
    for sentence, p_key in _checks(metrics, t):
        p = sig.get(p_key) if sig and p_key else None
        if sig is None or p_key is None or p is None:
            fails.append(sentence)
            continue
        alpha = 1.0 - sig["confidence"]
        n = sig["images"]
        if p <= alpha:
            fails.append(
                f"{sentence}; real at {_pct(sig['confidence'])} confidence (p = {p:.2g}, n = {n})"
            )
        else:
            noise.append(
                f"{sentence}, but not shown to be real at {_pct(sig['confidence'])} confidence "
                f"(p = {p:.2g}, n = {n})"
            )
    return fails, noise


def _pct(v: float) -> str:
    return f"{100 * v:g} %"


@dataclass(frozen=True)
class ParityResult:
    """One artifact's gate outcome: the metrics, the thresholds it was held to, what failed and
    what was over budget but not shown to be real."""

    key: str
    precision: str
    metrics: dict[str, Any]
    thresholds: ParityThresholds
    failures: tuple[str, ...]
    within_noise: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.metrics,
            "thresholds": self.thresholds.to_dict(),
            "verdict": "pass" if self.passed else "fail",
            "failures": list(self.failures),
            "within_noise": list(self.within_noise),
        }


def check_parity(
    key: str,
    precision: str,
    ref_probs: np.ndarray,
    probs: np.ndarray,
    y_true: np.ndarray,
    labels: Sequence[str],
    thresholds: ParityThresholds,
    confidence: float | None = None,
) -> ParityResult:
    """Compare and judge one artifact. With ``confidence`` (the gate's), an over-budget
    count-based check fails only when the paired test calls it real; without it (precision
    recovery choosing a layer count), the budgets alone decide."""
    metrics = compare_outputs(ref_probs, probs, y_true, labels)
    if confidence is not None:
        metrics["significance"] = paired_significance(
            ref_probs, probs, y_true, len(labels), metrics, thresholds, confidence
        )
    fails, noise = judge(metrics, thresholds)
    return ParityResult(key, precision, metrics, thresholds, tuple(fails), tuple(noise))


def gate_message(results: Sequence[ParityResult]) -> str:
    """One message naming every failed artifact and every broken threshold (raised when no
    artifact passed: a bundle ships whatever passed)."""
    failed = [r for r in results if not r.passed]
    parts = [f"{r.key}: " + "; ".join(r.failures) for r in failed]
    return (
        f"parity gate failed for {len(failed)} of {len(results)} artifact(s): "
        + " | ".join(parts)
        + ". No artifact passed, so no bundle was written. Fix the export (more or better calibration data, precision recovery) or pass "
        "--allow-parity-failure to export anyway (recorded in the manifest)"
    )
