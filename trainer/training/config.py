"""Stage configs: what one training stage runs with, as frozen, validated, JSON-round-trip data."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import TypeVar

from edge_runtime.common.configbase import JsonConfig, check_range
from edge_runtime.common.errors import ConfigError
from trainer.models.augment import AugmentConfig
from trainer.models.backbones import check_alpha, get_backbone_spec
from trainer.models.resnet import stage_blocks


class Stage(str, Enum):
    BASELINE = "baseline"
    TRANSFER = "transfer"
    FINETUNE = "finetune"
    RESNET = "resnet"  # the native-resolution residual CNN (no upscaling, no pretrained weights)


class Profile(str, Enum):
    QUICK = "quick"  # a stratified subset, few epochs: minutes on 2 CPU cores
    FULL = "full"  # all the data, the acceptance recipe


class Strategy(str, Enum):
    DEFAULT = "default"  # TensorFlow's default device placement (a GPU when present)
    MIRRORED = "mirrored"  # tf.distribute.MirroredStrategy over all local GPUs


class LRSchedule(str, Enum):
    CONSTANT = "constant"
    COSINE = "cosine"  # cosine decay over all steps of the stage (after ``warmup_steps``)


E = TypeVar("E", bound=Enum)
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def parse_enum(kind: type[E], value: E | str, what: str) -> E:
    """``kind(value)``, or a ConfigError naming the bad value and the allowed ones."""
    if isinstance(value, kind):
        return value
    try:
        return kind(value)
    except ValueError:
        allowed = [m.value for m in kind]
        raise ConfigError(f"{what}={value!r} is not allowed; choose one of {allowed}") from None


@dataclass(frozen=True)
class StageConfig(JsonConfig):
    """Hyperparameters of one stage. Presets: :meth:`quick` and :meth:`full`."""

    stage: Stage
    name: str = ""  # the run's name for this model (stage folder, registry); "" = the stage's
    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 1e-3
    lr_schedule: LRSchedule = LRSchedule.COSINE
    patience: int = 4  # EarlyStopping patience, in epochs, on validation accuracy
    dropout: float = 0.3
    dense_units: tuple[int, ...] = (128,)
    label_smoothing: float = 0.0
    weight_decay: float = 0.0  # > 0: AdamW with this decoupled decay, else Adam
    warmup_steps: int = 0  # linear warm-up to ``learning_rate`` before the cosine decay
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    # baseline: filters per block; resnet: widths per stage
    filters: tuple[int, ...] = (32, 64, 128)
    convs_per_block: int = 1
    blocks_per_stage: int | tuple[int, ...] = 2  # resnet only: one count, or one per stage
    bn_momentum: float = 0.99  # Keras' default; 0.9 for schedules of a few hundred steps
    # transfer only (finetune inherits the transfer model's architecture)
    backbone: str = "mobilenet_v2"
    alpha: float | None = 0.35
    image_size: int = 96
    weights: str = "imagenet"  # "imagenet", "none" or a weights file path
    # transfer only: train the head on backbone features computed once (no augmentation;
    # trainer/training/head_on_features.py), instead of through the frozen backbone every epoch
    cached_features: bool = False
    # finetune only: exactly one of the two
    unfreeze_fraction: float | None = None
    unfreeze_layers: int | None = None
    source_version: int | None = None  # transfer registry version to start from (None: latest)
    # everywhere
    seed: int = 42
    strategy: Strategy = Strategy.DEFAULT
    latency_runs: int = 100  # single-image CPU latency samples for the return-on-complexity table
    # At least this many optimizer steps: small data gets a smaller batch, more epochs and a
    # shorter warm-up (0: off; see small_data.py)
    min_steps: int = 0
    gradcam: bool = True  # Grad-CAM grids of the test set after evaluation

    @property
    def run_name(self) -> str:
        """Where this stage writes (``<run>/<name>/``) and registers (``models/<name>/``)."""
        return self.name or self.stage.value

    def validate(self) -> None:
        if self.name and not _NAME.fullmatch(self.name):
            raise ConfigError(
                f"name={self.name!r}: use lower-case letters, digits and '_' (a folder name)"
            )
        if self.epochs < 1:
            raise ConfigError(f"epochs={self.epochs}; use at least 1")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size={self.batch_size}; use at least 1")
        check_range("learning_rate", self.learning_rate, 1e-7, 1.0)
        if self.patience < 1:
            raise ConfigError(f"patience={self.patience}; use at least 1")
        check_range("dropout", self.dropout, 0.0, 0.9)
        check_range("label_smoothing", self.label_smoothing, 0.0, 0.5)
        check_range("weight_decay", self.weight_decay, 0.0, 1.0)
        if self.warmup_steps < 0:
            raise ConfigError(f"warmup_steps={self.warmup_steps}; use 0 or more")
        if self.stage is Stage.RESNET or isinstance(self.blocks_per_stage, int):
            stage_blocks(self.filters, self.blocks_per_stage)
        if any(u < 1 for u in self.dense_units):
            raise ConfigError(f"dense_units={list(self.dense_units)}; every layer needs >= 1 unit")
        if not self.filters or any(f < 1 for f in self.filters):
            raise ConfigError(f"filters={list(self.filters)}; give one positive count per block")
        check_range("bn_momentum", self.bn_momentum, 0.5, 0.999)
        if self.convs_per_block < 1:
            raise ConfigError(f"convs_per_block={self.convs_per_block}; use at least 1")
        check_alpha(get_backbone_spec(self.backbone), self.alpha)
        if self.image_size < 32:
            raise ConfigError(f"image_size={self.image_size}; backbones need at least 32 px")
        if self.latency_runs < 1:
            raise ConfigError(f"latency_runs={self.latency_runs}; use at least 1")
        if self.min_steps < 0:
            raise ConfigError(f"min_steps={self.min_steps}; use 0 (off) or more")
        if self.cached_features and self.stage is not Stage.TRANSFER:
            raise ConfigError(
                f"cached_features applies to the transfer stage (a frozen backbone), not "
                f"{self.stage.value!r}; leave it unset"
            )
        if self.stage is Stage.FINETUNE:
            if (self.unfreeze_fraction is None) == (self.unfreeze_layers is None):
                raise ConfigError(
                    "a finetune stage needs exactly one of unfreeze_fraction "
                    f"({self.unfreeze_fraction!r}) and unfreeze_layers ({self.unfreeze_layers!r})"
                )
            if self.unfreeze_fraction is not None:
                check_range("unfreeze_fraction", self.unfreeze_fraction, 1e-6, 1.0)
            if self.unfreeze_layers is not None and self.unfreeze_layers < 1:
                raise ConfigError(f"unfreeze_layers={self.unfreeze_layers}; use at least 1")
        elif self.unfreeze_fraction is not None or self.unfreeze_layers is not None:
            raise ConfigError(
                f"unfreeze_fraction / unfreeze_layers apply to the finetune stage, not "
                f"{self.stage.value!r}; leave them unset"
            )

    @classmethod
    def quick(cls, stage: Stage | str) -> StageConfig:
        """Few epochs on a subset: the three stages together run in minutes on 2 CPU cores."""
        stage = parse_enum(Stage, stage, "stage")
        # Small batches and a faster BatchNorm momentum: with a few hundred steps, moving
        # statistics at Keras' 0.99 lag the weights and validation accuracy sits near chance.
        if stage is Stage.BASELINE:
            # 2 epochs (338 steps on 5,400 images): the README's main command has 5 minutes.
            return cls(
                stage=stage,
                epochs=2,
                batch_size=32,
                learning_rate=1e-3,
                bn_momentum=0.9,
                augment=AugmentConfig.light(),
                min_steps=300,
            )
        if stage is Stage.RESNET:
            # Few steps: warm-up kept short and BatchNorm's statistics fast (momentum 0.9).
            # 7 epochs: 10 took 247 s of a 6.2-min quick run here (86.86 % test, int8).
            return cls(
                stage=stage,
                epochs=7,
                batch_size=64,
                learning_rate=3e-3,
                warmup_steps=100,
                weight_decay=5e-4,
                label_smoothing=0.1,
                dropout=0.0,
                filters=(16, 32, 64),
                blocks_per_stage=2,
                bn_momentum=0.9,
                patience=10,
                augment=AugmentConfig.modern(),
                latency_runs=50,
                # A few hundred images give a few steps per epoch: without a floor the run ends
                # inside its own warm-up (seen: 70 steps, 22.7 % on a 5-class RGB set, collapse).
                min_steps=300,
            )
        if stage is Stage.TRANSFER:
            # The head on cached backbone features: an epoch is a second, so train it out.
            return cls(
                stage=stage,
                epochs=20,
                patience=5,
                learning_rate=1e-3,
                latency_runs=50,
                min_steps=100,
                cached_features=True,
            )
        return cls(
            stage=stage,
            epochs=2,
            learning_rate=3e-4,
            unfreeze_fraction=1 / 3,
            augment=AugmentConfig.light(),
            latency_runs=50,
            min_steps=60,
        )

    @classmethod
    def full(cls, stage: Stage | str) -> StageConfig:
        """The acceptance recipe on all 54k training images (see docs/training.md for timings)."""
        stage = parse_enum(Stage, stage, "stage")
        if stage is Stage.BASELINE:
            # Flip only: translations slow convergence more than a 12-epoch schedule recovers.
            return cls(
                stage=stage,
                epochs=12,
                learning_rate=2e-3,
                patience=4,
                augment=AugmentConfig(flip=True, rotation=0.0, translation=0.0),
                min_steps=600,
            )
        if stage is Stage.RESNET:
            # The modern recipe (docs/candidates.md): AdamW, cosine after 300 warm-up steps,
            # label smoothing, crop with padding + flips. Sized to the 45-minute pipeline on 2
            # CPU cores: this network trains at 190-300 images/s there (measured), so 18 epochs
            # of 54k images would take 55-85 min alone. Random erasing is left out: it pays on
            # long schedules, and 7 epochs of a 0.18 M-parameter net underfit rather than
            # overfit. Patience covers the whole schedule: a cosine run improves until its end.
            return cls(
                stage=stage,
                epochs=7,
                learning_rate=3e-3,
                warmup_steps=300,
                weight_decay=5e-4,
                label_smoothing=0.1,
                dropout=0.0,
                filters=(16, 32, 64),
                blocks_per_stage=2,
                patience=7,
                augment=AugmentConfig.modern().replace(erasing=0.0),
                min_steps=600,
            )
        if stage is Stage.TRANSFER:
            # The head on cached backbone features; the augmentation is the fine-tune stage's
            # (it inherits this model's layers), the head itself trains without it.
            return cls(
                stage=stage,
                epochs=20,
                patience=5,
                learning_rate=1e-3,
                label_smoothing=0.1,
                augment=AugmentConfig.light(),
                cached_features=True,
                min_steps=200,
            )
        # Through 60 % of the backbone at 96 px: about 1,190 images/s here (batch 128, quiet
        # machine), 0.8 min per 54k-image epoch; a cosine schedule improves until its end, so
        # patience covers it.
        return cls(
            stage=stage,
            epochs=10,
            learning_rate=5e-4,
            patience=10,
            label_smoothing=0.1,
            unfreeze_fraction=0.6,
            augment=AugmentConfig.light(),
            min_steps=150,
        )

    @classmethod
    def preset(cls, profile: Profile | str, stage: Stage | str) -> StageConfig:
        """The ``profile`` preset (``quick`` / ``full``) of ``stage``."""
        profile = parse_enum(Profile, profile, "profile")
        return cls.quick(stage) if profile is Profile.QUICK else cls.full(stage)
