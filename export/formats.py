"""The one table of export formats: it drives the exporter, the CLI choices and the benchmark.

Each row is one artifact kind (a format at a precision). The CLI offers the row keys, the
exporter dispatches on ``ExportFormat.builder``, the parity gate looks up thresholds by
``precision``, and the benchmark writes one row per entry, so adding a format is one line here
plus its builder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from edge_runtime.common.errors import ConfigError

Builder = Literal["tflite", "tflite_recovered", "onnx", "onnx_int8"]


@dataclass(frozen=True)
class ExportFormat:
    key: str  # "tflite_int8": what users type
    format: Literal["tflite", "onnx"]
    precision: Literal["fp32", "fp16", "dynamic", "int8", "int8_mixed"]
    filename: str  # file name inside the bundle
    builder: Builder
    needs_calibration: bool
    default: bool  # part of the default export
    description: str


FORMATS: tuple[ExportFormat, ...] = (
    ExportFormat("tflite_fp32", "tflite", "fp32", "model_fp32.tflite", "tflite", False, True,
                 "TFLite float32: the reference artifact"),
    ExportFormat("tflite_fp16", "tflite", "fp16", "model_fp16.tflite", "tflite", False, True,
                 "TFLite float16 weights (half the size, float compute)"),
    ExportFormat("tflite_dynamic", "tflite", "dynamic", "model_dynamic.tflite", "tflite", False,
                 True, "TFLite dynamic-range: int8 weights, float activations"),
    ExportFormat("tflite_int8", "tflite", "int8", "model_int8.tflite", "tflite", True, True,
                 "TFLite full-integer int8: int8 input/output, integer kernels only"),
    ExportFormat("tflite_uint8", "tflite", "int8", "model_uint8.tflite", "tflite", True, False,
                 "TFLite full-integer with uint8 input/output: raw pixels in, the interop form "
                 "MediaPipe Tasks takes (docs/outside.md)"),
    ExportFormat("tflite_int8_mixed", "tflite", "int8_mixed", "model_int8_mixed.tflite",
                 "tflite_recovered", True, True,
                 "TFLite int8 with the worst layers kept in float (precision recovery)"),
    ExportFormat("onnx_fp32", "onnx", "fp32", "model_fp32.onnx", "onnx", False, True,
                 "ONNX float32 via tf2onnx"),
    ExportFormat("onnx_int8", "onnx", "int8", "model_int8.onnx", "onnx_int8", True, True,
                 "ONNX Runtime static int8 (QDQ, per-channel weights)"),
)  # fmt: skip

FORMAT_KEYS: tuple[str, ...] = tuple(f.key for f in FORMATS)
DEFAULT_FORMAT_KEYS: tuple[str, ...] = tuple(f.key for f in FORMATS if f.default)
# The order in which an artifact becomes the bundle's default: the smallest that passed its gate.
DEFAULT_ARTIFACT_PREFERENCE: tuple[str, ...] = (
    "tflite_int8",
    "tflite_int8_mixed",
    "tflite_dynamic",
    "tflite_fp16",
    "tflite_fp32",
    "onnx_int8",
    "onnx_fp32",
)


def get_format(key: str) -> ExportFormat:
    """The table row named ``key`` (e.g. ``tflite_int8``)."""
    for f in FORMATS:
        if f.key == key:
            return f
    raise ConfigError(f"unknown export format {key!r}; choose from {list(FORMAT_KEYS)}")


def select_formats(formats: tuple[str, ...], precisions: tuple[str, ...]) -> tuple[str, ...]:
    """Rows whose container is in ``formats`` (tflite, onnx) and precision in ``precisions``."""
    known_f = sorted({f.format for f in FORMATS})
    known_p = sorted({f.precision for f in FORMATS})
    for name in formats:
        if name not in known_f:
            raise ConfigError(f"unknown format {name!r}; choose from {known_f}")
    for name in precisions:
        if name not in known_p:
            raise ConfigError(f"unknown precision {name!r}; choose from {known_p}")
    keys = tuple(f.key for f in FORMATS if f.format in formats and f.precision in precisions)
    if not keys:
        raise ConfigError(
            f"no export format matches formats={list(formats)} precisions={list(precisions)}; "
            f"available: {list(FORMAT_KEYS)}"
        )
    return keys
