"""uvicorn's httptools protocol with the request guard (``protocol_guard.py``): the default parser.

httptools (llhttp, in C) is the faster parser but has no head size limit: it buffers a header
line, and uvicorn the URL, for as long as the client keeps sending. Here the
bytes of a request head are counted as they arrive, until ``on_headers_complete``, and only as
many are handed to the parser as the limit allows: a head that has not ended by then is refused
with 431. The same bound holds for what httptools buffers after the head of a chunked body
(chunk headers, trailers): reads that carry no body byte are counted against it.

A head that begins inside the read that completed the previous request (HTTP pipelining) is
counted from the next read on; only that first read escapes the count.
"""

from __future__ import annotations

import logging
from typing import Any

from uvicorn.protocols.http import httptools_impl
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from edge_runtime.server.protocol_guard import Headers, RequestGuard, json_service_unavailable

log = logging.getLogger(__name__)

# uvicorn looks this name up in its module when the concurrency limit is hit.
httptools_impl.service_unavailable = json_service_unavailable  # type: ignore[assignment]


class GuardedHttpToolsProtocol(RequestGuard, HttpToolsProtocol):
    """HttpToolsProtocol + a head size limit + the request guard (deadline, JSON refusals)."""

    parser_name = "httptools"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_done = False  # the current message's head is in (its cycle exists)
        self._heads = 0  # heads completed on this connection
        self._upgrade = False  # the current message asked for an upgrade: parsing stops there
        self._block_bytes = 0  # bytes of the head, or of body framing, received so far
        self._body_seen = False  # the read being parsed carried body bytes
        self._oversized = False  # the refusal under way is for a head over the limit

    # --- reading ----------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if not self._head_done:
            self._receive_head(data)
        else:
            self._receive_body(data)

    def _receive_head(self, data: bytes) -> None:
        room = self._max_head - self._block_bytes
        if len(data) <= room:
            self._block_bytes += len(data)
            super().data_received(data)
            return
        # Only as many bytes as the limit allows: a head that does not end within them is over
        # the limit, whatever follows.
        heads = self._heads
        self._block_bytes = self._max_head
        if room > 0:
            super().data_received(data[:room])
        if self.transport.is_closing():
            return
        if self._heads == heads:
            self._refuse_oversized()
        elif not self._upgrade:  # uvicorn drops what follows an upgrade request, as we do
            self.data_received(data[room:])

    def _receive_body(self, data: bytes) -> None:
        self._body_seen = False
        super().data_received(data)
        if self._body_seen or not self._head_done or self.transport.is_closing():
            self._block_bytes = 0
            return
        # A read without a body byte inside a chunked body: chunk headers or trailers, which
        # httptools buffers like a head; they get the same limit.
        self._block_bytes += len(data)
        if self._block_bytes > self._max_head:
            self._refuse_oversized()

    def _refuse_oversized(self) -> None:
        client = self.client[0] if self.client else "?"
        log.warning("refused a request head over %d bytes from %s", self._max_head, client)
        self._oversized = True
        self.send_400_response("request head too large")

    # --- parser callbacks (uvicorn's, plus where the request is) ---------------------------

    def on_headers_complete(self) -> None:
        self._upgrade = self.parser.should_upgrade()
        # uvicorn may refuse the URL here (an exception, answered 400): then no cycle exists and
        # the head does not count as done.
        super().on_headers_complete()
        self._head_done = True
        self._heads += 1
        self._block_bytes = 0

    def on_body(self, body: bytes) -> None:
        self._body_seen = True
        super().on_body(body)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._head_done = False
        self._block_bytes = 0
        self._disarm()  # the whole request is in: what follows is the app's time

    # --- the guard's hooks ------------------------------------------------------------------

    def _waiting_for_client(self) -> bool:
        if self.pipeline:  # a request that has fully arrived waits for its turn
            return False
        return self.cycle is None or self.cycle.response_complete or self._request_arriving()

    def _request_arriving(self) -> bool:
        # A pipelined head waits in self.pipeline until the answers before it are sent.
        return self._head_done and not self.pipeline

    def _head_over_limit(self) -> bool:
        return self._oversized

    def _write_response(self, status: int, headers: Headers, body: bytes) -> None:
        if not self._may_answer():
            return  # writing now would cut into another response
        lines = [httptools_impl.STATUS_LINE[status]]
        lines += [name + b": " + value + b"\r\n" for name, value in headers]
        self.transport.write(b"".join([*lines, b"\r\n", body]))

    def _may_answer(self) -> bool:
        """Is no other response owed or under way on this connection?"""
        if self.pipeline:
            return False
        if self._head_done:  # the request being refused has a cycle: self.cycle
            return not self.cycle.response_started
        return self.cycle is None or self.cycle.response_complete


__all__ = ["GuardedHttpToolsProtocol"]
