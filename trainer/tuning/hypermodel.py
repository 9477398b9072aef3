"""The KerasTuner hypermodel: a head on cached features, scored by validation macro-F1."""

from __future__ import annotations

from typing import Any

import keras_tuner as kt
import numpy as np

from trainer.tuning.head import build_head
from trainer.tuning.hyperparameters import HeadHyperparameters
from trainer.tuning.metric import OBJECTIVE, macro_f1_callback
from trainer.tuning.space import SearchSpace


class HeadHyperModel(kt.HyperModel):
    """Builds the head for one trial and fits it with the macro-F1 callback first in line.

    ``fit`` takes the validation split as integer labels through ``validation_data`` and does NOT
    hand it to Keras: the callback predicts it once per epoch and logs ``val_macro_f1`` and
    ``val_accuracy``, so the validation set is not evaluated twice.
    """

    def __init__(
        self,
        feature_dim: int,
        num_classes: int,
        space: SearchSpace,
        seed: int | None = None,
        patience: int = 0,
    ) -> None:
        super().__init__(name="edgetk_head", tunable=True)
        self.feature_dim = feature_dim
        self.num_classes = num_classes
        self.space = space
        self.seed = seed
        self.patience = patience
        self.epochs_run = 0  # epochs trained in the current trial (read by the tuner's stats)

    def build(self, hp: Any) -> Any:
        values = self.space.declare(hp)
        return build_head(
            self.feature_dim,
            self.num_classes,
            HeadHyperparameters.from_trial_values(values),
            seed=self.seed,
        )

    def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
        import keras

        x_val, y_val = kwargs.pop("validation_data")
        f1 = macro_f1_callback(x_val, np.asarray(y_val), self.num_classes)
        callbacks = [f1, *kwargs.pop("callbacks", [])]
        if self.patience and "tuner/epochs" not in hp.values:
            # Hyperband decides epochs itself; the others stop a trial that no longer improves.
            callbacks.insert(
                1,
                keras.callbacks.EarlyStopping(
                    monitor=OBJECTIVE,
                    mode="max",
                    patience=self.patience,
                    restore_best_weights=False,
                ),
            )
        try:
            return model.fit(*args, callbacks=callbacks, **kwargs)
        finally:
            self.epochs_run += f1.epochs_run
