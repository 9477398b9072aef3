"""edgetk: an image classifier from a dataset to a device, with proof at every step.

This package holds the ``edgetk`` command and the few pieces every layer shares (errors with exit
codes, atomic writes, JSON configs). It imports nothing heavy, so the device-side commands start
where only the ``edge`` extra is installed.
"""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("edgetk")
except _metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
