"""The per-operator profiles and the thread-scaling curve of an ``edgetk bench`` record, read back
as typed data for the report (``trainer/report/device_sections.py``).

Where they come from: ``edgetk bench --ops`` puts a profile (``edge_runtime.profiling.table``'s
layout) in each measured row's ``ops``; the pipeline's bench stage puts the shipped artifact's,
at one thread, in the record's ``shipped_ops``; every record since per-op profiling carries
``thread_scaling`` (``edge_runtime.bench.scaling``). Older records have none of these and read as
empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OpRow:
    """One operator: its time per inference and its share of the operators' sum."""

    name: str
    type: str
    count: int
    total_ms: float
    share: float
    cumulative_share: float

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OpRow:
        return cls(
            d["name"], d["type"], int(d.get("count", 1)), float(d["total_ms"]), float(d["share"]),
            float(d["cumulative_share"]),
        )  # fmt: skip


@dataclass(frozen=True)
class OpProfile:
    """One artifact's operators at one thread count, sorted by time (or the profiler's error)."""

    artifact: str
    threads: int
    ops: tuple[OpRow, ...] = ()
    sum_ms: float | None = None  # the operators' sum
    whole_ms: float | None = None  # the whole model's median, measured beside them
    method: str = ""
    runs: int | None = None  # the benchmark's timed-run count the profile was sized from
    error: str | None = None

    @property
    def sum_over_whole(self) -> float | None:
        return self.sum_ms / self.whole_ms if self.sum_ms and self.whole_ms else None

    @classmethod
    def from_dict(
        cls, d: dict[str, Any], artifact: str, threads: int, runs: int | None = None
    ) -> OpProfile:
        if d.get("error"):
            return cls(artifact, threads, runs=runs, error=str(d["error"]))
        return cls(
            artifact=artifact,
            threads=int(threads),
            ops=tuple(OpRow.from_dict(o) for o in d["ops"]),
            sum_ms=float(d["sum_ms"]),
            whole_ms=float(d["whole_ms"]),
            method=str(d.get("method", "")),
            runs=runs,
        )


@dataclass(frozen=True)
class ScalingPoint:
    """One thread count of an artifact: medians and the speed-up over the fewest threads."""

    threads: int
    latency_p50_ms: float  # Predictor.predict
    invoke_p50_ms: float  # the bare runtime call
    speedup: float | None
    efficiency: float | None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ScalingPoint:
        return cls(
            int(d["threads"]), float(d["latency_p50_ms"]), float(d["invoke_p50_ms"]),
            d.get("speedup"), d.get("efficiency"),
        )  # fmt: skip


def op_profiles(record: dict[str, Any]) -> tuple[OpProfile, ...]:
    """Every profile in a bench record: its rows' (``--ops``), then the bench stage's."""
    runs = (record.get("settings") or {}).get("runs")
    out = [
        OpProfile.from_dict(r["ops"], r["artifact"], r["threads"], runs)
        for r in record["rows"]
        if r.get("status") == "ok" and r.get("ops")
    ]
    shipped = record.get("shipped_ops")
    if shipped:
        out.append(
            OpProfile.from_dict(shipped, shipped["artifact"], shipped["threads"], shipped["runs"])
        )
    return tuple(out)


def thread_curves(record: dict[str, Any]) -> dict[str, tuple[ScalingPoint, ...]]:
    """Per artifact, its measured thread counts in order (``thread_scaling`` of the record)."""
    return {
        art: tuple(ScalingPoint.from_dict(p) for p in points)
        for art, points in (record.get("thread_scaling") or {}).items()
    }


__all__ = ["OpProfile", "OpRow", "ScalingPoint", "op_profiles", "thread_curves"]
