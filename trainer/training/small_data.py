"""Small data: a preset's epochs are counted for thousands of images; a few hundred need more.

A stage config's ``min_steps`` (0: off; the quick presets set it) asks for at least that many
optimizer steps: with 130 training images and batch 32, four epochs are 20 steps, too few for a
model to leave chance. Epochs (and early-stopping patience, in proportion) are raised, logged and
recorded in the stage's config.json, never silently.
"""

from __future__ import annotations

import logging
import math

from trainer.training.config import StageConfig

log = logging.getLogger(__name__)

MAX_EPOCHS = 60  # a bound on what small data can ask for


def scale_for_small_data(config: StageConfig, train_images: int) -> StageConfig:
    """``config`` with enough epochs for ``config.min_steps`` optimizer steps on ``train_images``."""
    if config.min_steps <= 0 or train_images <= 0:
        return config
    steps_per_epoch = math.ceil(train_images / config.batch_size)
    needed = min(MAX_EPOCHS, math.ceil(config.min_steps / steps_per_epoch))
    if needed <= config.epochs:
        return config
    patience = max(config.patience, math.ceil(config.patience * needed / config.epochs))
    log.warning(
        "%s: %d training images give %d steps per epoch; %d epochs (patience %d) instead of %d "
        "to reach about %d optimizer steps (min_steps in the stage config)",
        config.stage.value,
        train_images,
        steps_per_epoch,
        needed,
        patience,
        config.epochs,
        config.min_steps,
    )
    return config.replace(epochs=needed, patience=patience)


__all__ = ["MAX_EPOCHS", "scale_for_small_data"]
