"""Split files: which images a run trained, validated and tested on, as plain file lists.

One path per line, relative to the data folder, POSIX separators; lines starting with ``#`` are
comments (the run writes where the list came from). The trainer writes them
(``<run>/splits/train.txt``, ``val.txt``, ``test.txt``) and ``edgetk predict --split-file`` reads
them, so the device side can evaluate exactly the test split the parity gate used.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from edge_runtime.common.errors import DataError
from edge_runtime.common.fileio import atomic_path

SPLITS_DIR = "splits"
SPLIT_NAMES: tuple[str, ...] = ("train", "val", "test")


def write_split_file(path: str | Path, files: Sequence[str], comment: str = "") -> Path:
    """Write ``files`` (relative POSIX paths) to ``path`` atomically, one per line."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"# {line}" for line in comment.splitlines() if line.strip()]
    for f in files:
        if "\n" in f or f.startswith("#") or PurePosixPath(f).is_absolute():
            raise DataError(f"cannot record {f!r} in a split file: expected a relative path")
        lines.append(f)
    with atomic_path(p) as tmp:
        Path(tmp).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def read_split_file(path: str | Path) -> list[str]:
    """The relative paths listed in a split file, in order (comments and blank lines skipped)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"split file {p} does not exist; pass <run>/splits/test.txt") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"split file {p} cannot be read: {exc}") from None
    files = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if not files:
        raise DataError(f"split file {p} lists no images")
    bad = [f for f in files if PurePosixPath(f).is_absolute() or ".." in PurePosixPath(f).parts]
    if bad:
        raise DataError(
            f"split file {p} line {bad[0]!r} is not a path inside the data folder; split files "
            "hold paths relative to it"
        )
    return files


__all__ = ["SPLITS_DIR", "SPLIT_NAMES", "read_split_file", "write_split_file"]
