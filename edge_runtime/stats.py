"""Latency distributions: percentiles from ``perf_counter_ns`` samples (warm-up already excluded)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation between closest ranks.

    The same definition as numpy's default (``method="linear"``): rank ``(n - 1) * q / 100``.
    """
    if not values:
        raise ValueError("percentile of an empty sample")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q={q} must be within 0..100")
    s = sorted(values)
    rank = (len(s) - 1) * q / 100.0
    lo = math.floor(rank)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (rank - lo)


@dataclass(frozen=True)
class LatencyStats:
    """Summary of a latency sample in milliseconds (``std`` is the population standard deviation)."""

    n: int
    mean: float
    std: float
    min: float
    p50: float
    p90: float
    p99: float
    max: float

    @classmethod
    def from_ns(cls, samples_ns: Sequence[int | float]) -> LatencyStats:
        """Build from nanosecond samples (``perf_counter_ns`` differences)."""
        ms = [v / 1e6 for v in samples_ns]
        return cls.from_ms(ms)

    @classmethod
    def from_ms(cls, ms: Sequence[float]) -> LatencyStats:
        """Build from millisecond samples."""
        if not ms:
            raise ValueError("no latency samples")
        n = len(ms)
        mean = sum(ms) / n
        std = math.sqrt(sum((v - mean) ** 2 for v in ms) / n)
        return cls(
            n=n,
            mean=mean,
            std=std,
            min=min(ms),
            p50=percentile(ms, 50),
            p90=percentile(ms, 90),
            p99=percentile(ms, 99),
            max=max(ms),
        )

    def to_dict(self, digits: int = 4) -> dict[str, Any]:
        return {
            k: (round(v, digits) if isinstance(v, float) else v) for k, v in asdict(self).items()
        }


__all__ = ["LatencyStats", "percentile"]
