"""``ServeConfig``: everything ``edgetk serve`` needs, validated before a socket is opened."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from edge_runtime.common.configbase import JsonConfig, check_choice, check_range
from edge_runtime.common.errors import ConfigError
from edge_runtime.polarity import PolarityChoice, check_invert_choice
from edge_runtime.prediction import DEFAULT_TOP_K

MIB = 1024 * 1024
LogLevel = Literal["critical", "error", "warning", "info", "debug"]  # uvicorn's names
_LOG_LEVELS: tuple[str, ...] = get_args(LogLevel)
HttpParser = Literal["auto", "httptools", "h11"]  # uvicorn's names for its HTTP/1.1 protocols
HTTP_PARSERS: tuple[str, ...] = get_args(HttpParser)


@dataclass(frozen=True)
class ServeConfig(JsonConfig):
    """How to serve a bundle: where to listen, how much work to accept, what input to refuse.

    ``workers`` inference threads each own one loaded interpreter (the runtime is not re-entrant);
    ``queue_size`` more requests may wait for a free worker, beyond that the service answers 503;
    a free worker takes the waiting requests together, up to ``max_batch`` images in one model call.
    ``api_key`` (optional) must then be sent as ``X-API-Key`` on every route except health.

    Limits protect the process, each bounding one resource: ``max_body_mb`` one request's body
    (enforced while it streams in) and ``max_buffered_mb`` all bodies held at once; ``max_pixels``
    / ``max_side`` one image and ``max_request_pixels`` one request, checked from the image
    headers, in a worker, before anything is decoded; ``max_connections`` concurrent connections
    and tasks (uvicorn's concurrency limit); ``max_header_kb`` the request head (answered 431);
    ``request_timeout_s`` how long a client may take to send a whole request (an idle or
    trickling connection is closed); ``keep_alive_s`` an idle keep-alive connection;
    ``shutdown_timeout_s`` how long running requests get to finish after SIGTERM.
    ``explain_rate``: images ``POST /v1/explain`` may explain per minute (0: the route is off).
    ``allowed_hosts``: ``Host`` header values served (DNS rebinding); empty means the loopback
    names when bound to loopback, any host otherwise. ``http``: the HTTP/1.1 parser, ``auto``
    meaning httptools when it is installed (the faster one) and h11 otherwise; both enforce
    every limit above.
    """

    bundle: Path
    artifact: str | None = None
    threads: int | None = None
    workers: int = 1
    # Each worker's runtime in a child process: a native crash costs the requests in flight
    # (503 runtime_crashed) and a restart, not the service.
    isolate: bool = True
    queue_size: int = 64
    max_batch: int = 16
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = field(default=None, repr=False)
    max_body_mb: float = 10.0
    max_buffered_mb: float = 64.0
    max_files: int = 16
    max_pixels: int = 16_000_000
    max_request_pixels: int = 32_000_000
    max_side: int = 12_000
    max_connections: int = 1000
    max_header_kb: int = 16
    request_timeout_s: float = 20.0
    keep_alive_s: float = 5.0
    shutdown_timeout_s: float = 5.0
    allowed_hosts: tuple[str, ...] = ()
    http: HttpParser = "auto"
    verify: bool = True
    top_k: int = DEFAULT_TOP_K
    polarity: PolarityChoice = "auto"  # invert: auto, never or always
    log_level: LogLevel = "info"
    access_log: bool = True
    # POST /v1/explain: explained images per minute, all clients together (0: the route is off).
    # One explanation is up to 257 forward passes (edge_runtime.explain), so it is opt-in.
    explain_rate: int = 0

    def validate(self) -> None:
        if self.threads is not None:
            check_range("threads", self.threads, 1, 256)
        check_range("workers", self.workers, 1, 64)
        check_range("queue_size", self.queue_size, 0, 100_000)
        check_range("max_batch", self.max_batch, 1, 1024)
        check_range("port", self.port, 0, 65535)
        check_range("max_body_mb", self.max_body_mb, 0.001, 4096)
        check_range("max_buffered_mb", self.max_buffered_mb, 0.001, 65536)
        if self.max_buffered_mb < self.max_body_mb:
            raise ConfigError(
                f"max_buffered_mb={self.max_buffered_mb} is below max_body_mb={self.max_body_mb}: "
                "one largest request would never fit; raise it or lower max_body_mb"
            )
        check_range("max_files", self.max_files, 1, 1024)
        check_range("max_pixels", self.max_pixels, 1, 1_000_000_000)
        check_range("max_request_pixels", self.max_request_pixels, 1, 10_000_000_000)
        check_range("max_side", self.max_side, 1, 1_000_000)
        check_range("max_connections", self.max_connections, 1, 100_000)
        check_range("max_header_kb", self.max_header_kb, 1, 1024)
        check_range("request_timeout_s", self.request_timeout_s, 0.1, 3600)
        check_range("keep_alive_s", self.keep_alive_s, 0.1, 3600)
        check_range("shutdown_timeout_s", self.shutdown_timeout_s, 0.0, 3600)
        check_range("top_k", self.top_k, 1, 100_000)
        check_range("explain_rate", self.explain_rate, 0, 1_000_000)
        if not self.host.strip():
            raise ConfigError("host must not be empty; use 127.0.0.1 (default) or 0.0.0.0")
        if any(not h.strip() or any(c in h for c in "/ ") for h in self.allowed_hosts):
            raise ConfigError(
                f"allowed_hosts={list(self.allowed_hosts)}: give host names or IP addresses "
                "(no scheme, path or spaces), e.g. edge.local,192.168.1.20"
            )
        check_invert_choice(self.polarity, "polarity=")
        check_choice("log_level=", self.log_level, _LOG_LEVELS)
        check_choice("http=", self.http, HTTP_PARSERS)
        if self.api_key is not None:
            self._check_api_key(self.api_key)

    @staticmethod
    def _check_api_key(key: str) -> None:
        if not key or key != key.strip():
            raise ConfigError(
                "api_key must be a non-empty string without surrounding spaces; "
                "leave it unset to serve without a key"
            )
        # HTTP header values are bytes a client cannot reliably send beyond printable ASCII: a
        # key that no client can type would lock every client out.
        if not all(32 < ord(c) < 127 for c in key):
            raise ConfigError(
                "api_key must be printable ASCII without spaces (letters, digits, punctuation); "
                "clients cannot send other characters in the X-API-Key header"
            )

    @property
    def served_hosts(self) -> tuple[str, ...]:
        """The ``Host`` values TrustedHostMiddleware accepts (``*``: any)."""
        if self.allowed_hosts:
            return self.allowed_hosts
        if self.host in ("127.0.0.1", "localhost", "::1"):
            return ("127.0.0.1", "localhost", "::1", "[::1]")
        return ("*",)

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * MIB)

    @property
    def max_buffered_bytes(self) -> int:
        return int(self.max_buffered_mb * MIB)


__all__ = ["HTTP_PARSERS", "HttpParser", "ServeConfig"]
