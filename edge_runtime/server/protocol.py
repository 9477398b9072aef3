"""uvicorn's h11 protocol with the two things it lacks: a request deadline and JSON refusals.

uvicorn times out an idle keep-alive connection only after a response; a connection that never
sends a request, or sends its head or body a byte at a time, is kept forever (each holding a
socket and its buffers). ``GuardedH11Protocol`` gives every request a deadline from the moment
the connection may send one until its body has fully arrived, and closes the connection when it
passes. The header size limit itself is h11's (``h11_max_incomplete_event_size``); only the
refusal is ours, so that it is JSON with h11's own status hint (431 for an oversized head).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import h11
from uvicorn.protocols.http import h11_impl
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

_RECEIVED = (h11.DONE, h11.MUST_CLOSE, h11.CLOSED, h11.ERROR)


def _json(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


async def _json_service_unavailable(scope: Any, receive: Any, send: Any) -> None:
    """uvicorn's answer when ``limit_concurrency`` is reached, as the service's JSON error."""
    body = _json(
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


# uvicorn looks this name up in its module when the concurrency limit is hit; the limit is
# uvicorn's, only the body changes (plain text -> the JSON every other error has).
h11_impl.service_unavailable = _json_service_unavailable  # type: ignore[assignment]


class GuardedH11Protocol(H11Protocol):
    """H11Protocol + a per-request receive deadline + JSON 400 / 431 for malformed requests."""

    request_timeout_s: float = 20.0  # set by ``configured``

    @classmethod
    def configured(cls, request_timeout_s: float) -> type[GuardedH11Protocol]:
        return type(cls.__name__, (cls,), {"request_timeout_s": request_timeout_s})

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        self._deadline: Any = None
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state in _RECEIVED:
            self._disarm()  # the whole request is in: what follows is the app's time

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm()  # the next request on this keep-alive connection gets its own deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

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

    def shutdown(self) -> None:
        # uvicorn waits for a request still being uploaded and, at the end of the grace period,
        # cancels it (a 500 and a logged traceback). It cannot be served anyway: refuse it now.
        if self.cycle is not None and self.conn.their_state not in _RECEIVED:
            self._refuse(503, "shutting_down", "the service is shutting down; retry elsewhere")
            return
        super().shutdown()

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer ``status`` in JSON if a request is open and unanswered, then close."""
        if self.cycle is not None and not self.cycle.response_started:
            self._send_json(status, code, message)
            # The app, still waiting for the body, sees a disconnect and answers nobody.
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.close()

    def _send_json(self, status: int, code: str, message: str) -> None:
        body = _json(code, message)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        try:
            self.transport.write(
                self.conn.send(h11.Response(status_code=status, headers=headers))  # type: ignore[arg-type]
            )
            self.transport.write(self.conn.send(h11.Data(data=body)))  # type: ignore[arg-type]
            self.transport.write(self.conn.send(h11.EndOfMessage()))  # type: ignore[arg-type]
        except h11.LocalProtocolError:  # h11 cannot answer in this state: just close
            pass

    def send_400_response(self, msg: str) -> None:
        # h11 refused the request head; an oversized one (over h11_max_incomplete_event_size)
        # leaves its unparsed bytes behind, which is how it is told apart from a malformed one.
        if len(self.conn.trailing_data[0]) > self._max_head:
            self._send_json(
                431,
                "header_too_large",
                f"the request head (request line and headers) is larger than {self._max_head} "
                "bytes; send fewer or shorter headers",
            )
        else:
            self._send_json(400, "bad_request", "the request is not valid HTTP/1.1")
        self.transport.close()

    @property
    def _max_head(self) -> int:
        return int(
            self.config.h11_max_incomplete_event_size or h11_impl.DEFAULT_MAX_INCOMPLETE_EVENT_SIZE
        )


__all__ = ["GuardedH11Protocol"]
