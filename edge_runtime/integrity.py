"""Artifact integrity: the file the runtime loads is the file the exporter hashed.

The manifest records each artifact's sha256 and its parity verdict; both describe those exact
bytes. A file changed afterwards (a bad copy, a tampered download, a hand edit) would otherwise run
with a different answer while ``/v1/metadata`` still advertised the manifest's hash and verdict, so
every command that loads a bundle checks the hash first, and skipping the check is an explicit,
logged choice.
"""

from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath, PureWindowsPath

from edge_runtime.common.errors import ModelError
from edge_runtime.common.fileio import sha256_file

log = logging.getLogger(__name__)

NO_VERIFY_FLAG = "--no-verify"


class IntegrityError(ModelError):
    """An artifact's bytes differ from the manifest's sha256 (exit code 1)."""


def check_inside_bundle(file: str) -> None:
    """Raise ``ValueError`` unless ``file`` is a relative path that stays inside the bundle."""
    posix, windows = PurePosixPath(file), PureWindowsPath(file)
    if not file or posix.is_absolute() or windows.is_absolute() or windows.drive:
        raise ValueError(
            f"artifact file {file!r} is not a relative path inside the bundle; "
            "re-export the bundle or fix manifest.json"
        )
    if ".." in posix.parts or ".." in windows.parts:
        raise ValueError(
            f"artifact file {file!r} leaves the bundle ('..'); "
            "re-export the bundle or fix manifest.json"
        )


def verify_artifact_file(path: Path, expected_sha256: str, verify: bool = True) -> None:
    """Check ``path`` against the manifest's hash: ``IntegrityError`` naming both hashes.

    ``verify=False`` skips the check with a warning (the caller chose to run an unverified file).
    """
    if not verify:
        log.warning(
            "not checking %s against the manifest's sha256 (%s): the results may not be the "
            "exported model's",
            path.name,
            NO_VERIFY_FLAG,
        )
        return
    try:
        actual = sha256_file(path)
    except FileNotFoundError:
        raise ModelError(f"artifact {path} is missing; re-export the bundle") from None
    except OSError as exc:
        raise ModelError(f"artifact {path} cannot be read: {exc.strerror or exc}") from None
    if actual != expected_sha256:
        raise IntegrityError(
            f"{path}: sha256 {actual} differs from the manifest's {expected_sha256}; the file "
            f"changed after export: re-export or copy the bundle again ({NO_VERIFY_FLAG} runs it "
            "anyway)"
        )


__all__ = ["NO_VERIFY_FLAG", "IntegrityError", "check_inside_bundle", "verify_artifact_file"]
