"""Test-time views weighed by measurement: what they buy on validation, what they cost in latency.

The bundle stage re-exports the chosen artifact with test-time views (export/views.py chooses
them on the validation split). This module measures that artifact the way selection measures its
points (trainer/pipeline/points.py: validation accuracy through the device runtime, p95 of
single-image predict calls on 1 thread on this machine, peak memory of an isolated process) and
sets it beside the plain artifact as selection measured it. When "auto" chose the views and a
budget is active, the views ship only if their artifact fits the budget; otherwise the plain
artifact ships and the record says why. A view set the user named ships as asked.

With ``--budget-bench`` the budget is judged on device latency, and the views artifact has no
device record (it did not exist when the device measured): its p95 is estimated as the plain
artifact's device p95 times the view count, and the record says "estimate".

The record is ``<run>/views.json`` (:class:`ViewsCost`); the report reads it back through the
same class.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.common.errors import DataError
from edge_runtime.common.fileio import read_json, write_json
from trainer.pipeline.budget import LIMITS, Budget
from trainer.pipeline.select import Point

VIEWS_COST_NAME = "views.json"
VIEWS_DIR = "views"  # <run>/views/export: the views artifact, staged while it is weighed
MEASURED = "measured: this machine, 1 thread, p95 of single-image predict calls"


class Verdict(enum.Enum):
    KEPT = "kept"  # the views artifact ships
    DROPPED = "dropped"  # the plain artifact ships


@dataclass(frozen=True)
class Side:
    """One side of the comparison: the plain artifact as selected, or the same with views."""

    views: str  # "none" or the view set's name
    count: int  # network runs per image
    val_accuracy: float
    val_correct: int
    val_images: int
    test_accuracy: float | None  # its parity gate's numbers, read after the choice
    test_images: int | None
    p95_ms: float | None
    size_kb: float
    peak_ram_mb: float | None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Side:
        return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls)})


@dataclass(frozen=True)
class ViewsCost:
    """The views artifact against the plain one, and whether the views ship."""

    candidate: str
    artifact: str
    setting: str  # the bundle's views setting: "auto" or a view set's name
    plain: Side
    views: Side
    latency: str  # how both p95 values were obtained (MEASURED, or the device / the estimate)
    p95_estimated: bool  # the views p95 is the plain device p95 x count, not a measurement
    budget: Budget
    verdict: Verdict
    reason: str

    @property
    def gain_points(self) -> float:
        """Validation accuracy gained by the views, in percentage points."""
        return 100 * (self.views.val_accuracy - self.plain.val_accuracy)

    @property
    def gain_images(self) -> int:
        """Validation images the views get right beyond the plain artifact (net)."""
        return self.views.val_correct - self.plain.val_correct

    @property
    def p95_ratio(self) -> float | None:
        """Views p95 / plain p95."""
        if self.plain.p95_ms is None or self.views.p95_ms is None or self.plain.p95_ms <= 0:
            return None
        return self.views.p95_ms / self.plain.p95_ms

    def to_dict(self) -> dict[str, Any]:
        ratio = self.p95_ratio
        return {
            "schema": 1,
            "candidate": self.candidate,
            "artifact": self.artifact,
            "setting": self.setting,
            "plain": dataclasses.asdict(self.plain),
            "views": dataclasses.asdict(self.views),
            "gain_val_points": round(self.gain_points, 4),
            "gain_val_images": self.gain_images,
            "latency": self.latency,
            "p95_estimated": self.p95_estimated,
            "p95_ratio": None if ratio is None else round(ratio, 4),
            "budget": self.budget.to_dict(),
            "verdict": self.verdict.value,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ViewsCost:
        return cls(
            candidate=d["candidate"],
            artifact=d["artifact"],
            setting=d["setting"],
            plain=Side.from_dict(d["plain"]),
            views=Side.from_dict(d["views"]),
            latency=d["latency"],
            p95_estimated=bool(d["p95_estimated"]),
            budget=Budget.from_dict(d["budget"]),
            verdict=Verdict(d["verdict"]),
            reason=d["reason"],
        )

    def save(self, run_dir: Path) -> Path:
        path = Path(run_dir) / VIEWS_COST_NAME
        write_json(path, self.to_dict())
        return path

    @classmethod
    def load(cls, run_dir: Path) -> ViewsCost | None:
        """The run's record, or None when the bundle stage weighed no views."""
        path = Path(run_dir) / VIEWS_COST_NAME
        if not path.is_file():
            return None
        try:
            return cls.from_dict(read_json(path))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{path}: not a test-time views record ({exc!r})") from None

    def summary(self) -> dict[str, Any]:
        """The few numbers the bundle stage's result carries."""
        return {
            "verdict": self.verdict.value,
            "reason": self.reason,
            "views": self.views.views,
            "gain_val_points": round(self.gain_points, 2),
            "gain_val_images": self.gain_images,
            "plain_p95_ms": self.plain.p95_ms,
            "views_p95_ms": self.views.p95_ms,
            "p95_estimated": self.p95_estimated,
        }


