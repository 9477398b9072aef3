"""Versions of the libraries that shape results, recorded with every run, export and benchmark."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

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


def library_versions(dists: tuple[str, ...] = DISTRIBUTIONS) -> dict[str, str]:
    """``{"python": ..., "platform": ..., <dist>: <version>}`` for the installed ``dists``."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for dist in dists:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out


def edgetk_version() -> str:
    """This installation's edgetk version, read from package metadata when asked (not at import:
    importlib.metadata costs ~50 ms of every device command's cold start)."""
    try:
        return metadata.version("edgetk")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0.0.0+unknown"
