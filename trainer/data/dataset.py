"""The in-memory dataset every stage consumes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from edge_runtime.common.errors import DataError

FASHION_MNIST_LABELS: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


@dataclass(frozen=True, eq=False)
class Dataset:
    """Images as uint8 NHWC (raw pixels, 0..255), integer labels, class names.

    ``polarity`` says how the pictures look (Fashion-MNIST: light garments on black), so the
    export can tell the runtime how to turn a photo into this form.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    name: str
    source: str  # human-readable origin: a path or "keras.datasets.fashion_mnist"
    polarity: str = "light_on_dark"
    extra: dict = field(default_factory=dict)
    # The preprocessing contract (an InputSpec dict: size, colour, polarity, resize, value range)
    # that turned the source files into these arrays; the device applies the same one.
    input_spec: dict | None = None
    # Image folders: each sample's file, relative to the data folder (POSIX), in array order.
    train_files: tuple[str, ...] = ()
    test_files: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            files = getattr(self, f"{split}_files")
            if files and len(files) != len(y):
                raise DataError(
                    f"{self.source}: {len(files)} {split} file names for {len(y)} images"
                )
            if x.ndim != 4:
                raise DataError(f"{self.source}: {split} images must be NHWC, got shape {x.shape}")
            if len(x) != len(y):
                raise DataError(
                    f"{self.source}: {len(x)} {split} images but {len(y)} labels; "
                    "image and label files must describe the same samples"
                )
            if x.dtype != np.uint8:
                raise DataError(f"{self.source}: {split} images must be uint8, got {x.dtype}")
            if len(y) and (y.min() < 0 or y.max() >= len(self.class_names)):
                raise DataError(
                    f"{self.source}: {split} labels span {y.min()}..{y.max()} but there are "
                    f"{len(self.class_names)} classes"
                )

    def spec(self) -> dict:
        """The input spec: the recorded contract, or one for the arrays as they are."""
        if self.input_spec is not None:
            return dict(self.input_spec)
        from trainer.data.contract import make_input_spec

        h, w, c = self.image_shape
        return make_input_spec(h, w, c, self.polarity)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @cached_property
    def fingerprint(self) -> str:
        """sha256 over the arrays and class names: equal data, equal fingerprint."""
        h = hashlib.sha256()
        for arr in (self.x_train, self.y_train, self.x_test, self.y_test):
            a = np.ascontiguousarray(arr)
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(a.tobytes())
        h.update("\x00".join(self.class_names).encode())
        return h.hexdigest()

    def describe(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "fingerprint_sha256": self.fingerprint,
            "image_shape": list(self.image_shape),
            "num_classes": self.num_classes,
            "class_names": list(self.class_names),
            "train_count": int(len(self.y_train)),
            "test_count": int(len(self.y_test)),
            "polarity": self.polarity,
            "input_spec": self.spec(),
            **({"extra": self.extra} if self.extra else {}),
        }
