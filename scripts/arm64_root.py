"""What the scripts that measure on the emulated arm64 root share (scripts/arm64_emulated_check.sh
builds the root): its Python, running a command in it, the bundle's calibration images, copying
edgetk's sources in, and the bind mounts its runtimes need. Host side only: nothing here runs
inside the root."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

QEMU_CPU = "cortex-a72"  # a Raspberry Pi 4's core
LABEL = f"emulated (qemu-user {QEMU_CPU}), not device timings"
ROOT_PYTHON = "/opt/edge-venv/bin/python"  # the root's venv, as the setup leaves it


def require_root(root: Path) -> None:
    """Exit with one line unless ``root`` holds the venv the setup makes."""
    if not (root / ROOT_PYTHON.lstrip("/")).exists():
        raise SystemExit(
            f"no arm64 root with a venv at {root}: run scripts/arm64_emulated_check.sh setup"
        )


def in_root(root: Path, pythonpath: str, *cmd: str) -> str:
    """Run ``cmd`` in the root (chroot, a clean environment, ``pythonpath`` on the path); its
    stdout, or exit with its stderr's tail."""
    env = {"HOME": "/root", "PATH": "/usr/bin:/bin", "QEMU_CPU": QEMU_CPU, "LANG": "C.UTF-8",
           "PYTHONPATH": pythonpath}  # fmt: skip
    proc = subprocess.run(
        ["chroot", str(root), "/usr/bin/env", "-i", *(f"{k}={v}" for k, v in env.items()), *cmd],
        capture_output=True, text=True, timeout=3000,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"inside the root: {' '.join(cmd[:3])} failed: {proc.stderr[-2000:]}")
    return proc.stdout


def calibration_images(bundle: Path, n: int) -> np.ndarray:
    """The first ``n`` of the bundle's calibration images (training images), uint8."""
    with np.load(bundle / "calibration" / "calibration.npz") as f:
        x = f["x"] if "x" in f else f[next(iter(f.files))]
    return np.asarray(x[:n]).astype(np.uint8)


def stage_sources(repo: Path, work: Path, packages: Sequence[str]) -> None:
    """A fresh ``work`` with ``packages`` of the checkout ``repo`` copied into ``work/src``."""
    shutil.rmtree(work, ignore_errors=True)
    (work / "src").mkdir(parents=True)
    for pkg in packages:
        shutil.copytree(
            repo / pkg, work / "src" / pkg, ignore=shutil.ignore_patterns("__pycache__")
        )


@contextmanager
def bind_mounts(root: Path, dirs: Sequence[str]) -> Iterator[None]:
    """The host's ``/<dir>`` bound into the root for the block (those not mounted there yet)."""
    mounted: list[str] = []
    try:
        for d in dirs:
            if not os.path.ismount(root / d):
                subprocess.run(["mount", "--bind", f"/{d}", str(root / d)], check=True)
                mounted.append(d)
        yield
    finally:
        for d in mounted:
            subprocess.run(["umount", "-l", str(root / d)], check=False)
