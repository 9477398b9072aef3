"""Progress lines for the export's long loops (calibration batches, layer sensitivity), via tqdm.

tqdm is installed wherever export runs (the `train` extra lists it); these are the project's
settings in one place: stderr, nothing off a terminal (logs and CI stay clean), and nothing for
loops that finish within ``min_seconds``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def progress(items: Iterable[T], total: int, desc: str, min_seconds: float = 1.0) -> Iterator[T]:
    """Yield ``items``, showing ``desc i/total`` on stderr when it is a terminal."""
    from tqdm import tqdm

    yield from tqdm(
        items,
        total=total,
        desc=desc,
        delay=min_seconds,
        disable=None,  # None: off when stderr is not a terminal
        leave=False,
        file=sys.stderr,
        dynamic_ncols=True,
    )
