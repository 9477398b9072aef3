"""The feature cache: computed once per (dataset, splits, backbone), reused when the key matches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trainer.data import DataConfig, Dataset
from trainer.tuning import features as feats
from trainer.tuning.features import BackboneConfig, cache_key, cached_features


def tiny_dataset(seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    y_train = np.arange(60) % 3
    y_test = np.arange(15) % 3
    x_train = rng.integers(0, 256, (60, 28, 28, 1), dtype=np.uint8)
    x_test = rng.integers(0, 256, (15, 28, 28, 1), dtype=np.uint8)
    return Dataset(x_train, y_train, x_test, y_test, ("a", "b", "c"), "tiny", "synthetic")


# Random weights at 32 px keep this fast; the cache logic does not care what the weights are.
BACKBONE = BackboneConfig(weights="none", image_size=32)


def test_features_are_computed_once_and_reused(
    space_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds, cfg = tiny_dataset(), DataConfig(val_fraction=0.2, seed=1)
    first = cached_features(space_dir, ds, cfg, BACKBONE)
    assert first.x_train.shape == (48, 1280) and first.x_val.shape == (12, 1280)
    assert first.x_test.shape == (15, 1280) and first.x_train.dtype == np.float32
    assert np.isfinite(first.x_train).all()
    assert (first.path / "meta.json").is_file() and first.path.parent == space_dir

    def must_not_run(*args, **kwargs):
        raise AssertionError("features recomputed despite a matching cache key")

    monkeypatch.setattr(feats, "compute_features", must_not_run)
    again = cached_features(space_dir, ds, cfg, BACKBONE)
    assert again.key == first.key
    np.testing.assert_array_equal(again.x_val, first.x_val)
    np.testing.assert_array_equal(again.y_test, first.y_test)


def test_cache_key_changes_with_data_splits_and_backbone() -> None:
    ds = tiny_dataset()
    base = cache_key(ds.fingerprint, DataConfig().to_dict(), BACKBONE)
    assert cache_key(ds.fingerprint, DataConfig().to_dict(), BACKBONE) == base
    assert cache_key(tiny_dataset(1).fingerprint, DataConfig().to_dict(), BACKBONE) != base
    assert cache_key(ds.fingerprint, DataConfig(seed=7).to_dict(), BACKBONE) != base
    assert cache_key(ds.fingerprint, DataConfig().to_dict(), BACKBONE.replace(alpha=0.5)) != base
