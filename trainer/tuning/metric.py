"""The search objective: macro-F1 on the validation set, logged each epoch as ``val_macro_f1``."""

from __future__ import annotations

from typing import Any

import numpy as np

# The project's one macro-F1 (over all classes, scikit-learn's zero_division=0), shared with the
# export gate and `edgetk predict`; re-exported here as the search objective's definition.
from edge_runtime.evaluation import macro_f1

OBJECTIVE = "val_macro_f1"


def _make_callback_class() -> type:
    import keras

    class MacroF1Callback(keras.callbacks.Callback):
        """Predict the validation set at the end of each epoch and add ``val_macro_f1`` to the logs.

        It must come first in the callback list: the logs dict is shared, so the tuner's own
        callbacks (best-epoch checkpoint, trial reporting) and History see the value it adds.
        One exact pass over the whole validation set, not a running average over batches.
        """

        def __init__(self, x_val: np.ndarray, y_val: np.ndarray, num_classes: int, batch_size: int):
            super().__init__()
            self.x_val = x_val
            self.y_val = y_val
            self.num_classes = num_classes
            self.batch_size = batch_size
            self.epochs_run = 0

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            probs = self.model.predict(self.x_val, batch_size=self.batch_size, verbose=0)
            pred = np.argmax(probs, axis=1)
            self.epochs_run += 1
            if logs is not None:
                logs[OBJECTIVE] = macro_f1(self.y_val, pred, self.num_classes)
                logs["val_accuracy"] = float(np.mean(pred == self.y_val))

    return MacroF1Callback


_CALLBACK_CLASS: type | None = None


def macro_f1_callback(
    x_val: np.ndarray, y_val: np.ndarray, num_classes: int, batch_size: int = 1024
):
    """A Keras callback that logs ``val_macro_f1`` (and ``val_accuracy``) after every epoch."""
    global _CALLBACK_CLASS
    if _CALLBACK_CLASS is None:  # defined lazily: importing this module must not import Keras
        _CALLBACK_CLASS = _make_callback_class()
    return _CALLBACK_CLASS(x_val, y_val, num_classes, batch_size)
