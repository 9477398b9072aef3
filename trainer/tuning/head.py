"""The classification head trained on cached backbone features.

It mirrors the head of ``trainer.models.build_transfer`` layer for layer and name for name (BatchNorm
``head_bn``, Dropout ``head_drop``, then ``head_dense<i>`` + ``head_drop<i>``, softmax
``probabilities``), so what the search finds on features is what the transfer stage trains on
images.
"""

from __future__ import annotations

from typing import Any

from trainer.tuning.hyperparameters import HeadHyperparameters


def build_head(
    feature_dim: int, num_classes: int, hps: HeadHyperparameters, seed: int | None = None
) -> Any:
    """A compiled Keras model: features (N x ``feature_dim``) -> class probabilities."""
    import keras

    inputs = keras.Input(shape=(feature_dim,), name="features")
    x = keras.layers.BatchNormalization(name="head_bn")(inputs)
    x = keras.layers.Dropout(hps.dropout, seed=seed, name="head_drop")(x)
    for i, units in enumerate(hps.dense_units, start=1):
        x = keras.layers.Dense(units, activation="relu", name=f"head_dense{i}")(x)
        x = keras.layers.Dropout(hps.dropout, seed=seed, name=f"head_drop{i}")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    model = keras.Model(inputs, outputs, name="head")
    model.compile(
        optimizer=keras.optimizers.Adam(hps.learning_rate),
        # One-hot targets: label smoothing needs them (the sparse loss has no smoothing).
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=hps.label_smoothing),
    )
    return model


def one_hot(y: Any, num_classes: int) -> Any:
    import numpy as np

    return np.eye(num_classes, dtype=np.float32)[np.asarray(y, dtype=np.int64)]
