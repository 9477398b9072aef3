"""The native-resolution residual CNN: builds at the dataset's size, trains on a tiny synthetic
set with the modern recipe, and exports through the same gate (int8 included)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edge_runtime.common.errors import ConfigError
from tests.test_trainer_stages import synthetic_dataset
from trainer.data import DataConfig
from trainer.models import AugmentConfig
from trainer.training import Stage, StageConfig


def tiny_resnet(**kw) -> StageConfig:
    base = {
        "stage": Stage.RESNET,
        "name": "resnet",
        "epochs": 8,
        "batch_size": 32,
        "learning_rate": 5e-3,
        "warmup_steps": 10,
        "weight_decay": 5e-4,
        "label_smoothing": 0.1,
        "dropout": 0.0,
        "filters": (8, 16),
        "blocks_per_stage": 1,
        "bn_momentum": 0.9,
        "latency_runs": 5,
        "gradcam": False,
        "augment": AugmentConfig(
            flip=True, rotation=0.0, translation=0.0, crop_padding=2, erasing=0.3
        ),
    }
    return StageConfig(**{**base, **kw})


def test_parameter_count_formula_matches_keras() -> None:
    from trainer import env

    env.prepare()
    from trainer.models import build_resnet, resnet_params

    layouts = (
        ((16, 32, 64), 2, 1),
        ((8, 16), 1, 3),
        ((12, 12), 3, 1),
        ((8, 16, 24), (0, 2, 1), 1),  # the stem alone at full resolution
        ((8, 16), (2, 1), 3),
    )
    for widths, blocks, ch in layouts:
        m = build_resnet((28, 28, ch), 10, widths=widths, blocks_per_stage=blocks)
        assert m.count_params() == resnet_params(ch, 10, widths, blocks)
    # The shipped layout stays well under "a few hundred thousand parameters".
    assert resnet_params(1, 10, (16, 32, 64), 2) == 176_090


def test_too_small_input_and_bad_widths_are_named() -> None:
    from trainer.models import build_resnet

    with pytest.raises(ConfigError, match="input 3x3 is too small for 3 stages"):
        build_resnet((3, 3, 1), 10)
    with pytest.raises(ConfigError, match=r"widths=\[\]"):
        build_resnet((28, 28, 1), 10, widths=())
    with pytest.raises(ConfigError, match="blocks_per_stage=0"):
        StageConfig(stage=Stage.RESNET, blocks_per_stage=0)


def test_blocks_per_stage_takes_one_count_per_stage_from_json() -> None:
    cfg = StageConfig.from_dict(
        {"stage": "resnet", "filters": [16, 48, 96], "blocks_per_stage": [0, 2, 2]}
    )
    assert cfg.blocks_per_stage == (0, 2, 2)
    assert cfg.to_dict()["blocks_per_stage"] == [0, 2, 2]
    with pytest.raises(ConfigError, match=r"blocks_per_stage=\[1, 2\] has 2 entries for 3 widths"):
        StageConfig.from_dict(
            {"stage": "resnet", "filters": [8, 16, 32], "blocks_per_stage": [1, 2]}
        )
    with pytest.raises(ConfigError, match=r"blocks_per_stage=\[1, 0, 2\]; the first stage takes 0"):
        StageConfig(stage=Stage.RESNET, filters=(8, 16, 32), blocks_per_stage=(1, 0, 2))


def test_augmentation_is_identity_at_inference_and_changes_images_in_training() -> None:
    from trainer import env

    env.prepare()
    from trainer.models import build_augmentation

    aug = build_augmentation(AugmentConfig.modern(), seed=1, image_size=(16, 16))
    names = [layer.name for layer in aug.layers]
    assert names == ["flip", "crop", "erasing"]
    x = np.random.default_rng(0).integers(0, 256, (8, 16, 16, 1)).astype("float32")
    np.testing.assert_array_equal(np.asarray(aug(x, training=False)), x)
    assert not np.array_equal(np.asarray(aug(x, training=True)), x)
    with pytest.raises(ConfigError, match="crop_padding needs the image size"):
        build_augmentation(AugmentConfig.modern(), seed=1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, keras_home):
    from trainer.training import run_stage

    run_dir = tmp_path_factory.mktemp("native") / "run with spaces"
    ds = synthetic_dataset()
    res = run_stage(run_dir, tiny_resnet(), DataConfig(val_fraction=0.2), dataset=ds)
    return run_dir, ds, res


def test_native_cnn_trains_with_the_modern_recipe(trained) -> None:
    run_dir, _, res = trained
    assert res.stage == "resnet" and res.metrics["accuracy"] > 0.8  # chance is 1/3
    summary = json.loads((run_dir / "resnet" / "summary.json").read_text())
    assert summary["kind"] == "resnet"
    assert summary["val_metrics"]["count"] == 72 and summary["val_metrics"]["accuracy"] > 0.8
    meta = json.loads((res.model_path / "metadata.json").read_text())
    assert meta["config"]["weight_decay"] == 5e-4 and meta["config"]["augment"]["erasing"] == 0.3


def test_native_cnn_exports_through_the_gate_int8_included(trained, tmp_path) -> None:
    from edge_runtime.manifest import InputSpec
    from export import ExportConfig, export_bundle
    from trainer.data import make_splits

    run_dir, ds, res = trained
    meta = json.loads((res.model_path / "metadata.json").read_text())
    sp = make_splits(ds, DataConfig(val_fraction=0.2))
    cfg = ExportConfig.quick().replace(formats=("tflite_fp32", "tflite_int8"), overwrite=True)
    out = export_bundle(
        res.model_path / "model.keras",
        tmp_path / "bundle",
        cfg,
        sp.x_train,
        sp.y_train,
        sp.x_test,
        sp.y_test,
        ds.class_names,
        input_spec=InputSpec.from_dict(meta["input"]),
        name="stripes-resnet",
    )
    by = {r.key: r for r in out.artifacts}
    assert by["tflite_fp32"].passed and by["tflite_int8"].passed
    assert by["tflite_int8"].artifact.input.dtype == "int8"
    # int8 costs this model no more accuracy than the gate's int8 allowance
    assert (
        by["tflite_int8"].parity.metrics["accuracy"]
        >= by["tflite_fp32"].parity.metrics["accuracy"] - 0.05
    )
