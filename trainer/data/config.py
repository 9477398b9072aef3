"""What data a run uses: the source, subsets, the splits and the preprocessing choices."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from edge_runtime.common.configbase import JsonConfig, check_choice
from edge_runtime.common.errors import ConfigError
from trainer.data.contract import POLARITIES, RESIZE_MODES


class DataSource(str, Enum):
    FASHION_MNIST = "fashion_mnist"  # keras.datasets.fashion_mnist (downloads, or KERAS_HOME cache)
    IDX = "idx"  # a folder with the four standard IDX files
    IMAGE_FOLDER = "image_folder"  # ROOT/<class>/<images> (or ROOT/train|test/<class>/...)


# The random transforms training may use (their strengths are the stage's AugmentConfig).
AUGMENTATIONS: tuple[str, ...] = ("flip", "rotate", "translate", "zoom")
# Image folders may hold characters, signs or arrows, where a mirror image is another class:
# no flips unless asked. Fashion-MNIST garments (and IDX sets, its format) keep them.
_DEFAULT_AUGMENT = {
    "fashion_mnist": AUGMENTATIONS,
    "idx": AUGMENTATIONS,
    "image_folder": ("rotate", "translate", "zoom"),
}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


@dataclass(frozen=True)
class DataConfig(JsonConfig):
    source: DataSource = DataSource.FASHION_MNIST
    path: str | None = None  # required for idx / image_folder
    train_size: int | None = None  # stratified subset of the training split (None: all)
    test_size: int | None = None  # stratified subset of the test split (None: all)
    val_fraction: float = 0.1  # stratified validation holdout carved from the training split
    test_fraction: float = 0.2  # image folders without train/ and test/ subfolders
    image_size: tuple[int, int] | None = None  # image folders: (height, width); None: from data
    # How images look; None: detected from the training images (Fashion-MNIST: light_on_dark).
    polarity: str | None = None
    resize: str = "pad"  # how another aspect ratio becomes the model's size (train and device)
    augment: tuple[str, ...] | None = None  # transforms training may use; None: the source's
    seed: int = 42

    def validate(self) -> None:
        if self.source is not DataSource.FASHION_MNIST and not self.path:
            raise ConfigError(f"data source {self.source.value!r} needs a path (--data-dir)")
        for name, lo, hi in (("val_fraction", 0.0, 0.5), ("test_fraction", 0.01, 0.9)):
            v = getattr(self, name)
            if not lo <= v <= hi:
                raise ConfigError(f"{_flag(name)} {v!r} is out of range; use {lo}..{hi}")
        for name in ("train_size", "test_size"):
            v = getattr(self, name)
            if v is not None and v < 10:
                raise ConfigError(
                    f"{_flag(name)} {v} is too small; use at least 10 or leave it unset"
                )
        if self.image_size is not None and (len(self.image_size) != 2 or min(self.image_size) < 8):
            raise ConfigError(
                f"--image-size {' '.join(map(str, self.image_size))} is too small; "
                "use HEIGHT WIDTH of at least 8 each"
            )
        if self.polarity is not None:
            check_choice(
                "--image-polarity ",
                self.polarity,
                POLARITIES,
                " or leave it unset to detect it from the training images",
            )
        check_choice("--resize ", self.resize, RESIZE_MODES)
        if self.augment is not None:
            unknown = [a for a in self.augment if a not in AUGMENTATIONS]
            if unknown:
                raise ConfigError(
                    f"--augment {','.join(self.augment)}: unknown {unknown}; choose from "
                    f"{list(AUGMENTATIONS)} (comma-separated) or 'none'"
                )
        if self.seed < 0:
            raise ConfigError(f"--seed {self.seed} must be 0 or more")

    @property
    def allowed_augmentations(self) -> tuple[str, ...]:
        """The transforms training may use: the user's ``augment``, else the source's default."""
        if self.augment is not None:
            return tuple(a for a in AUGMENTATIONS if a in self.augment)
        return _DEFAULT_AUGMENT[self.source.value]


def parse_augment(value: str | None) -> tuple[str, ...] | None:
    """``--augment`` text ("flip,rotate", "none", or unset) -> the allowed set (validated later)."""
    if value is None:
        return None
    items = tuple(v.strip().lower() for v in value.split(",") if v.strip())
    if items in ((), ("none",)):
        return ()
    return items
