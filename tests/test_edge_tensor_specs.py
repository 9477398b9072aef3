"""One reader of tensor specs: the exporter's manifest and the device backends agree."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from edge_runtime.backends import open_backend
from edge_runtime.backends.tensor_specs import (
    onnx_tensor_spec,
    single_input_output,
    tflite_tensor_spec,
)
from edge_runtime.errors import ModelError
from edge_runtime.manifest import Quantization, load_manifest
from export.artifact_info import io_specs
from tests.fixtures.edge_helpers import BUNDLE


def _detail(dtype, scale=0.0, zero_point=0, signature=(-1, 28, 28, 1)):
    return {
        "name": "x",
        "dtype": dtype,
        "shape": np.array([1, 28, 28, 1]),
        "shape_signature": np.array(signature),
        "quantization": (scale, zero_point),
    }


def test_tflite_spec_reads_the_signature_and_keeps_only_real_quantization() -> None:
    spec = tflite_tensor_spec(_detail(np.int8, 0.5, -128))
    assert spec.shape == (-1, 28, 28, 1) and spec.dtype == "int8"
    assert spec.quantization == Quantization(scale=0.5, zero_point=-128)
    # Scale 0 is TFLite's "not quantized": no affine map, not an invalid one.
    assert tflite_tensor_spec(_detail(np.uint8)).quantization is None
    assert tflite_tensor_spec(_detail(np.float32, 0.5)).quantization is None
    assert tflite_tensor_spec(_detail(np.float32, signature=())).shape == (1, 28, 28, 1)
    with pytest.raises(ModelError, match="TFLite tensor 'x' has type int32"):
        tflite_tensor_spec(_detail(np.int32))


def test_onnx_spec_maps_types_and_free_dimensions() -> None:
    q = Quantization(scale=0.1, zero_point=3)
    arg = SimpleNamespace(name="in", type="tensor(int8)", shape=["N", 28, 28, 1])
    assert onnx_tensor_spec(arg, q).shape == (-1, 28, 28, 1)
    assert onnx_tensor_spec(arg, q).quantization == q
    arg = SimpleNamespace(name="in", type="tensor(float)", shape=[None, 10])
    assert (
        onnx_tensor_spec(arg, q).quantization is None and onnx_tensor_spec(arg).dtype == "float32"
    )
    with pytest.raises(ModelError, match="ONNX tensor 'in' has type tensor\\(double\\)"):
        onnx_tensor_spec(SimpleNamespace(name="in", type="tensor(double)", shape=[1]))


@pytest.mark.parametrize(
    "artifact",
    [
        pytest.param(a, id=a.file, marks=[pytest.mark.onnx] if a.format == "onnx" else [])
        for a in load_manifest(BUNDLE).artifacts
    ],
)
def test_exporter_and_backend_read_the_same_specs_from_each_artifact(artifact) -> None:
    exported = io_specs(BUNDLE / artifact.file, artifact.format)
    backend = open_backend(BUNDLE / artifact.file, artifact, threads=1)
    try:
        assert (backend.model_input, backend.model_output) == exported
    finally:
        backend.close()


def test_a_model_with_two_outputs_is_refused_by_name() -> None:
    with pytest.raises(ModelError, match="m.tflite has 1 inputs and 2 outputs; an edgetk"):
        single_input_output("m.tflite", ["x"], ["y", "z"])
    assert single_input_output("m.onnx", ["x"], ["y"]) == ("x", "y")
