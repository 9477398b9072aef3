"""``edgetk serve BUNDLE``: options -> ServeConfig -> ``serve`` -> one line on exit."""

from __future__ import annotations

import dataclasses
import signal
from pathlib import Path

import click

from edge_runtime.cli_options import (
    Decorator,
    artifact_option,
    batch_size_option,
    deprecated_option,
    invert_option,
    list_option,
    log_level_option,
    shown_option,
    threads_option,
    top_k_option,
    verify_option,
)
from edge_runtime.server.auth import API_KEY_ENV
from edge_runtime.server.settings import HTTP_PARSERS, ServeConfig

_DEFAULTS = {f.name: f.default for f in dataclasses.fields(ServeConfig)}


def _serve_option(flag: str, help: str, field: str | None = None) -> Decorator:
    """The option of a ServeConfig field (named after the flag), with the field's default."""
    field = field or flag.removeprefix("--").replace("-", "_")
    return shown_option(flag, field, default=_DEFAULTS[field], help=help)


@click.command("serve")
@click.argument("bundle", type=click.Path(path_type=Path))
@_serve_option("--host", "Interface to listen on; 0.0.0.0 exposes the service to the network.")
@_serve_option("--port", "TCP port; 0 picks a free one.")
@artifact_option()
@threads_option("Runtime CPU threads per worker.")
@_serve_option("--workers", "Inference workers, each with its own copy of the model.")
@shown_option(
    "--isolate/--in-process",
    default=_DEFAULTS["isolate"],
    help="Run each worker's runtime in a child process that is restarted if the runtime "
    "crashes (the requests in flight get 503); --in-process saves the process hop.",
)
@_serve_option("--queue-size", "Requests that may wait for a worker; more get 503.")
@batch_size_option(
    _DEFAULTS["max_batch"],
    "Most images in one model call when waiting requests are batched (1: no batching).",
)
@deprecated_option("--max-batch", "--batch-size", type=click.IntRange(min=1))
@click.option(
    "--api-key",
    envvar=API_KEY_ENV,
    default=None,
    show_envvar=True,
    show_default="none: every client is served",
    help="Require this key in the X-API-Key header (all routes except /v1/health and docs).",
)
@_serve_option("--max-body-mb", "Largest request body.")
@_serve_option(
    "--max-buffered-mb", "Request bodies held at once, all requests together; beyond it, 503."
)
@_serve_option("--max-files", "Most images in one request.")
@_serve_option(
    "--max-pixels", "Largest image, in pixels (checked from the header, before decoding)."
)
@_serve_option("--max-request-pixels", "Most pixels of all images in one request together.")
@_serve_option("--max-side", "Longest image side, in pixels.")
@_serve_option("--max-connections", "Open connections and requests at once; beyond it, 503.")
@_serve_option("--max-header-kb", "Largest request head (request line + headers); beyond it, 431.")
@_serve_option(
    "--request-timeout",
    "Seconds a client has to send a whole request; slower or idle connections are closed.",
    field="request_timeout_s",
)
@shown_option(
    "--http",
    default=_DEFAULTS["http"],
    type=click.Choice(HTTP_PARSERS),
    help="HTTP/1.1 parser: httptools (C, faster) or h11 (pure Python); auto: httptools when "
    "installed. Both enforce the same limits.",
)
@list_option(
    "--allowed-hosts",
    show_default="the loopback names when bound to loopback, any otherwise",
    help="Host header values to serve, comma-separated.",
)
@verify_option(
    "Check the artifact's sha256 against the manifest before serving it; --no-verify "
    "serves a changed file anyway, with a warning."
)
@top_k_option("Labels per image when a request does not say (?top_k=).")
@invert_option(
    "Invert a picture whose polarity differs from the training images' when a request does "
    "not say (?invert=): auto, never or always."
)
@_serve_option(
    "--explain-rate",
    "Enable POST /v1/explain: at most this many explained images per minute, all clients "
    "together (each is up to 257 forward passes); 0 leaves the route off.",
)
@log_level_option()
@shown_option("--access-log/--no-access-log", default=True, help="Log one line per request.")
def serve(bundle: Path, host: str, port: int, artifact: str | None, threads: int | None,
          workers: int, isolate: bool, queue_size: int, batch_size: int, api_key: str | None,
          max_body_mb: float, max_buffered_mb: float, max_files: int, max_pixels: int,
          max_request_pixels: int, max_side: int, max_connections: int, max_header_kb: int,
          request_timeout_s: float, http: str, allowed_hosts: tuple[str, ...] | None,
          verify: bool, top_k: int, invert: str, explain_rate: int, log_level: str,
          access_log: bool) -> None:  # fmt: skip
    """Serve BUNDLE (a folder from `edgetk export`) over REST until Ctrl-C / SIGTERM."""
    from edge_runtime.server.runner import serve as run_service

    config = ServeConfig(
        bundle=bundle, host=host, port=port, artifact=artifact, threads=threads, workers=workers,
        isolate=isolate, queue_size=queue_size, max_batch=batch_size, api_key=api_key or None, max_body_mb=max_body_mb,
        max_buffered_mb=max_buffered_mb, max_files=max_files, max_pixels=max_pixels,
        max_request_pixels=max_request_pixels, max_side=max_side, max_connections=max_connections,
        max_header_kb=max_header_kb, request_timeout_s=request_timeout_s, http=http,
        allowed_hosts=allowed_hosts or (),
        verify=verify, top_k=top_k, polarity=invert, log_level=log_level,
        access_log=access_log, explain_rate=explain_rate,  # type: ignore[arg-type]
    )  # fmt: skip
    stopped_by = run_service(config, announce=lambda line: click.echo(line, nl=True))
    why = signal.Signals(stopped_by).name if stopped_by else "shutdown"
    click.echo(f"stopped ({why})")


__all__ = ["serve"]
