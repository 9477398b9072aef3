"""Keras -> ONNX float32 (tf2onnx), then ONNX Runtime static int8 (QDQ, per-channel).

tf2onnx needs an explicit input signature for Keras 3: the model is wrapped in a
``tf.function`` with a (None, H, W, C) float32 signature and converted with ``from_function``.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from calibration import CalibrationSet, ort_calibration_reader
from edge_runtime.common.errors import ModelError
from export.config import OnnxCalibrationMethod, OnnxQuantConfig
from export.tflite_export import INPUT_NAME

log = logging.getLogger(__name__)
OUTPUT_NAME = "probabilities"


def convert_onnx_fp32(model: Any, input_shape: tuple[int, int, int], opset: int = 17) -> bytes:
    """The serialized float32 ONNX model (input ``pixels``, output ``probabilities``)."""
    import tensorflow as tf
    import tf2onnx

    spec = tf.TensorSpec((None, *input_shape), tf.float32, name=INPUT_NAME)

    @tf.function(input_signature=[spec])
    def serve(pixels):
        return {OUTPUT_NAME: model(pixels, training=False)}

    try:
        proto, _ = tf2onnx.convert.from_function(serve, input_signature=[spec], opset=opset)
    except Exception as exc:  # tf2onnx raises many types; name the step that failed
        raise ModelError(f"ONNX conversion (tf2onnx, opset {opset}) failed: {exc}"[:800]) from None
    return proto.SerializeToString()


def _chunk(n: int, wanted: int) -> int:
    """The largest divisor of ``n`` not above ``wanted`` (ORT's strided calibration needs one)."""
    for k in range(min(wanted, n), 0, -1):
        if n % k == 0:
            return k
    return 1


def quantize_onnx_int8(
    fp32_path: str | Path,
    out_path: str | Path,
    calib: CalibrationSet,
    config: OnnxQuantConfig | None = None,
) -> dict[str, Any]:
    """Static int8 quantization of ``fp32_path`` into ``out_path``; returns what was done.

    Runs ONNX Runtime's pre-processing (shape inference, graph optimization) first, as its
    quantization guide asks, then QDQ quantization with int8 activations and weights.
    """
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    cfg = config or OnnxQuantConfig()
    method = {
        OnnxCalibrationMethod.MINMAX: CalibrationMethod.MinMax,
        OnnxCalibrationMethod.ENTROPY: CalibrationMethod.Entropy,
        OnnxCalibrationMethod.PERCENTILE: CalibrationMethod.Percentile,
    }[cfg.method]
    used = calib.head(cfg.histogram_max_images) if cfg.method.is_histogram else calib
    if len(used) < len(calib):
        log.info(
            "%s calibration uses %d of %d images (histogram memory bound)",
            cfg.method.value,
            len(used),
            len(calib),
        )
    chunk = _chunk(len(used), cfg.chunk_images)
    extra: dict[str, Any] = {"CalibStridedMinMax": chunk}
    if cfg.method is OnnxCalibrationMethod.PERCENTILE:
        extra["CalibPercentile"] = cfg.percentile
    with tempfile.TemporaryDirectory(prefix="edgetk-ortq-") as tmp:
        pre = Path(tmp) / "pre.onnx"
        try:
            # Symbolic shape inference needs sympy; the converted graphs have static shapes apart
            # from the batch, which ONNX shape inference handles on its own.
            quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
            reader = ort_calibration_reader(used, INPUT_NAME, batch=1)
            quantize_static(
                str(pre),
                str(out_path),
                calibration_data_reader=reader,
                quant_format=QuantFormat.QDQ,
                per_channel=cfg.per_channel,
                activation_type=(
                    QuantType.QInt8 if cfg.activation_type == "int8" else QuantType.QUInt8
                ),
                weight_type=QuantType.QInt8,
                calibrate_method=method,
                extra_options=extra,
            )
        except Exception as exc:  # ORT raises many types; name the step and the method
            raise ModelError(
                f"ONNX Runtime int8 quantization ({cfg.method.value}) failed: {exc}"[:800]
            ) from None
    return {
        "method": cfg.method.value,
        "format": "QDQ",
        "per_channel": cfg.per_channel,
        "activation_type": cfg.activation_type,
        "weight_type": "int8",
        "pre_process": "quant_pre_process(skip_symbolic_shape=True)",
        "calibration_images": len(used),
        "chunk_images": chunk,
        **(
            {"percentile": cfg.percentile} if cfg.method is OnnxCalibrationMethod.PERCENTILE else {}
        ),
    }
