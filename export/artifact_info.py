"""Read what an artifact really takes and returns, and what it is made of.

The manifest records the tensor specs read back from the converted file (never the ones we
asked the converter for), and the structural checks (integer tensors, QDQ nodes) use the same
readers.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from edge_runtime.common.errors import ModelError
from edge_runtime.manifest import Quantization, TensorSpec

_ONNX_DTYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(int8)": "int8",
    "tensor(uint8)": "uint8",
}


def _tflite_spec(detail: dict) -> TensorSpec:
    dtype = np.dtype(detail["dtype"]).name
    if dtype not in ("float32", "float16", "int8", "uint8"):
        raise ModelError(f"TFLite tensor {detail['name']!r} has unsupported dtype {dtype}")
    quant = None
    scale, zp = detail["quantization"]
    if dtype in ("int8", "uint8"):
        quant = Quantization(scale=float(scale), zero_point=int(zp))
    shape = detail.get("shape_signature", detail["shape"])
    return TensorSpec(
        name=str(detail["name"]),
        shape=tuple(int(d) for d in shape),
        dtype=dtype,
        quantization=quant,
    )


def tflite_io_specs(path: str | Path) -> tuple[TensorSpec, TensorSpec]:
    """(input, output) tensor specs of a single-input, single-output TFLite model."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path))
    ins, outs = interp.get_input_details(), interp.get_output_details()
    if len(ins) != 1 or len(outs) != 1:
        raise ModelError(f"{path}: {len(ins)} inputs / {len(outs)} outputs; expected 1 / 1")
    return _tflite_spec(ins[0]), _tflite_spec(outs[0])


def tflite_tensor_dtypes(path: str | Path) -> dict[str, int]:
    """How many tensors of each dtype the TFLite model holds (weights and activations)."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path))
    return dict(Counter(np.dtype(t["dtype"]).name for t in interp.get_tensor_details()))


def _onnx_spec(arg) -> TensorSpec:
    dtype = _ONNX_DTYPES.get(arg.type)
    if dtype is None:
        raise ModelError(f"ONNX tensor {arg.name!r} has unsupported type {arg.type}")
    shape = tuple(d if isinstance(d, int) else -1 for d in arg.shape)
    return TensorSpec(name=arg.name, shape=shape, dtype=dtype)


def onnx_io_specs(path: str | Path) -> tuple[TensorSpec, TensorSpec]:
    """(input, output) tensor specs of a single-input, single-output ONNX model."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ins, outs = sess.get_inputs(), sess.get_outputs()
    if len(ins) != 1 or len(outs) != 1:
        raise ModelError(f"{path}: {len(ins)} inputs / {len(outs)} outputs; expected 1 / 1")
    return _onnx_spec(ins[0]), _onnx_spec(outs[0])


def onnx_structure(path: str | Path) -> dict[str, dict[str, int]]:
    """Op-type counts and initializer dtype counts of an ONNX model."""
    import onnx

    m = onnx.load(str(path))
    ops = Counter(n.op_type for n in m.graph.node)
    inits = Counter(
        onnx.helper.tensor_dtype_to_np_dtype(t.data_type).name for t in m.graph.initializer
    )
    return {"ops": dict(ops), "initializers": dict(inits)}


def io_specs(path: str | Path, fmt: str) -> tuple[TensorSpec, TensorSpec]:
    """Dispatch on the container format (``tflite`` / ``onnx``)."""
    return tflite_io_specs(path) if fmt == "tflite" else onnx_io_specs(path)
