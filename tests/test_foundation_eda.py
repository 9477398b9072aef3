"""EDA numbers against an independent numpy computation; figures and summary exist."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from trainer.data import Dataset
from trainer.eda import SUMMARY_NAME, run_eda


def synthetic(k: int = 3, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    counts = [30, 20, 10][:k]
    y = np.repeat(np.arange(k), counts)
    x = rng.integers(0, 256, (len(y), 12, 12, 1), dtype=np.uint8)
    x[y == 0] //= 4  # class 0 darker
    return Dataset(x, y, x[:6], y[:6], tuple(f"c{i}" for i in range(k)), "synthetic", "test")


def test_eda_numbers_match_numpy(space_dir: Path) -> None:
    ds = synthetic()
    summary = run_eda(ds, space_dir / "eda", samples_per_class=3)
    assert summary["class_counts"]["train"] == {"c0": 30, "c1": 20, "c2": 10}
    assert summary["imbalance_ratio"]["train"] == pytest.approx(3.0)
    xf = ds.x_train.astype(np.float64)
    assert summary["pixels"]["mean"] == pytest.approx(xf.mean())
    assert summary["pixels"]["std"] == pytest.approx(xf.std())
    for i, row in enumerate(summary["per_class"]):
        assert row["mean"] == pytest.approx(xf[ds.y_train == i].mean())
        assert row["std"] == pytest.approx(xf[ds.y_train == i].std())
    assert sum(summary["pixels"]["histogram_256"]) == ds.x_train.size
    assert summary["pixels"]["zero_fraction"] == pytest.approx((ds.x_train == 0).mean())
    on_disk = json.loads((space_dir / "eda" / SUMMARY_NAME).read_text())
    assert on_disk["pixels"]["mean"] == pytest.approx(summary["pixels"]["mean"])
    for fname in on_disk["figures"].values():
        with Image.open(space_dir / "eda" / fname) as im:
            assert im.size[0] > 100 and im.size[1] > 100
    assert "1/255" in on_disk["normalization"]


@pytest.mark.realdata
def test_eda_real_fashion_mnist(keras_home: Path, tmp_path: Path) -> None:
    from trainer.data import DataConfig, load_dataset

    summary = run_eda(load_dataset(DataConfig()), tmp_path)
    assert set(summary["class_counts"]["train"].values()) == {6000}
    assert summary["imbalance_ratio"]["train"] == 1.0
    assert 72 < summary["pixels"]["mean"] < 74 and 89 < summary["pixels"]["std"] < 91
