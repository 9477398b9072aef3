"""Fine-tuning unfreezes exactly what it says and keeps every BatchNormalization frozen."""

from __future__ import annotations

import math

import pytest

from edge_runtime.common.errors import ConfigError


@pytest.fixture()
def model():
    from trainer import env

    env.prepare()
    from trainer.models import build_transfer

    return build_transfer((16, 16, 1), 3, image_size=32, weights="none", dense_units=(8,))


def _body(model):
    from trainer.models import find_backbone

    return [lyr for lyr in find_backbone(model).layers if lyr.__class__.__name__ != "InputLayer"]


def _all_bn(model):
    import keras

    from trainer.models.freezing import iter_layers

    return [lyr for lyr in iter_layers(model) if isinstance(lyr, keras.layers.BatchNormalization)]


@pytest.mark.parametrize("fraction", [0.25, 1 / 3, 1.0])
def test_unfreeze_fraction(model, fraction: float) -> None:
    from trainer.models import unfreeze_top

    body = _body(model)
    info = unfreeze_top(model, fraction=fraction)
    n = math.ceil(len(body) * fraction)
    assert info["unfrozen_layers"] == n
    start = len(body) - n
    for i, layer in enumerate(body):
        if i < start:
            assert not layer.trainable, f"{layer.name} below the cut must stay frozen"
        elif layer.__class__.__name__ != "BatchNormalization":
            assert layer.trainable, f"{layer.name} above the cut must be trainable"
    bns = _all_bn(model)
    in_backbone = [lyr for lyr in body if lyr.__class__.__name__ == "BatchNormalization"]
    assert len(in_backbone) == 52  # MobileNetV2's own BN layers ...
    assert len(bns) == 52 + 1  # ... plus the head's
    assert all(not bn.trainable for bn in bns)
    assert info["frozen_batchnorm_layers"] == len(bns)
    # Frozen BN variables are not trained: none of their weights is among the trainable ones.
    trainable_ids = {id(w) for w in model.trainable_weights}
    assert not any(id(w) in trainable_ids for bn in bns for w in bn.weights)
    # Only unfrozen backbone layers and the head (minus its BN) train.
    head = [lyr for lyr in model.layers if lyr.name.startswith("head_dense")]
    expected = {id(w) for lyr in body[start:] + head for w in lyr.trainable_weights}
    expected |= {id(w) for w in model.get_layer("probabilities").trainable_weights}
    assert trainable_ids == expected


def test_unfreeze_layer_count(model) -> None:
    from trainer.models import unfreeze_top

    body = _body(model)
    info = unfreeze_top(model, layers=10)
    assert info["unfrozen_layers"] == 10
    assert info["first_unfrozen_layer"] == body[-10].name
    assert not body[-11].trainable


def test_unfreeze_arguments_are_validated(model) -> None:
    from trainer.models import unfreeze_top

    with pytest.raises(ConfigError, match="exactly one of unfreeze_fraction"):
        unfreeze_top(model, fraction=0.5, layers=3)
    with pytest.raises(ConfigError, match=r"unfreeze_fraction=1\.5 must be in \(0, 1\]"):
        unfreeze_top(model, fraction=1.5)
    with pytest.raises(ConfigError, match="unfreeze_layers=100000 must be between 1 and"):
        unfreeze_top(model, layers=100000)
