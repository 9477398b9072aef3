"""Describe the machine a benchmark ran on, so results from a laptop and a Pi compare fairly."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

RUNTIME_PACKAGES = (
    "edgetk",
    "numpy",
    "pillow",
    "ai-edge-litert",
    "tflite-runtime",
    "onnxruntime",
    "opencv-python-headless",
    "opencv-python",
    "psutil",
)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def cpu_model() -> str:
    """The CPU's marketing name (x86 ``model name``; on a Raspberry Pi the board ``Model``)."""
    info = _read("/proc/cpuinfo")
    for key in ("model name", "Model", "Hardware", "cpu model", "Processor"):
        for line in info.splitlines():
            if line.split(":")[0].strip() == key and ":" in line:
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _os_name() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return platform.platform()


def _memory_total_mb() -> float | None:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def device_info() -> dict[str, Any]:
    """CPU model, cores, architecture, OS, Python and memory of this machine."""
    physical = None
    try:
        import psutil

        physical = psutil.cpu_count(logical=False)
    except ImportError:
        pass
    board = _read("/proc/device-tree/model").strip("\x00\n ")
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu_model": cpu_model(),
        "board": board or None,
        "arch": platform.machine(),
        "cores_logical": os.cpu_count(),
        "cores_physical": physical,
        "cores_usable": affinity,
        "os": _os_name(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "memory_total_mb": _memory_total_mb(),
        "hostname": platform.node(),
    }


def runtime_versions() -> dict[str, str]:
    """Installed versions of the runtime-side packages (absent ones are left out)."""
    out = {}
    for dist in RUNTIME_PACKAGES:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out


__all__ = ["cpu_model", "device_info", "runtime_versions"]
