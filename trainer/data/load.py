"""Load a dataset as a :class:`Dataset` (full splits), and carve the train / validation split."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_runtime.common.errors import DataError
from trainer.data.config import DataConfig, DataSource
from trainer.data.dataset import FASHION_MNIST_LABELS, Dataset
from trainer.data.split import stratified_split, stratified_subset

log = logging.getLogger(__name__)


def _fashion_mnist() -> Dataset:
    from trainer import env

    env.prepare()
    home = env.keras_home()
    cache = home / "datasets" / "fashion-mnist"
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    except Exception as exc:  # keras raises plain Exception subclasses for download failures
        raise DataError(
            f"cannot load Fashion-MNIST ({exc.__class__.__name__}: {exc}); no usable cache at {cache}. "
            "Run once with internet access, or set KERAS_HOME to a folder holding "
            "datasets/fashion-mnist/*.gz, or pass --data-dir with the four IDX files"
        ) from None
    return Dataset(
        x_train=x_train[..., None],
        y_train=y_train.astype(np.int64),
        x_test=x_test[..., None],
        y_test=y_test.astype(np.int64),
        class_names=FASHION_MNIST_LABELS,
        name="fashion_mnist",
        source="keras.datasets.fashion_mnist",
        polarity="light_on_dark",
    )


def _idx(cfg: DataConfig) -> Dataset:
    from trainer.data.idx import load_idx_folder

    arrays = load_idx_folder(cfg.path)
    n = int(max(arrays["y_train"].max(), arrays["y_test"].max())) + 1
    names = FASHION_MNIST_LABELS if n == 10 else tuple(str(i) for i in range(n))
    return Dataset(
        **arrays,
        class_names=names,
        name=Path(cfg.path).name or "idx",
        source=str(Path(cfg.path).resolve()),
        polarity=cfg.polarity or "light_on_dark",
    )


def _image_folder(cfg: DataConfig) -> Dataset:
    from trainer.data.image_folder import read_split

    root = Path(cfg.path)
    if (root / "train").is_dir() and (root / "test").is_dir():
        x_tr, y_tr, names, mode, size = read_split(root / "train", None, cfg.image_size)
        x_te, y_te, _, _, _ = read_split(root / "test", names, size, mode)
        split_note = "train/ and test/ subfolders"
    else:
        x, y, names, mode, size = read_split(root, None, cfg.image_size)
        keep, hold = stratified_split(y, cfg.test_fraction, cfg.seed)
        x_tr, y_tr, x_te, y_te = x[keep], y[keep], x[hold], y[hold]
        split_note = f"stratified test_fraction={cfg.test_fraction} seed={cfg.seed}"
    return Dataset(
        x_train=x_tr,
        y_train=y_tr,
        x_test=x_te,
        y_test=y_te,
        class_names=tuple(names),
        name=root.resolve().name,
        source=str(root.resolve()),
        polarity=cfg.polarity or "natural",
        extra={
            "color_mode": "grey" if mode == "L" else "rgb",
            "image_size": list(size),
            "split": split_note,
        },
    )


def load_dataset(cfg: DataConfig) -> Dataset:
    """The dataset named by ``cfg``, with ``train_size`` / ``test_size`` stratified subsets applied."""
    if cfg.source is DataSource.FASHION_MNIST:
        ds = _fashion_mnist()
    elif cfg.source is DataSource.IDX:
        ds = _idx(cfg)
    else:
        ds = _image_folder(cfg)
    if cfg.train_size is None and cfg.test_size is None:
        return ds
    tr = (
        stratified_subset(ds.y_train, cfg.train_size, cfg.seed)
        if cfg.train_size
        else np.arange(len(ds.y_train))
    )
    te = (
        stratified_subset(ds.y_test, cfg.test_size, cfg.seed + 1)
        if cfg.test_size
        else np.arange(len(ds.y_test))
    )
    if cfg.train_size and cfg.train_size > len(ds.y_train):
        raise DataError(
            f"train_size={cfg.train_size} but {ds.source} has only {len(ds.y_train)} training images"
        )
    return Dataset(
        x_train=ds.x_train[tr],
        y_train=ds.y_train[tr],
        x_test=ds.x_test[te],
        y_test=ds.y_test[te],
        class_names=ds.class_names,
        name=ds.name,
        source=ds.source,
        polarity=ds.polarity,
        extra={
            **ds.extra,
            "subset": {"train_size": cfg.train_size, "test_size": cfg.test_size, "seed": cfg.seed},
        },
    )


@dataclass(frozen=True, eq=False)
class Splits:
    """Train / validation (carved from the training split) / test arrays."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def make_splits(ds: Dataset, cfg: DataConfig) -> Splits:
    """Stratified, seeded validation holdout from the training split; the test split untouched."""
    if cfg.val_fraction == 0:
        return Splits(ds.x_train, ds.y_train, ds.x_train[:0], ds.y_train[:0], ds.x_test, ds.y_test)
    keep, val = stratified_split(ds.y_train, cfg.val_fraction, cfg.seed)
    return Splits(
        ds.x_train[keep], ds.y_train[keep], ds.x_train[val], ds.y_train[val], ds.x_test, ds.y_test
    )
