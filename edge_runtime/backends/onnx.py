"""ONNX artifacts on ONNX Runtime's CPU execution provider."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.backends.base import Backend
from edge_runtime.backends.tensor_specs import onnx_tensor_spec, single_input_output
from edge_runtime.errors import BackendUnavailableError, ModelError
from edge_runtime.manifest import Artifact


def _import_ort(path: Path) -> Any:
    try:
        import onnxruntime
    except ImportError:
        # The smallest install (the 'edge' extra) runs TFLite only; ONNX Runtime is its own extra.
        raise BackendUnavailableError(
            f"onnxruntime is not installed, so the ONNX artifact {path.name} cannot run; install "
            "the 'onnx' extra: pip install 'edgetk[onnx]' (or choose a .tflite with --artifact)"
        ) from None
    return onnxruntime


class OnnxBackend(Backend):
    """A ``.onnx`` model; batches when its first input dimension is symbolic."""

    format = "onnx"

    def __init__(self, path: Path, artifact: Artifact, threads: int | None) -> None:
        super().__init__(path, artifact, threads)
        ort = _import_ort(path)
        self._runtime = f"onnxruntime {ort.__version__}"
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or 0  # 0: ONNX Runtime's default (all cores)
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(
                str(path), opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # ORT raises its own exception types, not importable portably
            raise ModelError(
                f"{path} cannot be loaded by ONNX Runtime ({exc}); re-export it"
            ) from None
        inp, out = single_input_output(
            path, self._session.get_inputs(), self._session.get_outputs()
        )
        self._in_name, self._out_name = inp.name, out.name
        self.model_input = onnx_tensor_spec(inp, artifact.input.quantization)
        self.model_output = onnx_tensor_spec(out, artifact.output.quantization)
        self.batchable = self.model_input.shape[0] == -1

    @property
    def runtime(self) -> str:
        return self._runtime

    def metadata_props(self) -> dict[str, str]:
        """The model's ``metadata_props`` (edge_runtime.embedded), from the loaded session."""
        return dict(self._session.get_modelmeta().custom_metadata_map)

    def invoke(self, q: np.ndarray) -> np.ndarray:
        return self._session.run([self._out_name], {self._in_name: q})[0]

    def close(self) -> None:
        self._session = None


__all__ = ["OnnxBackend"]
