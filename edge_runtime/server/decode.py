"""Uploads -> decoded pictures, in an inference worker, within the service's limits.

Runs on a worker thread, never on the event loop: even reading an image header can be slow on
hostile bytes. Every upload's header is read and checked first (format, sides, pixels, the whole
request's pixel budget, PNG padding), so a request is refused before any of its pictures is
decoded; then each is decoded no larger than the model needs (``shrink_toward``).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from edge_runtime.errors import ImageDecodeError, ImageTooLargeError
from edge_runtime.preprocess import check_png_padding, decode_opened, open_image
from edge_runtime.server.errors import ApiError
from edge_runtime.server.uploads import Upload

log = logging.getLogger(__name__)

# The formats the API documents; the file-side PPM is not among them.
SERVICE_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF")


@dataclass(frozen=True)
class DecodeLimits:
    """Per-image and per-request pixel limits, and the model input size to decode toward."""

    max_pixels: int
    max_side: int
    max_request_pixels: int
    target: tuple[int, int]  # (width, height) of the model's input


@dataclass(frozen=True)
class Decoded:
    image: np.ndarray
    width: int  # of the upload, before any reduction
    height: int


def _open(upload: Upload) -> Image.Image:
    try:
        check_png_padding(upload.data, upload.shown)
        return open_image(io.BytesIO(upload.data), upload.shown, SERVICE_FORMATS)
    except ImageTooLargeError as exc:
        raise ApiError(413, "image_too_large", str(exc)) from None
    except ImageDecodeError as exc:
        raise ApiError(400, "invalid_image", str(exc)) from None
    except MemoryError:
        raise
    except Exception as exc:  # a header parser's undocumented failure on hostile bytes
        raise ApiError(
            400, "invalid_image", f"{upload.shown} cannot be read ({type(exc).__name__})"
        ) from None


def decode_uploads(uploads: Sequence[Upload], limits: DecodeLimits) -> list[Decoded]:
    """Check every header against ``limits``, then decode each upload; ``ApiError`` if refused."""
    opened: list[Image.Image] = []
    sizes: list[tuple[int, int]] = []  # as sent: a JPEG draft changes ``img.size``
    total = 0
    try:
        for upload in uploads:
            img = _open(upload)
            opened.append(img)
            w, h = img.size
            sizes.append((w, h))
            if w < 1 or h < 1:
                raise ApiError(400, "invalid_image", f"{upload.shown} has no pixels ({w}x{h})")
            if max(w, h) > limits.max_side or w * h > limits.max_pixels:
                raise ApiError(
                    413,
                    "image_too_large",
                    f"{upload.shown} is {w}x{h} = {w * h} pixels; the limits are "
                    f"{limits.max_side} pixels per side and {limits.max_pixels} pixels in all; "
                    "send a smaller image",
                )
            total += w * h
            if total > limits.max_request_pixels:
                raise ApiError(
                    413,
                    "request_too_large",
                    f"the request's images hold more than {limits.max_request_pixels} pixels "
                    f"together (at {upload.shown}); send fewer or smaller images per request",
                )
        out = []
        for upload, img, (w, h) in zip(uploads, opened, sizes):
            try:
                out.append(Decoded(decode_opened(img, upload.shown, limits.target), w, h))
                # Free this picture's full-size pixels before the next one is decoded: the
                # request then peaks at one full picture, not all of them.
                img.close()
            except ImageDecodeError as exc:
                raise ApiError(400, "invalid_image", str(exc)) from None
            except MemoryError:
                raise
            except Exception as exc:
                log.warning("decoder raised %s on %s", type(exc).__name__, upload.shown)
                raise ApiError(
                    400,
                    "invalid_image",
                    f"{upload.shown} cannot be decoded ({type(exc).__name__})",
                ) from None
        return out
    finally:
        for img in opened:
            img.close()


__all__ = ["SERVICE_FORMATS", "DecodeLimits", "Decoded", "decode_uploads"]
