"""``edgetk export``: a registered (or plain ``.keras``) model -> a device bundle behind the gate.

It lives in the trainer layer because it composes the trainer and the export library: it reads
the registry metadata, reloads the exact dataset with the trainer's loader (training split for calibration, its validation holdout
for precision-recovery selection, test split for the parity gate) and calls
``export.export_bundle``. The export library itself never imports the trainer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from edge_runtime.cli_options import (
    CommaList,
    artifacts_option,
    choice_option,
    data_dir_option,
    deprecated_option,
    out_dir_option,
    path_option,
)
from edge_runtime.common.errors import ConfigError, DataError, ModelError, ParityGateError
from export.formats import DEFAULT_FORMAT_KEYS, FORMAT_KEYS, FORMATS
from trainer.cli_options import data_source_option, image_polarity_option

# The choices come from the one table of formats (light to import: no TensorFlow).
_FORMAT_CHOICES = tuple(dict.fromkeys(f.format for f in FORMATS))
_PRECISION_CHOICES = tuple(dict.fromkeys(f.precision for f in FORMATS))


def resolve_model(model: Path) -> tuple[Path, dict[str, Any]]:
    """(the .keras file, the registry metadata or {}) for a version folder, a model folder
    (latest version) or a plain .keras file."""
    if not model.exists():
        raise ModelError(
            f"model {model} does not exist; pass a registry version folder "
            "(<run_dir>/models/<name>/vN), a model folder (latest version) or a .keras file"
        )
    if (
        model.is_file()
        and model.name == "model.keras"
        and (model.parent / "metadata.json").exists()
    ):
        model = model.parent  # the model file of a registry version: use its metadata too
    if model.is_dir():
        versions = sorted(
            (p for p in model.glob("v*") if p.is_dir() and p.name[1:].isdigit()),
            key=lambda p: int(p.name[1:]),
        )
        folder = model if (model / "model.keras").exists() else (versions[-1] if versions else None)
        if folder is None or not (folder / "model.keras").exists():
            raise ModelError(f"{model} holds no model.keras and no registry versions (v1, v2, ...)")
        meta_path = folder / "metadata.json"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(
                f"{meta_path} is missing; the registry version is incomplete"
            ) from None
        except (OSError, ValueError) as exc:
            raise ModelError(f"{meta_path} is unreadable ({exc}); re-register the model") from None
        return folder / "model.keras", meta
    return model, {}


def _labels(path: Path | None, meta: dict[str, Any], dataset_names: tuple[str, ...]) -> tuple:
    if path is not None:
        try:
            names = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
        except OSError as exc:
            raise ConfigError(f"cannot read --labels {path}: {exc}") from None
        names = [n for n in names if n]
        if not names:
            raise ConfigError(f"--labels {path} holds no labels (one per line expected)")
        return tuple(names)
    return tuple(meta.get("labels") or dataset_names)


# The fields of the preprocessing contract (edge_runtime.manifest.InputSpec) a run may record.
_SPEC_KEYS = (
    "height", "width", "channels", "layout", "color", "value_range", "polarity", "resize",
    "mean", "std",
)  # fmt: skip


def recorded_input_spec(meta: dict[str, Any]) -> dict[str, Any] | None:
    """The preprocessing contract a training run recorded, or None.

    Read tolerantly from every place a version of the trainer writes it: the registry
    metadata's ``input_spec``, the data config's ``input_spec``, or the older ``input``.
    """
    data_cfg = meta.get("data_config") if isinstance(meta.get("data_config"), dict) else {}
    for found in (meta.get("input_spec"), data_cfg.get("input_spec"), meta.get("input")):
        if isinstance(found, dict) and found:
            return {k: v for k, v in found.items() if k in _SPEC_KEYS}
    return None


def _dataset_contract(ds: Any, x_train: Any) -> tuple[dict[str, Any], str]:
    """The contract the trainer's loader chose for ``ds`` and where its polarity came from.

    A loader that predates the contract gets one here, its polarity detected from the training
    images with the trainer's own rule (``trainer.data.contract.detect_polarity``)."""
    from edge_runtime.polarity import looks_dark_on_light
    from edge_runtime.preprocess import to_grey
    from trainer.data.contract import detect_polarity, make_input_spec

    evidence = (getattr(ds, "extra", None) or {}).get("polarity_evidence") or {}
    own = ds.spec() if getattr(ds, "input_spec", None) is not None else None
    if own is not None:
        if getattr(ds, "name", "") == "fashion_mnist" and not evidence:
            return own, "Fashion-MNIST's own (light garments on black)"
        if evidence.get("set_by"):
            return own, f"set by {evidence['set_by']}"
        if "images" in evidence:
            share = 100 * float(evidence.get("dark_on_light_share", 0.0))
            return own, (
                f"detected from {evidence['images']} training images, {share:.1f} % dark-on-light"
            )
        return own, "the dataset's contract"
    h, w, c = (int(v) for v in ds.x_train.shape[1:])
    flags = (looks_dark_on_light(im[..., 0] if c == 1 else to_grey(im)) for im in x_train)
    polarity, ev = detect_polarity(flags)
    return make_input_spec(h, w, c, polarity), f"detected from {ev['images']} training images"


