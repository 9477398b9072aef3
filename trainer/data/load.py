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


def _fashion_mnist(cfg: DataConfig) -> Dataset:
    from trainer import env
    from trainer.data.contract import make_input_spec

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
        polarity=cfg.polarity or "light_on_dark",
        input_spec=make_input_spec(28, 28, 1, cfg.polarity or "light_on_dark", cfg.resize),
    )


def _idx(cfg: DataConfig) -> Dataset:
    from edge_runtime.polarity import looks_dark_on_light
    from trainer.data.contract import detect_polarity, make_input_spec
    from trainer.data.idx import load_idx_folder

    arrays = load_idx_folder(cfg.path)
    n = int(max(arrays["y_train"].max(), arrays["y_test"].max())) + 1
    names = FASHION_MNIST_LABELS if n == 10 else tuple(str(i) for i in range(n))
    x = arrays["x_train"]
    # Judged on the training images themselves: an IDX folder need not be Fashion-MNIST.
    polarity, evidence = (
        (cfg.polarity, {"set_by": "--image-polarity"})
        if cfg.polarity
        else detect_polarity(looks_dark_on_light(x[i, ..., 0]) for i in range(len(x)))
    )
    return Dataset(
        **arrays,
        class_names=names,
        name=Path(cfg.path).name or "idx",
        source=str(Path(cfg.path).resolve()),
        polarity=polarity,
        extra={"polarity_evidence": evidence},
        input_spec=make_input_spec(*x.shape[1:], polarity, cfg.resize),
    )


def _split_files(root: Path, cfg: DataConfig):
    """(train files, test files, how they were split)."""
    from trainer.data.image_folder import ImageFiles, scan

    if (root / "train").is_dir() and (root / "test").is_dir():
        tr = scan(root / "train")
        te = scan(root / "test", tr.names)
        check_class_counts(tr.names, tr.labels, "train", min_count=1)
        return tr, te, "train/ and test/ subfolders"
    every = scan(root)
    check_class_counts(every.names, every.labels, "image folder", min_count=2)
    keep, hold = stratified_split(every.labels, cfg.test_fraction, cfg.seed)

    def pick(idx: np.ndarray) -> ImageFiles:
        return ImageFiles(tuple(every.files[i] for i in idx), every.labels[idx], every.names)

    return pick(keep), pick(hold), f"stratified --test-fraction {cfg.test_fraction} seed {cfg.seed}"


def check_class_counts(
    names: tuple[str, ...], labels: np.ndarray, where: str, min_count: int
) -> None:
    """Refuse a class with fewer than ``min_count`` images, naming it and the counts."""
    counts = np.bincount(labels, minlength=len(names))
    short = [f"{names[i]!r} ({int(c)})" for i, c in enumerate(counts) if c < min_count]
    if short:
        raise DataError(
            f"{where}: class(es) {', '.join(short)} have fewer than {min_count} images; each class "
            f"needs at least {min_count} (to train on and to test on). Add images or remove the "
            "class folder"
        )


def _image_folder(cfg: DataConfig) -> Dataset:
    from trainer.data.contract import detect_polarity, make_input_spec
    from trainer.data.image_folder import choose_size, polarity_flags, prepare_files, probe

    root = Path(cfg.path)
    tr, te, split_note = _split_files(root, cfg)
    modes, sizes = probe(tr.files)
    probe(te.files)  # unreadable or oversized test files are refused now, by name
    mode = "L" if set(modes) == {"L"} else "RGB"
    size = tuple(cfg.image_size) if cfg.image_size else choose_size(sizes, root)
    if cfg.polarity:
        polarity, evidence = cfg.polarity, {"set_by": "--image-polarity"}
    else:
        # Once, from the training files only, with the runtime's own test on each original.
        flags = polarity_flags(tr.files)
        polarity, evidence = detect_polarity(flags)
    spec = make_input_spec(size[0], size[1], 1 if mode == "L" else 3, polarity, cfg.resize)
    log.debug(
        "%s: %d train / %d test images, input %dx%dx%d, polarity %s, resize %s",
        root,
        len(tr.files),
        len(te.files),
        *size,
        spec["channels"],
        polarity,
        cfg.resize,
    )
    rel = lambda files: tuple(p.relative_to(root).as_posix() for p in files)  # noqa: E731
    return Dataset(
        x_train=prepare_files(tr.files, spec),
        y_train=tr.labels,
        x_test=prepare_files(te.files, spec),
        y_test=te.labels,
        class_names=tr.names,
        name=root.resolve().name,
        source=str(root.resolve()),
        polarity=polarity,
        extra={
            "color_mode": "grey" if mode == "L" else "rgb",
            "image_size": list(size),
            "original_sizes": _size_summary(sizes),
            "split": split_note,
            "polarity_evidence": evidence,
        },
        input_spec=spec,
        train_files=rel(tr.files),
        test_files=rel(te.files),
    )


