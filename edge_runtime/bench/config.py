"""What ``edgetk bench`` measures."""

from __future__ import annotations

from dataclasses import dataclass

from edge_runtime.common.configbase import JsonConfig
from edge_runtime.common.errors import ConfigError


@dataclass(frozen=True)
class BenchConfig(JsonConfig):
    """Benchmark settings. Each (artifact, threads) pair runs in its own process by default
    (``isolate``) so peak memory is that artifact's alone and a crashing runtime becomes an
    error row instead of ending the benchmark."""

    bundle: str
    artifacts: tuple[str, ...] = ()  # file names or format:precision; empty: all in the manifest
    threads: tuple[int, ...] = (1, 2)
    runs: int = 200
    warmup: int = 20
    batch: int = 8
    data: str | None = None  # a labelled folder (one subfolder per class) for accuracy
    data_limit: int | None = None  # evaluate at most this many images of ``data``
    isolate: bool = True
    label: str = ""  # free text stored with the results, e.g. "emulated (qemu-user)"
    timeout_s: float = 900.0  # per isolated measurement
    verify: bool = True  # check each artifact's sha256 against the manifest before measuring
    ops: bool = False  # also a per-operator profile per (artifact, threads)

    def validate(self) -> None:
        if not self.threads or min(self.threads) < 1:
            raise ConfigError(f"threads={list(self.threads)}: give thread counts of at least 1")
        if self.runs < 5:
            raise ConfigError(f"runs={self.runs} is too few for percentiles; use at least 5")
        if self.warmup < 0:
            raise ConfigError(f"warmup={self.warmup} must be 0 or more")
        if self.batch < 1:
            raise ConfigError(f"batch={self.batch} must be at least 1")
        if self.data_limit is not None and self.data_limit < 1:
            raise ConfigError(f"data_limit={self.data_limit} must be at least 1")
        if self.timeout_s <= 0:
            raise ConfigError(f"timeout_s={self.timeout_s} must be positive")


__all__ = ["BenchConfig"]
