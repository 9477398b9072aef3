"""Tiny synthetic data and models shared by the calibration / export tests.

Four classes: a bright square in one of the four quadrants of a noisy 16x16 grey image (raw
uint8 pixels, like the real data). A conv + pooling + dense model learns it in seconds.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

SIZE = 16
NUM_CLASSES = 4
LABELS = ("top-left", "top-right", "bottom-left", "bottom-right")


def synthetic_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 NHWC images, int64 labels), classes balanced."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % NUM_CLASSES
    rng.shuffle(y)
    x = rng.integers(0, 60, size=(n, SIZE, SIZE, 1)).astype(np.uint8)
    half = SIZE // 2
    for i, c in enumerate(y):
        r0 = (c // 2) * half + rng.integers(0, half - 4)
        c0 = (c % 2) * half + rng.integers(0, half - 4)
        x[i, r0 : r0 + 4, c0 : c0 + 4, 0] = rng.integers(180, 256, size=(4, 4))
    return x, y.astype(np.int64)


def synthetic_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test): 800 training and 400 held-out synthetic images."""
    x_train, y_train = synthetic_images(800, seed=0)
    x_test, y_test = synthetic_images(400, seed=1)
    return x_train, y_train, x_test, y_test


def tiny_model(seed: int = 0):
    """Raw pixels in (float 0..255), scaling in the graph, softmax out."""
    import keras

    keras.utils.set_random_seed(seed)
    inp = keras.Input((SIZE, SIZE, 1), name="pixels")
    x = keras.layers.Rescaling(1 / 255.0)(inp)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(64, activation="relu", name="hidden")(x)
    out = keras.layers.Dense(NUM_CLASSES, activation="softmax", name="probs")(x)
    return keras.Model(inp, out)


def train_tiny(x: np.ndarray, y: np.ndarray, seed: int = 0, epochs: int = 4):
    import keras

    model = tiny_model(seed)
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x.astype("float32"), y, epochs=epochs, batch_size=32, verbose=0)
    return model


def make_hard_to_quantize(model) -> None:
    """Make layer ``hidden`` hard to quantize without changing what the float model computes
    much: conv2's last filter is killed (always 0 after ReLU), and every ``hidden`` unit gets a
    weight of 1000 from that dead channel. Float output is unchanged by the dead input, but each
    unit's int8 weight scale becomes ~1000/127, rounding its real weights to zero."""
    conv2 = model.get_layer("conv2")
    k, b = conv2.get_weights()
    k[..., -1] = 0.0
    b[-1] = -1.0
    conv2.set_weights([k, b])
    hidden = model.get_layer("hidden")
    w, hb = hidden.get_weights()
    channels = conv2.filters
    dead = np.arange(w.shape[0]) % channels == channels - 1  # Flatten order is (h, w, c)
    w[dead, :] = 1000.0
    hidden.set_weights([w, hb])


def write_idx_folder(folder: Path, x_train, y_train, x_test, y_test) -> Path:
    """The four gzipped IDX files the trainer's IDX loader reads."""
    folder.mkdir(parents=True, exist_ok=True)

    def images(path: Path, x: np.ndarray) -> None:
        n, h, w = x.shape[:3]
        header = (2051).to_bytes(4, "big") + b"".join(v.to_bytes(4, "big") for v in (n, h, w))
        with gzip.open(path, "wb") as fh:
            fh.write(header + x[..., 0].astype(np.uint8).tobytes())

    def labels(path: Path, y: np.ndarray) -> None:
        header = (2049).to_bytes(4, "big") + len(y).to_bytes(4, "big")
        with gzip.open(path, "wb") as fh:
            fh.write(header + y.astype(np.uint8).tobytes())

    images(folder / "train-images-idx3-ubyte.gz", x_train)
    labels(folder / "train-labels-idx1-ubyte.gz", y_train)
    images(folder / "t10k-images-idx3-ubyte.gz", x_test)
    labels(folder / "t10k-labels-idx1-ubyte.gz", y_test)
    return folder


def test_synthetic_data_is_balanced_and_distinct() -> None:
    x, y = synthetic_images(200, seed=1)
    assert x.dtype == np.uint8 and x.shape == (200, SIZE, SIZE, 1)
    assert np.bincount(y).tolist() == [50] * NUM_CLASSES
    # The bright square sits in the labelled quadrant.
    q = x[y == 3][:, SIZE // 2 :, SIZE // 2 :, 0].max(axis=(1, 2))
    assert (q >= 180).all()
