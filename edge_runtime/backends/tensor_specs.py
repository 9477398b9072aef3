"""What a TFLite or ONNX tensor really is, as a manifest ``TensorSpec``.

The exporter (recording the spec read back from the converted file) and the device backends
(checking it at load) read tensors through these two functions, so the manifest and the runtime
cannot disagree on shapes, dtypes or quantization.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar, get_args

import numpy as np

from edge_runtime.errors import ModelError
from edge_runtime.manifest import Quantization, TensorDType, TensorSpec

T = TypeVar("T")

SUPPORTED_DTYPES: tuple[str, ...] = get_args(TensorDType)

# ONNX Runtime names element types "tensor(<onnx type>)"; onnx's float is numpy's float32.
ONNX_DTYPES: dict[str, str] = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(int8)": "int8",
    "tensor(uint8)": "uint8",
}


def _checked_dtype(dtype: str | None, name: str, fmt: str, raw: object) -> str:
    if dtype not in SUPPORTED_DTYPES:
        raise ModelError(
            f"{fmt} tensor {name!r} has type {raw}; an edgetk artifact's input and output are "
            f"one of {', '.join(SUPPORTED_DTYPES)}: re-export the model"
        )
    return dtype


def single_input_output(path: object, inputs: Sequence[T], outputs: Sequence[T]) -> tuple[T, T]:
    """The one input and the one output of a model file; a clear error for anything else."""
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelError(
            f"{path} has {len(inputs)} inputs and {len(outputs)} outputs; an edgetk classifier "
            "has exactly one of each"
        )
    return inputs[0], outputs[0]


def tflite_tensor_spec(detail: dict[str, Any]) -> TensorSpec:
    """A TFLite interpreter's tensor detail -> spec.

    The shape is ``shape_signature`` (where a free batch dimension shows as -1) when the
    interpreter reports one, else ``shape``. Quantization is kept for integer tensors with a
    positive scale; TFLite reports scale 0 for "not quantized", which is no affine map at all.
    """
    dtype = _checked_dtype(
        np.dtype(detail["dtype"]).name, detail["name"], "TFLite", np.dtype(detail["dtype"])
    )
    signature = detail.get("shape_signature")
    shape = signature if signature is not None and len(signature) else detail["shape"]
    scale, zero_point = detail.get("quantization", (0.0, 0))
    quant = None
    if dtype in ("int8", "uint8") and scale > 0:
        quant = Quantization(scale=float(scale), zero_point=int(zero_point))
    return TensorSpec(
        name=str(detail["name"]),
        shape=tuple(int(d) for d in shape),
        dtype=dtype,  # type: ignore[arg-type]
        quantization=quant,
    )


def onnx_tensor_spec(arg: Any, quantization: Quantization | None = None) -> TensorSpec:
    """An ONNX Runtime ``NodeArg`` -> spec; symbolic or unknown dimensions become -1.

    ONNX graphs keep (de)quantization inside, so an integer tensor's scale is not visible at the
    session level: the caller passes the one it knows (the manifest's), used for integer tensors.
    """
    dtype = _checked_dtype(ONNX_DTYPES.get(arg.type), arg.name, "ONNX", arg.type)
    shape = tuple(d if isinstance(d, int) and d > 0 else -1 for d in arg.shape)
    quant = quantization if dtype in ("int8", "uint8") else None
    return TensorSpec(name=arg.name, shape=shape, dtype=dtype, quantization=quant)  # type: ignore[arg-type]


__all__ = [
    "ONNX_DTYPES",
    "SUPPORTED_DTYPES",
    "onnx_tensor_spec",
    "single_input_output",
    "tflite_tensor_spec",
]
