"""Parity thresholds per precision: what an artifact must keep of the Keras model's behaviour.

Drops are fractions (0.015 = 1.5 accuracy points). ``None`` means "not checked" for that metric.
Float32 is held to near-exact agreement; float16 and dynamic-range to close agreement; int8 is
judged on accuracy drop, the worst per-class F1 drop and top-1 agreement, since its
probabilities legitimately move by a few quantization steps.

Explanation agreement (``export.explain_parity``) has its own two budgets per precision, the
median over the gate's explanation images of the rank correlation and of the top-10 % IoU
between the artifact's occlusion maps and the Keras model's. They are judged only with
``ExportConfig.gate_explanations`` (``--gate-explanations``); by default the agreement is
reported, not gated. A model with random weights scores about 0 on both (tests/test_explain.py).

A threshold is a budget, not a verdict on its own: the gate fails a count-based check (accuracy,
macro-F1, worst-class F1, agreement) only when it is over budget AND the paired test of
``export.significance`` says the loss is real at ``GateConfig.confidence``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edge_runtime.common.configbase import JsonConfig, check_range
from edge_runtime.common.errors import ConfigError

# The default confidence of the gate's paired tests (see GateConfig.confidence).
DEFAULT_CONFIDENCE = 0.99


@dataclass(frozen=True)
class ParityThresholds(JsonConfig):
    max_accuracy_drop: float | None
    max_macro_f1_drop: float | None
    max_class_f1_drop: float | None  # the worst single class
    min_agreement: float | None  # top-1 agreement with the Keras model
    max_prob_diff: float | None = None  # max |p_artifact - p_keras| over all images and classes
    # Explanation agreement, median over the images (judged only with --gate-explanations)
    min_explain_rank_correlation: float | None = None
    min_explain_top_overlap: float | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any], _where: str = "") -> ParityThresholds:
        """As ``JsonConfig.from_dict``, but a missing threshold is named (write null to skip a
        check): a forgotten key must not silently switch a check off."""
        required = ("max_accuracy_drop", "max_macro_f1_drop", "max_class_f1_drop", "min_agreement")
        missing = [k for k in required if isinstance(data, dict) and k not in data]
        if missing:
            where = f" in {_where}" if _where else ""
            raise ConfigError(
                f"parity thresholds{where} miss {missing}; give every field (null: not checked)"
            )
        return super().from_dict(data, _where)

    def validate(self) -> None:
        for name in ("max_accuracy_drop", "max_macro_f1_drop", "max_class_f1_drop"):
            v = getattr(self, name)
            if v is not None:
                check_range(name, v, 0.0, 1.0)
        if self.min_agreement is not None:
            check_range("min_agreement", self.min_agreement, 0.0, 1.0)
        if self.max_prob_diff is not None:
            check_range("max_prob_diff", self.max_prob_diff, 0.0, 1.0)
        for name in ("min_explain_rank_correlation", "min_explain_top_overlap"):
            v = getattr(self, name)
            if v is not None:
                check_range(name, v, -1.0, 1.0)


@dataclass(frozen=True)
class GateConfig(JsonConfig):
    """One :class:`ParityThresholds` per precision (keys of the format table's ``precision``)."""

    # Each precision defaults to the ``default()`` preset's thresholds, so a config file may
    # override only the precisions it cares about.
    fp32: ParityThresholds = field(default_factory=lambda: _DEFAULTS["fp32"])
    fp16: ParityThresholds = field(default_factory=lambda: _DEFAULTS["fp16"])
    dynamic: ParityThresholds = field(default_factory=lambda: _DEFAULTS["dynamic"])
    int8: ParityThresholds = field(default_factory=lambda: _DEFAULTS["int8"])
    int8_mixed: ParityThresholds = field(default_factory=lambda: _DEFAULTS["int8_mixed"])
    # How sure the paired tests must be that an over-budget loss is real before it fails the
    # gate. 99 % per check keeps an artifact's four count-based checks together at about 4 %
    # false failures (Bonferroni), and still fails a broken artifact on 30 images.
    confidence: float = DEFAULT_CONFIDENCE

    def validate(self) -> None:
        check_range("gate confidence", self.confidence, 0.5, 0.9999)

    @property
    def alpha(self) -> float:
        """The significance level of each paired test: 1 - confidence."""
        return 1.0 - self.confidence

    def for_precision(self, precision: str) -> ParityThresholds:
        """The thresholds of ``precision`` (fp32, fp16, dynamic, int8, int8_mixed)."""
        allowed = ("fp32", "fp16", "dynamic", "int8", "int8_mixed")
        if precision not in allowed:
            raise ConfigError(f"no parity thresholds for precision {precision!r}; one of {allowed}")
        return getattr(self, precision)

    @classmethod
    def default(cls) -> GateConfig:
        """The thresholds of the acceptance criteria (int8 <= 1.5 points, recovered <= 0.5)."""
        return cls(**_DEFAULTS)

    @classmethod
    def strict(cls) -> GateConfig:
        """Tighter int8 budgets, for releases: int8 <= 1 point, recovered <= 0.3."""
        d = cls.default()
        return d.replace(  # same confidence: the budgets tighten, not the evidence needed
            int8=ParityThresholds(0.01, 0.01, 0.04, 0.95, None, *_EXPLAIN["strict_int8"]),
            int8_mixed=ParityThresholds(0.003, 0.004, 0.02, 0.97, None, *_EXPLAIN["strict_int8"]),
        )

    @classmethod
    def lenient(cls) -> GateConfig:
        """Loose budgets for tiny or barely trained models (tests, smoke runs)."""
        return cls(
            fp32=ParityThresholds(0.002, 0.002, 0.01, 0.998, 2e-3, *_EXPLAIN["lenient_float"]),
            fp16=ParityThresholds(0.01, 0.01, 0.03, 0.99, 0.2, *_EXPLAIN["lenient_float"]),
            dynamic=ParityThresholds(0.03, 0.03, 0.08, 0.95, None, *_EXPLAIN["lenient_quant"]),
            int8=ParityThresholds(0.05, 0.05, 0.15, 0.90, None, *_EXPLAIN["lenient_quant"]),
            int8_mixed=ParityThresholds(0.02, 0.02, 0.08, 0.90, None, *_EXPLAIN["lenient_quant"]),
        )

    @classmethod
    def preset(cls, name: str) -> GateConfig:
        """A preset by name: default, strict or lenient."""
        presets = {"default": cls.default, "strict": cls.strict, "lenient": cls.lenient}
        if name not in presets:
            raise ConfigError(f"unknown gate preset {name!r}; choose from {sorted(presets)}")
        return presets[name]()


# Explanation budgets (median rank correlation, median top-10 % IoU; --gate-explanations only).
# Measured on the quick bundle's 16 gate images (median [quartiles]): fp32 and ONNX 1.00 [1.00,
# 1.00] on both; int8 0.98 [0.97, 0.99] and 1.00 [0.97, 1.00]. On the test suite's barely trained
# 16x16 models int8 falls to 0.62-0.95 / 0.51-0.86, a random-weights model to about 0. Float
# artifacts must keep nearly the same maps; quantized ones keep most of the ranking.
_EXPLAIN: dict[str, tuple[float, float]] = {
    "float": (0.9, 0.8),
    "quant": (0.6, 0.5),
    "strict_int8": (0.8, 0.7),
    "lenient_float": (0.8, 0.6),
    "lenient_quant": (0.3, 0.3),
}

# The default budgets (fractions): see the module docstring and docs/export.md.
_DEFAULTS: dict[str, ParityThresholds] = {
    "fp32": ParityThresholds(0.001, 0.001, 0.005, 0.999, 1e-3, *_EXPLAIN["float"]),
    "fp16": ParityThresholds(0.003, 0.003, 0.01, 0.995, 0.1, *_EXPLAIN["float"]),
    "dynamic": ParityThresholds(0.01, 0.01, 0.03, 0.98, None, *_EXPLAIN["quant"]),
    "int8": ParityThresholds(0.015, 0.015, 0.05, 0.93, None, *_EXPLAIN["quant"]),
    "int8_mixed": ParityThresholds(0.005, 0.006, 0.03, 0.95, None, *_EXPLAIN["quant"]),
}
