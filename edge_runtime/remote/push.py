"""Content-addressed upload: files travel as blobs named by their sha256, only when the device
does not already hold that content, in one tar stream that the device verifies before keeping."""

from __future__ import annotations

import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from edge_runtime.common.fileio import sha256_file


@dataclass(frozen=True)
class Blob:
    """A local file and the name it has where it is used (bundle file, wheel, image)."""

    path: Path
    sha256: str
    size: int
    name: str

    @classmethod
    def of(cls, path: str | Path, name: str | None = None, sha256: str | None = None) -> Blob:
        p = Path(path)
        return cls(p, sha256 or sha256_file(p), p.stat().st_size, name or p.name)


def unique(blobs: list[Blob]) -> list[Blob]:
    """One blob per content (the same image twice is pushed once)."""
    seen: dict[str, Blob] = {}
    for b in blobs:
        seen.setdefault(b.sha256, b)
    return list(seen.values())


def write_tar(blobs: list[Blob], fh: IO[bytes]) -> None:
    """Stream ``blobs`` as a tar whose members are named by sha256 (bounded memory)."""
    with tarfile.open(fileobj=fh, mode="w|") as tar:
        for b in blobs:
            info = tarfile.TarInfo(b.sha256)
            info.size = b.size
            info.mode = 0o644
            with open(b.path, "rb") as src:
                tar.addfile(info, src)


__all__ = ["Blob", "unique", "write_tar"]
