"""Keras model -> TFLite / ONNX artifacts, quantized, behind an accuracy-parity gate.

The library takes numpy arrays (it never imports the trainer): ``export_bundle(model_path,
out_dir, config, x_calib, y_calib, x_eval, y_eval, labels, ...)`` writes a device bundle whose
``manifest.json`` (``edge_runtime.manifest``) the runtime reads. One table of formats
(``FORMATS``) drives the exporter, the CLI and the benchmark.
"""

from export.bundle import ArtifactResult, ExportResult, export_bundle, load_calibration_from_bundle
from export.config import ExportConfig, OnnxCalibrationMethod, OnnxQuantConfig, RecoveryConfig
from export.formats import (
    DEFAULT_FORMAT_KEYS,
    FORMAT_KEYS,
    FORMATS,
    ExportFormat,
    get_format,
    select_formats,
)
from export.metrics import accuracy, classification_metrics, macro_f1, per_class_f1
from export.parity import ParityResult, check_parity, compare_outputs, judge
from export.thresholds import GateConfig, ParityThresholds

__all__ = [
    "DEFAULT_FORMAT_KEYS",
    "FORMATS",
    "FORMAT_KEYS",
    "ArtifactResult",
    "ExportConfig",
    "ExportFormat",
    "ExportResult",
    "GateConfig",
    "OnnxCalibrationMethod",
    "OnnxQuantConfig",
    "ParityResult",
    "ParityThresholds",
    "RecoveryConfig",
    "accuracy",
    "check_parity",
    "classification_metrics",
    "compare_outputs",
    "export_bundle",
    "get_format",
    "judge",
    "load_calibration_from_bundle",
    "macro_f1",
    "per_class_f1",
    "select_formats",
]
