"""Collapse detector: a model that predicts (nearly) one class, or scores near chance.

The failure this guards against is the one in the user's story: a transfer model that trained
"fine" and then scored 10.5 % on ten balanced classes because it predicted almost one class.
Such a run must fail loudly, with the confusion matrix that shows it, not end with a metrics file
nobody reads.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from edge_runtime.common.configbase import JsonConfig, check_range
from edge_runtime.common.errors import CollapseError, ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CollapseThresholds(JsonConfig):
    """When the detector fires.

    Attributes:
        dominant_share: fire when one class receives more than this share of all predictions ...
        dominant_ratio: ... and that share is more than ``dominant_ratio`` times the class's true
            share (so a genuinely majority class in imbalanced data does not fire).
        chance_factor: fire when accuracy < ``chance_factor`` x chance, where chance is the
            accuracy of always predicting the most frequent true class (1/K when balanced) ...
        chance_margin_cap: ... but never require more than chance + this margin, so a 2-class
            model at 70 % is not called collapsed (1.5 x 50 % would demand 75 %).
        min_predicted_fraction: fire when the model uses fewer than this fraction of the classes
            present in the data (checked for 4 or more classes).
    """

    dominant_share: float = 0.5
    dominant_ratio: float = 2.0
    chance_factor: float = 1.5
    chance_margin_cap: float = 0.15
    min_predicted_fraction: float = 0.5

    def validate(self) -> None:
        check_range("dominant_share", self.dominant_share, 0.0, 1.0)
        check_range("dominant_ratio", self.dominant_ratio, 1.0, None)
        check_range("chance_factor", self.chance_factor, 1.0, None)
        check_range("chance_margin_cap", self.chance_margin_cap, 0.0, 1.0)
        check_range("min_predicted_fraction", self.min_predicted_fraction, 0.0, 1.0)

    def near_chance_threshold(self, chance: float) -> float:
        """Accuracy below which a model counts as near chance."""
        return min(self.chance_factor * chance, chance + self.chance_margin_cap)


@dataclass(frozen=True)
class CollapseReport:
    """What the detector found; ``detected`` is True when any reason fired."""

    detected: bool
    reasons: list[str]
    num_classes: int
    n_samples: int
    accuracy: float
    chance_accuracy: float
    accuracy_vs_chance: float
    near_chance_threshold: float
    dominant_class: int
    dominant_class_name: str
    dominant_share: float
    dominant_true_share: float
    predicted_classes: int
    present_classes: int
    non_finite_outputs: int
    thresholds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """One line with the numbers: accuracy vs chance and the dominant class."""
        return (
            f"accuracy {self.accuracy:.1%} vs chance {self.chance_accuracy:.1%} "
            f"({self.accuracy_vs_chance:.2f}x); {self.dominant_share:.1%} of predictions are "
            f"class {self.dominant_class} {self.dominant_class_name!r} "
            f"(true share {self.dominant_true_share:.1%}); "
            f"{self.predicted_classes}/{self.present_classes} classes ever predicted"
        )


def detect_collapse(
    y_true: Any,
    y_pred: Any,
    num_classes: int,
    *,
    thresholds: CollapseThresholds | None = None,
    class_names: Sequence[str] | None = None,
    non_finite_outputs: int = 0,
) -> CollapseReport:
    """Check predictions for collapse onto one class or near-chance accuracy.

    Args:
        y_true: true class indices, shape (N,).
        y_pred: predicted class indices, shape (N,).
        num_classes: K.
        thresholds: when to fire (see :class:`CollapseThresholds`).
        class_names: names for the report (indices are used when omitted).
        non_finite_outputs: how many output rows held NaN / inf (a diverged model); any is a
            collapse.

    Returns:
        A :class:`CollapseReport`. Logs an ERROR when it fires.
    """
    th = thresholds or CollapseThresholds()
    if num_classes < 2:
        raise ConfigError(f"num_classes={num_classes!r} is out of range; need at least 2")
    t = np.asarray(y_true, dtype=np.int64).ravel()
    p = np.asarray(y_pred, dtype=np.int64).ravel()
    if len(t) != len(p) or len(t) == 0:
        raise ConfigError(
            f"y_true and y_pred must be equally long and non-empty, got {len(t)} and {len(p)}"
        )
    names = list(class_names) if class_names is not None else [str(i) for i in range(num_classes)]
    n = len(t)
    true_counts = np.bincount(t, minlength=num_classes)
    pred_counts = np.bincount(p, minlength=num_classes)
    accuracy = float((t == p).mean())
    chance = float(true_counts.max() / n)
    threshold = th.near_chance_threshold(chance)
    dominant = int(pred_counts.argmax())
    dom_share = float(pred_counts[dominant] / n)
    dom_true_share = float(true_counts[dominant] / n)
    present = int((true_counts > 0).sum())
    predicted = int((pred_counts > 0).sum())

    reasons: list[str] = []
    if non_finite_outputs:
        reasons.append(
            f"{non_finite_outputs} of {n} outputs are NaN or infinite (the model diverged)"
        )
    if accuracy < threshold:
        reasons.append(
            f"near chance: accuracy {accuracy:.1%} is below {threshold:.1%} "
            f"(chance {chance:.1%}, {accuracy / chance:.2f}x chance)"
        )
    if dom_share > th.dominant_share and dom_share > th.dominant_ratio * dom_true_share:
        reasons.append(
            f"one class dominates: {dom_share:.1%} of predictions are {names[dominant]!r} "
            f"whose true share is {dom_true_share:.1%}"
        )
    if present >= 4 and predicted < th.min_predicted_fraction * present:
        reasons.append(
            f"only {predicted} of {present} classes are ever predicted "
            f"(fewer than {th.min_predicted_fraction:.0%})"
        )
    report = CollapseReport(
        detected=bool(reasons),
        reasons=reasons,
        num_classes=int(num_classes),
        n_samples=int(n),
        accuracy=accuracy,
        chance_accuracy=chance,
        accuracy_vs_chance=float(accuracy / chance),
        near_chance_threshold=float(threshold),
        dominant_class=dominant,
        dominant_class_name=str(names[dominant]),
        dominant_share=dom_share,
        dominant_true_share=dom_true_share,
        predicted_classes=predicted,
        present_classes=present,
        non_finite_outputs=int(non_finite_outputs),
        thresholds=th.to_dict(),
    )
    if report.detected:
        log.error("MODEL COLLAPSE: %s; %s", "; ".join(reasons), report.summary())
    return report


def raise_if_collapsed(metrics: dict[str, Any], stage: str) -> None:
    """Raise :class:`~edge_runtime.common.errors.CollapseError` (exit 4) if ``metrics`` report a collapse.

    Call it after the stage's outputs are written, so the user can open the confusion matrix the
    message points to. ``metrics`` is the dict returned by ``evaluate_model`` (or
    ``compute_metrics``).
    """
    section = metrics.get("collapse")
    if not isinstance(section, dict) or "detected" not in section:
        raise ConfigError(
            f"stage {stage!r}: metrics have no 'collapse' section; pass the dict returned by "
            "trainer.evaluation.evaluate_model or compute_metrics"
        )
    if not section["detected"]:
        return
    figure = (metrics.get("files") or {}).get("confusion_matrix_normalized") or (
        metrics.get("files") or {}
    ).get("confusion_matrix")
    where = f"; see the confusion matrix at {figure}" if figure else ""
    raise CollapseError(
        f"stage {stage!r} collapsed: {'; '.join(section['reasons'])} "
        f"(accuracy {section['accuracy']:.1%}, chance {section['chance_accuracy']:.1%}, "
        f"{section['dominant_share']:.1%} of predictions are {section['dominant_class_name']!r})"
        f"{where}. Check the learning rate, the input scaling (models take raw 0..255 pixels) "
        "and the labels, then retrain this stage."
    )
