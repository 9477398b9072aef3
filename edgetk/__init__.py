"""edgetk: an image classifier from a dataset to a device, with proof at every step.

The ``edgetk`` command, and the Python API of the device side (TensorFlow-free)::

    import edgetk

    bundle = edgetk.load("runs/quick/bundle")
    pred = bundle.predict("shirt.png")
    print(pred.label, pred.score, pred.top_k)
    print(bundle.evaluate("labelled_folder/").accuracy)

``load`` and ``Bundle`` live in ``edge_runtime.api`` and are resolved here on first use, so
``import edgetk`` costs nothing until they are needed. The pieces every layer shares (errors with
exit codes, atomic writes, JSON configs, versions) live at the bottom, in ``edge_runtime.common``,
so that nothing imports upward.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Bundle", "__version__", "load"]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from edge_runtime.common.versions import edgetk_version

        return edgetk_version()
    if name in ("load", "Bundle"):
        from edge_runtime import api

        return getattr(api, name)
    raise AttributeError(f"module 'edgetk' has no attribute {name!r}")
