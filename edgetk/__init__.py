"""edgetk: an image classifier from a dataset to a device, with proof at every step.

This package holds the ``edgetk`` command and the few pieces every layer shares (errors with exit
codes, atomic writes, JSON configs). It imports nothing heavy, so the device-side commands start
where only the ``edge`` extra is installed.
"""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    # Resolved on first use: importlib.metadata costs ~50 ms, paid by every device command's
    # cold start if it ran at import time.
    if name == "__version__":
        from importlib import metadata

        try:
            return metadata.version("edgetk")
        except metadata.PackageNotFoundError:  # a source tree that was never installed
            return "0.0.0+unknown"
    raise AttributeError(f"module 'edgetk' has no attribute {name!r}")
