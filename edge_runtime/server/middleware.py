"""Pure ASGI middleware: the request body limits and per-request metrics.

The size limit is enforced while the body streams in, so an oversized upload is refused after at
most ``limit`` bytes have been read: a declared ``Content-Length`` over the limit is refused before
a single body byte is read, and a chunked body is cut off the moment it passes the limit.

The buffered budget bounds the bodies of all requests together. Before a request reads its first
body byte it reserves its whole body (the declared ``Content-Length``, or ``limit`` for a chunked
body), and keeps the reservation until it has been answered (an upload is held while it waits
for and goes through a worker). A request that does not fit waits, holding nothing and reading
nothing: uvicorn's flow control holds its connection at one small buffer and the request
deadline (``protocol_guard.py``) ends a client that never finishes. Reserving all at once means no
request ever waits while holding part of the budget, so waiting requests cannot starve each
other. Memory grows with the budget, not with connections x ``limit``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edge_runtime.server.errors import ApiError, error_response
from edge_runtime.server.metrics import ServiceMetrics


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "body_too_large",
        f"request body is larger than the limit of {limit} bytes ({limit / 1048576:g} MiB); "
        "send a smaller image or raise the server's --max-body-mb",
        # Close the connection: otherwise the server would go on reading (and discarding) the
        # rest of the body to keep the connection usable, which is what the limit prevents.
        headers={"Connection": "close"},
    )


class BodyBudget:
    """Bytes of request bodies reserved in the whole service (event loop only: no lock needed)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self._waiters: list[asyncio.Future[None]] = []

    async def take(self, n: int) -> None:
        """Reserve ``n`` bytes, first waiting until they fit under the limit."""
        while self.held + n > self.limit:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        self.held += n

    def give_back(self, n: int) -> None:
        self.held -= n
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


class HttpMiddleware:
    """An ASGI middleware that ``handle``s HTTP requests; other scopes (lifespan, websocket)
    pass straight through to ``app``."""

    app: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class BodyLimitMiddleware(HttpMiddleware):
    """Refuse request bodies over ``limit`` bytes with 413 without buffering them; hold a
    body's reading until it fits in ``budget`` with all the others."""

    def __init__(self, app: ASGIApp, limit: int, budget: BodyBudget | None = None) -> None:
        self.app = app
        self.limit = limit
        self.budget = budget

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            err = _too_large(self.limit)
            await error_response(err.status, err.code, err.message, err.headers)(
                scope, receive, send
            )
            return
        seen = 0
        started = False
        budget = self.budget
        body_pending = bool(declared) or _chunked(scope)
        # The whole body is reserved before its first byte is read (see the module docstring).
        reserve = (declared if declared is not None else self.limit) if body_pending else 0
        reserved = 0

        async def limited_receive() -> Message:
            nonlocal seen, body_pending, reserved
            if budget is not None and reserve and not reserved:
                await budget.take(reserve)
                reserved = reserve
            message = await receive()
            if message["type"] == "http.request":
                n = len(message.get("body", b""))
                if seen + n > self.limit:
                    raise _too_large(self.limit)
                seen += n
                body_pending = body_pending and message.get("more_body", False)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if body_pending and message["status"] >= 400:
                    # Refused before its body was read (401, 415, ...): close the connection
                    # rather than let the server read and discard the rest, however large.
                    headers = [h for h in message.get("headers", ()) if h[0] != b"connection"]
                    message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except ApiError as err:
            # Raised while reading outside a route's exception handling (e.g. by another
            # middleware); the router normally turns it into the same response itself.
            if started:
                raise
            await error_response(err.status, err.code, err.message, err.headers)(
                scope, receive, send
            )
        finally:
            if budget is not None and reserved:
                budget.give_back(reserved)


def _chunked(scope: Scope) -> bool:
    return any(
        name == b"transfer-encoding" and b"chunked" in value.lower()
        for name, value in scope.get("headers", ())
    )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class MetricsMiddleware(HttpMiddleware):
    """Count each HTTP request by method, route template and status; time it; track in-flight.

    The route label is the matched route's template (``/v1/predict``), never the raw path, so a
    scanner probing random URLs adds one ``unmatched`` series, not thousands.
    """

    def __init__(
        self,
        app: ASGIApp,
        metrics: ServiceMetrics,
        known_paths: Callable[[], Collection[str]],
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.known_paths = known_paths

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = 500  # if the app dies before answering, the client sees a 500 from the server
        t0 = time.perf_counter_ns()

        async def status_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, status_send)
        finally:
            self.metrics.in_flight.dec()
            route = self._route(scope)
            method = scope["method"] if scope["method"] in _METHODS else "other"
            self.metrics.requests.labels(method=method, route=route, status=str(status)).inc()
            self.metrics.request_seconds.labels(route=route).observe(
                (time.perf_counter_ns() - t0) / 1e9
            )

    def _route(self, scope: Scope) -> str:
        route: Any = scope.get("route")
        path = getattr(route, "path", None)
        if path:
            return str(path)
        # Refused before routing (e.g. by the body limit): label known paths by themselves.
        raw = scope.get("path", "")
        return raw if raw in self.known_paths() else "unmatched"


__all__ = ["BodyBudget", "BodyLimitMiddleware", "MetricsMiddleware"]
