"""Atomic writes: a file is either the old version or the complete new one, never half."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success move it into place with ``os.replace``.

    The temporary file lives in the same folder so the final rename never crosses filesystems.
    On an exception the temporary file is removed and ``path`` is left untouched.
    """
    target = Path(path)
    import tempfile  # here, not at the top: it pulls shutil, random, bz2 and lzma into every start

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600; give the file the mode a plain open() would (bundles are copied around).
    os.chmod(tmp_path, 0o666 & ~_umask())
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented JSON (real JSON types only: no ``str(dict)``)."""
    return write_text(path, json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def read_json_or_raise(
    path: str | os.PathLike[str],
    error: type[Exception],
    missing: str,
    invalid: Callable[[ValueError], str],
) -> Any:
    """``read_json(path)``; a file that does not exist raises ``error(missing)``, one that is not
    JSON (or not UTF-8) ``error(invalid(exc))``: one clear line, no traceback."""
    try:
        return read_json(path)
    except FileNotFoundError:
        raise error(missing) from None
    except ValueError as exc:  # json.JSONDecodeError, UnicodeDecodeError
        raise error(invalid(exc)) from None


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
