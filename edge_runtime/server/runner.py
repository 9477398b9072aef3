"""Run the service on uvicorn: bind first, print the URL, stop cleanly on SIGINT / SIGTERM."""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator

import uvicorn

from edge_runtime.common.errors import ConfigError
from edge_runtime.server.app import create_app
from edge_runtime.server.protocol import guarded_protocol
from edge_runtime.server.settings import ServeConfig

log = logging.getLogger(__name__)
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Server(uvicorn.Server):
    """uvicorn's server, but a signal ends ``run()`` normally after the graceful shutdown.

    Stock uvicorn re-raises the captured signal once it has drained, which turns a requested
    SIGTERM into a death by signal; a service told to stop that stops cleanly should exit 0.
    """

    stopped_by: int | None = None
    on_shutdown: Callable[[], None] | None = None

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Before uvicorn waits for running requests: health turns 503 and queued requests get
        # their 503 now, so the wait is only for what is already in a worker.
        if self.on_shutdown is not None:
            self.on_shutdown()
        await super().shutdown(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in _SIGNALS}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)
        if self._captured_signals:
            self.stopped_by = self._captured_signals[0]


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free port); ConfigError if it fails."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(
            f"host {host!r} cannot be resolved ({exc.strerror}); use an IP address"
        ) from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port or --host"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def raise_open_file_limit() -> None:
    """Lift the soft open-file limit to the hard one: each connection is a file descriptor, and
    at a soft limit of 256 a few hundred idle sockets would lock every new client out."""
    try:
        import resource
    except ImportError:  # Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-file limit from %d: %s", soft, exc)


def url_of(sock: socket.socket) -> str:
    """``http://host:port`` of a bound socket (IPv6 hosts in brackets)."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def serve(config: ServeConfig, announce: Callable[[str], None] = print) -> int | None:
    """Load the bundle, listen, serve until SIGINT / SIGTERM; return the signal that stopped it.

    ``announce`` receives one line with the URL once the socket is listening (before that, a bad
    bundle or a busy port raises ``ModelError`` / ``ConfigError`` and nothing is served).
    """
    protocol = guarded_protocol(config.http, config.request_timeout_s)  # before anything loads
    app = create_app(config)
    sock = bind(config.host, config.port)
    raise_open_file_limit()
    uv_config = uvicorn.Config(
        app,
        log_level=config.log_level,
        access_log=config.access_log,
        lifespan="on",
        http=protocol,
        # The head limit, under h11's name: h11 enforces it itself, the httptools protocol reads
        # it from here (protocol_guard.RequestGuard._max_head).
        h11_max_incomplete_event_size=config.max_header_kb * 1024,
        limit_concurrency=config.max_connections,
        timeout_keep_alive=config.keep_alive_s,  # type: ignore[arg-type]
        timeout_graceful_shutdown=config.shutdown_timeout_s,  # type: ignore[arg-type]
        # No proxy is assumed: X-Forwarded-For from a local client must not rewrite its address.
        proxy_headers=False,
        # uvicorn's own logging config would replace the CLI's; keep the root handler.
        log_config=None,
        server_header=False,
    )
    server = _Server(uv_config)
    server.on_shutdown = app.state.service.begin_shutdown
    log.info("HTTP/1.1 parser: %s", protocol.parser_name)
    predictor = app.state.service.predictor
    url = url_of(sock)
    announce(
        f"serving {predictor.manifest.name} ({predictor.artifact.file}, "
        f"{config.workers} worker(s)) on {url}  API: {url}/openapi.json"
        + ("  (X-API-Key required)" if config.api_key else "")
    )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return server.stopped_by


__all__ = ["bind", "serve", "url_of"]
