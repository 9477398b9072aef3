"""uvicorn's h11 protocol with the request guard (``protocol_guard.py``): the fallback parser.

The head size limit is h11's own (``h11_max_incomplete_event_size``): h11 refuses a head that
outgrows it, and the guard only turns the refusal into JSON with h11's status hint (431).
"""

from __future__ import annotations

import h11
from uvicorn.protocols.http import h11_impl
from uvicorn.protocols.http.h11_impl import H11Protocol

from edge_runtime.server.protocol_guard import Headers, RequestGuard, json_service_unavailable

# The client has sent its whole request (or can send no more of it). MIGHT_SWITCH_PROTOCOL is a
# complete request asking for an upgrade the app has yet to answer.
_RECEIVED = (h11.DONE, h11.MUST_CLOSE, h11.CLOSED, h11.ERROR, h11.MIGHT_SWITCH_PROTOCOL)

# uvicorn looks this name up in its module when the concurrency limit is hit.
h11_impl.service_unavailable = json_service_unavailable  # type: ignore[assignment]


class GuardedH11Protocol(RequestGuard, H11Protocol):
    """H11Protocol + a per-request receive deadline + JSON 400 / 431 for malformed requests."""

    parser_name = "h11"

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state in _RECEIVED:
            self._disarm()  # the whole request is in: what follows is the app's time

    def _waiting_for_client(self) -> bool:
        # IDLE: nothing (or part of a head) of the next request yet; SEND_BODY: a body still
        # arriving although the app has answered (it never read it) or the next one's.
        return self.conn.their_state in (h11.IDLE, h11.SEND_BODY)

    def _request_arriving(self) -> bool:
        return self.cycle is not None and self.conn.their_state not in _RECEIVED

    def _head_over_limit(self) -> bool:
        # h11 refused the head; an oversized one leaves its unparsed bytes behind, which is how
        # it is told apart from a malformed one.
        return len(self.conn.trailing_data[0]) > self._max_head

    def _write_response(self, status: int, headers: Headers, body: bytes) -> None:
        try:
            self.transport.write(
                self.conn.send(h11.Response(status_code=status, headers=headers))  # type: ignore[arg-type]
            )
            self.transport.write(self.conn.send(h11.Data(data=body)))  # type: ignore[arg-type]
            self.transport.write(self.conn.send(h11.EndOfMessage()))  # type: ignore[arg-type]
        except h11.LocalProtocolError:  # h11 cannot answer in this state: just close
            pass


__all__ = ["GuardedH11Protocol"]
