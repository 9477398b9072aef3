"""What one export does: which formats, how to calibrate and quantize, how to gate and recover."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

from calibration import CalibrationConfig
from edge_runtime.common.configbase import JsonConfig, check_fields, check_range
from edge_runtime.common.errors import ConfigError
from export.formats import DEFAULT_FORMAT_KEYS, FORMAT_KEYS
from export.thresholds import GateConfig


class OnnxCalibrationMethod(str, Enum):
    MINMAX = "minmax"
    ENTROPY = "entropy"
    PERCENTILE = "percentile"

    @property
    def is_histogram(self) -> bool:
        return self is not OnnxCalibrationMethod.MINMAX


@dataclass(frozen=True)
class OnnxQuantConfig(JsonConfig):
    """ONNX Runtime static int8: QDQ, per-channel weights, calibration method selectable.

    Histogram methods (entropy, percentile) keep every calibrated tensor's values of a chunk in
    memory before binning them: Percentile over 2,000 MobileNetV2 images was killed at 24 GiB
    here. So they see at most ``histogram_max_images`` images (a stratified prefix of the set),
    fed ``chunk_images`` at a time through ORT's strided calibration, which merges histograms
    between chunks.
    """

    method: OnnxCalibrationMethod = OnnxCalibrationMethod.MINMAX
    per_channel: bool = True
    # int8 activations (S8S8) is ORT's QDQ default; uint8 (U8S8) is the other supported choice.
    activation_type: Literal["int8", "uint8"] = "int8"
    opset: int = 17
    histogram_max_images: int = 200
    chunk_images: int = 50
    percentile: float = 99.999

    def validate(self) -> None:
        check_fields(
            self,
            {
                "opset": (13, 21),
                "histogram_max_images": (10, 5000),
                "chunk_images": (1, 1000),
                "percentile": (90.0, 100.0),
            },
        )


@dataclass(frozen=True)
class RecoveryConfig(JsonConfig):
    """Precision recovery: keep the int8 layers with the largest error in float until the
    ``int8_mixed`` gate passes, trying ``steps`` float-layer counts in order."""

    steps: tuple[int, ...] = (1, 2, 3, 5, 8, 12, 16, 24)
    debug_images: int = 64  # images the quantization debugger runs to rank layers
    select_images: int = 4000  # at most this many selection images judge each candidate
    # "debugger": rank by the debugger's local error (rmse/scale); "sensitivity": re-rank its
    # top candidates by the output error left when each alone stays float (one conversion each).
    ranking: Literal["debugger", "sensitivity"] = "sensitivity"
    sensitivity_candidates: int = 32
    sensitivity_images: int = 500

    def validate(self) -> None:
        if (
            not self.steps
            or any(s < 1 for s in self.steps)
            or list(self.steps) != sorted(set(self.steps))
        ):
            raise ConfigError(
                f"recovery steps={list(self.steps)} must be increasing positive layer counts"
            )
        check_fields(
            self,
            {
                "debug_images": (1, 5000),
                "select_images": (10, 100_000),
                "sensitivity_candidates": (1, 1000),
                "sensitivity_images": (10, 100_000),
            },
        )


@dataclass(frozen=True)
class ExportConfig(JsonConfig):
    formats: tuple[str, ...] = DEFAULT_FORMAT_KEYS
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    onnx: OnnxQuantConfig = field(default_factory=OnnxQuantConfig)
    recovery: RecoveryConfig = field(default_factory=RecoveryConfig)
    gate: GateConfig = field(default_factory=GateConfig.default)
    allow_parity_failure: bool = False
    overwrite: bool = False
    batch_size: int = 64  # inference batch for the parity runs
    num_threads: int = 2
    # Average the model over flipped / shifted copies inside the exported graph (export/views.py):
    # "auto" chooses on the validation images, "none" ships the plain model.
    test_time_views: str = "none"
    # Explanation parity (export/explain_parity.py): occlusion maps of each artifact against the
    # Keras model's on this many validation images (0: off), at most this many occlusions each.
    explain_images: int = 16
    explain_max_passes: int = 256  # as edge_runtime.explain (fewer: empty int8 maps, measured)
    # Fail an artifact whose explanation agreement is under its precision's budgets
    # (ParityThresholds.min_explain_*); off: the agreement is reported, not gated.
    gate_explanations: bool = False

    def validate(self) -> None:
        if not self.formats:
            raise ConfigError(f"no export formats chosen; choose from {list(FORMAT_KEYS)}")
        for key in self.formats:
            if key not in FORMAT_KEYS:
                raise ConfigError(f"unknown export format {key!r}; choose from {list(FORMAT_KEYS)}")
        if len(set(self.formats)) != len(self.formats):
            raise ConfigError(f"export formats listed twice: {list(self.formats)}")
        check_range("batch_size", self.batch_size, 1, 4096)
        check_range("num_threads", self.num_threads, 1, 256)
        check_range("explain_images", self.explain_images, 0, 10000)
        check_range("explain_max_passes", self.explain_max_passes, 1, 4096)
        if self.gate_explanations and self.explain_images < 1:
            raise ConfigError(
                "gate_explanations needs explain_images >= 1 (it is 0: no maps to judge); "
                "set explain_images or drop --gate-explanations"
            )
        from export.views import check_choice

        check_choice(self.test_time_views)

    @classmethod
    def default(cls) -> ExportConfig:
        """Every format of the table, default gate."""
        return cls()

    @classmethod
    def quick(cls) -> ExportConfig:
        """Small calibration, lenient gate: smoke runs and tiny models."""
        return cls(calibration=CalibrationConfig.quick(), gate=GateConfig.lenient())
