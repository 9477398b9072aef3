"""Transfer model: raw pixels -> resize -> grey-to-RGB -> preprocess -> pretrained backbone -> head.

Everything between the raw native-size pixels and the backbone is a built-in Keras layer of the
model, so the exported model takes exactly what the dataset holds and training and deployment
cannot disagree about preprocessing. The backbone is one nested model named ``backbone`` so it can
be frozen / unfrozen as a unit (and Grad-CAM can find it).
"""

from __future__ import annotations

from typing import Any

from edge_runtime.common.errors import ConfigError, ModelError
from trainer.models.augment import AugmentConfig, build_augmentation
from trainer.models.backbones import check_alpha, get_backbone_spec
from trainer.models.weights import IMAGENET, build_backbone_with_weights

BACKBONE_LAYER = "backbone"


def build_transfer(
    input_shape: tuple[int, int, int],
    num_classes: int,
    *,
    backbone: str = "mobilenet_v2",
    alpha: float | None = None,
    image_size: int = 96,
    weights: str = IMAGENET,
    dropout: float = 0.3,
    dense_units: tuple[int, ...] = (128,),
    augment: AugmentConfig | None = None,
    seed: int | None = None,
    name: str = "transfer",
) -> Any:
    """A frozen pretrained backbone with a new head (GAP, BatchNorm, Dropout, Dense..., softmax).

    Input: raw pixels, float32 0..255, NHWC at the native ``input_shape`` (e.g. 28x28x1).
    ``weights``: ``"imagenet"`` (Keras cache / download), ``"none"`` or a path to a weights file;
    missing ImageNet weights raise :class:`ModelError` instead of training a random backbone.
    """
    import keras

    spec = get_backbone_spec(backbone)
    alpha = check_alpha(spec, alpha)
    if num_classes < 2:
        raise ConfigError(f"num_classes={num_classes}; a classifier needs at least 2")
    if image_size < 32:
        raise ConfigError(f"image_size={image_size} is too small for {backbone}; use >= 32")
    channels = input_shape[-1]
    if channels not in (1, 3):
        raise ConfigError(
            f"input channels={channels}; the transfer model takes 1 (grey) or 3 (RGB)"
        )

    base = build_backbone_with_weights(spec, alpha, weights)
    base.trainable = False

    inputs = keras.Input(shape=input_shape, name="pixels", dtype="float32")
    x = inputs
    aug = build_augmentation(augment, seed) if augment is not None else None
    if aug is not None:
        x = aug(x)  # at native resolution: cheap
    x = keras.layers.Resizing(image_size, image_size, interpolation="bilinear", name="resize")(x)
    if channels == 1:
        x = keras.layers.Concatenate(axis=-1, name="grey_to_rgb")([x, x, x])
    if spec.rescale is not None:
        scale, offset = spec.rescale
        x = keras.layers.Rescaling(scale, offset=offset, name="preprocess")(x)
    # training=False: the backbone's BatchNorm layers stay in inference mode even when unfrozen.
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.BatchNormalization(name="head_bn")(x)
    x = keras.layers.Dropout(dropout, seed=seed, name="head_drop")(x)
    for i, units in enumerate(dense_units, start=1):
        x = keras.layers.Dense(units, activation="relu", name=f"head_dense{i}")(x)
        x = keras.layers.Dropout(dropout, seed=seed, name=f"head_drop{i}")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


def find_backbone(model: Any) -> Any:
    """The nested backbone model of a transfer / fine-tuned model (the layer named ``backbone``)."""
    for layer in model.layers:
        if layer.name == BACKBONE_LAYER:
            return layer
    raise ModelError(
        f"model {model.name!r} has no nested layer named {BACKBONE_LAYER!r}; it was not built by "
        "trainer.models.build_transfer (a baseline model has no backbone to fine-tune)"
    )
