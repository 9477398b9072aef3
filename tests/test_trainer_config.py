"""Stage configs: presets, validation messages, JSON round trip, no mutation."""

from __future__ import annotations

import pytest

from edge_runtime.common.errors import ConfigError
from trainer.training import Profile, Stage, StageConfig
from trainer.training.config import parse_enum


@pytest.mark.parametrize("profile", list(Profile))
@pytest.mark.parametrize("stage", list(Stage))
def test_presets_validate_and_round_trip(profile: Profile, stage: Stage, space_dir) -> None:
    cfg = StageConfig.preset(profile, stage)
    assert cfg.stage is stage
    path = cfg.save(space_dir / "stage config.json")
    assert StageConfig.load(path) == cfg
    if stage is Stage.FINETUNE:
        assert cfg.unfreeze_fraction is not None and cfg.learning_rate < 1e-3
    else:
        assert cfg.unfreeze_fraction is None and cfg.unfreeze_layers is None


def test_full_profile_is_bigger_than_quick() -> None:
    """Full trains on all 54,000 training images, quick on 6,000: compare images seen."""
    from trainer.training.pipeline import profile_data_config

    quick_images = profile_data_config("quick").train_size
    assert quick_images is not None and profile_data_config("full").train_size is None
    for stage in Stage:
        full, quick = StageConfig.full(stage), StageConfig.quick(stage)
        assert full.epochs * 54_000 > max(
            quick.epochs * quick_images, quick.min_steps * quick.batch_size
        )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"epochs": 0}, "epochs=0; use at least 1"),
        ({"dropout": 0.95}, r"dropout=0\.95 is out of range"),
        ({"backbone": "vgg"}, "backbone='vgg' is not known"),
        ({"alpha": 0.2}, r"alpha=0\.2 is not available for mobilenet_v2"),
        ({"image_size": 16}, "image_size=16; backbones need at least 32 px"),
        ({"unfreeze_fraction": 0.5}, "apply to the finetune stage, not 'baseline'"),
    ],
)
def test_validation_names_the_bad_value(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        StageConfig(stage=Stage.BASELINE, **changes)


def test_finetune_needs_exactly_one_unfreeze_option() -> None:
    with pytest.raises(ConfigError, match="exactly one of unfreeze_fraction"):
        StageConfig(stage=Stage.FINETUNE)
    with pytest.raises(ConfigError, match="exactly one of unfreeze_fraction"):
        StageConfig(stage=Stage.FINETUNE, unfreeze_fraction=0.3, unfreeze_layers=4)


def test_unknown_keys_and_enum_values_are_errors() -> None:
    with pytest.raises(ConfigError, match=r"unknown StageConfig field\(s\) \['epoch'\]"):
        StageConfig.from_dict({"stage": "baseline", "epoch": 3})
    with pytest.raises(ConfigError, match="stage='warmup' is not allowed"):
        StageConfig.from_dict({"stage": "warmup"})
    with pytest.raises(ConfigError, match="profile='huge' is not allowed; choose one of"):
        parse_enum(Profile, "huge", "profile")


def test_replace_never_mutates() -> None:
    cfg = StageConfig.quick("baseline")
    other = cfg.replace(epochs=cfg.epochs + 5)
    assert other.epochs == cfg.epochs + 5
    assert StageConfig.quick("baseline") == cfg
