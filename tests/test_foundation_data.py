"""Data loaders, stratification and fingerprints on synthetic IDX files and image folders."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edge_runtime.common.errors import ConfigError, DataError
from trainer.data import (
    DataConfig,
    DataSource,
    load_dataset,
    make_splits,
    stratified_split,
    stratified_subset,
)
from trainer.data.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx


def write_idx(path: Path, arr: np.ndarray, magic: int) -> None:
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + arr.astype(np.uint8).tobytes())


def make_idx_folder(
    folder: Path, n_train: int = 60, n_test: int = 20, k: int = 10, seed: int = 0
) -> dict:
    rng = np.random.default_rng(seed)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": np.arange(n_train) % k,
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": np.arange(n_test) % k,
    }
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / "train-images-idx3-ubyte.gz", arrays["x_train"], IMAGES_MAGIC)
    write_idx(folder / "train-labels-idx1-ubyte.gz", arrays["y_train"], LABELS_MAGIC)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", arrays["x_test"], IMAGES_MAGIC)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", arrays["y_test"], LABELS_MAGIC)
    return arrays


def make_image_folder(
    root: Path, classes=("cat", "dog", "fish"), per_class: int = 10, size=(20, 24)
) -> Path:
    rng = np.random.default_rng(1)
    for ci, name in enumerate(classes):
        d = root / name
        d.mkdir(parents=True)
        for j in range(per_class):
            arr = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
            arr[..., ci] = 255  # class evidence: one saturated channel
            ext = [".png", ".jpg", ".bmp"][j % 3]
            Image.fromarray(arr).save(d / f"img {j}{ext}")
    return root


def test_idx_folder_loads_exactly(space_dir: Path) -> None:
    arrays = make_idx_folder(space_dir / "idx")
    ds = load_dataset(DataConfig(source=DataSource.IDX, path=str(space_dir / "idx")))
    assert ds.x_train.shape == (60, 28, 28, 1) and ds.x_train.dtype == np.uint8
    np.testing.assert_array_equal(ds.x_train[..., 0], arrays["x_train"])
    np.testing.assert_array_equal(ds.y_test, arrays["y_test"])
    assert ds.class_names[0] == "T-shirt/top"  # 10 classes: Fashion-MNIST names


def test_idx_wrong_magic_names_the_file(tmp_path: Path) -> None:
    make_idx_folder(tmp_path)
    # labels file where an images file belongs
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(
        (tmp_path / "train-labels-idx1-ubyte.gz").read_bytes()
    )
    with pytest.raises(
        DataError, match=r"train-images-idx3-ubyte\.gz has magic number 2049, expected 2051"
    ):
        load_dataset(DataConfig(source=DataSource.IDX, path=str(tmp_path)))


def test_idx_count_mismatch(tmp_path: Path) -> None:
    make_idx_folder(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(59, dtype=np.uint8), LABELS_MAGIC)
    with pytest.raises(DataError, match="60 train images but 59 labels"):
        load_dataset(DataConfig(source=DataSource.IDX, path=str(tmp_path)))


def test_idx_missing_folder_and_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(DataConfig(source=DataSource.IDX, path=str(tmp_path / "nope")))
    make_idx_folder(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz"):
        load_dataset(DataConfig(source=DataSource.IDX, path=str(tmp_path)))


def test_idx_truncated_body(tmp_path: Path) -> None:
    p = tmp_path / "x.gz"
    with gzip.open(p, "wb") as fh:
        fh.write(
            IMAGES_MAGIC.to_bytes(4, "big")
            + (5).to_bytes(4, "big")
            + (2).to_bytes(4, "big") * 2
            + b"\x00" * 7
        )
    with pytest.raises(DataError, match=r"declares shape \[5, 2, 2\]"):
        read_idx(p, IMAGES_MAGIC)


def test_image_folder_stable_order_and_split(space_dir: Path) -> None:
    root = make_image_folder(space_dir / "photos")
    cfg = DataConfig(source=DataSource.IMAGE_FOLDER, path=str(root), test_fraction=0.2, seed=3)
    ds = load_dataset(cfg)
    assert ds.class_names == ("cat", "dog", "fish")
    assert ds.x_train.shape[1:] == (20, 24, 3)
    assert len(ds.y_train) == 24 and len(ds.y_test) == 6
    assert np.bincount(ds.y_test).tolist() == [2, 2, 2]
    # class evidence survives decoding (PNG/BMP lossless; JPEG close)
    for split_x, split_y in ((ds.x_train, ds.y_train), (ds.x_test, ds.y_test)):
        channel_means = split_x.astype(float).mean(axis=(1, 2))
        np.testing.assert_array_equal(channel_means.argmax(axis=1), split_y)
    assert load_dataset(cfg).fingerprint == ds.fingerprint


def test_image_folder_grey_mixed_sizes_resized(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for j, size in enumerate([(10, 12), (30, 30)]):
            Image.fromarray(np.full(size, 100 * (name == "b"), dtype=np.uint8)).save(
                tmp_path / name / f"{j}.png"
            )
    ds = load_dataset(
        DataConfig(
            source=DataSource.IMAGE_FOLDER,
            path=str(tmp_path),
            image_size=(16, 16),
            test_fraction=0.5,
        )
    )
    assert ds.x_train.shape[1:] == (16, 16, 1)


def test_image_folder_errors(tmp_path: Path) -> None:
    root = make_image_folder(tmp_path / "ok")
    (root / "empty class").mkdir()
    with pytest.raises(DataError, match=r"class folder .*empty class holds no images"):
        load_dataset(DataConfig(source=DataSource.IMAGE_FOLDER, path=str(root)))
    (root / "empty class").rmdir()
    (root / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(DataError, match=r"corrupt image.*broken\.png"):
        load_dataset(DataConfig(source=DataSource.IMAGE_FOLDER, path=str(root)))
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(DataConfig(source=DataSource.IMAGE_FOLDER, path=str(tmp_path / "missing")))
    single = tmp_path / "single"
    (single / "only").mkdir(parents=True)
    with pytest.raises(DataError, match="at least 2"):
        load_dataset(DataConfig(source=DataSource.IMAGE_FOLDER, path=str(single)))


def test_stratified_subset_preserves_proportions_and_is_seeded() -> None:
    y = np.repeat(np.arange(4), [100, 200, 300, 400])
    idx = stratified_subset(y, 100, seed=7)
    assert np.bincount(y[idx]).tolist() == [10, 20, 30, 40]
    np.testing.assert_array_equal(idx, stratified_subset(y, 100, seed=7))
    assert not np.array_equal(idx, stratified_subset(y, 100, seed=8))
    keep, hold = stratified_split(y, 0.1, seed=1)
    assert len(np.intersect1d(keep, hold)) == 0 and len(keep) + len(hold) == len(y)
    assert np.bincount(y[hold]).tolist() == [10, 20, 30, 40]


def test_subset_sizes_exact_with_remainders() -> None:
    y = np.repeat(np.arange(3), [7, 7, 7])
    assert len(stratified_subset(y, 10, seed=0)) == 10
    with pytest.raises(ConfigError, match="between 1 and the 21"):
        stratified_subset(y, 22, seed=0)


def test_data_config_validation_and_roundtrip() -> None:
    cfg = DataConfig(source=DataSource.IDX, path="/x", train_size=100, image_size=(28, 28))
    assert DataConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="needs a path"):
        DataConfig(source=DataSource.IDX)
    with pytest.raises(ConfigError, match=r"--val-fraction 0\.9 is out of range"):
        DataConfig(val_fraction=0.9)
    with pytest.raises(ConfigError, match=r"unknown DataConfig field\(s\) \['trian_size'\]"):
        DataConfig.from_dict({"trian_size": 5})
    with pytest.raises(ConfigError, match="choose one of"):
        DataConfig.from_dict({"source": "csv"})


def test_make_splits_stratified(tmp_path: Path) -> None:
    make_idx_folder(tmp_path, n_train=200)
    cfg = DataConfig(source=DataSource.IDX, path=str(tmp_path), val_fraction=0.1)
    s = make_splits(load_dataset(cfg), cfg)
    assert len(s.y_val) == 20 and np.bincount(s.y_val).tolist() == [2] * 10
    assert len(s.y_train) == 180


@pytest.mark.realdata
def test_real_fashion_mnist(keras_home: Path) -> None:
    ds = load_dataset(DataConfig())
    assert ds.x_train.shape == (60000, 28, 28, 1) and ds.x_test.shape == (10000, 28, 28, 1)
    assert np.bincount(ds.y_train).tolist() == [6000] * 10
    sub = load_dataset(DataConfig(train_size=20000, seed=5))
    assert np.bincount(sub.y_train).tolist() == [2000] * 10
    assert sub.fingerprint != ds.fingerprint
