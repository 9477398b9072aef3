"""Affine (de)quantization of tensors as the manifest describes it: real = scale * (q - zero_point)."""

from __future__ import annotations

import numpy as np

from edge_runtime.manifest import Quantization

NUMPY_DTYPES: dict[str, np.dtype] = {
    "float32": np.dtype(np.float32),
    "float16": np.dtype(np.float16),
    "int8": np.dtype(np.int8),
    "uint8": np.dtype(np.uint8),
}


def quantize(x: np.ndarray, dtype: str, quant: Quantization | None) -> np.ndarray:
    """Real-valued ``x`` -> the tensor's ``dtype`` (rounded and saturated for integer types)."""
    target = NUMPY_DTYPES[dtype]
    if target.kind == "f":
        return x.astype(target, copy=False)
    if quant is None:
        raise ValueError(f"an {dtype} tensor needs a scale and zero point")
    info = np.iinfo(target)
    q = np.rint(x * np.float32(1.0 / quant.scale)) + np.float32(quant.zero_point)
    return np.clip(q, info.min, info.max).astype(target)


def dequantize(q: np.ndarray, quant: Quantization | None) -> np.ndarray:
    """The tensor's values -> float32 real values."""
    if quant is None or q.dtype.kind == "f":
        return q.astype(np.float32, copy=False)
    return (q.astype(np.float32) - np.float32(quant.zero_point)) * np.float32(quant.scale)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float32, stable for large logits."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z, dtype=np.float32)
    return e / e.sum(axis=-1, keepdims=True)


__all__ = ["NUMPY_DTYPES", "dequantize", "quantize", "softmax"]
