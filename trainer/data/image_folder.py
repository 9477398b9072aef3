"""A folder of labelled images: one subfolder per class (sorted by name: a stable class order).

Either ``ROOT/<class>/*.png`` (split into train / test by a seeded stratified split) or
``ROOT/train/<class>/...`` and ``ROOT/test/<class>/...`` (splits used as given).

Each original file becomes the model's native array through the runtime's own functions
(``edge_runtime.preprocess.load_image`` and ``prepare_pixels``) under the dataset's one input spec,
so the arrays the trainer and the parity gate see are exactly what ``edgetk predict`` computes
from the same file.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_runtime.common.errors import DataError
from edge_runtime.errors import ImageDecodeError
from edge_runtime.preprocess import IMAGE_SUFFIXES, MAX_PIXELS, load_image, prepare_pixels, to_grey

log = logging.getLogger(__name__)

# Pillow modes that decode to one grey channel (see edge_runtime.preprocess._to_array).
_GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "F"})
# Mixed sizes and no --image-size: a square of the median short side, kept within these bounds
# (small enough to train on two CPU cores, big enough for three pooling blocks).
_MIN_SIDE, _MAX_SIDE = 32, 96


@dataclass(frozen=True)
class ImageFiles:
    """The files of one split with their labels (indices into ``names``)."""

    files: tuple[Path, ...]
    labels: np.ndarray
    names: tuple[str, ...]


def list_class_folders(root: Path) -> list[Path]:
    if not root.exists():
        raise DataError(
            f"image folder {root} does not exist; pass a folder with one subfolder per class"
        )
    if not root.is_dir():
        raise DataError(f"{root} is a file; pass a folder with one subfolder per class")
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise DataError(
            f"image folder {root} has {len(classes)} class subfolder(s); a classifier needs at least 2 "
            "(ROOT/<class name>/<images>)"
        )
    return classes


def list_images(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def scan(root: Path, class_names: Sequence[str] | None = None) -> ImageFiles:
    """Every image file under ``root``'s class folders, labelled by folder."""
    folders = list_class_folders(root)
    names = tuple(f.name for f in folders)
    if class_names is not None and names != tuple(class_names):
        raise DataError(
            f"{root} has classes {list(names)} but the training split has {list(class_names)}"
        )
    files: list[Path] = []
    labels: list[int] = []
    for i, folder in enumerate(folders):
        imgs = list_images(folder)
        if not imgs:
            raise DataError(
                f"class folder {folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))}); "
                "add images or remove the folder"
            )
        files += imgs
        labels += [i] * len(imgs)
    return ImageFiles(tuple(files), np.asarray(labels, dtype=np.int64), names)


def probe(files: Sequence[Path], max_pixels: int | None = None) -> tuple[list[str], list[tuple]]:
    """Colour mode ("L" / "RGB") and (height, width) of every file, from headers only.

    Unreadable files and files over ``max_pixels`` (the limit ``edgetk predict`` applies too)
    are refused together, each by name, before anything is decoded or trained on.
    """
    from PIL import Image, UnidentifiedImageError

    max_pixels = max_pixels or MAX_PIXELS
    modes: list[str] = []
    sizes: list[tuple[int, int]] = []
    bad: list[str] = []
    big: list[str] = []
    for p in files:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(p) as im:
                    w, h = im.size
                    mode = im.mode
        except Image.DecompressionBombError:
            big.append(f"{p} (over Pillow's decompression-bomb limit)")
            continue
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            bad.append(f"{p} ({exc.__class__.__name__})")
            continue
        if w * h > max_pixels:
            big.append(f"{p} ({w}x{h} = {w * h} pixels)")
            continue
        modes.append("L" if mode in _GREY_MODES or mode.startswith("I;16") else "RGB")
        sizes.append((h, w))
    if big:
        raise DataError(
            f"{len(big)} training image(s) over the {max_pixels}-pixel limit that edgetk predict "
            f"also applies: {_some(big)}. Shrink or remove them."
        )
    if bad:
        raise DataError(
            f"{len(bad)} unreadable or corrupt image(s): {_some(bad)}. Remove or replace them."
        )
    return modes, sizes


def _some(items: list[str], k: int = 5) -> str:
    return "; ".join(items[:k]) + (f"; and {len(items) - k} more" if len(items) > k else "")


def choose_size(sizes: Sequence[tuple[int, int]], root: Path) -> tuple[int, int]:
    """The common (height, width), or a square of the median short side when sizes vary."""
    distinct = set(sizes)
    if len(distinct) == 1:
        return next(iter(distinct))
    side = int(np.clip(np.median([min(s) for s in sizes]), _MIN_SIDE, _MAX_SIDE))
    log.warning(
        "images in %s have %d different sizes; the model takes %dx%d (the median short side, "
        "within %d..%d; --image-size HEIGHT WIDTH chooses another)",
        root,
        len(distinct),
        side,
        side,
        _MIN_SIDE,
        _MAX_SIDE,
    )
    return side, side


def _load(path: Path, max_pixels: int) -> np.ndarray:
    try:
        return load_image(path, max_pixels)
    except ImageDecodeError as exc:
        raise DataError(f"cannot decode training image: {exc}") from None


def polarity_flags(files: Sequence[Path], max_pixels: int = MAX_PIXELS) -> list[bool]:
    """Whether each picture looks dark-on-light, judged on its decoded original like the runtime."""
    from edge_runtime.polarity import looks_dark_on_light

    return [bool(looks_dark_on_light(to_grey(_load(p, max_pixels)))) for p in files]


def prepare_files(files: Sequence[Path], spec: dict, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """NHWC uint8: each file decoded and prepared exactly as ``edgetk predict`` prepares it
    (the runtime's default ``auto`` polarity choice under the dataset's fixed spec)."""
    from edge_runtime.manifest import InputSpec

    input_spec = InputSpec.from_dict(spec)
    out = np.empty((len(files), spec["height"], spec["width"], spec["channels"]), dtype=np.uint8)
    for i, p in enumerate(files):
        plane, _ = prepare_pixels(_load(p, max_pixels), input_spec, "auto")
        out[i] = plane if plane.ndim == 3 else plane[..., None]
    return out


__all__ = [
    "IMAGE_SUFFIXES",
    "ImageFiles",
    "choose_size",
    "list_class_folders",
    "list_images",
    "polarity_flags",
    "prepare_files",
    "probe",
    "scan",
]
