"""Data augmentation as Keras layers: active in training, the identity at inference and export.

The layers run at the dataset's NATIVE resolution, before the model resizes to the backbone's:
augmenting 28x28 images is far cheaper than augmenting 96x96 ones (shared/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge_runtime.common.configbase import JsonConfig, check_range
from edge_runtime.common.errors import ConfigError


@dataclass(frozen=True)
class AugmentConfig(JsonConfig):
    """Which random transforms to apply while training (all built-in Keras layers)."""

    flip: bool = True  # random horizontal flip (garments are left/right symmetric enough)
    rotation: float = 0.03  # fraction of a full turn: 0.03 is about +-11 degrees
    translation: float = 0.08  # fraction of height / width
    zoom: float = 0.0  # fraction; 0 disables
    # "Random crop with padding": shift by up to this many whole pixels, filling with zeros, the
    # same as zero-padding then cropping at a random offset, but the identity at inference (no
    # padding ops end up in the exported graph).
    crop_padding: int = 0
    erasing: float = 0.0  # probability of erasing one random rectangle per image (0 disables)

    def validate(self) -> None:
        check_range("augment.rotation", self.rotation, 0.0, 0.25)
        check_range("augment.translation", self.translation, 0.0, 0.5)
        check_range("augment.zoom", self.zoom, 0.0, 0.5)
        check_range("augment.crop_padding", self.crop_padding, 0, 16)
        check_range("augment.erasing", self.erasing, 0.0, 1.0)

    @classmethod
    def modern(cls, flip: bool = True) -> AugmentConfig:
        """Crop with 4 px padding, flips where the data allows them, random erasing half the time."""
        return cls(flip=flip, rotation=0.0, translation=0.0, crop_padding=4, erasing=0.5)

    @classmethod
    def off(cls) -> AugmentConfig:
        """No augmentation at all."""
        return cls(flip=False, rotation=0.0, translation=0.0, zoom=0.0, crop_padding=0, erasing=0.0)

    @classmethod
    def light(cls) -> AugmentConfig:
        """Flip and small shifts only: what a short schedule can still profit from."""
        return cls(flip=True, rotation=0.0, translation=0.06, zoom=0.0)

    @property
    def enabled(self) -> bool:
        return (
            self.flip
            or self.rotation > 0
            or self.translation > 0
            or self.zoom > 0
            or self.crop_padding > 0
            or self.erasing > 0
        )


def build_augmentation(
    cfg: AugmentConfig, seed: int | None = None, image_size: tuple[int, int] | None = None
) -> Any | None:
    """A ``keras.Sequential`` named ``augment`` with the configured layers (None if all are off).

    ``image_size`` (height, width) turns ``crop_padding`` pixels into translation fractions.
    """
    import keras

    if not cfg.enabled:
        return None
    layers: list[Any] = []
    # "nearest" keeps the dark Fashion-MNIST border dark and does not mirror garment parts in.
    if cfg.flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed, name="flip"))
    if cfg.rotation > 0:
        layers.append(
            keras.layers.RandomRotation(
                cfg.rotation, fill_mode="nearest", seed=seed, name="rotation"
            )
        )
    if cfg.translation > 0:
        layers.append(
            keras.layers.RandomTranslation(
                cfg.translation, cfg.translation, fill_mode="nearest", seed=seed, name="translation"
            )
        )
    if cfg.zoom > 0:
        layers.append(
            keras.layers.RandomZoom(cfg.zoom, cfg.zoom, fill_mode="nearest", seed=seed, name="zoom")
        )
    if cfg.crop_padding > 0:
        # Nearest interpolation of a uniform shift moves whole pixels: zero-pad-and-crop.
        if image_size is None:
            raise ConfigError("augment.crop_padding needs the image size to build its layer")
        h, w = image_size
        layers.append(
            keras.layers.RandomTranslation(
                cfg.crop_padding / h,
                cfg.crop_padding / w,
                fill_mode="constant",
                fill_value=0.0,
                interpolation="nearest",
                seed=seed,
                name="crop",
            )
        )
    if cfg.erasing > 0:
        # value_range: the model's input is raw 0..255 pixels; erased patches get random values.
        layers.append(
            keras.layers.RandomErasing(
                factor=(cfg.erasing, cfg.erasing),
                scale=(0.02, 0.25),
                value_range=(0, 255),
                seed=seed,
                name="erasing",
            )
        )
    return keras.Sequential(layers, name="augment")


def find_augmentation(model: Any) -> Any | None:
    """The model's ``augment`` sub-model, or None when it has none."""
    for layer in model.layers:
        if layer.name == "augment":
            return layer
    return None
