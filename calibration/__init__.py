"""Representative data for post-training quantization.

A stratified, seeded draw from the training split, saved with its provenance, and feeders for
the TFLite converter (``representative_dataset``) and ONNX Runtime (``CalibrationDataReader``).
Takes numpy arrays: it never imports the trainer (imports point trainer -> calibration).
"""

from calibration.calibset import CalibrationSet, array_fingerprint, build_calibration_set
from calibration.config import CalibrationConfig
from calibration.feeders import ort_calibration_reader, tflite_representative_dataset
from calibration.sampling import stratified_indices

__all__ = [
    "CalibrationConfig",
    "CalibrationSet",
    "array_fingerprint",
    "build_calibration_set",
    "ort_calibration_reader",
    "stratified_indices",
    "tflite_representative_dataset",
]
