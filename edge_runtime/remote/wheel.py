"""The edgetk wheel pushed to devices: built from this source tree once per source version.

The build runs in a temporary copy of the packages (the user's checkout gets no ``build/`` or
``egg-info`` litter) and is cached under this machine's cache folder, keyed by a digest of the
sources, so a second run with unchanged code reuses the same file, and the device reuses the
environment made from it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from edge_runtime.remote.errors import RemoteError

log = logging.getLogger(__name__)

PACKAGES = ("edgetk", "trainer", "export", "calibration", "edge_runtime")
_TOP_FILES = ("pyproject.toml", "README.md", "LICENSE")


def local_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "edgetk"


def project_root() -> Path:
    """The source tree this edgetk runs from; a wheel is built from it."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file() or not (root / "edge_runtime").is_dir():
        raise RemoteError(
            f"edgetk runs from {root}, not from a source checkout, so no wheel can be built to "
            "push; run from a checkout of edgetk"
        )
    return root


def _source_files(root: Path) -> list[Path]:
    files = [root / f for f in _TOP_FILES if (root / f).is_file()]
    for pkg in PACKAGES:
        if (root / pkg).is_dir():
            files += sorted(
                p
                for p in (root / pkg).rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
            )
    return files


def source_digest(root: Path) -> str:
    """sha256 over the relative paths and contents of everything a wheel is built from."""
    h = hashlib.sha256()
    for f in _source_files(root):
        h.update(str(f.relative_to(root)).encode() + b"\0")
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def source_version(root: Path) -> str:
    """The version in the checkout's pyproject.toml (read without a TOML parser: Python 3.10)."""
    import re

    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    m = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    return m.group(1) if m else "0"


def built_wheel(root: Path | None = None) -> tuple[Path, str]:
    """``(wheel path, source digest)``: the cached wheel for this source, built when missing."""
    root = root or project_root()
    digest = source_digest(root)
    folder = local_cache() / "wheels" / digest[:20]
    found = sorted(folder.glob("edgetk-*.whl")) if folder.is_dir() else []
    if found:
        return found[0], digest
    log.info("building the edgetk wheel for the devices")
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".build-", dir=folder.parent) as tmp:
        src = Path(tmp) / "src"
        for f in _source_files(root):
            dest = src / f.relative_to(root)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, dest)
        out = Path(tmp) / "out"
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
            capture_output=True,
            text=True,
        )
        wheels = sorted(out.glob("edgetk-*.whl"))
        if proc.returncode != 0 or not wheels:
            tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
            raise RemoteError(f"building the edgetk wheel failed: {tail}")
        # The folder appears complete or not at all (two parallel first runs: first one wins).
        staged = Path(tmp) / "final"
        staged.mkdir()
        shutil.move(str(wheels[0]), staged / wheels[0].name)
        try:
            os.replace(staged, folder)
        except OSError:
            pass  # another process finished first; use its wheel
    return sorted(folder.glob("edgetk-*.whl"))[0], digest


__all__ = ["built_wheel", "local_cache", "project_root", "source_digest", "source_version"]
