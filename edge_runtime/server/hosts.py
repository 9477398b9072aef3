"""The ``Host`` header check (DNS rebinding): Starlette's TrustedHostMiddleware, refusing in JSON.

A page on ``attacker.example`` whose name is re-pointed at 127.0.0.1 can make a browser send
requests to a service bound to loopback; they carry ``Host: attacker.example``. The matching
rules are Starlette's; only the refusal is ours, in the service's JSON error shape.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from edge_runtime.server.errors import error_response


class HostCheckMiddleware:
    """Serve only requests whose ``Host`` matches ``allowed_hosts`` (``*``: any); else 400 JSON."""

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str]) -> None:
        self.app = app
        self.allowed_hosts = list(allowed_hosts)
        # Exact names are the common case; their Host headers are passed without building the
        # full check (it costs about as much as the rest of a small request's routing).
        self._exact = frozenset(
            h.encode("latin-1") for h in self.allowed_hosts if "*" not in h and ":" not in h
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if "*" in self.allowed_hosts or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"host":
                if value.split(b":", 1)[0] in self._exact:
                    await self.app(scope, receive, send)
                    return
                break
        passed = False

        async def accepted(scope: Scope, receive: Receive, _: Send) -> None:
            nonlocal passed
            passed = True
            await self.app(scope, receive, send)

        async def swallow(_: object) -> None:  # the middleware's own plain-text refusal
            return None

        check = TrustedHostMiddleware(
            accepted, allowed_hosts=self.allowed_hosts, www_redirect=False
        )
        await check(scope, receive, swallow)
        if not passed:
            host = Headers(scope=scope).get("host", "")
            await error_response(
                400,
                "invalid_host",
                f"Host {host!r} is not served here (allowed: {', '.join(self.allowed_hosts)}); "
                "start the server with --allowed-hosts to serve other names",
            )(scope, receive, send)


__all__ = ["HostCheckMiddleware"]
