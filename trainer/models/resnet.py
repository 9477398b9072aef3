"""The native-resolution residual CNN: a small ResNet that works at the dataset's own size.

No upscaling and no pretrained backbone: at 28x28 a ResNet-style net of a few hundred thousand
parameters beats an ImageNet backbone fed upscaled images, at a fraction of the device compute.
Only built-in Keras layers, so it saves as ``.keras``, exports as a SavedModel and converts with
the TFLite converter and tf2onnx; ReLU, Add and global pooling quantize well to int8.
"""

from __future__ import annotations

from typing import Any

from edge_runtime.common.errors import ConfigError
from trainer.models.augment import AugmentConfig, build_augmentation

Blocks = int | tuple[int, ...]


def stage_blocks(widths: tuple[int, ...], blocks_per_stage: Blocks) -> tuple[int, ...]:
    """Blocks per stage as one count per width, checked.

    ``blocks_per_stage`` is one count for every stage or one per stage. The first stage may have
    0 blocks: the stem is then the only layer at full resolution, which on a CPU is where a
    small network spends most of its training time (docs/candidates.md). Later stages need a block
    each, since their first block is what halves the resolution.
    """
    if isinstance(blocks_per_stage, int):
        if blocks_per_stage < 1:
            raise ConfigError(f"blocks_per_stage={blocks_per_stage}; use at least 1")
        return (blocks_per_stage,) * len(widths)
    counts = tuple(blocks_per_stage)
    if len(counts) != len(widths):
        raise ConfigError(
            f"blocks_per_stage={list(counts)} has {len(counts)} entries for "
            f"{len(widths)} widths {list(widths)}; give one count per width, or one number"
        )
    if any(c < 0 for c in counts) or any(c < 1 for c in counts[1:]):
        raise ConfigError(
            f"blocks_per_stage={list(counts)}; the first stage takes 0 or more blocks, "
            "every later stage at least 1"
        )
    return counts


def resnet_params(
    channels: int, num_classes: int, widths: tuple[int, ...], blocks_per_stage: Blocks
) -> int:
    """Parameter count of :func:`build_resnet` without building it (for the candidates file)."""
    counts = stage_blocks(widths, blocks_per_stage)
    total = 9 * channels * widths[0] + 2 * widths[0]  # stem conv + BN (trainable gamma/beta)
    total += 2 * widths[0]  # BN moving statistics
    prev = widths[0]
    for s, w in enumerate(widths):
        for b in range(counts[s]):
            cin = prev if b == 0 else w
            total += 9 * cin * w + 4 * w + 9 * w * w + 4 * w
            if b == 0 and (cin != w or s > 0):  # the projection shortcut of _block
                total += cin * w + 4 * w
        prev = w
    return total + widths[-1] * num_classes + num_classes


def _block(x: Any, width: int, stride: int, bn_momentum: float, name: str) -> Any:
    import keras

    layers = keras.layers
    y = layers.Conv2D(width, 3, stride, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    y = layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn1")(y)
    y = layers.ReLU(name=f"{name}_relu1")(y)
    y = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"{name}_conv2")(y)
    y = layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn2")(y)
    shortcut = x
    if stride != 1 or x.shape[-1] != width:
        # A strided 1x1 projection (ResNet option B): cheap, and int8-friendly unlike zero padding.
        shortcut = layers.Conv2D(width, 1, stride, use_bias=False, name=f"{name}_proj")(x)
        shortcut = layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_proj_bn")(shortcut)
    y = layers.Add(name=f"{name}_add")([y, shortcut])
    return layers.ReLU(name=f"{name}_out")(y)


def build_resnet(
    input_shape: tuple[int, int, int],
    num_classes: int,
    *,
    widths: tuple[int, ...] = (16, 32, 64),
    blocks_per_stage: Blocks = 2,
    dropout: float = 0.0,
    bn_momentum: float = 0.99,
    augment: AugmentConfig | None = None,
    seed: int | None = None,
    name: str = "resnet",
) -> Any:
    """A 3x3 stem, ``len(widths)`` stages of basic residual blocks (``blocks_per_stage``: one count
    for all stages or one per stage; the first block of every stage after the first halves the
    resolution), global average pooling, softmax.

    Input: raw pixels, float32 0..255, NHWC at the dataset's own size; augmentation (training
    only) and scaling to 0..1 are the first layers. With widths 16/32/64 and 2 blocks per stage it
    has about 0.18 M parameters (ResNet-20 is 3 blocks per stage, 0.27 M).
    """
    import keras

    if num_classes < 2:
        raise ConfigError(f"num_classes={num_classes}; a classifier needs at least 2")
    if not widths or any(w < 1 for w in widths):
        raise ConfigError(f"widths={list(widths)}; give one positive width per stage")
    counts = stage_blocks(widths, blocks_per_stage)
    h, w, _ = input_shape
    if min(h, w) < 2 ** (len(widths) - 1):
        raise ConfigError(
            f"input {h}x{w} is too small for {len(widths)} stages; "
            f"use at least {2 ** (len(widths) - 1)} px or fewer widths"
        )
    layers = keras.layers
    inputs = keras.Input(shape=input_shape, name="pixels", dtype="float32")
    x = inputs
    aug = build_augmentation(augment, seed, (h, w)) if augment is not None else None
    if aug is not None:
        x = aug(x)
    x = layers.Rescaling(1.0 / 255.0, name="scale")(x)
    x = layers.Conv2D(widths[0], 3, padding="same", use_bias=False, name="stem_conv")(x)
    x = layers.BatchNormalization(momentum=bn_momentum, name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    for s, width in enumerate(widths, start=1):
        for b in range(1, counts[s - 1] + 1):
            stride = 2 if (s > 1 and b == 1) else 1
            x = _block(x, width, stride, bn_momentum, f"s{s}b{b}")
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    if dropout > 0:
        x = layers.Dropout(dropout, seed=seed, name="head_drop")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)
