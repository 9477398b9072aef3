"""An ``edgetk bench`` record (``<run>/bench/bench.json`` or a device's) read back as typed data.

``edge_runtime.bench.run_bench`` writes the record (schema ``edgetk.bench/1``); the report reads
it only through :class:`BenchRecord`. Records from before the bench reported p95 still read (their
p95 is None); a row the report needs that lacks a field is a DataError naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainer.report.ops_record import OpProfile, ScalingPoint, op_profiles, thread_curves
from trainer.report.records import load_record


@dataclass(frozen=True)
class BenchLatency:
    """Per-image ``Predictor.predict`` latency in ms (``latency_ms`` of a bench row)."""

    n: int
    p50: float
    p99: float
    p90: float | None = None
    p95: float | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BenchLatency:
        return cls(d["n"], d["p50"], d["p99"], d.get("p90"), d.get("p95"))


@dataclass(frozen=True)
class BenchRow:
    """One artifact at one thread count: measured (``ok``) or the error that stopped it."""

    artifact: str
    threads: int
    status: str
    error: str | None = None
    size_bytes: int | None = None
    latency: BenchLatency | None = None  # None unless ok
    single_stream_ips: float | None = None
    batched_ips: float | None = None
    peak_rss_mb: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BenchRow:
        if d["status"] != "ok":
            return cls(
                d["artifact"], d["threads"], d["status"], d.get("error"), d.get("size_bytes")
            )
        return cls(
            artifact=d["artifact"],
            threads=d["threads"],
            status="ok",
            size_bytes=d["size_bytes"],
            latency=BenchLatency.from_dict(d["latency_ms"]),
            single_stream_ips=d["throughput"]["single_stream_ips"],
            batched_ips=d["throughput"]["batched_ips"],
            peak_rss_mb=(d.get("memory") or {}).get("peak_rss_mb"),
        )


@dataclass(frozen=True)
class BenchDevice:
    cpu_model: str | None = None
    arch: str | None = None
    cores: int | None = None  # usable cores (logical when the record has no usable count)
    os: str | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BenchDevice:
        return cls(
            d.get("cpu_model"), d.get("arch"), d.get("cores_usable") or d.get("cores_logical"),
            d.get("os"),
        )  # fmt: skip

    def describe(self) -> str:
        return (
            f"{self.cpu_model or 'an undescribed CPU'} ({self.arch or '?'}, "
            f"{self.cores or '?'} usable cores, {self.os or '?'})"
        )


@dataclass(frozen=True)
class BenchRecord:
    device: BenchDevice
    rows: tuple[BenchRow, ...]
    label: str | None = None
    runs: int | None = None  # timed runs per row
    default_artifact: str | None = None  # the bundle's, when the bench measured it
    op_profiles: tuple[OpProfile, ...] = ()  # --ops rows and the bench stage's shipped artifact
    thread_scaling: dict[str, tuple[ScalingPoint, ...]] = field(default_factory=dict)

    @property
    def where(self) -> str:
        """The label the user gave the record, else the device in a few words."""
        d = self.device
        return self.label or f"{d.cpu_model or '?'} ({d.arch or '?'}, {d.cores or '?'} cores)"

    def ok_rows(self, artifact: str | None = None) -> list[BenchRow]:
        return [r for r in self.rows if r.ok and (artifact is None or r.artifact == artifact)]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BenchRecord:
        return cls(
            device=BenchDevice.from_dict(d.get("device") or {}),
            rows=tuple(BenchRow.from_dict(r) for r in d["rows"]),
            label=d.get("label"),
            runs=(d.get("settings") or {}).get("runs"),
            default_artifact=(d.get("bundle") or {}).get("default_artifact"),
            op_profiles=op_profiles(d),
            thread_scaling=thread_curves(d),
        )

    @classmethod
    def load(cls, path: Path) -> BenchRecord | None:
        return load_record(
            cls.from_dict,
            path,
            "pass a file written by `edgetk bench --out`, or re-run the bench stage",
        )


__all__ = ["BenchDevice", "BenchLatency", "BenchRecord", "BenchRow"]
