"""Precision recovery: find the layers that int8 hurts most and keep them in float.

TFLite's ``QuantizationDebugger`` runs the calibrated model with NumericVerify ops and reports,
per quantized tensor, the error between the float and the dequantized int8 values. Layers are
ranked by RMSE in units of their quantization step (``rmse/scale``: the error the step size
cannot explain), and a selectively quantized model keeps the worst N in float
(``denylisted_nodes``), N growing over ``RecoveryConfig.steps`` until the ``int8_mixed`` gate
passes on the selection images. The strict full-integer artifact is exported separately.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from calibration import CalibrationSet, tflite_representative_dataset
from edge_runtime.common.errors import ModelError
from edge_runtime.common.native_stderr import native_stderr_filtered
from export.config import RecoveryConfig
from export.parity import ParityResult, check_parity
from export.progress import progress
from export.runners import predict_tflite
from export.tflite_export import make_converter
from export.thresholds import ParityThresholds

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LayerError:
    """One quantized tensor's error as the debugger measured it."""

    tensor: str
    op: str
    rmse_over_scale: float
    mean_squared_error: float
    max_abs_error: float
    scale: float
    # Mean |p_int8 - p_keras| on the sensitivity images with only this layer in float, and with
    # none (the strict model): how much of the output error this one layer causes.
    error_alone_float: float | None = None
    error_strict: float | None = None

    def reason(self) -> str:
        local = (
            f"{self.op} output RMSE {self.rmse_over_scale:.3f} quantization steps "
            f"(max abs error {self.max_abs_error:.4g}, scale {self.scale:.4g})"
        )
        if self.error_alone_float is None or self.error_strict is None:
            return local
        return (
            f"keeping it in float alone cuts the mean output error from {self.error_strict:.4f} "
            f"to {self.error_alone_float:.4f}; {local}"
        )


@dataclass(frozen=True)
class RecoveryResult:
    model: bytes | None  # None when the strict int8 model already met the gate
    float_layers: tuple[LayerError, ...]
    ranking: tuple[LayerError, ...]  # every quantized tensor, worst first
    attempts: tuple[dict[str, Any], ...]
    passed: bool
    needed: bool = True
    metric: str = ""

    def to_dict(self, top: int = 15) -> dict[str, Any]:
        return {
            "needed": self.needed,
            "passed_on_selection": self.passed,
            "metric": self.metric,
            "float_layers": [
                {"tensor": e.tensor, "op": e.op, "reason": e.reason()} for e in self.float_layers
            ],
            "attempts": list(self.attempts),
            "ranking_top": [
                {
                    "tensor": e.tensor,
                    "op": e.op,
                    "rmse_over_scale": e.rmse_over_scale,
                    "error_alone_float": e.error_alone_float,
                }
                for e in self.ranking[:top]
            ],
        }


def _parse_dump(text: str) -> list[LayerError]:
    rows = []
    for r in csv.DictReader(io.StringIO(text)):
        scale = float(r["scale"])
        mse = float(r["mean_squared_error"])
        rows.append(
            LayerError(
                tensor=r["tensor_name"],
                op=r["op_name"],
                rmse_over_scale=math.sqrt(mse) / scale if scale > 0 else math.inf,
                mean_squared_error=mse,
                max_abs_error=float(r["max_abs_error"]),
                scale=scale,
            )
        )
    rows.sort(key=lambda e: (-e.rmse_over_scale, e.tensor))
    return rows


def _debugger(saved_model_dir: Path, calib: CalibrationSet, debug_images: int):
    import tensorflow as tf

    conv = make_converter(saved_model_dir)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = tflite_representative_dataset(calib)
    debug = tflite_representative_dataset(calib.head(debug_images))
    return tf.lite.experimental.QuantizationDebugger(converter=conv, debug_dataset=debug)


def rank_layers(saved_model_dir: str | Path, calib: CalibrationSet, debug_images: int = 64):
    """(debugger, layers worst first) for the SavedModel calibrated on ``calib``."""
    try:
        with warnings.catch_warnings(), native_stderr_filtered():
            # The debugger uses TensorFlow's own (deprecated) interpreter internally; its
            # converter prints its settings on the native stderr (DEBUG with -v).
            warnings.simplefilter("ignore", UserWarning)
            dbg = _debugger(Path(saved_model_dir), calib, debug_images)
            dbg.run()
    except Exception as exc:  # the debugger raises many types; say which step failed
        raise ModelError(f"TFLite quantization debugger failed: {exc}"[:800]) from None
    buf = io.StringIO()
    dbg.layer_statistics_dump(buf)
    return dbg, _parse_dump(buf.getvalue())


_DEBUGGER_METRIC = "rmse/scale (RMSE of the dequantized int8 tensor in quantization steps)"
_SENSITIVITY_METRIC = (
    "sensitivity: mean |p_int8 - p_keras| on {n} selection images with only that layer in float "
    "(candidates: the {k} layers with the largest rmse/scale)"
)


