"""Export a Keras model into a device bundle behind the parity gate.

``export_bundle`` is the one library entry point: it draws the calibration set, converts every
requested format of the table, runs each artifact with the device's runtime next to the Keras
model, judges it, and writes the bundle (artifacts, ``labels.txt``, ``manifest.json``,
``parity.md``, the calibration set). Everything is built in a staging folder beside the target
and moved into place at the end, so a bundle is either complete or absent; an existing bundle is
replaced only with ``overwrite``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from calibration import (
    CalibrationSet,
    array_fingerprint,
    build_calibration_set,
    stratified_indices,
    tflite_representative_dataset,
)
from edge_runtime.common.errors import ConfigError, DataError, ModelError, ParityGateError
from edge_runtime.common.fileio import sha256_file, write_bytes, write_json, write_text
from edge_runtime.common.versions import library_versions
from edge_runtime.manifest import Artifact, InputSpec, Manifest, OutputSpec, write_manifest
from export.artifact_info import io_specs
from export.config import ExportConfig
from export.explain_parity import (
    agreement,
    explanation_markdown,
    gate_explanations,
    keras_reference,
)
from export.formats import DEFAULT_ARTIFACT_PREFERENCE, FORMATS, ExportFormat
from export.interop import rgb_arrays, rgb_front, rgb_spec
from export.metadata import build_contract, embed
from export.model_io import keras_predict, load_keras_model, model_input_shape
from export.normalization import normalize_pixels
from export.onnx_export import convert_onnx_fp32, quantize_onnx_int8
from export.parity import ParityResult, check_parity, gate_message
from export.recovery import recover_precision
from export.report import (
    excluded_markdown,
    parity_markdown,
    recovery_markdown,
    significance_markdown,
)
from export.runners import predict_artifact, predict_tflite
from export.tflite_export import convert_tflite, write_saved_model
from export.views import ViewChoice, build_view_model, choose_views, views_markdown

log = logging.getLogger(__name__)

PARITY_NAME = "parity.md"
CONFIG_NAME = "export_config.json"
CALIBRATION_STEM = "calibration/calibration"
# Images on which each artifact must answer as before once its metadata is embedded (up to
# float rounding that a different batch split may bring; a changed graph differs far more).
EMBED_CHECK_IMAGES = 64
EMBED_TOLERANCE = 1e-6


@dataclass(frozen=True)
class ArtifactResult:
    """One exported file: where, how big, how long it took, and its gate outcome."""

    key: str
    artifact: Artifact
    seconds: float
    parity: ParityResult

    @property
    def passed(self) -> bool:
        return self.parity.passed


@dataclass(frozen=True)
class ExportResult:
    bundle_dir: Path
    manifest: Manifest | None  # None only on the result a failed gate carries (no bundle)
    artifacts: tuple[ArtifactResult, ...]
    skipped: dict[str, str] = field(default_factory=dict)  # key -> why no file was written
    parity_md: str = ""
    # Artifacts that failed the gate and were left out of the bundle (their numbers are in the
    # manifest's ``excluded``), and why the default is not the preferred artifact, if it is not.
    excluded: tuple[ArtifactResult, ...] = ()
    default_note: str = ""

    @property
    def failed(self) -> tuple[ArtifactResult, ...]:
        """Every artifact that failed the gate, left out or kept by --allow-parity-failure."""
        return tuple(a for a in self.artifacts if not a.passed)


def _check_target(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"bundle path {out} is a file; choose a folder for the bundle")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ConfigError(
            f"bundle folder {out} already exists and is not empty; pass --overwrite to replace it "
            "or choose another output folder"
        )


def _publish(staging: Path, out: Path, overwrite: bool) -> None:
    """Move the finished staging folder to ``out`` (the old bundle is removed only after)."""
    _check_target(out, overwrite)
    if out.is_dir() and any(out.iterdir()):
        old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(out, old)
        os.replace(staging, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        if out.is_dir():
            out.rmdir()
        os.replace(staging, out)


def _check_arrays(name: str, x: np.ndarray, y: np.ndarray, shape: tuple, k: int) -> None:
    if x.ndim != 4 or tuple(x.shape[1:]) != tuple(shape):
        raise DataError(
            f"{name} images have shape {x.shape}; the model takes (N, {', '.join(map(str, shape))})"
        )
    if len(x) != len(y) or len(x) == 0:
        raise DataError(f"{name}: {len(x)} images but {len(y)} labels (need the same, > 0)")
    if y.min() < 0 or y.max() >= k:
        raise DataError(f"{name} labels span {y.min()}..{y.max()} but there are {k} labels")


def _data_note(y: np.ndarray, source: dict[str, Any], labels: Sequence[str]) -> dict[str, Any]:
    counts = np.bincount(y, minlength=len(labels))
    return {
        **source,
        "images": int(len(y)),
        "per_class_counts": {labels[i]: int(c) for i, c in enumerate(counts)},
        "labels_sha256": array_fingerprint(np.asarray(y, np.int64)),
    }


def _choose_default(
    results: Sequence[ArtifactResult], kept: Sequence[ArtifactResult]
) -> tuple[ArtifactResult, str]:
    """The default artifact among ``kept`` (the first that passed in the preference order, else
    the first kept one) and, when that is not the artifact the order prefers among everything
    exported, a sentence saying why."""
    rank = {key: i for i, key in enumerate(DEFAULT_ARTIFACT_PREFERENCE)}
    order = sorted(range(len(results)), key=lambda i: (rank.get(results[i].key, len(rank)), i))
    preferred = results[order[0]]
    kept_keys = {r.key for r in kept}
    ranked = [results[i] for i in order if results[i].key in kept_keys]
    chosen = next((r for r in ranked if r.passed), ranked[0])
    note = ""
    if chosen.key != preferred.key:
        note = (
            f"{preferred.key} would be the default artifact but failed the parity gate; the "
            f"default is {chosen.key}, the first artifact that passed in the preference order "
            f"({', '.join(DEFAULT_ARTIFACT_PREFERENCE)})"
        )
    elif not chosen.passed:
        note = f"no artifact passed; the default {chosen.key} failed (accepted by the user)"
    return chosen, note


def _excluded_record(r: ArtifactResult) -> dict[str, Any]:
    """What the manifest keeps of an artifact left out of the bundle: its numbers and why."""
    a = r.artifact
    return {
        "key": r.key,
        "file": a.file,
        "format": a.format,
        "precision": a.precision,
        "size_bytes": a.size_bytes,
        "sha256": a.sha256,
        "reason": "; ".join(r.parity.failures),
        "parity": a.parity,
    }


class _Builder:
    """Builds the artifacts of one export in a staging folder, sharing intermediate products
    (SavedModel, float ONNX, strict int8 outputs) between the formats that need them."""

    def __init__(
        self,
        model: Any,
        shape: tuple[int, int, int],
        calib: CalibrationSet,
        cfg: ExportConfig,
        work: Path,
        sel: tuple[np.ndarray, np.ndarray, np.ndarray],
        labels: tuple[str, ...],
    ) -> None:
        self.model, self.shape, self.calib, self.cfg, self.work = model, shape, calib, cfg, work
        self.x_sel, self.y_sel, self.ref_sel = sel
        self.labels = labels
        self._saved_model: Path | None = None
        self._onnx_fp32: Path | None = None
        self._strict_sel: np.ndarray | None = None
        self._int8_bytes: bytes | None = None

    def saved_model(self) -> Path:
        if self._saved_model is None:
            self._saved_model = write_saved_model(self.model, self.work / "saved_model", self.shape)
        return self._saved_model

    def tflite(self, f: ExportFormat, path: Path) -> dict[str, Any]:
        rep = tflite_representative_dataset(self.calib) if f.needs_calibration else None
        io_type = "uint8" if f.key == "tflite_uint8" else "int8"
        data = convert_tflite(self.saved_model(), f.precision, rep, io_type)
        write_bytes(path, data)
        if f.precision == "int8" and io_type == "int8":
            self._int8_bytes = data
        recipe = {"converter": "tf.lite.TFLiteConverter.from_saved_model"}
        recipe |= {
            "fp32": {},
            "fp16": {"optimizations": ["DEFAULT"], "supported_types": ["float16"]},
            "dynamic": {"optimizations": ["DEFAULT"], "representative_dataset": None},
            "int8": {
                "optimizations": ["DEFAULT"],
                "supported_ops": ["TFLITE_BUILTINS_INT8"],
                "inference_input_type": io_type,
                "inference_output_type": io_type,
                "calibration_images": len(self.calib),
            },
        }[f.precision]
        return recipe

    def strict_int8_on_selection(self) -> np.ndarray:
        if self._strict_sel is None:
            if self._int8_bytes is None:
                rep = tflite_representative_dataset(self.calib)
                self._int8_bytes = convert_tflite(self.saved_model(), "int8", rep)
            self._strict_sel = predict_tflite(
                self._int8_bytes, self.x_sel, self.cfg.batch_size, self.cfg.num_threads
            )
        return self._strict_sel

    def recovered(self, f: ExportFormat, path: Path) -> tuple[dict[str, Any], Any]:
        rec = recover_precision(
            self.saved_model(),
            self.calib,
            self.strict_int8_on_selection(),
            self.x_sel,
            self.y_sel,
            self.ref_sel,
            self.labels,
            self.cfg.gate.for_precision(f.precision),
            self.cfg.recovery,
            self.cfg.batch_size,
            self.cfg.num_threads,
        )
        if rec.model is not None:
            write_bytes(path, rec.model)
        recipe = {
            "converter": "tf.lite.experimental.QuantizationDebugger.get_nondebug_quantized_model",
            "optimizations": ["DEFAULT"],
            "denylisted_nodes": [e.tensor for e in rec.float_layers],
            "calibration_images": len(self.calib),
            "debug_images": min(self.cfg.recovery.debug_images, len(self.calib)),
        }
        return recipe, rec

    def onnx_fp32(self, path: Path | None = None) -> Path:
        if self._onnx_fp32 is None or path is not None:
            target = path or self.work / "model_fp32.onnx"
            write_bytes(target, convert_onnx_fp32(self.model, self.shape, self.cfg.onnx.opset))
            self._onnx_fp32 = target
        return self._onnx_fp32

    def onnx_int8(self, path: Path) -> dict[str, Any]:
        info = quantize_onnx_int8(self.onnx_fp32(), path, self.calib, self.cfg.onnx)
        return {"quantizer": "onnxruntime.quantization.quantize_static", **info}


def export_bundle(
    model_path: str | Path,
    out_dir: str | Path,
    config: ExportConfig | None,
    x_calib: np.ndarray,
    y_calib: np.ndarray,
    x_eval: np.ndarray,
    y_eval: np.ndarray,
    labels: Sequence[str],
    *,
    x_select: np.ndarray | None = None,
    y_select: np.ndarray | None = None,
    input_spec: InputSpec | None = None,
    output_kind: str = "probabilities",
    name: str | None = None,
    source_model: dict[str, Any] | None = None,
    calibration_source: dict[str, Any] | None = None,
    parity_source: dict[str, Any] | None = None,
    on_artifact: Callable[[ArtifactResult], None] | None = None,
    view_transforms: Sequence[str] | None = None,
    view_fill: str = "edge",
    rgb_input: bool = False,
) -> ExportResult:
    """Export ``model_path`` (a ``.keras`` file) into the bundle folder ``out_dir``.

    ``x_calib``/``y_calib``: the pool the calibration set is drawn from (the training split);
    ``x_eval``/``y_eval``: the labelled held-out images the gate runs on (the test split);
    ``x_select``/``y_select``: images that pick the number of float layers in precision recovery
    (a validation split; default: the parity images). Images are raw pixels (0..255), NHWC;
    ``input_spec``'s normalization (``value_range`` or ``mean``/``std``) turns them into the values
    the model takes, as the device will. ``config.test_time_views`` "auto" chooses the views on
    ``x_select`` only (none
    without it); ``view_transforms`` names the transforms training used ("flip", "shift"; None:
    both), the only ones a view may apply, ``view_fill`` how shifts fill ("zero" or "edge", as
    training's shifts did). The views chosen are part of every artifact's graph. ``rgb_input``:
    a grey model gets its grey conversion as the graph's first layer (``export.interop``), so
    every artifact takes RGB frames; the gate reads the same images in RGB form.

    An artifact that fails the gate is left out of the bundle and recorded, with its numbers,
    in the manifest's ``excluded`` and in ``parity.md``; the default artifact is the first that
    passed in the preference order. Raises ParityGateError (exit 3) naming every failure only
    when no artifact passed; with ``config.allow_parity_failure`` failed artifacts stay in the
    bundle, marked ``parity_failure_accepted``. The error's ``result`` holds the full results.
    """
    cfg = config or ExportConfig()
    out = Path(out_dir)
    _check_target(out, cfg.overwrite)
    # 1. Check the inputs, build the graph that ships (views included), the Keras references.
    p = _prepare(
        model_path, cfg, x_calib, y_calib, x_eval, y_eval, labels, x_select, y_select,
        input_spec, calibration_source, view_transforms, view_fill, rgb_input,
    )  # fmt: skip
    p = dataclasses.replace(
        p,
        name=name or Path(model_path).stem,
        output=OutputSpec(kind=output_kind, num_classes=p.k),
        provenance=_provenance(model_path, source_model, parity_source),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    work = Path(tempfile.mkdtemp(prefix="edgetk-export-"))
    try:
        calib_file = p.calib.save(staging / CALIBRATION_STEM)
        # 2. Convert every requested format and run it through the gate.
        results, skipped, extra_md = _export_artifacts(p, cfg, staging, work, on_artifact)
        # 3. Keep what passed (or everything, when failures are accepted); pick the default.
        kept, excluded, default, default_note = _keep(results, cfg.allow_parity_failure)
        # 4. The gate's record: the data it read, parity.md.
        parity_data, md = _gate_record(
            p, cfg, results, skipped, excluded, default_note, extra_md, parity_source,
            name or Path(model_path).stem, Path(model_path).name,
        )  # fmt: skip
        if default is None:
            result = ExportResult(out, None, tuple(results), skipped, md)
            err = ParityGateError(gate_message([r.parity for r in results]))
            err.result = result  # type: ignore[attr-defined]
            raise err
        if default_note:
            log.warning("%s", default_note)
        for r in excluded:
            (staging / r.artifact.file).unlink(missing_ok=True)
            log.warning("%s failed the parity gate and is left out of the bundle", r.key)
        # 5. The manifest, the export config and parity.md beside the artifacts; then publish.
        manifest = Manifest(  # the same contract objects every artifact embeds
            name=p.name,
            labels=p.labels,
            input=p.spec,
            output=p.output,
            artifacts=tuple(r.artifact for r in kept),
            default_artifact=default.artifact.file,
            source_model={
                "path": str(model_path),
                "sha256": sha256_file(model_path),
                **(source_model or {}),
                "test_time_views": p.views.to_dict(),
            },
            calibration={
                **p.calib.provenance,
                "file": calib_file.relative_to(staging).as_posix(),
            },
            parity_data=parity_data,
            versions=library_versions(),
            created_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            excluded=tuple(_excluded_record(r) for r in excluded),
        )
        write_manifest(staging, manifest)
        write_json(staging / CONFIG_NAME, cfg.to_dict())  # the recipe of the whole export
        write_text(staging / PARITY_NAME, md)
        result = ExportResult(
            out, manifest, tuple(results), skipped, md, tuple(excluded), default_note
        )
        _publish(staging, out, cfg.overwrite)
        return result
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


@dataclass(frozen=True)
class _Prepared:
    """What every artifact is built from and judged against."""

    model: Any  # the Keras graph that ships: the model with its test-time views
    shape: tuple[int, int, int]
    k: int  # classes
    labels: tuple[str, ...]
    spec: InputSpec
    views: ViewChoice
    calib: CalibrationSet
    x_eval: np.ndarray
    y_eval: np.ndarray
    ref_eval: np.ndarray  # the Keras model's probabilities on the gate images
    x_sel: np.ndarray
    y_sel: np.ndarray
    ref_sel: np.ndarray
    sel_note: str
    explain_ref: Any = None  # export.explain_parity.ExplainReference, or None (off)
    # The rest of the input contract, which the manifest and every artifact's embedded metadata
    # are both written from (export.metadata): name, output meaning, provenance.
    name: str = ""
    output: OutputSpec | None = None
    provenance: dict[str, Any] = field(default_factory=dict)


def _prepare(
    model_path, cfg, x_calib, y_calib, x_eval, y_eval, labels, x_select, y_select,
    input_spec, calibration_source, view_transforms, view_fill, rgb_input=False,
) -> _Prepared:  # fmt: skip
    """Load and check the model and the arrays; choose the views; the Keras references."""
    labels = tuple(str(v) for v in labels)
    model = load_keras_model(model_path)
    if rgb_input:  # the interop form: RGB in, the grey conversion inside the graph
        model = rgb_front(model)
        x_calib, x_eval, x_select = (rgb_arrays(a) for a in (x_calib, x_eval, x_select))
        input_spec = rgb_spec(input_spec) if input_spec is not None else None
    shape = model_input_shape(model)
    k = int(model.outputs[0].shape[-1])
    if k != len(labels):
        raise DataError(f"the model has {k} outputs but {len(labels)} labels were given")
    x_eval, y_eval = np.asarray(x_eval), np.asarray(y_eval, np.int64)
    _check_arrays("parity", x_eval, y_eval, shape, k)
    _check_arrays("calibration", np.asarray(x_calib), np.asarray(y_calib, np.int64), shape, k)
    spec = input_spec or InputSpec(
        height=shape[0], width=shape[1], channels=shape[2], color="grey" if shape[2] == 1 else "rgb"
    )
    if (spec.height, spec.width, spec.channels) != shape:
        raise ConfigError(f"input spec {spec.height}x{spec.width}x{spec.channels} != model {shape}")
    # Raw pixels -> the values the model takes (its input normalization, the contract's): the
    # Keras reference, the calibration set and every artifact's gate run read the same arrays
    # the device's pixel table produces.
    x_eval = normalize_pixels(x_eval, spec)
    x_calib = normalize_pixels(np.asarray(x_calib), spec)
    if x_select is not None:
        x_select = normalize_pixels(np.asarray(x_select), spec)
    views = _views(model, cfg, x_select, y_select, view_transforms, view_fill, shape, k)
    model = build_view_model(model, views.views, views.fill)

    calib = build_calibration_set(x_calib, y_calib, cfg.calibration, calibration_source)
    log.info("Keras reference on %d parity images", len(x_eval))
    ref_eval = keras_predict(model, x_eval, cfg.batch_size)
    if x_select is None or y_select is None:
        x_sel, y_sel, sel_note = x_eval, y_eval, "the parity images (no separate selection set)"
    else:
        x_sel, y_sel = np.asarray(x_select), np.asarray(y_select, np.int64)
        _check_arrays("selection", x_sel, y_sel, shape, k)
        if len(y_sel) > cfg.recovery.select_images:
            idx = stratified_indices(y_sel, cfg.recovery.select_images, cfg.calibration.seed)
            x_sel, y_sel = x_sel[idx], y_sel[idx]
        sel_note = f"{len(y_sel)} separate selection images"
    ref_sel = ref_eval if x_sel is x_eval else keras_predict(model, x_sel, cfg.batch_size)
    explain_ref = keras_reference(
        lambda x: keras_predict(model, x, cfg.batch_size),
        x_sel,
        y_sel,
        cfg.explain_images,
        cfg.calibration.seed,
        cfg.explain_max_passes,
        spec,
    )
    return _Prepared(
        model, shape, k, labels, spec, views, calib,
        x_eval, y_eval, ref_eval, x_sel, y_sel, ref_sel, sel_note, explain_ref,
    )  # fmt: skip


def _export_artifacts(
    p: _Prepared,
    cfg: ExportConfig,
    staging: Path,
    work: Path,
    on_artifact: Callable[[ArtifactResult], None] | None,
) -> tuple[list[ArtifactResult], dict[str, str], list[str]]:
    """Every requested format, converted into ``staging`` and judged: (results, skipped formats
    and why, extra parity.md sections)."""
    b = _Builder(p.model, p.shape, p.calib, cfg, work, (p.x_sel, p.y_sel, p.ref_sel), p.labels)
    results: list[ArtifactResult] = []
    skipped: dict[str, str] = {}
    extra_md: list[str] = []
    for f in (f for f in FORMATS if f.key in cfg.formats):
        path = staging / f.filename
        log.info("exporting %s", f.key)
        t0 = time.perf_counter_ns()
        rec = None
        if f.builder == "tflite":
            recipe = b.tflite(f, path)
        elif f.builder == "tflite_recovered":
            recipe, rec = b.recovered(f, path)
            if rec.model is None:
                skipped[f.key] = "not needed: strict int8 already meets the int8_mixed gate"
                extra_md += recovery_markdown(rec.to_dict())
                continue
        elif f.builder == "onnx":
            b.onnx_fp32(path)
            recipe = {"converter": "tf2onnx.convert.from_function", "opset": cfg.onnx.opset}
        else:
            recipe = b.onnx_int8(path)
        seconds = (time.perf_counter_ns() - t0) / 1e9
        result = _judge(p, cfg, f, path, recipe, rec, seconds)
        if rec is not None:
            extra_md += recovery_markdown(result.artifact.parity["recovery"])
        results.append(result)
        if on_artifact is not None:
            on_artifact(result)
    if not results:
        raise ModelError(f"no artifact was written (skipped: {skipped})")
    return results, skipped, extra_md


def _judge(
    p: _Prepared,
    cfg: ExportConfig,
    f: ExportFormat,
    path: Path,
    recipe: dict[str, Any],
    rec: Any,
    seconds: float,
) -> ArtifactResult:
    """Run the artifact at ``path`` on the gate images with the device's runtime and judge it."""
    probs = predict_artifact(path, f.format, p.x_eval, cfg.batch_size, cfg.num_threads)
    thresholds = cfg.gate.for_precision(f.precision)
    parity = check_parity(f.key, f.precision, p.ref_eval, probs, p.y_eval, p.labels, thresholds,
                          confidence=cfg.gate.confidence)  # fmt: skip
    in_spec, out_spec = io_specs(path, f.format)
    explained = None
    if p.explain_ref is not None:
        explained = agreement(
            p.explain_ref,
            lambda x: predict_artifact(path, f.format, x, cfg.batch_size, cfg.num_threads),
            p.labels,
        )
        if cfg.gate_explanations:  # opt-in: a drifting map fails the artifact like an answer
            parity, explained = gate_explanations(parity, explained, thresholds)
    # The contract goes into the file before it is hashed: the manifest's sha256 and size are
    # those of the final bytes. Embedding touches no tensor; the file must answer as before.
    contract = build_contract(
        name=p.name, labels=p.labels, spec=p.spec, output=p.output, fmt=f.format,
        precision=f.precision, tensor_input=in_spec, tensor_output=out_spec,
        provenance=p.provenance,
        parity={**parity.metrics, "passed": parity.passed, "images": len(p.y_eval)},
    )  # fmt: skip
    embed(path, f.format, contract)
    n = min(EMBED_CHECK_IMAGES, len(p.x_eval))
    again = predict_artifact(path, f.format, p.x_eval[:n], cfg.batch_size, cfg.num_threads)
    if float(np.abs(again - probs[:n]).max()) > EMBED_TOLERANCE:
        raise ModelError(f"{f.key}: embedding the metadata changed the model's outputs")
    pdict = parity.to_dict()
    if rec is not None:
        pdict["recovery"] = rec.to_dict()
    if explained is not None:
        pdict["explanations"] = explained
    artifact = Artifact(
        file=f.filename,
        format=f.format,
        precision=f.precision,
        sha256=sha256_file(path),
        size_bytes=path.stat().st_size,
        input=in_spec,
        output=out_spec,
        parity=pdict,
        parity_passed=parity.passed,
        parity_failure_accepted=(not parity.passed) and cfg.allow_parity_failure,
        float_layers=tuple(e.tensor for e in rec.float_layers) if rec else (),
        notes=f.description,
        recipe=recipe,
    )
    return ArtifactResult(f.key, artifact, seconds, parity)


def _keep(
    results: list[ArtifactResult], allow_failure: bool
) -> tuple[list[ArtifactResult], list[ArtifactResult], ArtifactResult | None, str]:
    """(kept, left out, the default artifact or None, why the default is not the preferred one).

    Bundles keep what passed: a failed artifact is left out (with its numbers in the manifest)
    unless the user accepts failures. Only when nothing passed is the gate shut (default None).
    """
    if allow_failure:
        kept, excluded = list(results), []
    else:
        kept = [r for r in results if r.passed]
        excluded = [r for r in results if not r.passed]
    if not kept:
        return [], [], None, ""  # nothing ships: there is no bundle to leave anything out of
    default, note = _choose_default(results, kept)
    return kept, excluded, default, note


def _gate_record(
    p: _Prepared,
    cfg: ExportConfig,
    results: list[ArtifactResult],
    skipped: dict[str, str],
    excluded: list[ArtifactResult],
    default_note: str,
    extra_md: list[str],
    parity_source: dict[str, Any] | None,
    title: str,
    model_file: str,
) -> tuple[dict[str, Any], str]:
    """The manifest's ``parity_data`` and the text of ``parity.md``."""
    parity_data = _data_note(p.y_eval, parity_source or {}, p.labels)
    parity_data["selection"] = p.sel_note
    if skipped:
        parity_data["skipped"] = dict(skipped)  # requested formats that wrote no file, and why
    if default_note:
        parity_data["default_note"] = default_note
    left_out = {r.key for r in excluded}
    rows = [_row(r, left_out=r.key in left_out) for r in results] + [
        {"key": key, "status": f"skipped ({why})"} for key, why in skipped.items()
    ]
    note = (
        f"Gate data: {len(p.y_eval)} labelled images ({_source_note(parity_source)}); "
        f"reference: the Keras model {model_file}. Deltas are artifact minus "
        f"Keras. Precision recovery chose on {p.sel_note}."
    )
    extra = [
        *extra_md,
        *views_markdown(p.views),
        *explanation_markdown([(r.key, r.artifact.parity.get("explanations")) for r in results]),
    ]
    stats_md = significance_markdown(rows, len(p.y_eval), cfg.gate.confidence)
    md = parity_markdown(
        rows, title, note, stats_md + excluded_markdown(rows, default_note) + extra
    )
    return parity_data, md


def _views(model, cfg, x_select, y_select, transforms, fill, shape, k) -> ViewChoice:
    """The test-time views to build into the graph, chosen on the selection images only."""
    allowed = ("flip", "shift") if transforms is None else tuple(transforms)
    xs = ys = None
    if x_select is not None and y_select is not None:
        xs, ys = np.asarray(x_select), np.asarray(y_select, np.int64)
        _check_arrays("selection", xs, ys, shape, k)
    choice = choose_views(
        lambda x: keras_predict(model, x, cfg.batch_size),
        xs,
        ys,
        cfg.test_time_views,
        allowed,
        fill,
    )
    if cfg.test_time_views != "none":
        log.info("test-time views: %s (%s)", choice.name, choice.reason)
    return choice


def _provenance(
    model_path: str | Path,
    source_model: dict[str, Any] | None,
    parity_source: dict[str, Any] | None,
) -> dict[str, Any]:
    """What every artifact's embedded contract says about where it came from."""
    src = source_model or {}
    dataset = (parity_source or {}).get("dataset") or {}
    return {
        "source_model": {
            "file": Path(model_path).name,
            "sha256": sha256_file(model_path),
            **{k: src[k] for k in ("name", "version", "stage") if k in src},
        },
        "dataset": {k: dataset[k] for k in ("name", "fingerprint_sha256") if k in dataset},
    }


def _source_note(src: dict[str, Any] | None) -> str:
    """A readable line for where the gate images came from."""
    if not src:
        return "caller-provided"
    ds = src.get("dataset") or {}
    text = f"{src.get('split', 'given')} split"
    if ds:
        text += f" of {ds.get('name', '?')}, fingerprint {str(ds.get('fingerprint_sha256'))[:12]}"
    if src.get("subset"):
        text += (
            f", stratified subset of {src['subset'].get('size')} (seed {src['subset'].get('seed')})"
        )
    return text


def _row(r: ArtifactResult, left_out: bool = False) -> dict[str, Any]:
    a = r.artifact
    return {
        "left_out": left_out,
        "key": r.key,
        "format": a.format,
        "precision": a.precision,
        "size_bytes": a.size_bytes,
        "seconds": r.seconds,
        "parity": a.parity,
        "parity_failure_accepted": a.parity_failure_accepted,
    }


def load_calibration_from_bundle(bundle_dir: str | Path) -> CalibrationSet:
    """The calibration set saved in a bundle (to repeat an export exactly)."""
    return CalibrationSet.load(Path(bundle_dir) / CALIBRATION_STEM)
