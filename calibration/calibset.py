"""A calibration set: the images, their labels, and where they came from (saved as .npz + .json)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from calibration.config import CalibrationConfig
from calibration.sampling import stratified_indices
from edge_runtime.common.errors import DataError
from edge_runtime.common.fileio import atomic_path, read_json, write_json

log = logging.getLogger(__name__)

PROVENANCE_SUFFIX = ".json"


def array_fingerprint(*arrays: np.ndarray) -> str:
    """sha256 over dtype, shape and bytes of each array."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


@dataclass(frozen=True, eq=False)
class CalibrationSet:
    """Representative images (uint8 or float, NHWC, the model's native raw-pixel form)."""

    x: np.ndarray
    y: np.ndarray
    provenance: dict[str, Any]

    def __len__(self) -> int:
        return len(self.x)

    def as_float32(self) -> np.ndarray:
        """The images as the float model takes them (raw pixel values as float32)."""
        return self.x.astype(np.float32)

    def head(self, n: int) -> CalibrationSet:
        """The first ``n`` images, stratification kept (indices were sorted, so take a
        class-balanced prefix instead of a plain slice)."""
        if n >= len(self):
            return self
        idx = stratified_indices(self.y, n, int(self.provenance.get("seed", 0)))
        prov = {**self.provenance, "count": n, "subset_of": self.provenance.get("sha256", "")}
        prov["per_class_counts"] = _per_class(self.y[idx])
        return CalibrationSet(self.x[idx], self.y[idx], prov)

    def save(self, path: str | Path) -> Path:
        """Write ``<path>.npz`` (images, labels) and ``<path>.json`` (provenance), atomically."""
        npz = Path(path).with_suffix(".npz")
        with atomic_path(npz) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, x=self.x, y=self.y)
        write_json(npz.with_suffix(PROVENANCE_SUFFIX), self.provenance)
        return npz

    @classmethod
    def load(cls, path: str | Path) -> CalibrationSet:
        """Read a set written by :meth:`save`; the content hash must match its provenance."""
        npz = Path(path).with_suffix(".npz")
        meta = npz.with_suffix(PROVENANCE_SUFFIX)
        if not npz.exists() or not meta.exists():
            raise DataError(
                f"calibration set {npz} (with {meta.name}) not found; build one with "
                "calibration.build_calibration_set"
            )
        try:
            with np.load(npz) as data:
                x, y = data["x"], data["y"]
            prov = read_json(meta)
        except (OSError, ValueError, KeyError) as exc:
            raise DataError(f"calibration set {npz} is unreadable ({exc}); rebuild it") from None
        if prov.get("sha256") != array_fingerprint(x, y):
            raise DataError(
                f"calibration set {npz} does not match the hash in {meta.name}; rebuild it"
            )
        return cls(x, y, prov)


def _per_class(y: np.ndarray) -> dict[str, int]:
    classes, counts = np.unique(y, return_counts=True)
    return {str(int(c)): int(n) for c, n in zip(classes, counts)}


def build_calibration_set(
    x_train: np.ndarray,
    y_train: np.ndarray,
    config: CalibrationConfig | None = None,
    source: Mapping[str, Any] | None = None,
) -> CalibrationSet:
    """Draw a stratified, seeded calibration set from a training split.

    ``source`` describes where the arrays came from (e.g. the dataset's name and fingerprint and
    the split); it is copied into the provenance so an export can be repeated exactly. A size
    larger than the pool is clamped to the pool, with a warning naming both numbers: a small
    dataset calibrates on all its training images rather than refusing to export.
    """
    cfg = config or CalibrationConfig()
    if len(x_train) != len(y_train):
        raise DataError(f"{len(x_train)} calibration images but {len(y_train)} labels")
    if x_train.ndim != 4:
        raise DataError(f"calibration images must be NHWC, got shape {x_train.shape}")
    size = min(cfg.size, len(y_train))
    if size < cfg.size:
        log.warning(
            "calibration size %d asked for, but the training split has only %d images: "
            "calibrating on all %d",
            cfg.size,
            len(y_train),
            size,
        )
    idx = stratified_indices(y_train, size, cfg.seed)
    x, y = x_train[idx], np.asarray(y_train)[idx]
    provenance = {
        "source": dict(source or {}),
        "split": (source or {}).get("split", "train"),
        "count": int(len(idx)),
        "requested_count": cfg.size,
        "seed": cfg.seed,
        "method": "stratified by class, largest-remainder allocation, numpy default_rng",
        "per_class_counts": _per_class(y),
        "pool_size": int(len(y_train)),
        "indices_sha256": array_fingerprint(idx.astype(np.int64)),
        "dtype": str(x.dtype),
        "shape": list(x.shape),
        "sha256": array_fingerprint(x, y),
    }
    log.info("calibration set: %d images, per class %s", len(idx), provenance["per_class_counts"])
    return CalibrationSet(x, y, provenance)
