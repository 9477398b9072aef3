"""The frozen-backbone (transfer) stage trained on backbone features computed once.

With the backbone frozen, every epoch of an ordinary ``fit`` pushes each training image through the
whole backbone again, only to train the head behind it. Here the backbone's pooled output (the
model's ``gap`` layer) is computed once per image and cached in the run directory (the same cache
and key as the hyperparameter search, ``<run>/features/<key>/``), and the head's own layers, shared
with the full model, are trained on those vectors in seconds per epoch. The full model, raw pixels
in and probabilities out, is what is evaluated, registered and exported, exactly as before.

What this trades away: augmentation during the frozen stage (one feature vector per image); the
fine-tune stage, which trains through the backbone, keeps its augmentation.
``scripts/transfer_features_benchmark.py`` measures both ways on the same data and seeds.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.common.errors import ModelError

log = logging.getLogger(__name__)

FEATURES_DIR = "features"  # <run>/features/<key>/, shared with the tune stage
FEATURE_LAYER = "gap"


def head_model(model: Any) -> Any:
    """A model from the ``gap`` features to the output, made of ``model``'s own head layers.

    The layers are shared, not copied: training this model trains ``model``'s head.
    """
    import keras

    names = [layer.name for layer in model.layers]
    if FEATURE_LAYER not in names:
        raise ModelError(
            f"model {model.name!r} has no {FEATURE_LAYER!r} layer; only a model built by "
            "trainer.models.build_transfer can train its head on cached features"
        )
    gap = model.get_layer(FEATURE_LAYER)
    inputs = keras.Input(shape=(int(gap.output.shape[-1]),), name="features")
    x = inputs
    for layer in model.layers[names.index(FEATURE_LAYER) + 1 :]:
        x = layer(x)
    return keras.Model(inputs, x, name=f"{model.name}_head")


def stage_features(run_dir: Path, dataset: Any, data_config: Any, config: Any) -> Any:
    """The backbone features of ``dataset``'s splits for the transfer ``config`` (cached)."""
    from trainer.tuning.features import BackboneConfig, cached_features

    backbone = BackboneConfig(
        backbone=config.backbone,
        alpha=config.alpha,
        image_size=config.image_size,
        weights=config.weights,
    )
    return cached_features(Path(run_dir) / FEATURES_DIR, dataset, data_config, backbone)


def fit_head(
    model: Any,
    features: Any,
    config: Any,
    callbacks: list[Any],
    *,
    one_hot: bool,
    compile_fn: Any,
    verbose: int,
) -> tuple[dict[str, list[float]], float]:
    """Train ``model``'s head on ``features`` (a FeatureSet); (Keras history, seconds)."""
    head = head_model(model)
    x_train = np.asarray(features.x_train, dtype=np.float32)
    y_train = np.asarray(features.y_train)
    n_classes = features.num_classes
    steps = int(np.ceil(len(y_train) / config.batch_size))
    compile_fn(head, config, steps)

    def labels(y: np.ndarray) -> np.ndarray:
        return np.eye(n_classes, dtype=np.float32)[y] if one_hot else y.astype(np.int32)

    has_val = len(features.y_val) > 0
    val = (
        (np.asarray(features.x_val, dtype=np.float32), labels(np.asarray(features.y_val)))
        if has_val
        else None
    )
    t0 = time.perf_counter_ns()
    fit = head.fit(
        x_train,
        labels(y_train),
        batch_size=config.batch_size,
        epochs=config.epochs,
        validation_data=val,
        shuffle=True,
        callbacks=callbacks,
        verbose=verbose,
    )
    seconds = (time.perf_counter_ns() - t0) / 1e9
    log.info(
        "%s: head trained on cached features (%d x %d) in %.1f s",
        model.name,
        len(y_train),
        x_train.shape[1],
        seconds,
    )
    return fit.history, seconds


__all__ = ["FEATURES_DIR", "fit_head", "head_model", "stage_features"]
