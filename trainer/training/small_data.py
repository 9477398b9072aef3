"""Small data: a preset is sized for thousands of images; a few hundred need other settings.

A stage config's ``min_steps`` (0: off) asks for at least that many optimizer steps. Presets count
epochs for Fashion-MNIST's 5,400 (quick) or 54,000 (full) training images; on a folder of 200
images, batch 128 and 12 epochs are 24 steps, too few for a model to leave chance, and a
warm-up of 300 steps never ends. So, in this order, and only when the data is that small:

1. **batch size**: at most an eighth of the training images (a power of two, at least 16), so an
   epoch has about 8 steps or more; BatchNorm statistics and the schedule need steps;
2. **epochs** (and early-stopping **patience**, in proportion): enough for ``min_steps`` steps,
   at most ``MAX_EPOCHS``, so a 200-image set neither stops after a handful of steps nor trains
   for an hour (60 epochs of 200 images are 12,000 image passes: seconds to a minute here);
3. **warm-up**: at most a fifth of all the steps.

Augmentation is not changed: every preset that trains on images already augments (light, or the
modern recipe for the residual CNNs), and what a dataset allows (``--augment``) is applied before
this. Each change is returned with its reason, recorded in the stage's ``config.json`` under
``small_data`` and shown by the report; on Fashion-MNIST nothing changes.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass

from trainer.training.config import StageConfig

log = logging.getLogger(__name__)

MAX_EPOCHS = 60  # a bound on what small data can ask for
MIN_STEPS_PER_EPOCH = 8  # the batch shrinks until an epoch has about this many steps
MIN_BATCH = 16
MAX_WARMUP_SHARE = 0.2  # of all the optimizer steps


@dataclass(frozen=True)
class Scaled:
    """One setting small data changed: what the preset said, what ran, and why."""

    setting: str
    preset: int
    used: int
    why: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _smaller_batch(batch: int, train_images: int) -> int:
    want = train_images / MIN_STEPS_PER_EPOCH
    if batch <= MIN_BATCH or batch <= want:
        return batch
    return max(MIN_BATCH, 2 ** int(math.floor(math.log2(max(want, 1)))))


def scale_for_data(config: StageConfig, train_images: int) -> tuple[StageConfig, list[Scaled]]:
    """``config`` fitted to ``train_images`` training images, and what changed (module docstring)."""
    changes: list[Scaled] = []
    if config.min_steps <= 0 or train_images <= 0:
        return config, changes
    batch = _smaller_batch(config.batch_size, train_images)
    if batch != config.batch_size:
        changes.append(
            Scaled(
                "batch_size",
                config.batch_size,
                batch,
                f"{train_images} training images make {math.ceil(train_images / config.batch_size)} "
                f"steps per epoch at batch {config.batch_size}; batch {batch} makes "
                f"{math.ceil(train_images / batch)}",
            )
        )
        config = config.replace(batch_size=batch)
    steps_per_epoch = math.ceil(train_images / config.batch_size)
    needed = min(MAX_EPOCHS, math.ceil(config.min_steps / steps_per_epoch))
    if needed > config.epochs:
        patience = max(config.patience, math.ceil(config.patience * needed / config.epochs))
        why = (
            f"{config.epochs} epochs of {steps_per_epoch} steps are {config.epochs * steps_per_epoch} "
            f"optimizer steps; {needed} epochs make {needed * steps_per_epoch} "
            f"(at least {config.min_steps} asked, at most {MAX_EPOCHS} epochs)"
        )
        changes.append(Scaled("epochs", config.epochs, needed, why))
        if patience != config.patience:
            changes.append(
                Scaled("patience", config.patience, patience, "in proportion to the epochs")
            )
        config = config.replace(epochs=needed, patience=patience)
    total = config.epochs * steps_per_epoch
    warmup_cap = int(total * MAX_WARMUP_SHARE)
    if config.warmup_steps > warmup_cap:
        changes.append(
            Scaled(
                "warmup_steps",
                config.warmup_steps,
                warmup_cap,
                f"the preset's warm-up would take {config.warmup_steps} of the {total} steps",
            )
        )
        config = config.replace(warmup_steps=warmup_cap)
    for c in changes:  # expected on small data, and recorded: information, not a warning
        log.info(
            "%s: small data: %s %d instead of %d (%s)",
            config.run_name,
            c.setting,
            c.used,
            c.preset,
            c.why,
        )
    return config, changes


def scale_for_small_data(config: StageConfig, train_images: int) -> StageConfig:
    """``scale_for_data`` without the list of changes."""
    return scale_for_data(config, train_images)[0]


__all__ = ["MAX_EPOCHS", "Scaled", "scale_for_data", "scale_for_small_data"]
