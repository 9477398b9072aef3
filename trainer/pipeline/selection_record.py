"""``<run>/selection.json`` read back as typed data: what the select stage chose, and why.

The select stage (:mod:`trainer.pipeline.selection_stage`) writes the file; the report reads it
through :class:`SelectionRecord`, so a renamed or missing field is an error that names the file
instead of a silent "-".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_runtime.common.errors import DataError
from edge_runtime.common.fileio import read_json
from trainer.pipeline.budget import Budget
from trainer.pipeline.select import Point
from trainer.pipeline.selection_stage import SELECTION_NAME


@dataclass(frozen=True)
class ValidationScore:
    """A candidate's numbers on the validation split (what selection read)."""

    accuracy: float
    macro_f1: float | None
    count: int | None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ValidationScore:
        return cls(d["accuracy"], d.get("macro_f1"), d.get("count"))


@dataclass(frozen=True)
class DeployedTest:
    """The chosen artifact on the test split, read once, after the choice."""

    accuracy: float | None
    keras_accuracy: float | None
    images: int | None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DeployedTest:
        return cls(d.get("accuracy"), d.get("keras_accuracy"), d.get("images"))


@dataclass(frozen=True)
class Chosen:
    """The artifact that ships, the rule's reason, and its test numbers."""

    point: Point
    reason: str
    test: DeployedTest | None = None

    @property
    def candidate(self) -> str:
        return self.point.candidate

    @property
    def artifact(self) -> str:
        return self.point.artifact

    @property
    def key(self) -> str:
        return self.point.key

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Chosen:
        test = d.get("test")
        return cls(Point.from_dict(d), d["reason"], DeployedTest.from_dict(test) if test else None)


@dataclass(frozen=True)
class CandidateTest:
    """One candidate's float model on the test split (``test_after_choice``)."""

    kind: str
    accuracy: float | None
    macro_f1: float | None
    test_count: int | None = None
    params: int | None = None
    train_seconds: float | None = None
    train_count: int | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CandidateTest:
        test = d.get("test") or {}
        return cls(
            kind=d["kind"],
            accuracy=test.get("accuracy"),
            macro_f1=test.get("macro_f1"),
            test_count=d.get("test_count"),
            params=d.get("params"),
            train_seconds=d.get("train_seconds"),
            train_count=d.get("train_count"),
        )


@dataclass(frozen=True)
class AnchorComparison:
    """The shipped artifact against one classical anchor, on the test split."""

    anchor_test_accuracy: float
    deployed_test_accuracy: float
    beats_anchor: bool

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AnchorComparison:
        return cls(d["anchor_test_accuracy"], d["deployed_test_accuracy"], d["beats_anchor"])


@dataclass(frozen=True)
class CrossvalScore:
    """One candidate's out-of-fold answers in a small-data run's cross-validation."""

    accuracy: float  # pooled over every training image, each scored by the fold that left it out
    images: int
    fold_accuracy: tuple[float, ...]
    fold_std: float
    seconds: float | None = None
    p_vs_leader: float | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CrossvalScore:
        return cls(
            d["accuracy"],
            d["images"],
            tuple(d.get("fold_accuracy") or ()),
            d.get("fold_std", 0.0),
            d.get("seconds"),
            d.get("p_vs_leader"),
        )


@dataclass(frozen=True)
class Evidence:
    """What the choice between candidates rests on: the validation split, or (small data)
    k-fold cross-validation on the training split (trainer/pipeline/crossval.py)."""

    kind: str  # "validation split" or "cross-validation"
    images: int
    folds: int | None = None
    why: str = ""
    leader: str | None = None
    in_race: tuple[str, ...] = ()
    out_of_race: dict[str, str] = field(default_factory=dict)
    scores: dict[str, CrossvalScore] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Evidence:
        return cls(
            kind=d["kind"],
            images=d["images"],
            folds=d.get("folds"),
            why=d.get("why", ""),
            leader=d.get("leader"),
            in_race=tuple(d.get("in_race") or ()),
            out_of_race=dict(d.get("out_of_race") or {}),
            scores={k: CrossvalScore.from_dict(v) for k, v in (d.get("scores") or {}).items()},
        )


@dataclass(frozen=True)
class SelectionRecord:
    """``selection.json``: every gated point, the budget, the choice (or why nothing fits)."""

    rule: str
    status: str  # "chosen" or "nothing fits"
    budget: Budget
    points: tuple[Point, ...]
    validation: dict[str, ValidationScore] = field(default_factory=dict)
    pareto: tuple[str, ...] = ()
    chosen: Chosen | None = None
    error: str | None = None
    tied_with_leader: tuple[str, ...] = ()
    within_budget: tuple[str, ...] = ()
    test_after_choice: dict[str, CandidateTest] = field(default_factory=dict)
    anchor_comparison: dict[str, AnchorComparison] = field(default_factory=dict)
    latency_source: str = ""
    collapsed: dict[str, str] = field(default_factory=dict)
    figure: str | None = None  # relative to the run directory
    evidence: Evidence | None = None  # None in records written before it was recorded

    @property
    def shipped_candidate(self) -> str | None:
        return self.chosen.candidate if self.chosen else None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SelectionRecord:
        status = d["status"]
        if status not in ("chosen", "nothing fits"):
            raise ValueError(f"status {status!r} is neither 'chosen' nor 'nothing fits'")
        if status == "chosen" and not d.get("chosen"):
            raise ValueError("status is 'chosen' but there is no 'chosen' entry")
        return cls(
            rule=d["rule"],
            status=status,
            budget=Budget.from_dict(d.get("budget") or {}),
            points=tuple(Point.from_dict(p) for p in d["points"]),
            validation={k: ValidationScore.from_dict(v) for k, v in d["validation"].items()},
            pareto=tuple(d.get("pareto") or ()),
            chosen=Chosen.from_dict(d["chosen"]) if d.get("chosen") else None,
            error=d.get("error"),
            tied_with_leader=tuple(d.get("tied_with_leader") or ()),
            within_budget=tuple(d.get("within_budget") or ()),
            test_after_choice={
                k: CandidateTest.from_dict(v) for k, v in (d.get("test_after_choice") or {}).items()
            },
            anchor_comparison={
                k: AnchorComparison.from_dict(v)
                for k, v in (d.get("anchor_comparison") or {}).items()
            },
            latency_source=d.get("latency_source", ""),
            collapsed=dict(d.get("collapsed") or {}),
            figure=d.get("figure"),
            evidence=Evidence.from_dict(d["evidence"]) if d.get("evidence") else None,
        )

    @classmethod
    def load(cls, run_dir: str | Path) -> SelectionRecord | None:
        """The run's record, or None when the select stage has not written one."""
        path = Path(run_dir) / SELECTION_NAME
        if not path.is_file():
            return None
        try:
            return cls.from_dict(read_json(path))
        except json.JSONDecodeError as exc:
            raise DataError(f"{path} is not valid JSON ({exc}); re-run the select stage") from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            what = f"no field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise DataError(
                f"{path} is not a selection record this edgetk reads ({what}); re-run the "
                "select stage (`edgetk run --from select`)"
            ) from None


__all__ = [
    "AnchorComparison",
    "CandidateTest",
    "Chosen",
    "CrossvalScore",
    "DeployedTest",
    "Evidence",
    "SelectionRecord",
    "ValidationScore",
]
