"""A one-line progress display for long loops, shown only on a terminal (quiet in logs and CI)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def progress(items: Iterable[T], total: int, desc: str, min_seconds: float = 1.0) -> Iterator[T]:
    """Yield ``items``, redrawing ``desc i/total`` on stderr when it is a terminal.

    Nothing is drawn for loops shorter than ``min_seconds``, so quick calls stay silent.
    """
    tty = sys.stderr.isatty()
    start = time.perf_counter()
    drawn = False
    for i, item in enumerate(items, 1):
        yield item
        if tty and (drawn or time.perf_counter() - start >= min_seconds):
            sys.stderr.write(f"\r{desc} {i}/{total}")
            sys.stderr.flush()
            drawn = True
    if drawn:
        sys.stderr.write("\r" + " " * (len(desc) + 2 * len(str(total)) + 2) + "\r")
        sys.stderr.flush()
