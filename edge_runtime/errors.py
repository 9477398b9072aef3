"""Errors the edge runtime raises, on top of the shared ``edge_runtime.common.errors`` types.

They subclass the shared types so the CLI maps them to the right exit code and the REST service can
tell a bad upload (``ImageDecodeError``, a ``DataError``) from a broken bundle (``ModelError``).
"""

from __future__ import annotations

from edge_runtime.common.errors import DataError, ModelError


class ImageDecodeError(DataError):
    """Bytes or a file that are not a decodable image: not an image, truncated, or too large."""


class ImageTooLargeError(ImageDecodeError):
    """A picture over a pixel limit, refused from its header before decoding."""


class CameraError(DataError):
    """A camera, video file or stream that cannot be opened or read."""


class BackendUnavailableError(ModelError):
    """No runtime for an artifact's format is installed (ai-edge-litert / tflite-runtime / onnxruntime)."""


class RuntimeCrashedError(ModelError):
    """The runtime library died natively (SIGSEGV, abort) while loading or running an artifact.

    Raised where the runtime ran in a child process (``edgetk serve``'s workers): the process that
    raises it is alive, and the next call gets a fresh runtime.
    """

    def __init__(self, artifact: str, runtime: str, how: str, doing: str) -> None:
        super().__init__(
            f"the runtime ({runtime}) crashed ({how}) while {doing} {artifact}; choose another "
            f"artifact of the bundle (--artifact), or reinstall the runtime the 'edge' extra pins "
            f"(pip install 'edgetk[edge]')"
        )
        self.artifact, self.runtime, self.how = artifact, runtime, how


__all__ = [
    "BackendUnavailableError",
    "CameraError",
    "DataError",
    "ImageDecodeError",
    "ImageTooLargeError",
    "ModelError",
    "RuntimeCrashedError",
]
