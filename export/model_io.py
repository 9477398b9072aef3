"""Load the source Keras model with clear errors, and run it as the parity reference."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.common.errors import ModelError

log = logging.getLogger(__name__)


def load_keras_model(path: str | Path) -> Any:
    """The Keras model at ``path`` (a ``.keras`` file); ModelError if missing or corrupt."""
    p = Path(path)
    if not p.exists():
        raise ModelError(
            f"model file {p} does not exist; pass a .keras file or a registry version folder "
            "(<run_dir>/models/<name>/vN)"
        )
    if p.is_dir():
        raise ModelError(f"{p} is a folder; pass the .keras file inside it or a registry version")
    if p.suffix != ".keras":
        raise ModelError(f"{p} is not a .keras file; export needs a Keras 3 '.keras' model")
    if not zipfile.is_zipfile(p):
        raise ModelError(f"{p} is not a valid .keras archive (corrupt or truncated); re-save it")
    import keras

    try:
        model = keras.models.load_model(p, compile=False)
    except Exception as exc:  # Keras raises many types for a bad archive; report them all alike
        raise ModelError(
            f"cannot load Keras model {p}: {exc.__class__.__name__}: {exc}"[:600]
            + "; re-save the model or pick another registry version"
        ) from None
    return model


def model_input_shape(model: Any) -> tuple[int, int, int]:
    """(height, width, channels) of the model's single NHWC input."""
    inputs = model.inputs
    if len(inputs) != 1:
        raise ModelError(f"model has {len(inputs)} inputs; export supports single-input models")
    shape = tuple(inputs[0].shape)
    if len(shape) != 4 or any(d is None for d in shape[1:]):
        raise ModelError(
            f"model input shape {shape} is not (batch, height, width, channels) with fixed "
            "height, width and channels; export needs the native input size in the graph"
        )
    return int(shape[1]), int(shape[2]), int(shape[3])


def keras_predict(model: Any, x: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """The reference probabilities (float32) for raw-pixel images ``x``."""
    out = model.predict(np.asarray(x, np.float32), batch_size=batch_size, verbose=0)
    out = np.asarray(out, np.float32)
    if out.ndim != 2:
        raise ModelError(f"model output has shape {out.shape}; export expects (batch, classes)")
    return out
