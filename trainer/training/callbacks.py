"""The monitoring callbacks every stage trains with."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


def make_epoch_timer() -> Any:
    """A callback that records each epoch's wall time (seconds) in ``logs['epoch_seconds']``."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self._t0 = time.perf_counter_ns()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if logs is not None:
                logs["epoch_seconds"] = (time.perf_counter_ns() - self._t0) / 1e9

    return EpochTimer()


def make_callbacks(stage_dir: Path, patience: int, has_validation: bool) -> list[Any]:
    """EarlyStopping (best weights restored), best-epoch ModelCheckpoint, TensorBoard, CSVLogger.

    The monitored quantity is validation accuracy (training accuracy when there is no validation
    split): with label smoothing the loss is a poor stand-in for what we ship on.
    """
    import keras

    monitor = "val_accuracy" if has_validation else "accuracy"
    ckpt = stage_dir / "checkpoints"
    ckpt.mkdir(parents=True, exist_ok=True)
    return [
        make_epoch_timer(),
        keras.callbacks.EarlyStopping(
            monitor=monitor, mode="max", patience=patience, restore_best_weights=True, verbose=1
        ),
        keras.callbacks.ModelCheckpoint(
            str(ckpt / "best.keras"), monitor=monitor, mode="max", save_best_only=True
        ),
        keras.callbacks.TensorBoard(log_dir=str(stage_dir / "tensorboard"), histogram_freq=0),
        keras.callbacks.CSVLogger(str(stage_dir / "history.csv")),
    ]
