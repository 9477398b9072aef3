"""A candidate's training files read back as typed data: ``summary.json``, ``metrics.json`` and
``config.json`` of ``<run>/<candidate>/``, and a bundle artifact's parity numbers.

The training stage (``trainer.training.runner``), the classical anchor
(``trainer.training.classical``) and the evaluator (``trainer.evaluation``) write these files as
JSON; the report reads them only through these classes. A field the report needs that is missing
is a :class:`~edge_runtime.common.errors.DataError` naming the file, never a silent "-".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from edge_runtime.common.errors import DataError
from edge_runtime.common.fileio import read_json

SUMMARY_FILE = "summary.json"
METRICS_FILE = "metrics.json"
CONFIG_FILE = "config.json"

R = TypeVar("R")


def load_record(parse: Callable[[Any], R], path: Path, fix: str) -> R | None:
    """``parse(json of path)``; None when the file does not exist. A file that is not JSON, or
    lacks a field ``parse`` needs, raises DataError naming the file and ``fix`` (what to re-run)."""
    if not path.is_file():
        return None
    try:
        data = read_json(path)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path} could not be read as JSON ({exc}); {fix}") from None
    try:
        return parse(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        what = f"no field {exc}" if isinstance(exc, KeyError) else f"{type(exc).__name__}: {exc}"
        raise DataError(f"{path} is not a record this edgetk reads ({what}); {fix}") from None


@dataclass(frozen=True)
class ClassScore:
    name: str
    precision: float
    recall: float
    f1: float
    support: int

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ClassScore:
        return cls(d["name"], d["precision"], d["recall"], d["f1"], d["support"])


@dataclass(frozen=True)
class ConfusedPair:
    true_name: str
    predicted_name: str
    count: int
    share_of_true: float

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ConfusedPair:
        return cls(
            d.get("true_name", str(d.get("true"))),
            d.get("predicted_name", str(d.get("predicted"))),
            d["count"],
            d.get("share_of_true", 0.0),
        )


@dataclass(frozen=True)
class EvalMetrics:
    """``<run>/<candidate>/metrics.json``: the Keras model on the test split."""

    accuracy: float
    macro_f1: float
    n_samples: int
    per_class: tuple[ClassScore, ...]
    weighted_f1: float | None = None
    most_confused: tuple[ConfusedPair, ...] = ()
    collapse_detected: bool = False
    collapse_reasons: tuple[str, ...] = ()

    @property
    def weakest(self) -> ClassScore | None:
        return min(self.per_class, key=lambda c: c.f1) if self.per_class else None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvalMetrics:
        collapse = d.get("collapse") or {}
        return cls(
            accuracy=d["accuracy"],
            macro_f1=d["macro_f1"],
            n_samples=d["n_samples"],
            per_class=tuple(ClassScore.from_dict(c) for c in d["per_class"]),
            weighted_f1=d.get("weighted_f1"),
            most_confused=tuple(ConfusedPair.from_dict(p) for p in d.get("most_confused") or ()),
            collapse_detected=bool(collapse.get("detected")),
            collapse_reasons=tuple(collapse.get("reasons") or ()),
        )

    @classmethod
    def load(cls, stage_dir: Path) -> EvalMetrics | None:
        return load_record(
            cls.from_dict, stage_dir / METRICS_FILE, f"re-run the {stage_dir.name!r} stage"
        )


@dataclass(frozen=True)
class StageSummary:
    """``<run>/<candidate>/summary.json`` of a Keras stage or of the classical anchor."""

    name: str
    kind: str
    accuracy: float | None  # test split, read after the choice
    macro_f1: float | None
    val_accuracy: float | None
    params: int | None
    train_seconds: float | None
    model_file_bytes: int | None = None  # the registered .keras file (Keras kinds)
    epochs_run: int | None = None
    best_epoch: int | None = None
    latency_p50_ms: float | None = None  # single image, Keras (or scikit-learn's predict)
    train_accuracy_curve: float | None = None  # the learning curves' final numbers
    val_accuracy_curve: float | None = None
    diagnosis: str | None = None
    train_count: int | None = None
    registered_path: str | None = None  # models/<name>/v<N>; None when collapsed or classical
    source_model: str | None = None  # a fine-tuned model: the registered model it started from
    collapsed: bool = False
    classical_model: str | None = None  # e.g. logistic_regression

    @property
    def is_classical(self) -> bool:
        return self.kind == "classical"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StageSummary:
        test = d.get("metrics") or {}
        val = d.get("val_metrics") or {}
        lat = d.get("latency") or {}
        curves = d.get("learning_curves") or {}
        return cls(
            name=d["stage"],
            kind=d.get("kind", ""),  # summaries from before kinds were recorded: the caller infers
            accuracy=test.get("accuracy"),
            macro_f1=test.get("macro_f1"),
            val_accuracy=val.get("accuracy"),
            params=d.get("params"),
            train_seconds=d.get("train_seconds"),
            model_file_bytes=d.get("model_file_bytes"),
            epochs_run=d.get("epochs_run"),
            best_epoch=d.get("best_epoch"),
            latency_p50_ms=lat.get("p50_ms", lat.get("median_ms")),
            train_accuracy_curve=curves.get("train_accuracy"),
            val_accuracy_curve=curves.get("val_accuracy"),
            diagnosis=curves.get("diagnosis"),
            train_count=d.get("train_count"),
            registered_path=(d.get("registered") or {}).get("path"),
            source_model=d.get("source_model"),
            collapsed=bool((d.get("collapse") or {}).get("detected")),
            classical_model=d.get("model") if d.get("kind") == "classical" else None,
        )

    @classmethod
    def load(cls, stage_dir: Path) -> StageSummary | None:
        return load_record(
            cls.from_dict, stage_dir / SUMMARY_FILE, f"re-run the {stage_dir.name!r} stage"
        )


@dataclass(frozen=True)
class StageConfigFile:
    """``<run>/<stage>/config.json`` (``RunDir.write_stage_config``): what a stage ran with."""

    seed: int | None = None
    code_version: str | None = None
    augment: dict[str, Any] | None = None  # an AugmentConfig as a dict
    image_size: int | None = None  # the backbone's input size (transfer / fine-tune kinds)
    kind: str | None = None  # StageConfig.stage
    allowed_augment: tuple[str, ...] | None = None  # the data config's --augment
    input_spec: dict[str, Any] | None = None  # the dataset's preprocessing contract
    # What small data changed in the preset (trainer/training/small_data.py): setting, preset,
    # used, why; empty when nothing changed or the stage predates the record.
    small_data: tuple[dict[str, Any], ...] = ()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StageConfigFile:
        c = d["config"]
        allowed = (d.get("data_config") or {}).get("augment")
        return cls(
            seed=c.get("seed"),
            code_version=d.get("code_version"),
            augment=c.get("augment"),
            image_size=c.get("image_size"),
            kind=c.get("stage"),
            allowed_augment=tuple(allowed) if allowed is not None else None,
            input_spec=(d.get("dataset") or {}).get("input_spec"),
            small_data=tuple(d.get("small_data") or ()),
        )

    @classmethod
    def load(cls, stage_dir: Path) -> StageConfigFile | None:
        return load_record(
            cls.from_dict, stage_dir / CONFIG_FILE, f"re-run the {stage_dir.name!r} stage"
        )


@dataclass(frozen=True)
class ArtifactParity:
    """A bundle artifact's parity numbers (``Artifact.parity`` in the manifest)."""

    accuracy: float | None = None
    keras_accuracy: float | None = None
    accuracy_delta: float | None = None
    agreement: float | None = None
    worst_class: str | None = None
    worst_class_f1_delta: float | None = None
    max_abs_diff: float | None = None
    failures: tuple[str, ...] = ()
    # Explanation agreement with the Keras model (export/explain_parity.py), None when not run
    explain_images: int | None = None
    explain_rank_correlation: tuple[float, float, float] | None = None  # q1, median, q3
    explain_top_overlap: tuple[float, float, float] | None = None
    explain_empty_maps: int | None = None
    explain_gate: str | None = None  # "pass" / "fail" with --gate-explanations, else None

    @classmethod
    def of(cls, artifact: Any) -> ArtifactParity:
        """From an :class:`edge_runtime.manifest.Artifact` (an empty parity: not checked)."""
        p = artifact.parity or {}
        return cls(
            accuracy=p.get("accuracy"),
            keras_accuracy=p.get("keras_accuracy"),
            accuracy_delta=p.get("accuracy_delta"),
            agreement=p.get("agreement"),
            worst_class=p.get("worst_class"),
            worst_class_f1_delta=p.get("worst_class_f1_delta"),
            max_abs_diff=p.get("max_abs_diff"),
            failures=tuple(p.get("failures") or ()),
            **_explanations(p.get("explanations")),
        )


def _explanations(e: dict[str, Any] | None) -> dict[str, Any]:
    if not e:
        return {}

    def q(d: dict[str, float]) -> tuple[float, float, float]:
        return (d["q1"], d["median"], d["q3"])

    return {
        "explain_images": e["images"],
        "explain_rank_correlation": q(e["rank_correlation"]),
        "explain_top_overlap": q(e["top_overlap"]),
        "explain_empty_maps": e.get("empty_maps"),
        "explain_gate": e.get("verdict") if e.get("gated") else None,
    }


__all__ = [
    "ArtifactParity",
    "ClassScore",
    "ConfusedPair",
    "StageConfigFile",
    "StageSummary",
    "EvalMetrics",
    "load_record",
]
