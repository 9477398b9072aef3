"""Process environment for the training side: where Keras finds its offline cache, quiet logs.

Call :func:`prepare` before the first ``import keras`` / ``import tensorflow``: Keras reads
``KERAS_HOME`` once, at import.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)

_PROJECT_ROOT = Path(__file__).resolve().parents[1]


def shared_keras_home() -> Path | None:
    """The offline cache ``../shared/keras-home`` beside the checkout (or the cwd), if present."""
    for base in (Path.cwd(), _PROJECT_ROOT):
        candidate = (base / ".." / "shared" / "keras-home").resolve()
        if (candidate / "datasets").is_dir():
            return candidate
    return None


def prepare() -> str | None:
    """Point KERAS_HOME at the shared offline cache when the user has not set it; quiet TF logs.

    Returns the KERAS_HOME in effect (None: Keras' default, ``~/.keras``, downloading as needed).
    Never overrides a KERAS_HOME the user chose.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "KERAS_HOME" not in os.environ:
        shared = shared_keras_home()
        if shared is not None:
            os.environ["KERAS_HOME"] = str(shared)
            log.debug("KERAS_HOME -> %s (offline cache)", shared)
    _import_tensorflow_quietly()
    return os.environ.get("KERAS_HOME")


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow and let it probe for devices with its native start-up lines (cuInit
    errors on a machine without a GPU, oneDNN notices) kept at DEBUG instead of the console."""
    if "tensorflow" in sys.modules:
        return
    from edge_runtime.common.native_stderr import native_stderr_filtered

    with native_stderr_filtered():
        import tensorflow as tf

        tf.config.list_physical_devices()
        tf.zeros((1,)).numpy()  # the first op initialises the devices (cuInit)


def keras_home() -> Path:
    """The Keras cache folder in effect (after :func:`prepare`)."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
