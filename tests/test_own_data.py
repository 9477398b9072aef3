"""Issue 9, the data side: one preprocessing contract, detected polarity, splits as files,
augmentation that fits the data, pixel limits and clear messages on small or odd image folders."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edge_runtime.common.errors import ConfigError, DataError
from edge_runtime.manifest import InputSpec
from edge_runtime.preprocess import load_image, prepare_pixels
from edge_runtime.split_file import read_split_file, write_split_file
from trainer.data import DataConfig, DataSource, load_dataset, make_splits, split_files
from trainer.data.augment_policy import describe_augment, restrict_augment
from trainer.data.config import parse_augment
from trainer.data.split_record import record_splits
from trainer.models.augment import AugmentConfig

ROOT = Path(__file__).resolve().parents[1]


def _picture(rng, h: int, w: int, cls: int, dark_on_light: bool, rgb: bool) -> np.ndarray:
    """A bar (class 0: horizontal, 1: vertical, 2: box) on a plain background with noise."""
    bg, ink = (230, 30) if dark_on_light else (20, 220)
    a = np.full((h, w), bg, np.float32)
    if cls == 0:
        a[h // 2 - h // 8 : h // 2 + h // 8, w // 6 : -w // 6] = ink
    elif cls == 1:
        a[h // 6 : -h // 6, w // 2 - w // 8 : w // 2 + w // 8] = ink
    else:
        a[h // 4 : -h // 4, w // 4 : -w // 4] = ink
    a = np.clip(a + rng.normal(0, 8, a.shape), 0, 255).astype(np.uint8)
    return np.repeat(a[..., None], 3, axis=2) if rgb else a


def make_folder(
    root: Path,
    per_class: int = 8,
    sizes=((30, 48), (40, 24), (36, 36)),
    dark_on_light: bool | None = True,
    rgb: bool = True,
    classes=("horizontal", "vertical", "box"),
    exts=(".png", ".jpg", ".bmp", ".webp"),
) -> Path:
    """Mixed sizes and aspect ratios, PNG / JPEG / BMP / WebP. ``dark_on_light=None``: mixed."""
    rng = np.random.default_rng(5)
    for ci, name in enumerate(classes):
        d = root / name
        d.mkdir(parents=True, exist_ok=True)
        for j in range(per_class):
            h, w = sizes[j % len(sizes)]
            pol = (j % 2 == 0) if dark_on_light is None else dark_on_light
            Image.fromarray(_picture(rng, h, w, ci % 3, pol, rgb)).save(
                d / f"im {j}{exts[j % len(exts)]}"
            )
    return root


def folder_cfg(root: Path, **kw) -> DataConfig:
    return DataConfig(source=DataSource.IMAGE_FOLDER, path=str(root), **kw)


# --- one preprocessing contract ---------------------------------------------------------------


@pytest.mark.parametrize("resize", ["pad", "stretch", "center_crop"])
def test_training_arrays_are_what_the_runtime_computes(space_dir: Path, resize: str) -> None:
    root = make_folder(space_dir / "data")
    ds = load_dataset(folder_cfg(root, image_size=(32, 32), resize=resize))
    spec = InputSpec.from_dict(ds.input_spec)
    assert spec.resize == resize and (spec.height, spec.width, spec.channels) == (32, 32, 3)
    assert len(ds.test_files) == len(ds.y_test) and len(ds.train_files) == len(ds.y_train)
    for files, x in ((ds.test_files, ds.x_test), (ds.train_files, ds.x_train)):
        for rel, arr in zip(files, x):
            plane, _ = prepare_pixels(load_image(root / rel), spec, "auto")
            np.testing.assert_array_equal(arr, plane)


def test_default_resize_is_pad_and_recorded(space_dir: Path) -> None:
    ds = load_dataset(folder_cfg(make_folder(space_dir / "data")))
    assert ds.input_spec["resize"] == "pad"
    assert ds.describe()["input_spec"] == ds.input_spec
    # mixed sizes, no --image-size: a square of the median short side, at least 32
    assert ds.image_shape == (32, 32, 3)


def test_grey_folder_native_size_not_28(tmp_path: Path) -> None:
    # WebP stores no grey mode: a grey set comes as PNG / JPEG / BMP
    root = make_folder(
        tmp_path / "grey", sizes=((40, 40),), rgb=False, exts=(".png", ".jpg", ".bmp")
    )
    ds = load_dataset(folder_cfg(root))
    assert ds.image_shape == (40, 40, 1)
    assert ds.input_spec["color"] == "grey"


# --- polarity -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dark_on_light", "expected"),
    [(True, "dark_on_light"), (False, "light_on_dark"), (None, "natural")],
)
def test_polarity_detected_from_training_images(
    tmp_path: Path, dark_on_light: bool | None, expected: str
) -> None:
    ds = load_dataset(folder_cfg(make_folder(tmp_path / "d", dark_on_light=dark_on_light)))
    assert ds.polarity == expected and ds.input_spec["polarity"] == expected
    evidence = ds.extra["polarity_evidence"]
    assert evidence["images"] == len(ds.y_train)  # judged on the training split only


def test_polarity_flag_overrides_detection(tmp_path: Path) -> None:
    ds = load_dataset(folder_cfg(make_folder(tmp_path / "d"), polarity="natural"))
    assert ds.input_spec["polarity"] == "natural"
    assert ds.extra["polarity_evidence"] == {"set_by": "--image-polarity"}


def test_idx_folder_polarity_is_its_own(tmp_path: Path) -> None:
    from tests.test_foundation_data import IMAGES_MAGIC, LABELS_MAGIC, write_idx

    rng = np.random.default_rng(0)
    x = np.full((40, 28, 28), 240, np.uint8)
    x[:, 9:19, 9:19] = 10  # dark squares on a light background: not Fashion-MNIST's look
    y = np.repeat(np.arange(4), 10).astype(np.uint8)
    x = np.clip(x + rng.integers(0, 5, x.shape), 0, 255).astype(np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", x, IMAGES_MAGIC)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", y, LABELS_MAGIC)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", x[:8], IMAGES_MAGIC)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", y[:8], LABELS_MAGIC)
    ds = load_dataset(DataConfig(source=DataSource.IDX, path=str(tmp_path)))
    assert ds.polarity == "dark_on_light"


# --- splits as data ---------------------------------------------------------------------------


def test_split_files_round_trip(space_dir: Path) -> None:
    root = make_folder(space_dir / "data", per_class=10)
    cfg = folder_cfg(root, test_fraction=0.3, val_fraction=0.2, seed=4)
    ds = load_dataset(cfg)
    run = space_dir / "run"
    record = record_splits(run, ds, cfg)
    lists = {
        name: read_split_file(run / "splits" / f"{name}.txt") for name in ("train", "val", "test")
    }
    assert lists == split_files(ds, cfg)
    every = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert sorted(lists["train"] + lists["val"] + lists["test"]) == every
    assert not set(lists["train"]) & set(lists["test"]) and not set(lists["val"]) & set(
        lists["test"]
    )
    s = make_splits(ds, cfg)
    assert record["totals"] == {"train": len(s.y_train), "val": len(s.y_val), "test": len(s.y_test)}
    assert len(lists["test"]) == 9  # --test-fraction 0.3 of 30 images
    # the listed test files, prepared by the runtime, are the arrays the gate evaluates
    spec = InputSpec.from_dict(ds.input_spec)
    for rel, arr in zip(lists["test"], s.x_test):
        np.testing.assert_array_equal(prepare_pixels(load_image(root / rel), spec, "auto")[0], arr)


def test_split_file_format_errors(tmp_path: Path) -> None:
    f = write_split_file(tmp_path / "t.txt", ["a/1.png", "b/two words.png"], "made here\nline 2")
    assert f.read_text().startswith("# made here\n# line 2\n")
    assert read_split_file(f) == ["a/1.png", "b/two words.png"]
    (tmp_path / "bad.txt").write_text("../escape.png\n")
    with pytest.raises(DataError, match=r"bad\.txt line '\.\./escape\.png' is not a path inside"):
        read_split_file(tmp_path / "bad.txt")
    with pytest.raises(DataError, match=r"split file .*missing\.txt does not exist"):
        read_split_file(tmp_path / "missing.txt")


def test_own_train_and_test_folders_are_used_as_given(tmp_path: Path) -> None:
    make_folder(tmp_path / "d" / "train", per_class=6)
    make_folder(tmp_path / "d" / "test", per_class=2)
    ds = load_dataset(folder_cfg(tmp_path / "d"))
    assert len(ds.y_test) == 6 and all(f.startswith("test/") for f in ds.test_files)
    assert all(f.startswith("train/") for f in ds.train_files)


def test_class_with_too_few_images_is_named(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "d", per_class=6)
    for f in sorted((root / "box").iterdir())[1:]:
        f.unlink()
    with pytest.raises(DataError, match=r"class\(es\) 'box' \(1\) have fewer than 2 images"):
        load_dataset(folder_cfg(root))


def test_class_left_without_test_images_is_warned(tmp_path: Path, caplog) -> None:
    root = make_folder(tmp_path / "d", per_class=12)
    for f in sorted((root / "box").iterdir())[2:]:
        f.unlink()
    cfg = folder_cfg(root, test_fraction=0.1)
    ds = load_dataset(cfg)
    with caplog.at_level(logging.WARNING):
        record_splits(tmp_path / "run", ds, cfg)
    assert "class 'box' has no" in caplog.text and "test image" in caplog.text


# --- pixel limits -------------------------------------------------------------------------------


def test_oversized_training_image_is_refused_by_name(tmp_path: Path, monkeypatch) -> None:
    import trainer.data.image_folder as image_folder

    root = make_folder(tmp_path / "d")
    Image.new("L", (300, 200), 128).save(root / "box" / "huge one.png")
    monkeypatch.setattr(image_folder, "MAX_PIXELS", 50_000)
    with pytest.raises(DataError, match=r"over the 50000-pixel limit .*huge one\.png \(300x200"):
        load_dataset(folder_cfg(root))


def test_real_limit_refuses_a_picture_predict_refuses(tmp_path: Path) -> None:
    from edge_runtime.preprocess import MAX_PIXELS

    root = make_folder(tmp_path / "d")
    side = int(MAX_PIXELS**0.5) + 10
    Image.new("L", (side, side), 0).save(root / "box" / "big.png")
    with pytest.raises(DataError, match=rf"big\.png \({side}x{side}"):
        load_dataset(folder_cfg(root))


# --- augmentation -------------------------------------------------------------------------------


def test_flips_off_for_image_folders_on_for_fashion_mnist() -> None:
    folder = DataConfig(source=DataSource.IMAGE_FOLDER, path="x")
    assert "flip" not in folder.allowed_augmentations
    assert "flip" in DataConfig().allowed_augmentations
    light = AugmentConfig.light()
    assert light.flip and not restrict_augment(light, folder.allowed_augmentations).flip
    asked = folder.replace(augment=parse_augment("flip,rotate"))
    kept = restrict_augment(AugmentConfig(), asked.allowed_augmentations)
    assert kept.flip and kept.rotation > 0 and kept.translation == 0
    assert parse_augment("none") == () and describe_augment(AugmentConfig.off()) == "none"
    with pytest.raises(ConfigError, match=r"--augment flip,mirror: unknown \['mirror'\]"):
        folder.replace(augment=("flip", "mirror"))


# --- CLI messages -------------------------------------------------------------------------------


def _edgetk(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "edgetk", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["eda", "--seed", "-1"], "'--seed'"),
        (["eda", "--samples-per-class", "0"], "'--samples-per-class'"),
        (["eda", "--test-fraction", "0"], "'--test-fraction'"),
        (["eda", "--augment", "mirror"], "'--augment'"),
        (["train", "--stage", "transfer", "--backbone-size", "0"], "'--backbone-size'"),
        (["run", "--artifacts", "tflite_fp32,bogus"], "'--artifacts'"),
        (["run", "--formats", "tflite_fp32,bogus"], "'--formats'"),  # the earlier spelling
        (["run", "--resize", "squash"], "'--resize'"),
    ],
)
def test_bad_option_values_name_the_flag(tmp_path: Path, args: list[str], flag: str) -> None:
    data = make_folder(tmp_path / "data", per_class=4)
    r = _edgetk(*args, "--data-dir", str(data), "--run-dir", str(tmp_path / "run"), cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert flag in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "run" / "eda").exists()  # nothing half-written


# --- predict --split-file -----------------------------------------------------------------------


def test_predict_split_file_evaluates_exactly_the_listed_images(space_dir: Path) -> None:
    from edge_runtime.predict_files import PredictConfig, predict_files

    bundle = ROOT / "tests" / "fixtures" / "tiny_bundle"
    data = space_dir / "data"
    src = ROOT / "tests" / "fixtures" / "images"
    listed = []
    for label in ("horizontal", "vertical", "box", "cross"):
        files = sorted((src / label).iterdir())
        (data / label).mkdir(parents=True)
        for f in files:
            (data / label / f.name).write_bytes(f.read_bytes())
        listed += [f"{label}/{f.name}" for f in files[:2]]
    split = write_split_file(space_dir / "test.txt", listed, "a hand-made split")
    report = predict_files(
        PredictConfig(bundle=str(bundle), paths=(str(data),), split_file=str(split))
    )
    assert report.classified == len(listed) == report.evaluation.n
    folder = predict_files(PredictConfig(bundle=str(bundle), paths=(str(data),)))
    assert folder.classified > len(listed)  # the split, not the whole folder
    (data / "box" / sorted(p.name for p in (data / "box").iterdir())[0]).unlink()
    with pytest.raises(DataError, match=r"file\(s\) of the split are not under"):
        predict_files(PredictConfig(bundle=str(bundle), paths=(str(data),), split_file=str(split)))
    with pytest.raises(ConfigError, match="--split-file takes exactly one DATA_DIR"):
        PredictConfig(bundle=str(bundle), paths=(str(data), str(data)), split_file=str(split))


def test_predict_cli_split_file(space_dir: Path) -> None:
    bundle = ROOT / "tests" / "fixtures" / "tiny_bundle"
    data = ROOT / "tests" / "fixtures" / "images"
    split = write_split_file(
        space_dir / "s.txt",
        ["box/02.png", "cross/" + sorted(p.name for p in (data / "cross").iterdir())[0]],
    )
    r = _edgetk("predict", str(bundle), str(data), "--split-file", str(split), cwd=space_dir)
    assert r.returncode == 0, r.stderr
    assert "classified 2 image(s)" in r.stderr


# --- small data and data-aware report text -----------------------------------------------------


def test_small_data_gets_enough_steps_and_says_so(caplog) -> None:
    from trainer.training.config import StageConfig
    from trainer.training.small_data import scale_for_data, scale_for_small_data

    quick = StageConfig.quick("baseline")
    with caplog.at_level(logging.INFO):
        small, changes = scale_for_data(quick, 130)  # 5 steps per epoch at batch 32
    # batch 32 -> 16 (9 steps per epoch), then 34 epochs for the preset's 300 steps
    assert small.batch_size == 16 and small.epochs == 34 and small.patience > quick.patience
    assert [c.setting for c in changes] == ["batch_size", "epochs", "patience"]
    assert all(c.why for c in changes)
    assert "130 training images" in caplog.text
    assert scale_for_small_data(quick, 5400) == quick  # Fashion-MNIST's quick subset: unchanged
    assert scale_for_small_data(quick.replace(min_steps=0), 130) == quick.replace(min_steps=0)


@pytest.mark.parametrize("profile", ["quick", "full"])
@pytest.mark.parametrize("stage", ["baseline", "resnet", "transfer", "finetune"])
def test_every_preset_fits_small_data_and_leaves_fashion_mnist_alone(profile, stage) -> None:
    from trainer.training.config import StageConfig
    from trainer.training.small_data import MAX_EPOCHS, MAX_WARMUP_SHARE, scale_for_data

    preset = StageConfig.preset(profile, stage)
    fmnist = 5400 if profile == "quick" else 54000
    assert scale_for_data(preset, fmnist) == (preset, [])  # the large-data path is untouched
    for images in (40, 200, 1000):
        cfg, _ = scale_for_data(preset, images)
        steps = -(-images // cfg.batch_size)
        assert steps >= 2 and cfg.epochs <= max(MAX_EPOCHS, preset.epochs)
        # enough optimizer steps, unless the epoch bound stops it
        assert cfg.epochs * steps >= preset.min_steps or cfg.epochs == MAX_EPOCHS
        assert cfg.warmup_steps <= cfg.epochs * steps * MAX_WARMUP_SHARE
        assert cfg.patience >= preset.patience


def test_full_profile_on_200_images_is_scaled_not_broken() -> None:
    from trainer.training.config import StageConfig
    from trainer.training.small_data import scale_for_data

    resnet = StageConfig.full("resnet")  # batch 128, 7 epochs, 300 warm-up steps
    cfg, changes = scale_for_data(resnet, 200)
    assert {c.setting for c in changes} == {"batch_size", "epochs", "patience", "warmup_steps"}
    assert cfg.batch_size == 16 and cfg.epochs * 13 >= 600 and cfg.warmup_steps < 300
    by = {c.setting: c for c in changes}
    assert (by["batch_size"].preset, by["batch_size"].used) == (128, 16)


def test_report_text_follows_the_data(space_dir: Path) -> None:
    from trainer.data import Dataset
    from trainer.eda import run_eda
    from trainer.report import write_report

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 10)
    x = rng.integers(0, 256, (30, 16, 24, 3), dtype=np.uint8)
    spec = {
        "height": 16,
        "width": 24,
        "channels": 3,
        "layout": "NHWC",
        "color": "rgb",
        "value_range": [0.0, 255.0],
        "polarity": "natural",
        "resize": "pad",
    }
    ds = Dataset(
        x,
        y,
        x[:6],
        y[:6],
        ("a", "b", "c"),
        "mine",
        "here",
        polarity="natural",
        input_spec=spec,
        extra={"polarity_evidence": {"images": 30, "dark_on_light_share": 0.5}},
    )
    run = space_dir / "run"
    run_eda(ds, run / "eda", samples_per_class=2)
    (run / "transfer").mkdir()
    (run / "transfer" / "config.json").write_text(
        '{"config": {"image_size": 96, "augment": {"flip": false, "rotation": 0.0, '
        '"translation": 0.06, "zoom": 0.0}}, "data_config": {"augment": null}}'
    )
    md = write_report(run)[0].read_text()
    assert "16x24 RGB" in md and "**pad**" in md and "polarity **natural**" in md
    assert "30 training images (50.0 % look dark-on-light)" in md
    assert "repeat the grey channel" not in md and "garments" not in md
    assert "transfer: shifts up to 6 % of the size" in md and "random horizontal flips" not in md
    assert "takes pictures as they are" in md
