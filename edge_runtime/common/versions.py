"""Versions of the libraries that shape results, recorded with every run, export and benchmark.

The one place that asks package metadata for versions. ``importlib.metadata`` is imported inside
the functions, not at module import: it costs ~15-50 ms of every device command's cold start, and
``edgetk predict`` only needs a version when a record is written.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Iterable

DISTRIBUTIONS: tuple[str, ...] = (
    "edgetk",
    "tensorflow",
    "keras",
    "numpy",
    "tf2onnx",
    "onnx",
    "onnxruntime",
    "ai-edge-litert",
    "keras-tuner",
    "scikit-learn",
    "pillow",
    "opencv-python-headless",
    "opencv-python",  # the GUI build of the 'camera' extra; one of the two is installed
)


def installed_version(dist: str) -> str | None:
    """The installed version of distribution ``dist``, or None when it is not installed."""
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def installed_versions(dists: Iterable[str]) -> dict[str, str]:
    """``{dist: version}`` for those of ``dists`` that are installed (absent ones left out)."""
    found = {dist: installed_version(dist) for dist in dists}
    return {dist: v for dist, v in found.items() if v is not None}


def library_versions(dists: tuple[str, ...] = DISTRIBUTIONS) -> dict[str, str]:
    """``{"python": ..., "platform": ..., <dist>: <version>}`` for the installed ``dists``."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        **installed_versions(dists),
    }


def edgetk_version() -> str:
    """This installation's edgetk version ("0.0.0+unknown" for a source tree never installed)."""
    return installed_version("edgetk") or "0.0.0+unknown"
