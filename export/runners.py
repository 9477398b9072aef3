"""Run an exported artifact on raw-pixel images: LiteRT for TFLite, ONNX Runtime for ONNX.

The gate uses the same runtimes the device uses (ai-edge-litert's ``Interpreter``, not
TensorFlow's), and quantizes / dequantizes int8 inputs and outputs with the parameters stored in
the artifact itself, exactly as the edge runtime will.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge_runtime.common.errors import ModelError
from edge_runtime.common.native_stderr import native_stderr_filtered
from export.progress import progress


def quantize_input(x: np.ndarray, scale: float, zero_point: int, dtype: np.dtype) -> np.ndarray:
    """real -> integer: round(x / scale) + zero_point, saturated to the dtype's range."""
    info = np.iinfo(dtype)
    q = np.round(np.asarray(x, np.float32) / scale) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """integer -> real: scale * (q - zero_point)."""
    return (q.astype(np.float32) - zero_point) * np.float32(scale)


def predict_tflite(
    model: str | Path | bytes, x: np.ndarray, batch_size: int = 64, num_threads: int = 2
) -> np.ndarray:
    """Float32 outputs of a TFLite model (any precision) for float raw-pixel images ``x``."""
    from ai_edge_litert.interpreter import Interpreter

    try:
        with native_stderr_filtered():  # LiteRT's delegate line: DEBUG (-v)
            if isinstance(model, bytes):
                interp = Interpreter(model_content=model, num_threads=num_threads)
            else:
                interp = Interpreter(model_path=str(model), num_threads=num_threads)
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"LiteRT cannot load the TFLite model: {exc}") from None
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    results = []
    current = None
    starts = range(0, len(x), batch_size)
    for start in progress(starts, len(starts), "LiteRT batches"):
        chunk = np.asarray(x[start : start + batch_size], np.float32)
        if current != len(chunk):
            interp.resize_tensor_input(inp["index"], [len(chunk), *inp["shape"][1:]])
            interp.allocate_tensors()
            current = len(chunk)
        if np.issubdtype(inp["dtype"], np.integer):
            scale, zp = inp["quantization"]
            chunk = quantize_input(chunk, scale, zp, inp["dtype"])
        interp.set_tensor(inp["index"], chunk.astype(inp["dtype"], copy=False))
        interp.invoke()
        y = interp.get_tensor(out["index"])
        if np.issubdtype(out["dtype"], np.integer):
            scale, zp = out["quantization"]
            y = dequantize(y, scale, zp)
        results.append(np.asarray(y, np.float32).copy())
    return np.concatenate(results)


def predict_onnx(
    model: str | Path | bytes, x: np.ndarray, batch_size: int = 64, num_threads: int = 2
) -> np.ndarray:
    """Float32 outputs of an ONNX model for float raw-pixel images ``x`` (ONNX Runtime, CPU)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = num_threads
    opts.log_severity_level = 3
    try:
        src = model if isinstance(model, bytes) else str(model)
        sess = ort.InferenceSession(src, opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own exception types for bad files
        raise ModelError(f"ONNX Runtime cannot load the model: {exc}"[:600]) from None
    name = sess.get_inputs()[0].name
    starts = range(0, len(x), batch_size)
    out = [
        sess.run(None, {name: np.asarray(x[i : i + batch_size], np.float32)})[0]
        for i in progress(starts, len(starts), "ONNX Runtime batches")
    ]
    return np.concatenate(out).astype(np.float32)


def predict_artifact(
    path: str | Path, fmt: str, x: np.ndarray, batch_size: int = 64, num_threads: int = 2
) -> np.ndarray:
    """Dispatch on the container format (``tflite`` / ``onnx``)."""
    if fmt == "tflite":
        return predict_tflite(path, x, batch_size, num_threads)
    if fmt == "onnx":
        return predict_onnx(path, x, batch_size, num_threads)
    raise ModelError(f"no runner for format {fmt!r}; known: tflite, onnx")
