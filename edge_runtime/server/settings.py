"""``ServeConfig``: everything ``edgetk serve`` needs, validated before a socket is opened."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from edge_runtime.common.configbase import JsonConfig, check_range
from edge_runtime.common.errors import ConfigError
from edge_runtime.polarity import POLARITY_CHOICES, PolarityChoice

MIB = 1024 * 1024
LogLevel = Literal["critical", "error", "warning", "info", "debug"]  # uvicorn's names
_LOG_LEVELS: tuple[str, ...] = get_args(LogLevel)


@dataclass(frozen=True)
class ServeConfig(JsonConfig):
    """How to serve a bundle: where to listen, how much work to accept, what input to refuse.

    ``workers`` inference threads each own one loaded interpreter (the runtime is not re-entrant);
    ``queue_size`` more requests may wait for a free worker, beyond that the service answers 503;
    a free worker takes the waiting requests together, up to ``max_batch`` images in one model call.
    ``api_key`` (optional) must then be sent as ``X-API-Key`` on every route except health and the
    API docs. Limits protect the process: ``max_body_mb`` is enforced while the body is read,
    ``max_pixels`` / ``max_side`` are checked from the image header before anything is decoded.
    """

    bundle: Path
    artifact: str | None = None
    threads: int | None = None
    workers: int = 1
    queue_size: int = 64
    max_batch: int = 16
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = field(default=None, repr=False)
    max_body_mb: float = 10.0
    max_files: int = 16
    max_pixels: int = 25_000_000
    max_side: int = 12_000
    top_k: int = 5
    polarity: PolarityChoice = "auto"
    log_level: LogLevel = "info"
    access_log: bool = True

    def validate(self) -> None:
        if self.threads is not None:
            check_range("threads", self.threads, 1, 256)
        check_range("workers", self.workers, 1, 64)
        check_range("queue_size", self.queue_size, 0, 100_000)
        check_range("max_batch", self.max_batch, 1, 1024)
        check_range("port", self.port, 0, 65535)
        check_range("max_body_mb", self.max_body_mb, 0.001, 4096)
        check_range("max_files", self.max_files, 1, 1024)
        check_range("max_pixels", self.max_pixels, 1, 1_000_000_000)
        check_range("max_side", self.max_side, 1, 1_000_000)
        check_range("top_k", self.top_k, 1, 100_000)
        if not self.host.strip():
            raise ConfigError("host must not be empty; use 127.0.0.1 (default) or 0.0.0.0")
        if self.polarity not in POLARITY_CHOICES:
            raise ConfigError(
                f"polarity={self.polarity!r} is not allowed; choose one of {list(POLARITY_CHOICES)}"
            )
        if self.log_level not in _LOG_LEVELS:
            raise ConfigError(
                f"log_level={self.log_level!r} is not allowed; choose one of {list(_LOG_LEVELS)}"
            )
        if self.api_key is not None and (not self.api_key or self.api_key != self.api_key.strip()):
            raise ConfigError(
                "api_key must be a non-empty string without surrounding spaces; "
                "leave it unset to serve without a key"
            )

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * MIB)


__all__ = ["ServeConfig"]