def _size_summary(sizes: list[tuple[int, int]]) -> dict:
    hs = np.array([s[0] for s in sizes])
    ws = np.array([s[1] for s in sizes])
    aspect = ws / hs
    return {
        "distinct": len(set(sizes)),
        "height": [int(hs.min()), int(np.median(hs)), int(hs.max())],
        "width": [int(ws.min()), int(np.median(ws)), int(ws.max())],
        "aspect_w_over_h": [round(float(aspect.min()), 3), round(float(aspect.max()), 3)],
    }


def load_dataset(cfg: DataConfig) -> Dataset:
    """The dataset named by ``cfg``, with ``train_size`` / ``test_size`` stratified subsets applied."""
    if cfg.source is DataSource.FASHION_MNIST:
        ds = _fashion_mnist(cfg)
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
        input_spec=ds.input_spec,
        train_files=tuple(ds.train_files[i] for i in tr) if ds.train_files else (),
        test_files=tuple(ds.test_files[i] for i in te) if ds.test_files else (),
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


def split_indices(ds: Dataset, cfg: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) indices into ``ds``'s training split: stratified and seeded."""
    if cfg.val_fraction == 0:
        return np.arange(len(ds.y_train)), np.arange(0)
    return stratified_split(ds.y_train, cfg.val_fraction, cfg.seed)


def make_splits(ds: Dataset, cfg: DataConfig) -> Splits:
    """Stratified, seeded validation holdout from the training split; the test split untouched."""
    keep, val = split_indices(ds, cfg)
    return Splits(
        ds.x_train[keep], ds.y_train[keep], ds.x_train[val], ds.y_train[val], ds.x_test, ds.y_test
    )


def split_files(ds: Dataset, cfg: DataConfig) -> dict[str, list[str]]:
    """The files of the train / val / test splits ``make_splits`` gives (image folders only)."""
    if not ds.train_files:
        return {}
    keep, val = split_indices(ds, cfg)
    return {
        "train": [ds.train_files[i] for i in keep],
        "val": [ds.train_files[i] for i in val],
        "test": list(ds.test_files),
    }


def split_counts(ds: Dataset, cfg: DataConfig) -> dict[str, list[int]]:
    """Images per class in each split; warns about a class a split leaves empty."""
    keep, val = split_indices(ds, cfg)
    k = ds.num_classes
    counts = {
        "train": np.bincount(ds.y_train[keep], minlength=k).tolist(),
        "val": np.bincount(ds.y_train[val], minlength=k).tolist(),
        "test": np.bincount(ds.y_test, minlength=k).tolist(),
    }
    for i, name in enumerate(ds.class_names):
        checked = ("train", "val", "test") if cfg.val_fraction > 0 else ("train", "test")
        empty = [s for s in checked if counts[s][i] == 0]
        if empty:
            log.warning(
                "class %r has no %s image(s) (train %d, val %d, test %d): its results there are "
                "not measured; add images to the class or change --test-fraction / --val-fraction",
                name,
                " or ".join(empty),
                counts["train"][i],
                counts["val"][i],
                counts["test"][i],
            )
    return counts
