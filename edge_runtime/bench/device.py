"""Describe the machine a benchmark ran on, so results from a laptop and a Pi compare fairly."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

from edge_runtime.common.versions import installed_versions

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
    """The CPU's marketing name (x86 ``model name``; on a Raspberry Pi the board ``Model``).

    Read from ``/proc/cpuinfo`` because neither psutil nor ``platform`` reports it on Linux
    (``platform.processor()`` is usually empty or just the architecture there).
    """
    info = _read("/proc/cpuinfo")
    for key in ("model name", "Model", "Hardware", "cpu model", "Processor"):
        for line in info.splitlines():
            if line.split(":")[0].strip() == key and ":" in line:
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _os_name() -> str:
    try:
        return platform.freedesktop_os_release()["PRETTY_NAME"]
    except (OSError, KeyError):  # not a freedesktop system (macOS, Windows)
        return platform.platform()


def device_info() -> dict[str, Any]:
    """CPU model, cores, architecture, OS, Python and memory of this machine."""
    import psutil  # the edge extra's; imported here to keep it off other commands' cold start

    # The board name (a Raspberry Pi's "Raspberry Pi 5 Model B") has no library API.
    board = _read("/proc/device-tree/model").strip("\x00\n ")
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu_model": cpu_model(),
        "board": board or None,
        "arch": platform.machine(),
        "cores_logical": psutil.cpu_count(logical=True),
        "cores_physical": psutil.cpu_count(logical=False),
        "cores_usable": affinity,
        "os": _os_name(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "memory_total_mb": round(psutil.virtual_memory().total / 2**20, 1),
        "hostname": platform.node(),
    }


def runtime_versions() -> dict[str, str]:
    """Installed versions of the runtime-side packages (absent ones are left out)."""
    return installed_versions(RUNTIME_PACKAGES)


__all__ = ["cpu_model", "device_info", "runtime_versions"]
