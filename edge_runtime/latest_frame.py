"""A one-slot mailbox between the frame grabber and the classifier: only the newest frame waits.

The grabber ``put``s every frame it reads; a frame that was not taken before the next one arrives
is dropped (counted). The classifier ``take``s a frame at most once: after a take the slot is
empty, so a stale frame can never be classified twice, however slow or fast either side is.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Frame:
    """A captured frame: its sequence number (1, 2, ...) and capture time (``perf_counter_ns``)."""

    seq: int
    image: np.ndarray
    captured_ns: int


class LatestFrame:
    """Thread-safe single-slot buffer with drop accounting and an end-of-stream flag."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._closed = False
        self.put_count = 0
        self.taken_count = 0
        self.dropped = 0

    def put(self, frame: Frame) -> None:
        """Offer the newest frame; an untaken older one is replaced and counted as dropped."""
        with self._cond:
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self.put_count += 1
            self._cond.notify_all()

    def take(self, timeout: float | None = None) -> Frame | None:
        """The newest untaken frame, waiting up to ``timeout`` s; None when closed and empty or
        on timeout. Each frame is returned at most once."""
        with self._cond:
            if self._frame is None and not self._closed:
                self._cond.wait_for(lambda: self._frame is not None or self._closed, timeout)
            frame, self._frame = self._frame, None
            if frame is not None:
                self.taken_count += 1
            return frame

    def close(self) -> None:
        """No more frames will come (end of stream, or stop requested)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        with self._cond:
            return self._closed

    def discard(self) -> int:
        """Drop a frame still waiting at shutdown (counted as dropped); returns how many (0/1)."""
        with self._cond:
            if self._frame is None:
                return 0
            self._frame = None
            self.dropped += 1
            return 1


__all__ = ["Frame", "LatestFrame"]
