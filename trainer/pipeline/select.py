"""Selection on validation, within budget: which artifact the bundle ships, and why.

The inputs are :class:`Point` s, one per candidate x exported artifact that passed its gate, with
VALIDATION accuracy, size, latency and memory. A point has no test-set field at all: the choice
cannot read the test split. The test split is read once, after the choice, for the record.

The most accurate point within budget leads; every point whose validation accuracy it cannot
tell apart from the leader's (exact one-sided McNemar on the same validation images, p >= 0.05)
is tied with it, and the smallest, then fastest, tied point ships: an int8 artifact that is as
accurate as float32 on validation, within the noise of that split, is the one a device wants.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from edge_runtime.common.errors import EdgetkError
from export.significance import mcnemar_p
from trainer.pipeline.budget import LIMITS, Budget

TIE_ALPHA = 0.05  # a lead on validation that is not significant at this level is a tie


class NothingFitsError(EdgetkError):
    """No gated artifact fits the budget (exit code 1); the message names the closest point."""

    exit_code = 1


@dataclass(frozen=True)
class Point:
    candidate: str
    artifact: str  # file name inside the candidate's export
    format: str
    precision: str
    val_accuracy: float
    val_count: int
    size_kb: float
    p95_ms: float | None
    peak_ram_mb: float | None
    # per validation image: was this artifact right (for the paired tie test; not serialized)
    correct: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> str:
        return f"{self.candidate}/{self.artifact}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("correct")
        return {"key": self.key, **d}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Point:
        """A point as ``to_dict`` wrote it (``selection.json``); per-image results stay None.

        A missing field is a KeyError, a ``key`` that disagrees with candidate / artifact a
        ValueError: the reader names the file.
        """
        point = cls(**{f.name: data[f.name] for f in fields(cls) if f.name != "correct"})
        if data.get("key", point.key) != point.key:
            raise ValueError(f"point key {data['key']!r} is not {point.key!r}")
        return point


@dataclass(frozen=True)
class Choice:
    winner: Point
    within_budget: tuple[Point, ...]
    pareto: tuple[Point, ...]
    reason: str
    tied: tuple[Point, ...] = ()  # the points tied with the most accurate (the winner among them)


def _better(a: Point, b: Point) -> bool:
    """True when ``a`` dominates ``b``: no worse in accuracy, latency and size, better in one."""
    la = a.p95_ms if a.p95_ms is not None else float("inf")
    lb = b.p95_ms if b.p95_ms is not None else float("inf")
    no_worse = a.val_accuracy >= b.val_accuracy and la <= lb and a.size_kb <= b.size_kb
    better = a.val_accuracy > b.val_accuracy or la < lb or a.size_kb < b.size_kb
    return no_worse and better


def pareto_front(points: list[Point] | tuple[Point, ...]) -> tuple[Point, ...]:
    """The points no other point dominates (validation accuracy up, p95 latency and size down)."""
    return tuple(p for p in points if not any(_better(q, p) for q in points if q is not p))


def _rank(p: Point) -> tuple[float, float, float]:
    # Most accurate on validation; ties go to the smaller, then the faster artifact.
    return (-p.val_accuracy, p.size_kb, p.p95_ms if p.p95_ms is not None else float("inf"))


def _closest(points: list[Point], budget: Budget) -> tuple[Point, dict[str, float]]:
    scored = [(max(budget.overshoot(p).values(), default=0.0), p) for p in points]
    worst, best = min(scored, key=lambda t: (t[0], _rank(t[1])))
    return best, budget.overshoot(best)


def _describe(p: Point) -> str:
    lat = "-" if p.p95_ms is None else f"{p.p95_ms:.2f} ms p95"
    ram = "-" if p.peak_ram_mb is None else f"{p.peak_ram_mb:.0f} MB peak RAM"
    return (
        f"{p.key} (validation accuracy {p.val_accuracy:.4f} on {p.val_count} images, "
        f"{p.size_kb:.0f} KB, {lat}, {ram})"
    )


def choose(points: list[Point], budget: Budget) -> Choice:
    """The most accurate point on validation within ``budget``.

    Raises :class:`NothingFitsError` (exit 1) naming the point that came closest when none fits,
    and an ``EdgetkError`` when there are no points (nothing passed its gate).
    """
    if not points:
        raise EdgetkError(
            "no exported artifact passed its parity gate, so there is nothing to choose from; "
            "see each candidate's exports/<name>/manifest.json, or re-run with --allow-parity-failure"
        )
    fits = [p for p in points if not budget.overshoot(p)]
    front = pareto_front(points)
    if not fits:
        best, over = _closest(points, budget)
        misses = ", ".join(
            f"{flag} by {ratio:.2f}x" if ratio != float("inf") else f"{flag} (not measured)"
            for flag, ratio in over.items()
        )
        raise NothingFitsError(
            f"no artifact fits the budget ({budget.describe()}); the closest is {_describe(best)}, "
            f"over {misses}. Raise the budget or add a smaller candidate to the candidates file"
        )
    leader = min(fits, key=_rank)
    tied = [p for p in fits if tie_p(leader, p) >= TIE_ALPHA]
    winner = min(tied, key=lambda p: (p.size_kb, _rank(p)[2], -p.val_accuracy))
    n_out = len(points) - len(fits)
    within = f" within the budget ({budget.describe()}); {n_out} over it" if budget.active else ""
    if winner is leader:
        reason = (
            f"highest validation accuracy ({winner.val_accuracy:.4f} on {winner.val_count} images) "
            f"among {len(fits)} gated artifact(s){within}"
            + (f"; the smallest of {len(tied)} statistically tied" if len(tied) > 1 else "")
        )
    else:
        reason = (
            f"the smallest of {len(tied)} artifact(s) statistically tied with the most accurate "
            f"({leader.key}: {leader.val_accuracy:.4f} against {winner.val_accuracy:.4f} on "
            f"{winner.val_count} validation images, exact McNemar p = {tie_p(leader, winner):.2f} "
            f">= {TIE_ALPHA}) among {len(fits)} gated artifact(s){within}"
        )
    return Choice(
        winner=winner, within_budget=tuple(fits), pareto=front, reason=reason, tied=tuple(tied)
    )


def tie_p(leader: Point, other: Point) -> float:
    """One-sided exact McNemar p-value that ``leader`` is more accurate than ``other`` on the same
    validation images (1.0 for the leader itself; without per-image results, only an equal
    accuracy is a tie)."""
    if other is leader:
        return 1.0
    if leader.correct is None or other.correct is None or len(leader.correct) != len(other.correct):
        return 1.0 if other.val_accuracy == leader.val_accuracy else 0.0
    only_leader = int(np.sum(leader.correct & ~other.correct))
    only_other = int(np.sum(other.correct & ~leader.correct))
    return mcnemar_p(only_leader, only_other)


def budget_flags() -> list[str]:
    return [flag for _, flag, _, _ in LIMITS]
