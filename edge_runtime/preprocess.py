"""From any picture to the model's input, driven only by the manifest's ``InputSpec``.

One path serves image files, camera frames and REST uploads:

1. ``decode_image_bytes`` / ``load_image``: PNG, JPEG, BMP (anything Pillow reads) in grey, RGB,
   RGBA, palette or 16-bit form, EXIF orientation applied -> ``HxWx1`` or ``HxWx3`` uint8.
   Transparent pixels are composited onto white, as a viewer shows them.
2. ``prepare``: colour mode (grey <-> RGB, BGR camera frames), polarity (see ``polarity.py``),
   aspect handling (``pad`` / ``stretch`` / ``center_crop``), size, value range and layout ->
   float32 in the range the float model takes. Artifact quantization is the backend's job.

Pillow is imported here and OpenCV is not: ``edgetk predict`` on a file never pays for cv2.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from edge_runtime.errors import ImageDecodeError, ImageTooLargeError
from edge_runtime.manifest import InputSpec
from edge_runtime.polarity import PolarityChoice, should_invert

# ITU-R BT.601 luma, the weights Pillow's convert("L") uses, so files and frames agree.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
LUMA_WEIGHTS: tuple[float, float, float] = (0.299, 0.587, 0.114)  # RGB -> grey, as to_grey does
IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm"}
)
# The largest picture (width x height) ``edgetk predict`` decodes, and the trainer accepts in a
# training folder: one limit, so nothing is trained on that the device would refuse.
MAX_PIXELS = 50_000_000


# What the runtime decodes: the formats the docs promise, plus the Netpbm files of IMAGE_SUFFIXES.
# Without ``formats=`` Pillow tries some 45 parsers (EPS hands the bytes to Ghostscript).
IMAGE_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF", "PPM")
_SHOWN_FORMATS = "PNG, JPEG, BMP, GIF, WebP, TIFF"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A PNG larger than its raw pixels (8 bytes each at most, 16-bit RGBA) plus this much metadata
# (ICC profile, EXIF, text) is padding: thousands of empty chunks cost seconds of parsing.
PNG_METADATA_SLACK = 512 * 1024


def png_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from a PNG's IHDR (fixed offsets by the PNG spec); None if not a PNG."""
    if len(data) < 24 or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def check_png_padding(data: bytes, where: str) -> None:
    """Refuse a PNG whose byte size no picture of its dimensions needs, before Pillow parses it."""
    size = png_size(data)
    if size is None:
        return
    most = size[0] * size[1] * 8 + PNG_METADATA_SLACK
    if len(data) > most:
        raise ImageDecodeError(
            f"{where} is a {size[0]}x{size[1]} PNG of {len(data)} bytes, more than such a picture "
            f"can hold ({most}); re-save it without the extra chunks"
        )


def decode_image_bytes(
    data: bytes,
    max_pixels: int | None = None,
    *,
    formats: tuple[str, ...] = IMAGE_FORMATS,
    target: tuple[int, int] | None = None,
) -> np.ndarray:
    """Decode an encoded image to ``HxWx1`` (grey) or ``HxWx3`` (RGB) uint8.

    Raises ``ImageDecodeError`` for bytes that are not an image of ``formats``, a truncated file,
    or a picture with more than ``max_pixels`` pixels (checked from the header, before decoding: a
    decompression bomb never gets decoded). ``None`` leaves only Pillow's own bomb guard.
    ``target`` ``(width, height)``: a picture many times larger is decoded smaller (see
    ``shrink_toward``), so memory follows what the model needs, not what the upload holds.
    """
    if not data:
        raise ImageDecodeError("empty input: expected the bytes of a PNG, JPEG or BMP image")
    check_png_padding(data, "input")
    return _decode(io.BytesIO(data), "input", max_pixels, formats, target)


def load_image(path: str | Path, max_pixels: int | None = None) -> np.ndarray:
    """Read an image file to ``HxWx1`` or ``HxWx3`` uint8 (see ``decode_image_bytes``)."""
    p = Path(path)
    try:
        fh = open(p, "rb")  # noqa: SIM115 - closed below, after Pillow has read it
    except FileNotFoundError:
        raise ImageDecodeError(f"{p} does not exist") from None
    except IsADirectoryError:
        raise ImageDecodeError(f"{p} is a folder, not an image file") from None
    except OSError as exc:
        raise ImageDecodeError(f"{p} cannot be read: {exc.strerror or exc}") from None
    with fh:
        return _decode(fh, str(p), max_pixels, IMAGE_FORMATS, None)


