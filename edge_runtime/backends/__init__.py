"""Runtime backends behind one interface: ``open_backend(path, artifact, threads)``."""

from __future__ import annotations

from pathlib import Path

from edge_runtime.backends.base import Backend
from edge_runtime.errors import ModelError
from edge_runtime.manifest import Artifact


def open_backend(
    path: str | Path, artifact: Artifact, threads: int | None = None, *, isolate: bool = False
) -> Backend:
    """Load ``path`` with the runtime for ``artifact.format`` (imported only when needed).

    ``isolate``: run the runtime in a child process (``IsolatedBackend``), so that a native crash
    raises ``RuntimeCrashedError`` here instead of killing this process.
    """
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"artifact {p} is missing; the bundle is incomplete, re-export it")
    if isolate:
        from edge_runtime.backends.isolated import IsolatedBackend

        return IsolatedBackend(p, artifact, threads)
    if artifact.format == "tflite":
        from edge_runtime.backends.tflite import TFLiteBackend

        return TFLiteBackend(p, artifact, threads)
    if artifact.format == "onnx":
        from edge_runtime.backends.onnx import OnnxBackend

        return OnnxBackend(p, artifact, threads)
    raise ModelError(
        f"artifact {p} has format {artifact.format!r}; this runtime runs tflite and onnx"
    )


__all__ = ["Backend", "open_backend"]
