"""A folder of labelled images: one subfolder per class (sorted by name: a stable class order).

Either ``ROOT/<class>/*.png`` (split into train / test by a seeded stratified split) or
``ROOT/train/<class>/...`` and ``ROOT/test/<class>/...`` (splits used as given).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from edge_runtime.common.errors import DataError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})


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


def _decode(path: Path, mode: str, size: tuple[int, int] | None):
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            im = im.convert("RGBA").convert("RGB") if im.mode in ("P", "LA", "RGBA") else im
            im = im.convert(mode)
            if size is not None and im.size != (size[1], size[0]):
                im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            return np.asarray(im, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"cannot decode image {path}: {exc}") from None


def _probe(paths: list[Path]) -> tuple[str, tuple[int, int] | None]:
    """Colour mode (grey only if every image is grey) and the common size (None if sizes vary)."""
    from PIL import Image, UnidentifiedImageError

    modes, sizes, bad = set(), set(), []
    for p in paths:
        try:
            with Image.open(p) as im:
                modes.add("L" if im.mode in ("1", "L", "LA", "I;16", "I") else "RGB")
                sizes.add((im.height, im.width))
        except (UnidentifiedImageError, OSError, SyntaxError) as exc:
            bad.append(f"{p} ({exc.__class__.__name__})")
    if bad:
        shown = "; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise DataError(
            f"{len(bad)} unreadable or corrupt image(s): {shown}. Remove or replace them."
        )
    return ("L" if modes == {"L"} else "RGB"), (sizes.pop() if len(sizes) == 1 else None)


def read_split(
    root: Path,
    class_names: list[str] | None,
    image_size: tuple[int, int] | None,
    mode: str | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str], str, tuple[int, int]]:
    """Decode every image under ``root``'s class folders into NHWC uint8."""
    folders = list_class_folders(root)
    names = [f.name for f in folders]
    if class_names is not None and names != class_names:
        raise DataError(f"{root} has classes {names} but the training split has {class_names}")
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
    probed_mode, common = _probe(files)
    mode = mode or probed_mode
    size = image_size or common
    if size is None:
        size = (96, 96)
        log.warning(
            "images in %s have different sizes; resizing all to %dx%d (set image_size to choose)",
            root,
            *size,
        )
    arrays = [_decode(p, mode, size) for p in files]
    x = np.stack(arrays)
    if x.ndim == 3:
        x = x[..., None]
    return x, np.asarray(labels, dtype=np.int64), names, mode, size
