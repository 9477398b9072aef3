"""Keras -> TFLite at float32, float16, dynamic-range and full-integer int8.

Keras 3 models convert through a SavedModel with an explicit input signature (batch left free):
converting a traced ``tf.function`` directly leaves Keras' variables unfrozen (READ_VARIABLE ops
that fail in the calibrator). The SavedModel is written once per export and reused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.common.errors import ModelError
from edge_runtime.common.native_stderr import native_stderr_filtered

log = logging.getLogger(__name__)

RepresentativeDataset = Callable[[], Iterator[list[np.ndarray]]]
INPUT_NAME = "pixels"


def write_saved_model(model: Any, out_dir: str | Path, input_shape: tuple[int, int, int]) -> Path:
    """Export ``model`` as a TF SavedModel whose signature takes (None, H, W, C) float32."""
    import tensorflow as tf

    out = Path(out_dir)
    spec = tf.TensorSpec((None, *input_shape), tf.float32, name=INPUT_NAME)
    import keras

    # Trace the inference graph explicitly: Keras 3 augmentation layers (RandomFlip, ...) default
    # to training=True when called without a training flag, so a plain model.export() would bake
    # random ops into the artifact (and the converter rejects them).
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", lambda x: model(x, training=False), input_signature=[spec])
    try:
        archive.write_out(str(out), verbose=False)
    except Exception as exc:  # TF raises many types for untraceable graphs
        raise ModelError(f"cannot trace the model into a SavedModel: {exc}"[:600]) from None
    return out


def make_converter(saved_model_dir: str | Path):
    """A fresh ``TFLiteConverter`` for the SavedModel (converters are stateful: one per model)."""
    import tensorflow as tf

    return tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))


def configure_int8(
    converter: Any, representative_dataset: RepresentativeDataset, io_type: str = "int8"
) -> Any:
    """Full-integer int8: integer kernels only (TFLITE_BUILTINS_INT8), input and output tensors
    of ``io_type``: int8, or uint8 (raw pixels in, as MediaPipe Tasks and many apps feed them)."""
    import tensorflow as tf

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_dataset
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = {"int8": tf.int8, "uint8": tf.uint8}[io_type]
    converter.inference_output_type = converter.inference_input_type
    return converter


def convert_tflite(
    saved_model_dir: str | Path,
    precision: str,
    representative_dataset: RepresentativeDataset | None = None,
    io_type: str = "int8",
) -> bytes:
    """The TFLite flatbuffer of the SavedModel at ``precision`` (fp32, fp16, dynamic, int8;
    ``io_type`` uint8 gives the int8 model uint8 input and output tensors)."""
    import tensorflow as tf

    conv = make_converter(saved_model_dir)
    if precision == "fp32":
        pass
    elif precision == "fp16":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_types = [tf.float16]
    elif precision == "dynamic":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]  # no representative data: dynamic range
    elif precision == "int8":
        if representative_dataset is None:
            raise ModelError("int8 TFLite export needs calibration data (a representative dataset)")
        configure_int8(conv, representative_dataset, io_type)
    else:
        raise ModelError(f"TFLite export has no precision {precision!r}")
    try:
        # The converter's native side prints its quantization settings; kept at DEBUG (-v).
        with native_stderr_filtered():
            return conv.convert()
    except Exception as exc:  # converter errors are many types; name the precision that failed
        raise ModelError(f"TFLite {precision} conversion failed: {exc}"[:800]) from None
