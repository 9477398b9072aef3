"""What data a run uses: the source, subsets and the validation split."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from edge_runtime.common.configbase import JsonConfig, check_range
from edge_runtime.common.errors import ConfigError


class DataSource(str, Enum):
    FASHION_MNIST = "fashion_mnist"  # keras.datasets.fashion_mnist (downloads, or KERAS_HOME cache)
    IDX = "idx"  # a folder with the four standard IDX files
    IMAGE_FOLDER = "image_folder"  # ROOT/<class>/<images> (or ROOT/train|test/<class>/...)


@dataclass(frozen=True)
class DataConfig(JsonConfig):
    source: DataSource = DataSource.FASHION_MNIST
    path: str | None = None  # required for idx / image_folder
    train_size: int | None = None  # stratified subset of the training split (None: all)
    test_size: int | None = None  # stratified subset of the test split (None: all)
    val_fraction: float = 0.1  # stratified validation holdout carved from the training split
    test_fraction: float = 0.2  # image folders without train/ and test/ subfolders
    image_size: tuple[int, int] | None = None  # image folders: (height, width); None: common size
    polarity: str | None = (
        None  # override how images look (light_on_dark / dark_on_light / natural)
    )
    seed: int = 42

    def validate(self) -> None:
        if self.source is not DataSource.FASHION_MNIST and not self.path:
            raise ConfigError(f"data source {self.source.value!r} needs a path (--data-dir)")
        check_range("val_fraction", self.val_fraction, 0.0, 0.5)
        check_range("test_fraction", self.test_fraction, 0.01, 0.9)
        for name in ("train_size", "test_size"):
            v = getattr(self, name)
            if v is not None and v < 10:
                raise ConfigError(f"{name}={v} is too small; use at least 10 or leave it unset")
        if self.image_size is not None and min(self.image_size) < 8:
            raise ConfigError(f"image_size={self.image_size} is too small; use at least 8x8")
        if self.polarity not in (None, "light_on_dark", "dark_on_light", "natural"):
            raise ConfigError(
                f"polarity={self.polarity!r}; choose light_on_dark, dark_on_light or natural"
            )
