"""edgetk: an image classifier from a dataset to a device, with proof at every step.

This package is the ``edgetk`` command only (the CLI shell at the top of the import order). The
pieces every layer shares (errors with exit codes, atomic writes, JSON configs, versions) live at
the bottom, in ``edge_runtime.common``, so that nothing imports upward.
"""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    if name == "__version__":
        from edge_runtime.common.versions import edgetk_version

        return edgetk_version()
    raise AttributeError(f"module 'edgetk' has no attribute {name!r}")
