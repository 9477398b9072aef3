"""Feed a calibration set to the TFLite converter and to ONNX Runtime's static quantizer."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from calibration.calibset import CalibrationSet


def tflite_representative_dataset(
    calib: CalibrationSet | np.ndarray,
) -> Callable[[], Iterator[list[np.ndarray]]]:
    """A ``representative_dataset`` factory: one float32 image (batch of 1) per step.

    Batch 1 because the converter calibrates the model's signature as declared, and a
    per-image feed bounds memory whatever the set size.
    """
    x = calib.as_float32() if isinstance(calib, CalibrationSet) else np.asarray(calib, np.float32)

    def gen() -> Iterator[list[np.ndarray]]:
        for i in range(len(x)):
            yield [x[i : i + 1]]

    return gen


def ort_calibration_reader(calib: CalibrationSet | np.ndarray, input_name: str, batch: int = 1):
    """An ``onnxruntime.quantization.CalibrationDataReader`` over the set (imported lazily)."""
    from onnxruntime.quantization import CalibrationDataReader

    x = calib.as_float32() if isinstance(calib, CalibrationSet) else np.asarray(calib, np.float32)

    class _Reader(CalibrationDataReader):
        # set_range lets ORT calibrate in strides (CalibStridedMinMax), bounding the memory of
        # the intermediate outputs it keeps per stride.
        def __init__(self) -> None:
            self._start, self._end = 0, len(x)
            self._pos = 0

        def get_next(self) -> dict[str, np.ndarray] | None:
            if self._pos >= self._end:
                return None
            chunk = x[self._pos : min(self._pos + batch, self._end)]
            self._pos += batch
            return {input_name: chunk}

        def rewind(self) -> None:
            self._pos = self._start

        def set_range(self, start_index: int, end_index: int) -> None:
            self._start, self._end = start_index * batch, min(end_index * batch, len(x))
            self._pos = self._start

        def __len__(self) -> int:
            return (len(x) + batch - 1) // batch

    return _Reader()
