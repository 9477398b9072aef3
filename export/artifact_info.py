"""Read what an artifact really takes and returns.

The manifest records the tensor specs read back from the converted file (never the ones we
asked the converter for), read by the same functions the device backends use.
"""

from __future__ import annotations

from pathlib import Path

from edge_runtime.backends.tensor_specs import (
    onnx_tensor_spec,
    single_input_output,
    tflite_tensor_spec,
)
from edge_runtime.common.native_stderr import native_stderr_filtered
from edge_runtime.manifest import TensorSpec


def tflite_io_specs(path: str | Path) -> tuple[TensorSpec, TensorSpec]:
    """(input, output) tensor specs of a single-input, single-output TFLite model."""
    from ai_edge_litert.interpreter import Interpreter

    with native_stderr_filtered():  # LiteRT's delegate line: DEBUG (-v)
        interp = Interpreter(model_path=str(path))
    inp, out = single_input_output(path, interp.get_input_details(), interp.get_output_details())
    return tflite_tensor_spec(inp), tflite_tensor_spec(out)


def onnx_io_specs(path: str | Path) -> tuple[TensorSpec, TensorSpec]:
    """(input, output) tensor specs of a single-input, single-output ONNX model."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inp, out = single_input_output(path, sess.get_inputs(), sess.get_outputs())
    return onnx_tensor_spec(inp), onnx_tensor_spec(out)


def io_specs(path: str | Path, fmt: str) -> tuple[TensorSpec, TensorSpec]:
    """Dispatch on the container format (``tflite`` / ``onnx``)."""
    return tflite_io_specs(path) if fmt == "tflite" else onnx_io_specs(path)