def _gate_test(export_dir: Path, artifact: str) -> tuple[float | None, int | None]:
    """An artifact's test accuracy and image count from its export's parity gate."""
    m = read_json(export_dir / "manifest.json")
    art = next((a for a in m["artifacts"] if a["file"] == artifact), None)
    acc = ((art or {}).get("parity") or {}).get("accuracy")
    return acc, (m.get("parity_data") or {}).get("images")


def _misses(budget: Budget, point: Point, estimated: bool) -> list[str]:
    """One phrase per limit ``point`` exceeds: the limit, the value, and by how much."""
    over = budget.overshoot(point)
    out = []
    for name, flag, unit, attr in LIMITS:
        if flag not in over:
            continue
        value = getattr(point, attr)
        if value is None:
            out.append(f"{flag} {getattr(budget, name):g} {unit}: not measured")
            continue
        note = " (estimate)" if estimated and attr == "p95_ms" else ""
        out.append(
            f"{flag} {getattr(budget, name):g} {unit}: {value:.3f} {unit}{note}, "
            f"{over[flag]:.2f}x the limit"
        )
    return out


def _verdict(
    setting: str, budget: Budget, point: Point, name: str, count: int, estimated: bool
) -> tuple[Verdict, str]:
    what = f"{name} views ({count} network runs per image)"
    p95 = "-" if point.p95_ms is None else f"{point.p95_ms:.3f} ms"
    p95 += " (estimate)" if estimated else ""
    if not budget.active:
        return Verdict.KEPT, f"no budget given: the {what} chosen on validation ship"
    misses = _misses(budget, point, estimated)
    if setting != "auto":
        fit = f"over {'; '.join(misses)}" if misses else f"within {budget.describe()}"
        return Verdict.KEPT, f"{what} named explicitly ship as asked ({fit}; p95 {p95})"
    if not misses:
        return Verdict.KEPT, f"{what} fit {budget.describe()} (p95 {p95})"
    return Verdict.DROPPED, f"{what} do not fit {'; '.join(misses)}; the plain artifact ships"


def weigh_views(
    run_dir: Path,
    views_dir: Path,
    selection: dict[str, Any],
    setting: str,
    budget: Budget,
    x_val: np.ndarray,
    y_val: np.ndarray,
    runs: int,
    device: bool = False,
) -> ViewsCost | None:
    """Measure the views artifact in ``views_dir`` against the plain one ``selection`` chose.

    None when the export holds no views (the choice on validation kept the plain model) or its
    artifact did not pass the gate (it offers no point to weigh). ``device``: selection judged
    latency on ``--budget-bench`` records, so the views p95 is an estimate.
    """
    from trainer.pipeline.points import measure_points

    chosen = selection["chosen"]
    plain_point = Point.from_dict(chosen)
    record = (read_json(views_dir / "manifest.json").get("source_model") or {}).get(
        "test_time_views"
    ) or {}
    count = int(record.get("count", 1))
    if count <= 1:
        return None
    measured = [
        p
        for p in measure_points(views_dir, plain_point.candidate, x_val, y_val, runs)
        if p.artifact == plain_point.artifact
    ]
    if not measured:
        return None
    point = measured[0]
    latency = MEASURED
    if device:
        estimate = None if plain_point.p95_ms is None else plain_point.p95_ms * count
        point = dataclasses.replace(point, p95_ms=estimate)
        latency = (
            f"estimate: the plain artifact's device p95 x {count} views "
            f"({selection.get('latency_source', 'device bench')})"
        )
    verdict, reason = _verdict(setting, budget, point, record["chosen"], count, device)
    test = chosen.get("test") or {}
    n = plain_point.val_count
    plain = Side(
        views="none",
        count=1,
        val_accuracy=plain_point.val_accuracy,
        val_correct=int(round(plain_point.val_accuracy * n)),
        val_images=n,
        test_accuracy=test.get("accuracy"),
        test_images=test.get("images"),
        p95_ms=plain_point.p95_ms,
        size_kb=plain_point.size_kb,
        peak_ram_mb=plain_point.peak_ram_mb,
    )
    v_acc, v_images = _gate_test(views_dir, point.artifact)
    views = Side(
        views=str(record["chosen"]),
        count=count,
        val_accuracy=point.val_accuracy,
        val_correct=int(np.sum(point.correct)) if point.correct is not None else 0,
        val_images=point.val_count,
        test_accuracy=v_acc,
        test_images=v_images,
        p95_ms=point.p95_ms,
        size_kb=point.size_kb,
        peak_ram_mb=point.peak_ram_mb,
    )
    cost = ViewsCost(
        candidate=plain_point.candidate,
        artifact=plain_point.artifact,
        setting=setting,
        plain=plain,
        views=views,
        latency=latency,
        p95_estimated=device,
        budget=budget,
        verdict=verdict,
        reason=reason,
    )
    cost.save(run_dir)
    return cost


__all__ = ["VIEWS_COST_NAME", "VIEWS_DIR", "Side", "Verdict", "ViewsCost", "weigh_views"]
