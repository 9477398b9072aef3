"""Read what an artifact really takes and returns.

The manifest records the tensor specs read back from the converted file (never the ones we
asked the converter for), read by the same functions the device backends use.
"""

from __future__ import annotations

from pathlib import Path

from edge_runtime.backends.tensor_specs import onnx_tensor_spec, tflite_tensor_spec
from edge_runtime.common.errors import ModelError
from edge_runtime.manifest import TensorSpec


def tflite_io_specs(path: str | Path) -> tuple[TensorSpec, TensorSpec]:
    """(input, output) tensor specs of a single-input, single-output TFLite model."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path))
    ins, outs = interp.get_input_details(), interp.get_output_details()
    if len(ins) != 1 or len(outs) != 1:
        raise ModelError(f"{path}: {len(ins)} inputs / {len(outs)} outputs; expected 1 / 1")
    return tflite_tensor_spec(ins[0]), tflite_tensor_spec(outs[0])


def onnx_io_specs(path: str | Path) -> tuple[TensorSpec, TensorSpec]:
    """(input, output) tensor specs of a single-input, single-output ONNX model."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ins, outs = sess.get_inputs(), sess.get_outputs()
    if len(ins) != 1 or len(outs) != 1:
        raise ModelError(f"{path}: {len(ins)} inputs / {len(outs)} outputs; expected 1 / 1")
    return onnx_tensor_spec(ins[0]), onnx_tensor_spec(outs[0])


def io_specs(path: str | Path, fmt: str) -> tuple[TensorSpec, TensorSpec]:
    """Dispatch on the container format (``tflite`` / ``onnx``)."""
    return tflite_io_specs(path) if fmt == "tflite" else onnx_io_specs(path)
