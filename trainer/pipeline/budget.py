"""Device budgets: the limits a shipped artifact must fit (latency, size, memory)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge_runtime.common.configbase import JsonConfig
from edge_runtime.common.errors import ConfigError

# (field, CLI flag, unit, the point's attribute it limits)
LIMITS: tuple[tuple[str, str, str, str], ...] = (
    ("max_ms", "--budget-ms", "ms", "p95_ms"),
    ("max_kb", "--budget-kb", "KB", "size_kb"),
    ("max_ram_mb", "--budget-ram-mb", "MB", "peak_ram_mb"),
)


@dataclass(frozen=True)
class Budget(JsonConfig):
    """``max_ms``: p95 single-image latency; ``max_kb``: artifact file size (1 KB = 1000 bytes);
    ``max_ram_mb``: peak resident memory of a process running the artifact. None: no limit."""

    max_ms: float | None = None
    max_kb: float | None = None
    max_ram_mb: float | None = None

    def validate(self) -> None:
        for name, flag, unit, _ in LIMITS:
            v = getattr(self, name)
            if v is not None and not (isinstance(v, (int, float)) and v > 0):
                raise ConfigError(
                    f"{flag} {v!r}: give a positive number of {unit}, or leave it out"
                )

    @property
    def active(self) -> bool:
        return any(getattr(self, name) is not None for name, *_ in LIMITS)

    def overshoot(self, point: Any) -> dict[str, float]:
        """For each limit the point exceeds: value / limit (> 1). Empty when it fits.

        A point whose measure is unknown (None) does not fit a limit on that measure.
        """
        out: dict[str, float] = {}
        for name, flag, _, attr in LIMITS:
            limit = getattr(self, name)
            if limit is None:
                continue
            value = getattr(point, attr)
            if value is None:
                out[flag] = float("inf")
            elif value > limit:
                out[flag] = value / limit
        return out

    def describe(self) -> str:
        parts = [
            f"{flag} {getattr(self, name):g} {unit}"
            for name, flag, unit, _ in LIMITS
            if getattr(self, name) is not None
        ]
        return ", ".join(parts) if parts else "no budget"