def _quantize_with_float(dbg: Any, tensors: list[str]) -> bytes:
    """The selectively quantized model keeping ``tensors`` in float."""
    import tensorflow as tf

    try:
        with warnings.catch_warnings(), native_stderr_filtered():
            warnings.simplefilter("ignore", UserWarning)
            dbg.options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=tensors)
            return dbg.get_nondebug_quantized_model()
    except Exception as exc:  # a denylist the quantizer rejects: report, do not hide
        raise ModelError(
            f"selective quantization with {len(tensors)} float layers failed: {exc}"[:800]
        ) from None


def sensitivity_ranking(
    dbg: Any,
    candidates: list[LayerError],
    x: np.ndarray,
    ref: np.ndarray,
    strict_probs: np.ndarray,
    batch_size: int = 64,
    num_threads: int = 2,
) -> list[LayerError]:
    """Re-rank ``candidates`` by how much keeping each one alone in float brings the outputs
    back to Keras' (one quantization per candidate): a layer's local error says little about
    how far it travels to the output; this measures it."""
    base = float(np.mean(np.abs(strict_probs - ref)))
    scored = []
    for e in progress(candidates, len(candidates), "layer sensitivity"):
        probs = predict_tflite(_quantize_with_float(dbg, [e.tensor]), x, batch_size, num_threads)
        err = float(np.mean(np.abs(probs - ref)))
        scored.append(replace(e, error_alone_float=err, error_strict=base))
    scored.sort(key=lambda e: (e.error_alone_float, -e.rmse_over_scale, e.tensor))
    return scored


def recover_precision(
    saved_model_dir: str | Path,
    calib: CalibrationSet,
    strict_int8_probs: np.ndarray,
    x_select: np.ndarray,
    y_select: np.ndarray,
    ref_select: np.ndarray,
    labels: tuple[str, ...],
    thresholds: ParityThresholds,
    config: RecoveryConfig | None = None,
    batch_size: int = 64,
    num_threads: int = 2,
) -> RecoveryResult:
    """Keep the worst layers in float until ``thresholds`` pass on the selection images.

    ``strict_int8_probs`` are the full-integer model's outputs on ``x_select``: if they already
    pass, nothing needs recovering and no model is returned.
    """
    cfg = config or RecoveryConfig()
    strict = check_parity("strict", "int8", ref_select, strict_int8_probs, y_select, labels,
                          thresholds)  # fmt: skip
    attempts: list[dict[str, Any]] = [_attempt(0, strict)]
    if strict.passed:
        log.info("strict int8 already meets the int8_mixed gate; no precision recovery needed")
        return RecoveryResult(None, (), (), tuple(attempts), True, needed=False, metric="")
    dbg, ranking = rank_layers(saved_model_dir, calib, cfg.debug_images)
    log.info(
        "worst int8 layers: %s",
        ", ".join(f"{e.tensor} ({e.rmse_over_scale:.2f})" for e in ranking[:5]),
    )
    metric = _DEBUGGER_METRIC
    if cfg.ranking == "sensitivity":
        k = min(cfg.sensitivity_candidates, len(ranking))
        n_img = min(cfg.sensitivity_images, len(x_select))
        idx = np.linspace(0, len(x_select) - 1, n_img).astype(int)  # spread over the classes
        head = sensitivity_ranking(dbg, ranking[:k], x_select[idx], ref_select[idx],
                                   strict_int8_probs[idx], batch_size, num_threads)  # fmt: skip
        ranking = head + ranking[k:]
        metric = _SENSITIVITY_METRIC.format(n=n_img, k=k)
    model, chosen, passed = None, (), False
    for n in cfg.steps:
        if n > len(ranking):
            break
        chosen = tuple(ranking[:n])
        model = _quantize_with_float(dbg, [e.tensor for e in chosen])
        probs = predict_tflite(model, x_select, batch_size, num_threads)
        result = check_parity("mixed", "int8_mixed", ref_select, probs, y_select, labels,
                              thresholds)  # fmt: skip
        attempts.append(_attempt(n, result))
        log.info("precision recovery: %d float layer(s) -> %s", n, attempts[-1])
        if result.passed:
            passed = True
            break
    if model is None:
        raise ModelError("precision recovery produced no model (no quantized layers to keep?)")
    return RecoveryResult(model, chosen, tuple(ranking), tuple(attempts), passed, metric=metric)


def _attempt(n: int, r: ParityResult) -> dict[str, Any]:
    m = r.metrics
    return {
        "float_layers": n,
        "accuracy_delta": round(m["accuracy_delta"], 6),
        "worst_class_f1_delta": round(m["worst_class_f1_delta"], 6),
        "agreement": round(m["agreement"], 6),
        "passed": r.passed,
    }