def resolve_input_spec(
    meta: dict[str, Any], ds: Any, x_train: Any, polarity: str | None = None
) -> tuple[Any, str]:
    """The manifest's input contract for an export, and a phrase saying where its polarity came
    from. Precedence: ``--image-polarity``; the contract the training run recorded (registry
    models); the dataset's own contract (its polarity set by the data config or detected from the
    training images by the loader). A plain ``.keras`` model of other data therefore never
    inherits Fashion-MNIST's polarity."""
    from edge_runtime.manifest import InputSpec

    recorded = recorded_input_spec(meta)
    own, origin = _dataset_contract(ds, x_train)
    spec = dict(own)
    if recorded:
        spec |= recorded
        if recorded.get("polarity"):
            origin = "recorded by the training run"
    if polarity is not None:
        spec["polarity"], origin = polarity, "--image-polarity"
    return InputSpec.from_dict({k: v for k, v in spec.items() if k in _SPEC_KEYS}), origin


@click.command("export")
@click.argument("model", type=click.Path(path_type=Path))
@out_dir_option(
    "The bundle folder to write.",
    show_default="<run_dir>/export/<name>-vN, or <model>_bundle",
)
@artifacts_option(
    f"Artifacts to export, comma-separated: {', '.join(FORMAT_KEYS)}.",
    choices=FORMAT_KEYS,
    show_default="all, or the --config file's",
)
@deprecated_option("--formats", "--artifacts", dest=None, type=CommaList(choices=_FORMAT_CHOICES))
@deprecated_option(
    "--precisions", "--artifacts", dest=None, type=CommaList(choices=_PRECISION_CHOICES)
)
@click.option(
    "--calib-size",
    type=int,
    default=None,
    show_default="300, or the --config file's",
    help="Calibration images (clamped, with a warning, to the training split).",
)
@click.option(
    "--calib-seed",
    type=int,
    default=None,
    show_default="the --config file's",
    help="Calibration sampling seed.",
)
@choice_option(
    "--test-time-views",
    choices=["auto", "none", "flip", "shift", "flip_shift"],
    show_default="none, or the --config file's",
    help="Average the model over flipped / shifted copies inside the exported graph: auto "
    "chooses on the validation split.",
)
@choice_option(
    "--onnx-calibration",
    choices=["minmax", "entropy", "percentile"],
    show_default="minmax, or the --config file's",
    help="ONNX Runtime calibration method.",
)
@choice_option(
    "--gate",
    "gate",
    choices=["default", "strict", "lenient"],
    show_default="default, or the --config file's thresholds",
    help="Parity threshold preset.",
)
@click.option(
    "--parity-size",
    type=int,
    default=None,
    show_default="the whole test split",
    help="Judge on a stratified subset of the test split, in images.",
)
@path_option(
    "--config",
    "config_path",
    help="An ExportConfig JSON file (options given here override it).",
)
@path_option(
    "--labels",
    "labels_path",
    help="Class names, one per line (plain .keras models without a registry).",
)
@data_dir_option(
    "IDX folder or image folder for plain .keras models.",
    show_default="Fashion-MNIST, from the Keras cache",
)
@data_source_option("What --data-dir holds.", default="idx when --data-dir is given")
@image_polarity_option(
    help="What the training images look like, for the manifest.",
    default="the run's recorded contract, else detected from the training images",
)
@click.option(
    "--input-normalization",
    default=None,
    metavar="SPEC",
    show_default="the run's recorded contract, else read from the model's leading layer",
    help="What pixel values the model takes: 0..255, 0..1, -1..1, or per-channel "
    "mean=M,M,M/std=S,S,S in pixel units (value = (pixel - mean) / std). Needed for a model "
    "brought from outside without a leading Rescaling / Normalization layer.",
)
@click.option(
    "--rgb-input",
    is_flag=True,
    help="Put a grey model's grey conversion inside the graph so that every artifact takes RGB "
    "frames (MediaPipe Tasks needs 3 channels; with --artifacts tflite_uint8 its ImageClassifier "
    "loads the result).",
)
@click.option(
    "--allow-parity-failure",
    is_flag=True,
    help="Write the bundle even if the gate fails (recorded in the manifest).",
)
@click.option(
    "--gate-explanations",
    is_flag=True,
    help="Fail an artifact whose occlusion maps drift from the Keras model's (budgets: the "
    "gate preset); without it explanation agreement is reported, not gated.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing bundle folder.")
