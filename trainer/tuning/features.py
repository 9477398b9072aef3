"""Backbone features computed once per dataset and cached in the run directory.

With a frozen backbone every head trial would push the same images through the same network. The
search therefore computes the global-average-pooled backbone output for the train / validation /
test splits once, stores it as ``.npy`` files under a key (dataset fingerprint + split config +
backbone config), and every trial trains only the head on those arrays, in seconds.

What this trades away: no augmentation during the search (each image has exactly one feature
vector), and the backbone's BatchNorm statistics are the pretrained ones (they would be anyway with
a frozen backbone, but a fine-tune stage can still move them).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.common.configbase import JsonConfig
from edge_runtime.common.errors import DataError
from edge_runtime.common.fileio import atomic_path, read_json, write_json
from trainer.data.load import Splits

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
FEATURE_LAYER = "gap"  # the transfer model's GlobalAveragePooling2D output
CACHE_FORMAT = 1


@dataclass(frozen=True)
class BackboneConfig(JsonConfig):
    """The frozen feature extractor: which backbone, width, resolution and weights."""

    backbone: str = "mobilenet_v2"
    alpha: float | None = 0.35
    image_size: int = 96
    weights: str = "imagenet"  # "imagenet", "none" or a path to a weights file

    def validate(self) -> None:
        from edge_runtime.common.errors import ConfigError

        if self.image_size < 32:
            raise ConfigError(f"image_size={self.image_size} is too small; use >= 32")
        if not self.weights:
            raise ConfigError("weights must be 'imagenet', 'none' or a path to a weights file")


@dataclass(frozen=True, eq=False)
class FeatureSet(Splits):
    """Backbone features (float32, N x D) and integer labels for the three splits."""

    class_names: tuple[str, ...]
    key: str = ""
    path: Path | None = None

    @property
    def feature_dim(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def describe(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "path": str(self.path) if self.path else None,
            "feature_dim": self.feature_dim,
            "num_classes": self.num_classes,
            "counts": {s: int(len(getattr(self, f"y_{s}"))) for s in SPLITS},
        }


def cache_key(
    dataset_fingerprint: str, data_config: dict[str, Any], backbone: BackboneConfig
) -> str:
    """A short hash naming one (dataset, splits, backbone) combination."""
    import keras

    body = {
        "format": CACHE_FORMAT,
        "dataset": dataset_fingerprint,
        # The splits depend on these; the image source is already in the fingerprint.
        "splits": {
            k: data_config.get(k) for k in ("val_fraction", "seed", "train_size", "test_size")
        },
        "backbone": backbone.to_dict(),
        "layer": FEATURE_LAYER,
        "keras": keras.__version__,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:20]


def build_feature_extractor(
    input_shape: tuple[int, int, int], num_classes: int, bb: BackboneConfig
):
    """Raw pixels -> the transfer model's pooled backbone output, built by the trainer's builder.

    Using ``trainer.models.build_transfer`` and cutting at its ``gap`` layer keeps the in-graph
    preprocessing (resize, grey-to-RGB, ``preprocess_input``) identical to the model that is trained
    and exported later.
    """
    import keras

    from trainer.models import build_transfer

    full = build_transfer(
        input_shape,
        num_classes,
        backbone=bb.backbone,
        alpha=bb.alpha,
        image_size=bb.image_size,
        weights=bb.weights,
        dense_units=(),
        name="feature_source",
    )
    return keras.Model(full.input, full.get_layer(FEATURE_LAYER).output, name="feature_extractor")


def _extract(model: Any, x: np.ndarray, batch_size: int, label: str) -> np.ndarray:
    out = np.empty((len(x), model.output.shape[-1]), dtype=np.float32)
    show = sys.stderr.isatty()
    t0 = time.perf_counter_ns()
    for start in range(0, len(x), batch_size):
        batch = x[start : start + batch_size].astype(np.float32)
        out[start : start + len(batch)] = np.asarray(model(batch, training=False))
        if show:
            done = min(start + batch_size, len(x))
            print(f"\r  features {label}: {done}/{len(x)}", end="", file=sys.stderr, flush=True)
    if show:
        print(file=sys.stderr)
    log.info("features %s: %d images in %.1f s", label, len(x), (time.perf_counter_ns() - t0) / 1e9)
    return out


def _save_npy(path: Path, arr: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, arr)


def load_cached_features(folder: Path) -> FeatureSet | None:
    """The feature set stored in ``folder``, or None when it is absent or incomplete.

    The arrays are memory-mapped read-only: a process that only coordinates (the parent of a
    recycled search, a chief) does not hold them in RAM, and the page cache is shared.
    """
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        return None
    meta = read_json(meta_path)
    try:
        arrays = {
            f"{p}_{s}": np.load(folder / f"{p}_{s}.npy", mmap_mode="r")
            for s in SPLITS
            for p in ("x", "y")
        }
    except (OSError, ValueError) as exc:
        raise DataError(
            f"feature cache {folder} is damaged ({exc}); delete the folder and run again"
        ) from None
    return FeatureSet(
        **arrays, class_names=tuple(meta["class_names"]), key=meta["key"], path=folder
    )


def save_features(folder: Path, fs: FeatureSet, **provenance: Any) -> FeatureSet:
    """Store ``fs`` in ``folder`` (arrays first, ``meta.json`` last); return it with its path."""
    folder = Path(folder)
    for s in SPLITS:
        for p in ("x", "y"):
            _save_npy(folder / f"{p}_{s}.npy", getattr(fs, f"{p}_{s}"))
    write_json(
        folder / "meta.json",
        {
            "format": CACHE_FORMAT,
            "key": fs.key,
            "class_names": list(fs.class_names),
            "feature_dim": fs.feature_dim,
            **provenance,
        },
    )
    return FeatureSet(
        **{f"{p}_{s}": getattr(fs, f"{p}_{s}") for s in SPLITS for p in ("x", "y")},
        class_names=fs.class_names,
        key=fs.key,
        path=folder,
    )


def compute_features(
    splits: Any,
    class_names: tuple[str, ...],
    backbone: BackboneConfig,
    batch_size: int = 256,
) -> dict[str, np.ndarray]:
    """Run the frozen feature extractor over the train / val / test arrays of ``splits``."""
    import keras

    model = build_feature_extractor(splits.x_train.shape[1:], len(class_names), backbone)
    out: dict[str, np.ndarray] = {}
    for s in SPLITS:
        out[f"x_{s}"] = _extract(model, getattr(splits, f"x_{s}"), batch_size, s)
        out[f"y_{s}"] = np.asarray(getattr(splits, f"y_{s}"), dtype=np.int64)
    del model
    keras.backend.clear_session()
    return out


def cached_features(
    cache_root: Path,
    dataset: Any,
    data_config: Any,
    backbone: BackboneConfig,
    batch_size: int = 256,
) -> FeatureSet:
    """Features of ``dataset``'s splits, from ``cache_root/<key>/`` when the key matches.

    ``dataset`` is a ``trainer.data.Dataset``; the splits are ``make_splits(dataset, data_config)``.
    The arrays are written first and ``meta.json`` last, so a cache interrupted half-way is not
    mistaken for a complete one.
    """
    from trainer.data import make_splits

    key = cache_key(dataset.fingerprint, data_config.to_dict(), backbone)
    folder = Path(cache_root) / key
    found = load_cached_features(folder)
    if found is not None:
        log.info("feature cache hit: %s", folder)
        return found
    log.info("feature cache miss: computing %s features into %s", backbone.backbone, folder)
    # An empty validation split is allowed here (a cross-validation fold trains the head without
    # one); the search, whose objective is validation macro-F1, checks for one before it asks.
    splits = make_splits(dataset, data_config)
    t0 = time.perf_counter_ns()
    arrays = compute_features(splits, dataset.class_names, backbone, batch_size)
    fs = FeatureSet(**arrays, class_names=tuple(dataset.class_names), key=key)
    return save_features(
        folder,
        fs,
        dataset=dataset.describe(),
        data_config=data_config.to_dict(),
        backbone=backbone.to_dict(),
        layer=FEATURE_LAYER,
        seconds=round((time.perf_counter_ns() - t0) / 1e9, 1),
    )
