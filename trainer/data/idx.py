"""IDX files (the MNIST / Fashion-MNIST format), gzipped or not."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from edge_runtime.common.errors import DataError

IMAGES_MAGIC = 2051  # 0x00000803: unsigned byte, 3 dimensions
LABELS_MAGIC = 2049  # 0x00000801: unsigned byte, 1 dimension

STANDARD_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except (OSError, EOFError) as exc:
        raise DataError(
            f"cannot read IDX file {path}: {exc}; replace it with a good copy"
        ) from None


def read_idx(path: str | Path, expected_magic: int) -> np.ndarray:
    """Read one IDX file; the magic number must be ``expected_magic``."""
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 8:
        raise DataError(f"IDX file {path} is truncated ({len(raw)} bytes)")
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected_magic:
        kind = "images" if expected_magic == IMAGES_MAGIC else "labels"
        raise DataError(
            f"IDX file {path} has magic number {magic}, expected {expected_magic} for {kind}; "
            "is it the right file (images vs labels) and not corrupted?"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = int(np.prod(dims))
    body = np.frombuffer(raw, dtype=np.uint8, offset=header)
    if body.size != expected:
        raise DataError(
            f"IDX file {path} declares shape {dims} ({expected} values) but holds {body.size}"
        )
    return body.reshape(dims)


def _find(folder: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem):
        if (folder / name).exists():
            return folder / name
    raise DataError(
        f"{folder} has no {stem}.gz (or {stem}); an IDX folder holds the four standard files: "
        + ", ".join(f + ".gz" for f in STANDARD_FILES.values())
    )


def load_idx_folder(folder: str | Path) -> dict[str, np.ndarray]:
    """The four arrays from a folder with the standard IDX file names; images as NHWC uint8."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"IDX folder {folder} does not exist or is not a folder")
    out: dict[str, np.ndarray] = {}
    for key, stem in STANDARD_FILES.items():
        path = _find(folder, stem)
        arr = read_idx(path, IMAGES_MAGIC if key.startswith("x") else LABELS_MAGIC)
        out[key] = arr[..., None] if key.startswith("x") else arr.astype(np.int64)
    for split in ("train", "test"):
        if len(out[f"x_{split}"]) != len(out[f"y_{split}"]):
            raise DataError(
                f"{folder}: {len(out[f'x_{split}'])} {split} images but {len(out[f'y_{split}'])} "
                "labels; the image and label files do not belong together"
            )
    return out