def export(
    model: Path,
    out_dir: Path | None,
    artifacts: tuple[str, ...] | None,
    formats: tuple[str, ...] | None,
    precisions: tuple[str, ...] | None,
    calib_size: int | None,
    calib_seed: int | None,
    test_time_views: str | None,
    onnx_calibration: str | None,
    gate: str | None,
    parity_size: int | None,
    config_path: Path | None,
    labels_path: Path | None,
    data_dir: Path | None,
    data_source: str | None,
    image_polarity: str | None,
    input_normalization: str | None,
    rgb_input: bool,
    allow_parity_failure: bool,
    gate_explanations: bool,
    overwrite: bool,
) -> None:
    """Export MODEL to TFLite / ONNX, quantized, behind the accuracy-parity gate.

    MODEL is a registry version folder (<run_dir>/models/<name>/vN), a model folder (its latest
    version) or a plain .keras file (then --labels / --data-dir say what it classifies).
    An artifact that fails the parity gate is left out of the bundle (its numbers stay in the
    manifest and parity.md). Exit codes: 0 ok, 1 failure, 2 usage, 3 no artifact passed.
    """
    from export import ExportConfig, GateConfig, OnnxCalibrationMethod
    from export.formats import select_formats
    from export.model_io import load_keras_model
    from export.normalization import RECORDED, resolve_normalization
    from trainer.bundle import make_bundle

    keras_file, meta = resolve_model(model)
    base = ExportConfig.load(config_path) if config_path else ExportConfig()
    calib = base.calibration.replace(
        **{k: v for k, v in (("size", calib_size), ("seed", calib_seed)) if v is not None}
    )
    onnx = base.onnx
    if onnx_calibration:
        onnx = onnx.replace(method=OnnxCalibrationMethod(onnx_calibration))
    if artifacts and (formats or precisions):
        raise click.UsageError(
            "--formats / --precisions are the earlier spelling of --artifacts; give --artifacts only"
        )
    if formats or precisions:  # the earlier spelling: containers x precisions
        artifacts = select_formats(formats or _FORMAT_CHOICES, precisions or _PRECISION_CHOICES)
    cfg = base.replace(
        formats=artifacts or (base.formats if config_path else DEFAULT_FORMAT_KEYS),
        calibration=calib,
        onnx=onnx,
        gate=GateConfig.preset(gate) if gate else base.gate,
        allow_parity_failure=allow_parity_failure or base.allow_parity_failure,
        gate_explanations=gate_explanations or base.gate_explanations,
        overwrite=overwrite or base.overwrite,
        test_time_views=test_time_views or base.test_time_views,
    )

    from trainer import env
    from trainer.data import DataConfig, load_dataset, make_splits, stratified_subset

    env.prepare()
    # Before any data is read: a model whose input scale is unknown is refused, not guessed.
    normalization = resolve_normalization(
        input_normalization,
        (recorded_input_spec(meta) or {}) if meta else None,
        lambda: load_keras_model(keras_file),
    )
    if meta:
        if data_dir is not None:
            raise ConfigError(
                "--data-dir is for plain .keras files; a registry model names its data"
            )
        data_cfg = DataConfig.from_dict(meta.get("data_config") or {})
    else:
        source = data_source or ("idx" if data_dir else "fashion_mnist")
        data_cfg = DataConfig.from_dict(
            {"source": source, **({"path": str(data_dir)} if data_dir else {})}
        )
    polarity = image_polarity
    if polarity is not None:
        # The gate's images are prepared under the same polarity the manifest will carry.
        data_cfg = data_cfg.replace(polarity=polarity)
    ds = load_dataset(data_cfg)
    splits = make_splits(ds, data_cfg)
    labels = _labels(labels_path, meta, ds.class_names)
    if len(labels) != ds.num_classes:
        raise DataError(
            f"{len(labels)} labels but the dataset {ds.name} has {ds.num_classes} classes"
        )
    subset = subset_note = None
    if parity_size is not None:
        subset = stratified_subset(splits.y_test, parity_size, cfg.calibration.seed + 1)
        subset_note = {"size": parity_size, "seed": cfg.calibration.seed + 1}

    name = meta.get("name") or keras_file.stem
    out = out_dir
    if out is None:
        if meta:
            out = keras_file.parents[3] / "export" / f"{name}-v{meta.get('version', 0)}"
        else:
            out = keras_file.with_name(keras_file.stem + "_bundle")
    input_spec, polarity_origin = resolve_input_spec(meta, ds, splits.x_train, polarity)
    input_spec = normalization.apply(input_spec)

    def line(r) -> None:
        a, p = r.artifact, r.parity.metrics
        verdict = (
            "pass"
            if r.passed
            else ("FAIL (accepted)" if a.parity_failure_accepted else "FAIL (left out)")
        )
        click.echo(
            f"{r.key:<18} {a.size_bytes / 2**20:6.2f} MiB {r.seconds:6.1f} s  "
            f"acc {100 * p['accuracy']:.2f}% ({100 * p['accuracy_delta']:+.2f})  "
            f"agree {100 * p['agreement']:.2f}%  {verdict}"
        )

    click.echo(f"exporting {keras_file} -> {out} ({', '.join(cfg.formats)})")
    click.echo(
        f"input: {input_spec.height}x{input_spec.width} {input_spec.color}, polarity "
        f"{input_spec.polarity} ({polarity_origin}), resize {input_spec.resize}, pixel values "
        f"{normalization.describe()} ({normalization.origin})"
        + (", RGB input (the grey conversion inside the graph)" if rgb_input else "")
    )
    try:
        result = make_bundle(
            keras_file,
            out,
            cfg,
            ds,
            data_cfg,
            meta=meta,
            labels=labels,
            input_spec=input_spec,
            eval_subset=subset,
            eval_subset_note=subset_note,
            name=name,
            source_extra={
                "polarity_from": polarity_origin,
                # Registry models take what their run recorded, as `edgetk run`'s bundles do:
                # only a stated or inspected normalization is worth a note.
                **(
                    {"normalization_from": normalization.origin}
                    if normalization.origin != RECORDED
                    else {}
                ),
            },
            on_artifact=line,
            rgb_input=rgb_input,
        )
    except ParityGateError as exc:
        res = getattr(exc, "result", None)
        if res is not None:
            click.echo(_table(res.parity_md))
        raise
    click.echo(_table(result.parity_md))
    click.echo(_sample_size_line(result.artifacts))
    for r in result.excluded:
        click.echo(f"left out of the bundle: {r.key} (failed the parity gate; see parity.md)")
    if result.default_note:
        click.echo(f"note: {result.default_note}")
    click.echo(f"bundle: {result.bundle_dir} (default artifact {result.manifest.default_artifact})")


def _sample_size_line(results) -> str:
    """What the verdicts rest on, in one line (the details are in parity.md)."""
    sig = next((r.parity.metrics.get("significance") for r in results), None) or {}
    if not sig:
        return ""
    n, k = sig["images"], sig["min_detectable_images"]
    return (
        f"gate: {n} paired images at {100 * sig['confidence']:g} % confidence; the smallest "
        f"accuracy drop it can call real is {k} images ({100 * k / n:.2f} points)"
    )


def _table(md: str) -> str:
    """The table and failure lines of parity.md (the title and notes stay in the file)."""
    return "\n".join(ln for ln in md.splitlines() if ln.startswith(("|", "- ")))
