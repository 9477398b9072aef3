"""The guard both HTTP protocols share: a request deadline and JSON refusals.

uvicorn times out an idle keep-alive connection only after a response; a connection that never
sends a request, or sends its head or body a byte at a time, is kept forever (each holding a
socket and its buffers). ``RequestGuard`` gives every request a deadline from the moment the
connection may send one until its body has fully arrived, and closes the connection when it
passes. Every refusal below the app (a malformed or oversized head, the deadline, shutting down,
too many connections) is the service's JSON error, never uvicorn's plain text.

What depends on the parser (where a request is in its life, how bytes of a response are written)
is left to four hooks, filled in by ``protocol_h11.py`` and ``protocol_httptools.py``.
"""

from __future__ import annotations

import json
import logging
from typing import Any, TypeVar

from h11._connection import DEFAULT_MAX_INCOMPLETE_EVENT_SIZE

log = logging.getLogger(__name__)

_Guard = TypeVar("_Guard", bound="RequestGuard")
Headers = list[tuple[bytes, bytes]]


def json_error(code: str, message: str) -> bytes:
    """The body of every error the service sends, as bytes."""
    return json.dumps({"error": {"code": code, "message": message}}).encode()


async def json_service_unavailable(scope: Any, receive: Any, send: Any) -> None:
    """uvicorn's answer when ``limit_concurrency`` is reached, as the service's JSON error.

    Each protocol module installs it in place of uvicorn's plain-text one: the limit is
    uvicorn's, only the body changes.
    """
    body = json_error(
        "too_many_connections",
        "the service has too many open connections and requests; retry shortly",
    )
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                (b"retry-after", b"1"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


class RequestGuard:
    """A mixin placed before a uvicorn HTTP protocol class: per-request deadline, JSON refusals.

    The protocol provides ``config``, ``loop``, ``transport``, ``client`` and ``cycle`` (uvicorn's
    names) and the four hooks below.
    """

    parser_name: str  # uvicorn's name for the HTTP/1.1 parser: "httptools", "h11"
    request_timeout_s: float = 20.0  # set by ``configured``

    # Provided by the uvicorn protocol class this is mixed into.
    config: Any
    loop: Any
    transport: Any
    client: Any
    cycle: Any

    @classmethod
    def configured(cls: type[_Guard], request_timeout_s: float) -> type[_Guard]:
        """This protocol with its deadline (uvicorn instantiates the class it is given)."""
        return type(cls.__name__, (cls,), {"request_timeout_s": request_timeout_s})

    # --- hooks: what the parser knows -------------------------------------------------------

    def _waiting_for_client(self) -> bool:
        """After a response: is the connection waiting for request bytes (not for the app)?"""
        raise NotImplementedError

    def _request_arriving(self) -> bool:
        """Is ``self.cycle`` a request whose head is in and whose body is still arriving?"""
        raise NotImplementedError

    def _head_over_limit(self) -> bool:
        """Did the parser refuse the request because its head passed ``_max_head``?"""
        raise NotImplementedError

    def _write_response(self, status: int, headers: Headers, body: bytes) -> None:
        """Write a whole response, or nothing if another one is already under way."""
        raise NotImplementedError

    # --- uvicorn's protocol interface -------------------------------------------------------

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._deadline: Any = None
        super().__init__(*args, **kwargs)

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing() and self._waiting_for_client():
            self._arm()  # the next request on this keep-alive connection gets its own deadline

    def handle_websocket_upgrade(self, *args: Any) -> None:
        # The connection now belongs to the WebSocket protocol: our deadline must not close it.
        self._disarm()
        super().handle_websocket_upgrade(*args)  # type: ignore[misc]

    def shutdown(self) -> None:
        # uvicorn waits for a request still being uploaded and, at the end of the grace period,
        # cancels it (a 500 and a logged traceback). It cannot be served anyway: refuse it now.
        if self._request_arriving():
            self._refuse(503, "shutting_down", "the service is shutting down; retry elsewhere")
            return
        super().shutdown()  # type: ignore[misc]

    def send_400_response(self, msg: str) -> None:
        # uvicorn's answer to a request its parser refused, as JSON (431 for an oversized head).
        if self._head_over_limit():
            self._send_json(
                431,
                "header_too_large",
                f"the request head (request line and headers) is larger than {self._max_head} "
                "bytes; send fewer or shorter headers",
            )
        else:
            self._send_json(400, "bad_request", "the request is not valid HTTP/1.1")
        if self._request_arriving():
            self._drop_cycle()
        self.transport.close()

    # --- the guard --------------------------------------------------------------------------

    @property
    def _max_head(self) -> int:
        """The head size limit: uvicorn's ``h11_max_incomplete_event_size``, for both parsers."""
        return int(self.config.h11_max_incomplete_event_size or DEFAULT_MAX_INCOMPLETE_EVENT_SIZE)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.request_timeout_s, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        client = self.client[0] if self.client else "?"
        log.info(
            "closed a connection from %s: no complete request within %g s",
            client,
            self.request_timeout_s,
        )
        self._refuse(
            408,
            "request_timeout",
            f"the request did not arrive in full within {self.request_timeout_s:g} s; "
            "send it again, faster",
        )

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer ``status`` in JSON if a request is arriving and unanswered, then close."""
        if self._request_arriving() and not self.cycle.response_started:
            self._send_json(status, code, message)
            self._drop_cycle()
        self.transport.close()

    def _drop_cycle(self) -> None:
        # The app, still waiting for the body, sees a disconnect and answers nobody.
        self.cycle.disconnected = True
        self.cycle.message_event.set()

    def _send_json(self, status: int, code: str, message: str) -> None:
        body = json_error(code, message)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        self._write_response(status, headers, body)


__all__ = ["RequestGuard", "json_error", "json_service_unavailable"]
