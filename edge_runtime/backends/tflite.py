"""TFLite artifacts on ai-edge-litert's interpreter, or tflite-runtime where that is what a device has."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.backends.base import Backend
from edge_runtime.backends.tensor_specs import single_input_output, tflite_tensor_spec
from edge_runtime.common.native_stderr import native_stderr_filtered
from edge_runtime.common.versions import installed_version
from edge_runtime.errors import BackendUnavailableError, ModelError
from edge_runtime.manifest import Artifact

log = logging.getLogger(__name__)


def interpreter_class() -> tuple[Any, str]:
    """The TFLite ``Interpreter`` class and the distribution that provides it."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter, "ai-edge-litert"
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter

        return Interpreter, "tflite-runtime"
    except ImportError:
        raise BackendUnavailableError(
            "no TFLite runtime is installed; install the 'edge' extra "
            "(pip install 'edgetk[edge]', which brings ai-edge-litert) or tflite-runtime"
        ) from None


class TFLiteBackend(Backend):
    """A ``.tflite`` model. Batches by resizing the input tensor when the graph allows it."""

    format = "tflite"

    def __init__(self, path: Path, artifact: Artifact, threads: int | None) -> None:
        super().__init__(path, artifact, threads)
        cls, self._dist = interpreter_class()
        try:
            # LiteRT announces its CPU delegate on stderr each time: kept at DEBUG (-v).
            with native_stderr_filtered():
                self._interp = cls(model_path=str(path), num_threads=threads)
                self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            if "Didn't find op for builtin opcode" in str(exc):
                # e.g. tflite-runtime 2.14 and a dynamic-range model (FULLY_CONNECTED v12)
                raise ModelError(
                    f"{path} needs operators that {self.runtime} does not have; install the "
                    "runtime the 'edge' extra pins (pip install 'edgetk[edge]', ai-edge-litert) "
                    "or choose another artifact with --artifact"
                ) from None
            raise ModelError(
                f"{path} cannot be loaded as a TFLite model ({exc}); re-export it"
            ) from None
        inp, out = single_input_output(
            path, self._interp.get_input_details(), self._interp.get_output_details()
        )
        self._in, self._out = inp["index"], out["index"]
        self._base_shape = [int(d) for d in inp["shape"]]
        self._batch = self._base_shape[0]
        self.model_input, self.model_output = tflite_tensor_spec(inp), tflite_tensor_spec(out)
        self.batchable = True  # until a resize proves otherwise

    @property
    def runtime(self) -> str:
        return f"{self._dist} {installed_version(self._dist) or 'unknown'}"

    def _set_batch(self, n: int) -> bool:
        if n == self._batch:
            return True
        try:
            self._interp.resize_tensor_input(self._in, [n, *self._base_shape[1:]], strict=False)
            self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            log.info(
                "%s cannot run batches of %d (%s); running one image at a time", self.path, n, exc
            )
            self.batchable = False
            self._interp.resize_tensor_input(self._in, self._base_shape, strict=False)
            self._interp.allocate_tensors()
            self._batch = self._base_shape[0]
            return False
        self._batch = n
        return True

    def invoke(self, q: np.ndarray) -> np.ndarray:
        if len(q) != self._batch and not self._set_batch(len(q)):
            return np.concatenate([self.invoke(q[i : i + 1]) for i in range(len(q))])
        interp = self._interp
        interp.set_tensor(self._in, q)
        interp.invoke()
        return interp.get_tensor(self._out)

    def run_filled(self, shape: tuple[int, ...], fill: Callable[[np.ndarray], None]) -> np.ndarray:
        n = shape[0]
        if n != self._batch and not self._set_batch(n):
            return super().run_filled(shape, fill)
        interp = self._interp
        buf = interp.tensor(self._in)()
        if buf.shape != shape:  # e.g. free spatial dimensions: take the generic path
            del buf
            return super().run_filled(shape, fill)
        fill(buf)  # straight into the interpreter's own input buffer: no set_tensor copy
        del buf  # the interpreter refuses to run while a view of its buffers is alive
        interp.invoke()
        return self.dequantize_output(interp.get_tensor(self._out))

    @property
    def interpreter(self) -> Any:
        """The underlying interpreter (benchmarks time a bare ``invoke()`` loop on it)."""
        return self._interp

    def close(self) -> None:
        self._interp = None


__all__ = ["TFLiteBackend", "interpreter_class"]
