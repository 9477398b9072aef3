"""Library versions recorded in the manifest (only those installed)."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

_DISTS = (
    "edgetk",
    "tensorflow",
    "keras",
    "numpy",
    "tf2onnx",
    "onnx",
    "onnxruntime",
    "ai-edge-litert",
)


def library_versions() -> dict[str, str]:
    """``{"python": ..., "platform": ..., <dist>: <version>}`` for the export toolchain."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for dist in _DISTS:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out
