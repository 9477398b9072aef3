"""Unfreezing the top of a backbone for fine-tuning, with every BatchNorm kept frozen."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from edge_runtime.common.errors import ConfigError
from trainer.models.transfer import find_backbone


def _is_batchnorm(layer: Any) -> bool:
    import keras

    return isinstance(layer, keras.layers.BatchNormalization)


def iter_layers(model: Any) -> Iterator[Any]:
    """Every layer of ``model``, depth first, descending into nested models (not ``model`` itself)."""
    for layer in getattr(model, "layers", ()):
        yield layer
        yield from iter_layers(layer)


def freeze_all_batchnorm(model: Any) -> int:
    """Set ``trainable=False`` on every BatchNormalization layer, nested ones too; return the count.

    In Keras 3 a non-trainable BatchNormalization also runs in inference mode: its moving
    statistics, learnt on ImageNet / the frozen stage, are not disturbed by small fine-tune batches.
    """
    count = 0
    for layer in iter_layers(model):
        if _is_batchnorm(layer):
            layer.trainable = False
            count += 1
    return count


def unfreeze_top(
    model: Any, fraction: float | None = None, layers: int | None = None
) -> dict[str, Any]:
    """Make the top ``fraction`` (or the top ``layers`` layers) of the backbone trainable.

    Exactly one of ``fraction`` / ``layers`` is given. Layers are counted in the backbone's order
    (input layer excluded). Everything below stays frozen and every BatchNormalization layer of the
    whole model is frozen. Returns what was done, for the stage record.
    """
    if (fraction is None) == (layers is None):
        raise ConfigError(
            f"give exactly one of unfreeze_fraction ({fraction!r}) and unfreeze_layers ({layers!r})"
        )
    backbone = find_backbone(model)
    body = [layer for layer in backbone.layers if layer.__class__.__name__ != "InputLayer"]
    if fraction is not None:
        if not 0.0 < fraction <= 1.0:
            raise ConfigError(f"unfreeze_fraction={fraction!r} must be in (0, 1]")
        n = math.ceil(len(body) * fraction)
    else:
        if layers is None or not 1 <= layers <= len(body):
            raise ConfigError(
                f"unfreeze_layers={layers!r} must be between 1 and the backbone's {len(body)} layers"
            )
        n = layers
    start = len(body) - n
    backbone.trainable = True
    for i, layer in enumerate(body):
        layer.trainable = i >= start
    frozen_bn = freeze_all_batchnorm(model)
    trainable = sum(int(math.prod(w.shape)) for w in model.trainable_weights)
    return {
        "backbone_layers": len(body),
        "unfrozen_layers": n,
        "first_unfrozen_layer": body[start].name,
        "frozen_batchnorm_layers": frozen_bn,
        "trainable_params": trainable,
    }
