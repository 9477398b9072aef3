"""The one small interface every runtime backend implements, and the manifest-vs-model check."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

import numpy as np

from edge_runtime.errors import ModelError
from edge_runtime.manifest import Artifact, InputSpec, Quantization, TensorSpec
from edge_runtime.quantization import dequantize, quantize

log = logging.getLogger(__name__)


class Backend(ABC):
    """A loaded model: feed real-valued NHWC (or NCHW) batches, get real-valued outputs.

    Input quantization and output dequantization use the manifest's specs, which ``check`` has
    proven equal to the model's own. Not thread-safe: ``Predictor`` serialises calls.
    """

    #: artifact format this backend runs ("tflite" / "onnx")
    format: str = ""

    def __init__(self, path: Path, artifact: Artifact, threads: int | None) -> None:
        self.path = path
        self.artifact = artifact
        self.threads = threads

    # -- what the model file itself declares (filled by subclasses) ---------------------------
    model_input: TensorSpec
    model_output: TensorSpec
    batchable: bool = False

    @property
    @abstractmethod
    def runtime(self) -> str:
        """Name and version of the runtime library, e.g. ``ai-edge-litert 2.3.0``."""

    @abstractmethod
    def invoke(self, q: np.ndarray) -> np.ndarray:
        """Run one batch already in the input tensor's dtype; return the raw output tensor."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the runtime's resources (optional)."""

    # -- shared logic ----------------------------------------------------------------------------
    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        spec = self.artifact.input
        return quantize(x, spec.dtype, spec.quantization)

    def dequantize_output(self, y: np.ndarray) -> np.ndarray:
        if y.dtype.itemsize == 1 and y.dtype.kind in "iu":
            # 8-bit outputs: one lookup in a 256-entry table instead of three array operations.
            return self._output_table()[y.view(np.uint8)]
        return dequantize(y, self.artifact.output.quantization)

    def _output_table(self) -> np.ndarray:
        table = getattr(self, "_out_table", None)
        if table is None:
            dtype = np.dtype(self.artifact.output.dtype)
            codes = np.arange(256, dtype=np.uint8).view(dtype)  # table index = the byte's value
            table = dequantize(codes, self.artifact.output.quantization)
            self._out_table = table
        return table

    def run(self, x: np.ndarray) -> np.ndarray:
        """Real-valued batch ``(N, ...)`` -> real-valued outputs ``(N, classes)``."""
        return self.run_quantized(self.quantize_input(x))

    def run_filled(self, shape: tuple[int, ...], fill: Callable[[np.ndarray], None]) -> np.ndarray:
        """Let ``fill`` write a batch of inputs of ``shape`` (in the input tensor's dtype) into the
        buffer it is given, then run it. Backends that own an input buffer hand theirs over,
        which saves a copy per call; this default allocates one."""
        q = np.empty(shape, dtype=self.artifact.input.dtype)
        fill(q)
        return self.run_quantized(q)

    def run_quantized(self, q: np.ndarray) -> np.ndarray:
        """A batch already in the input tensor's dtype -> real-valued outputs ``(N, classes)``."""
        if self.batchable or len(q) == 1:
            return self.dequantize_output(self.invoke(q))
        return np.concatenate(
            [self.dequantize_output(self.invoke(q[i : i + 1])) for i in range(len(q))]
        )

    def check(self, native: InputSpec) -> None:
        """Raise ModelError listing every way the model file differs from the manifest."""
        problems = _compare("input", self.model_input, self.artifact.input)
        problems += _compare("output", self.model_output, self.artifact.output)
        want = (
            (native.height, native.width, native.channels)
            if native.layout == "NHWC"
            else (native.channels, native.height, native.width)
        )
        have = tuple(self.model_input.shape[1:])
        if len(have) == 3 and any(h not in (-1, w) for h, w in zip(have, want)):
            problems.append(
                f"model input is {list(have)} per image but the manifest's input spec is "
                f"{native.height}x{native.width}x{native.channels} ({native.layout})"
            )
        if problems:
            raise ModelError(
                f"{self.path} does not match its manifest entry: "
                + "; ".join(problems)
                + ". Re-export the bundle, or fix manifest.json to describe this file"
            )


def _same_quant(a: Quantization | None, b: Quantization | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a.scale - b.scale) <= 1e-6 * max(a.scale, b.scale) and a.zero_point == b.zero_point


def _compare(which: str, model: TensorSpec, manifest: TensorSpec) -> list[str]:
    problems = []
    if model.dtype != manifest.dtype:
        problems.append(
            f"{which} dtype is {model.dtype} in the model, {manifest.dtype} in the manifest"
        )
    ms, fs = list(model.shape), list(manifest.shape)
    if len(ms) != len(fs) or any(m != f and -1 not in (m, f) for m, f in zip(ms[1:], fs[1:])):
        problems.append(f"{which} shape is {ms} in the model, {fs} in the manifest")
    if model.dtype in ("int8", "uint8") or model.quantization is not None:
        if not _same_quant(model.quantization, manifest.quantization):
            problems.append(
                f"{which} quantization is {_q(model.quantization)} in the model, "
                f"{_q(manifest.quantization)} in the manifest"
            )
    elif manifest.quantization is not None and model.dtype == "float32":
        problems.append(f"{which} is float32 in the model but the manifest gives it a quantization")
    return problems


def _q(q: Quantization | None) -> str:
    return "none" if q is None else f"scale={q.scale:g}, zero_point={q.zero_point}"


__all__ = ["Backend"]
