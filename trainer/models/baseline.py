"""The baseline: a shallow CNN at the dataset's native resolution, the floor to beat."""

from __future__ import annotations

from typing import Any

from edge_runtime.common.errors import ConfigError
from trainer.models.augment import AugmentConfig, build_augmentation


def build_baseline(
    input_shape: tuple[int, int, int],
    num_classes: int,
    *,
    filters: tuple[int, ...] = (32, 64, 128),
    convs_per_block: int = 2,
    dense_units: tuple[int, ...] = (128,),
    dropout: float = 0.3,
    bn_momentum: float = 0.99,
    augment: AugmentConfig | None = None,
    seed: int | None = None,
    name: str = "baseline",
) -> Any:
    """Three conv blocks (conv-BN-ReLU x ``convs_per_block``, max-pool) and a dense head.

    Input: raw pixels, float32 0..255, ``input_shape`` NHWC; scaling to 0..1 is the first layer.
    Output: softmax probabilities over ``num_classes``. ``bn_momentum`` below Keras' 0.99 (e.g.
    0.9) lets BatchNorm's moving statistics keep up on short schedules of a few hundred steps.
    """
    import keras

    if num_classes < 2:
        raise ConfigError(f"num_classes={num_classes}; a classifier needs at least 2")
    h, w, _ = input_shape
    if min(h, w) < 2 ** len(filters):
        raise ConfigError(
            f"input {h}x{w} is too small for {len(filters)} pooling blocks; "
            f"use at least {2 ** len(filters)} px or fewer filters"
        )
    inputs = keras.Input(shape=input_shape, name="pixels", dtype="float32")
    x = inputs
    aug = build_augmentation(augment, seed) if augment is not None else None
    if aug is not None:
        x = aug(x)
    x = keras.layers.Rescaling(1.0 / 255.0, name="scale")(x)
    for b, f in enumerate(filters, start=1):
        for c in range(1, convs_per_block + 1):
            x = keras.layers.Conv2D(f, 3, padding="same", use_bias=False, name=f"b{b}_conv{c}")(x)
            x = keras.layers.BatchNormalization(momentum=bn_momentum, name=f"b{b}_bn{c}")(x)
            x = keras.layers.ReLU(name=f"b{b}_relu{c}")(x)
        x = keras.layers.MaxPooling2D(name=f"b{b}_pool")(x)
        x = keras.layers.Dropout(min(dropout, 0.25), seed=seed, name=f"b{b}_drop")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for i, units in enumerate(dense_units, start=1):
        x = keras.layers.Dense(units, use_bias=False, name=f"dense{i}")(x)
        x = keras.layers.BatchNormalization(momentum=bn_momentum, name=f"dense{i}_bn")(x)
        x = keras.layers.ReLU(name=f"dense{i}_relu")(x)
        x = keras.layers.Dropout(dropout, seed=seed, name=f"dense{i}_drop")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)
