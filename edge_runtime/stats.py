"""Latency distributions: percentiles from ``perf_counter_ns`` samples (warm-up already excluded)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LatencyStats:
    """Summary of a latency sample in milliseconds.

    Percentiles are numpy's default (linear interpolation, rank ``(n - 1) * q / 100``); ``std`` is
    the population standard deviation (``ddof=0``).
    """

    n: int
    mean: float
    std: float
    min: float
    p50: float
    p90: float
    p95: float
    p99: float
    max: float

    @classmethod
    def from_ns(cls, samples_ns: Sequence[int | float]) -> LatencyStats:
        """Build from nanosecond samples (``perf_counter_ns`` differences)."""
        return cls.from_ms(np.asarray(samples_ns, dtype=np.float64) / 1e6)

    @classmethod
    def from_ms(cls, ms: Sequence[float] | np.ndarray) -> LatencyStats:
        """Build from millisecond samples."""
        a = np.asarray(ms, dtype=np.float64)
        if a.size == 0:
            raise ValueError("no latency samples")
        p50, p90, p95, p99 = np.percentile(a, (50, 90, 95, 99))
        return cls(
            n=int(a.size),
            mean=float(a.mean()),
            std=float(a.std()),
            min=float(a.min()),
            p50=float(p50),
            p90=float(p90),
            p95=float(p95),
            p99=float(p99),
            max=float(a.max()),
        )

    def to_dict(self, digits: int = 4) -> dict[str, Any]:
        return {
            k: (round(v, digits) if isinstance(v, float) else v) for k, v in asdict(self).items()
        }


__all__ = ["LatencyStats"]