def open_image(
    fh: io.BufferedIOBase | io.BytesIO, where: str, formats: tuple[str, ...] = IMAGE_FORMATS
) -> Image.Image:
    """``Image.open`` restricted to ``formats``: the header only, no pixels decoded yet."""
    try:
        with warnings.catch_warnings():
            # Callers apply their own pixel limits; Pillow's warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(fh, formats=list(formats))
    except UnidentifiedImageError:
        shown = _SHOWN_FORMATS + (", PPM" if "PPM" in formats else "")
        raise ImageDecodeError(f"{where} is not an image of a supported format ({shown})") from None
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"{where} is too large to decode safely: {exc}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageDecodeError(f"{where} is corrupt or truncated ({exc})") from None


def shrink_toward(img: Image.Image, target: tuple[int, int]) -> Image.Image:
    """Decode ``img`` no larger than needed for a ``target`` (width, height) model input.

    JPEG decodes at 1/2, 1/4 or 1/8 scale (``draft``: the full picture never exists in memory);
    other formats decode in full and are box-reduced by a whole factor at once. Both stop at four
    times the target's size, so the resize to the model's input that follows sees the same
    picture it would have seen from the full one, give or take rounding.
    """
    want = (target[0] * 4, target[1] * 4)
    if img.format == "JPEG" and img.mode in ("L", "RGB", "CMYK"):
        img.draft(img.mode, want)
    img.load()
    factor = min(img.width // want[0], img.height // want[1])
    if factor >= 2:
        img = img.reduce(factor)
    return img


def _decode(
    fh: io.BufferedIOBase | io.BytesIO,
    where: str,
    max_pixels: int | None,
    formats: tuple[str, ...],
    target: tuple[int, int] | None,
) -> np.ndarray:
    img = open_image(fh, where, formats)
    w, h = img.size
    if max_pixels is not None and w * h > max_pixels:
        raise ImageTooLargeError(
            f"{where} is {w}x{h} = {w * h} pixels, more than the limit of {max_pixels}; "
            "send a smaller image"
        )
    return decode_opened(img, where, target)


def _upright(img: Image.Image) -> Image.Image:
    """``img`` turned as its EXIF orientation says (ImageOps is imported only when it has one)."""
    try:
        orientation = img.getexif().get(0x0112, 1)
    except Exception:  # a broken EXIF block: Pillow's own exif_transpose would fail the same way
        orientation = None
    if orientation == 1:
        return img
    from PIL import ImageOps

    return ImageOps.exif_transpose(img)


def decode_opened(
    img: Image.Image, where: str, target: tuple[int, int] | None = None
) -> np.ndarray:
    """Decode an ``open_image`` result (its size already checked) to ``HxWx1`` / ``HxWx3`` uint8."""
    try:
        # No warnings filter here: Pillow's bomb warning comes from open (open_image), not load.
        if target is not None:
            img = shrink_toward(img, target)
        else:
            img.load()
        img = _upright(img)
    except Image.DecompressionBombError as exc:
        raise ImageDecodeError(f"{where} is too large to decode safely: {exc}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageDecodeError(f"{where} is corrupt or truncated ({exc})") from None
    return _to_array(img)


def _to_array(img: Image.Image) -> np.ndarray:
    mode = img.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        arr = np.asarray(img, dtype=np.float32)
        top = 65535.0 if arr.max(initial=0) > 255 else 255.0
        return np.clip(arr * (255.0 / top) + 0.5, 0, 255).astype(np.uint8)[..., None]
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    if mode in ("1", "L"):
        return np.asarray(img.convert("L"), dtype=np.uint8)[..., None]
    if mode in ("LA", "La", "PA"):
        img = img.convert("RGBA")
        return _over_white(np.asarray(img, dtype=np.uint8))[..., :1]
    if mode in ("RGBA", "RGBa"):
        return _over_white(np.asarray(img.convert("RGBA"), dtype=np.uint8))
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


def _over_white(rgba: np.ndarray) -> np.ndarray:
    """Composite straight-alpha RGBA onto white (how a viewer shows a transparent picture)."""
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32)
    return (rgb * alpha + 255.0 * (1.0 - alpha) + 0.5).astype(np.uint8)


def to_grey(image: np.ndarray, bgr: bool = False) -> np.ndarray:
    """``HxW`` uint8 luma of an ``HxW``, ``HxWx1``, ``HxWx3`` (RGB or BGR) or ``HxWx4`` image."""
    if image.ndim == 2:
        return image
    c = image.shape[2]
    if c == 1:
        return image[..., 0]
    if c == 4:
        image = _over_white(image[..., [2, 1, 0, 3]] if bgr else image)
        bgr = False
    weights = _LUMA[::-1] if bgr else _LUMA
    return (image[..., :3].astype(np.float32) @ weights + 0.5).astype(np.uint8)


def to_rgb(image: np.ndarray, bgr: bool = False) -> np.ndarray:
    """``HxWx3`` RGB uint8 of a grey, RGB, BGR or RGBA image."""
    if image.ndim == 2:
        image = image[..., None]
    c = image.shape[2]
    if c == 1:
        return np.repeat(image, 3, axis=2)
    if c == 4:
        image = _over_white(image[..., [2, 1, 0, 3]] if bgr else image)
        return image
    return image[..., ::-1] if bgr else image


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        got = getattr(image, "dtype", type(image).__name__)
        raise ImageDecodeError(f"expected a decoded uint8 image array, got {got}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise ImageDecodeError(
            f"expected an HxW, HxWx1, HxWx3 or HxWx4 image, got shape {image.shape}"
        )
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ImageDecodeError(f"image is empty (shape {image.shape})")


def _resize(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize ``HxW`` or ``HxWx3`` uint8 with Pillow's antialiased bilinear filter."""
    if plane.shape[0] == height and plane.shape[1] == width:
        return plane
    img = Image.fromarray(plane)
    return np.asarray(img.resize((width, height), Image.Resampling.BILINEAR))


def _border_fill(plane: np.ndarray) -> np.ndarray:
    """The median of the outermost pixel ring, per channel: padding that matches the background."""
    ring = np.concatenate(
        [
            plane[0].reshape(-1, *plane.shape[2:]),
            plane[-1].reshape(-1, *plane.shape[2:]),
            plane[:, 0].reshape(-1, *plane.shape[2:]),
            plane[:, -1].reshape(-1, *plane.shape[2:]),
        ]
    )
    return np.median(ring, axis=0).astype(np.uint8)


def fit(plane: np.ndarray, height: int, width: int, mode: str) -> np.ndarray:
    """Bring ``plane`` to ``height`` x ``width`` by ``stretch``, ``pad`` or ``center_crop``."""
    h, w = plane.shape[:2]
    if (h, w) == (height, width) or mode == "stretch":
        return _resize(plane, height, width)
    if mode == "pad":
        scale = min(height / h, width / w)
        nh, nw = max(1, min(height, round(h * scale))), max(1, min(width, round(w * scale)))
        small = _resize(plane, nh, nw)
        canvas = np.empty((height, width, *plane.shape[2:]), dtype=np.uint8)
        canvas[...] = _border_fill(plane)
        top, left = (height - nh) // 2, (width - nw) // 2
        canvas[top : top + nh, left : left + nw] = small
        return canvas
    if mode == "center_crop":
        scale = max(height / h, width / w)
        nh, nw = max(height, round(h * scale)), max(width, round(w * scale))
        big = _resize(plane, nh, nw)
        top, left = (nh - height) // 2, (nw - width) // 2
        return big[top : top + height, left : left + width]
    raise ImageDecodeError(
        f"unknown resize mode {mode!r}; the manifest allows pad, stretch, center_crop"
    )


def prepare(
    image: np.ndarray,
    spec: InputSpec,
    polarity: PolarityChoice = "auto",
    bgr: bool = False,
) -> np.ndarray:
    """Turn a decoded uint8 image into one float32 model input as ``spec`` describes it.

    ``image``: ``HxW``, ``HxWx1``, ``HxWx3`` (RGB, or BGR with ``bgr=True`` for OpenCV frames) or
    ``HxWx4``. Returns ``HxWxC`` (``CxHxW`` for an NCHW model) float32, normalized as ``spec`` says
    (``value_range``, or per-channel ``mean``/``std``).
    """
    return prepare_with_polarity(image, spec, polarity, bgr)[0]


def prepare_pixels(
    image: np.ndarray,
    spec: InputSpec,
    polarity: PolarityChoice = "auto",
    bgr: bool = False,
) -> tuple[np.ndarray, bool]:
    """Colour, polarity, size and layout, still as uint8 pixels; also whether it was inverted.

    ``pixel_values(spec)[pixels]`` equals ``prepare``'s float output, which lets a backend map
    pixels straight to its quantized input through a 256-entry table.
    """
    _check_image(image)
    if image.ndim == 3 and image.shape[2] == 1 and spec.color == "grey":
        # Already grey (a decoded grey file): no conversion, and no copy when nothing changes.
        grey, plane = image[..., 0], image
    else:
        grey = to_grey(image, bgr)
        plane = grey if spec.color == "grey" else to_rgb(image, bgr)
    inverted = should_invert(grey, spec.polarity, polarity)
    if inverted:
        plane = 255 - plane
    if plane.shape[0] != spec.height or plane.shape[1] != spec.width:
        if plane.ndim == 3 and plane.shape[2] == 1:
            plane = plane[..., 0]  # Pillow resizes HxW, not HxWx1
        plane = fit(plane, spec.height, spec.width, spec.resize)
    if plane.ndim == 2:
        plane = plane[..., None]
    if spec.layout == "NCHW":
        plane = np.transpose(plane, (2, 0, 1))
    return plane, inverted


def pixel_values(spec: InputSpec) -> np.ndarray:
    """The float32 model value of each pixel value 0..255 under the spec's normalization.

    Shape ``(256,)`` when every channel is normalized alike (``value_range``, or equal
    ``mean``/``std``); ``(256, C)`` for per-channel ``mean``/``std`` (read with ``pixel_lookup``).
    """
    v = np.arange(256, dtype=np.float32)
    if not spec.mean:
        lo, hi = spec.value_range
        if (lo, hi) != (0.0, 255.0):
            v = v * np.float32((hi - lo) / 255.0) + np.float32(lo)
        return v
    mean = np.asarray(spec.mean, np.float32)
    std = np.asarray(spec.std, np.float32)
    if (mean == mean[0]).all() and (std == std[0]).all():
        return (v - mean[0]) / std[0]
    return (v[:, None] - mean) / std


def channel_index(table: np.ndarray, ndim: int, layout: str) -> np.ndarray | None:
    """For a per-channel ``(256, C)`` table, the channel index that broadcasts against pixel
    arrays of ``ndim`` dimensions in ``layout``; None for a ``(256,)`` table."""
    if table.ndim == 1:
        return None
    ch = np.arange(table.shape[1])
    if layout == "NCHW":  # (C, H, W) or (N, C, H, W): channels three axes from the end
        ch = ch[:, None, None]
    return ch


def pixel_lookup(table: np.ndarray, pixels: np.ndarray, layout: str = "NHWC") -> np.ndarray:
    """``table`` (``pixel_values``, possibly quantized) applied to uint8 ``pixels``."""
    ch = channel_index(table, pixels.ndim, layout)
    return table[pixels] if ch is None else table[pixels, ch]


def prepare_with_polarity(
    image: np.ndarray,
    spec: InputSpec,
    polarity: PolarityChoice = "auto",
    bgr: bool = False,
) -> tuple[np.ndarray, bool]:
    """``prepare``, also saying whether the picture was inverted (to show what ``auto`` did)."""
    plane, inverted = prepare_pixels(image, spec, polarity, bgr)
    return pixel_lookup(pixel_values(spec), plane, spec.layout), inverted


__all__ = [
    "IMAGE_FORMATS",
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "check_png_padding",
    "decode_image_bytes",
    "decode_opened",
    "fit",
    "load_image",
    "open_image",
    "channel_index",
    "png_size",
    "pixel_lookup",
    "pixel_values",
    "prepare",
    "prepare_pixels",
    "prepare_with_polarity",
    "shrink_toward",
    "to_grey",
    "to_rgb",
]
