"""Peak resident memory over a stretch of code, sampled by a background thread (psutil)."""

from __future__ import annotations

import threading
from types import TracebackType

import psutil


def release_free_memory() -> None:
    """Hand freed heap pages back to the OS (glibc ``malloc_trim``); a no-op elsewhere.

    After a trial's tensors are freed, glibc keeps the pages in its arenas, so RSS stays at the
    high-water mark and looks like a leak. Trimming makes RSS track what is really in use.
    """
    import ctypes
    import sys

    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass


def current_rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


class PeakRss:
    """Context manager: ``peak_mb`` is the highest RSS seen while inside it (sampled every 20 ms).

    The process-wide ``ru_maxrss`` only ever grows, so it cannot show whether one trial used more
    than the one before; sampling can.
    """

    def __init__(self, interval_s: float = 0.02) -> None:
        self.interval_s = interval_s
        self.peak_mb = 0.0
        self.start_mb = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._proc = psutil.Process()

    def _sample(self) -> None:
        rss = self._proc.memory_info().rss / 2**20
        if rss > self.peak_mb:
            self.peak_mb = rss

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def start(self) -> PeakRss:
        self.start_mb = current_rss_mb()
        self.peak_mb = self.start_mb
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="peak-rss", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> float:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._sample()
        return self.peak_mb

    def __enter__(self) -> PeakRss:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
