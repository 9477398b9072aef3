"""The stages of ``edgetk run``: each calls one library function of the layer that owns the work."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from trainer.pipeline.config import PipelineConfig
from trainer.pipeline.runner import Context, Stage

log = logging.getLogger(__name__)

BUNDLE_DIR = "bundle"
EXPORTS_DIR = "exports"
# The quick profile exports what a device needs and the float reference: it must stay minutes.
QUICK_FORMATS = ("tflite_fp32", "tflite_int8", "onnx_fp32")


def _cfg(ctx: Context) -> PipelineConfig:
    return ctx.options["config"]


def _dataset(ctx: Context):
    """Load the dataset once per pipeline invocation."""
    if "_dataset" not in ctx.options:
        from trainer.data import load_dataset

        ctx.options["_dataset"] = load_dataset(_cfg(ctx).data)
    return ctx.options["_dataset"]


def _candidates(ctx: Context) -> list[Any]:
    if "_candidates" not in ctx.options:
        ctx.options["_candidates"] = _cfg(ctx).candidate_list()
    return ctx.options["_candidates"]


def _candidate(ctx: Context, name: str) -> Any:
    return next(c for c in _candidates(ctx) if c.name == name)


def _stage_config(ctx: Context, name: str):
    cfg = _cfg(ctx)
    return _candidate(ctx, name).stage_config(
        cfg.profile.value, seed=cfg.seed, **cfg.stage_overrides.get(name, {})
    )


def _settings(ctx: Context, c: Any) -> dict[str, Any]:
    """Candidate ``c``'s settings in this run: its classical spec, or its stage config."""
    if c.is_classical:
        return c.classical_spec(_cfg(ctx).profile.value).to_dict()
    return _stage_config(ctx, c.name).to_dict()


def _collapsed(ctx: Context) -> dict[str, str]:
    """``{candidate: why}`` for the Keras candidates whose training collapsed."""
    return {
        c.name: str(ctx.results[c.name].get("collapse_reason", "collapsed"))
        for c in _candidates(ctx)
        if (ctx.results.get(c.name) or {}).get("collapsed")
    }


def _keras_names(ctx: Context) -> list[str]:
    """The Keras candidates still in the race: one whose training collapsed is left out."""
    out = _collapsed(ctx)
    return [c.name for c in _candidates(ctx) if not c.is_classical and c.name not in out]


def run_eda(ctx: Context) -> dict[str, Any]:
    from trainer.eda import run_eda as eda
    from trainer.rundir import RunDir

    ds = _dataset(ctx)
    run = RunDir(ctx.run_dir)
    run.write_stage_config("eda", _cfg(ctx).data, dataset=ds.describe())
    s = eda(ds, run.stage("eda"), seed=_cfg(ctx).seed)
    return {
        "fingerprint": ds.fingerprint,
        "train_count": len(ds.y_train),
        "test_count": len(ds.y_test),
        "imbalance_ratio": s["imbalance_ratio"]["train"],
    }


def train(name: str):
    def run(ctx: Context) -> dict[str, Any]:
        from edge_runtime.common.errors import CollapseError
        from trainer.training.complexity import write_return_on_complexity
        from trainer.training.runner import run_stage

        try:
            if _candidate(ctx, name).kind == "finetune" and "transfer" in _collapsed(ctx):
                # A fine-tune starts from the run's transfer model: there is none to start from.
                raise CollapseError(
                    f"its transfer source collapsed ({_collapsed(ctx)['transfer']}); "
                    "nothing to fine-tune"
                )
            res = run_stage(
                ctx.run_dir, _stage_config(ctx, name), _cfg(ctx).data, dataset=_dataset(ctx)
            )
        except CollapseError as exc:
            if not any(c.name != name and not c.is_classical for c in _candidates(ctx)):
                raise
            # One candidate that collapsed does not end a run that has others: it is left out of
            # export and selection, and selection.json and the report say why.
            log.warning("candidate %r collapsed and is left out: %s", name, exc)
            write_return_on_complexity(ctx.run_dir)
            return {"collapsed": True, "collapse_reason": str(exc)}
        write_return_on_complexity(ctx.run_dir)
        return {
            "metrics": res.metrics,
            "model": str(res.model_path),
            "epochs_run": res.epochs_run,
            "train_seconds": res.train_seconds,
        }

    return run


def classical(name: str):
    def run(ctx: Context) -> dict[str, Any]:
        from trainer.training.classical import run_classical
        from trainer.training.complexity import write_return_on_complexity

        cfg = _cfg(ctx)
        spec = _candidate(ctx, name).classical_spec(cfg.profile.value)
        s = run_classical(ctx.run_dir, name, spec, cfg.data, _dataset(ctx), seed=cfg.seed)
        write_return_on_complexity(ctx.run_dir)
        return {"metrics": s["metrics"], "val_metrics": s["val_metrics"], "model": spec.model}

    return run


def run_tune(ctx: Context) -> dict[str, Any]:
    from trainer.tuning import run_search

    res = run_search(_cfg(ctx).tune_config(), ctx.run_dir, overwrite=True)
    return {
        "best": res.best.to_dict() if res.best is not None else None,
        "best_val_macro_f1": res.best_value,
        "trials": len(res.trials),
    }


_PROFILE_VIEWS = {"quick": "none", "full": "auto"}


def _export_config(ctx: Context, **changes: Any):
    from export import ExportConfig

    cfg = _cfg(ctx)
    base = ExportConfig.quick() if cfg.profile.value == "quick" else ExportConfig.default()
    if cfg.gate_explanations:
        changes.setdefault("gate_explanations", True)
    if cfg.formats:
        changes.setdefault("formats", cfg.formats)
    elif cfg.profile.value == "quick":
        changes.setdefault("formats", QUICK_FORMATS)
    return base.replace(overwrite=True, **changes)


def bundle_views(cfg: PipelineConfig, refit: bool = False) -> str:
    """The test-time views setting of the bundle stage (export/views.py).

    Candidates are exported, gated and selected plain; only the shipped artifact is re-exported
    with views, chosen there on the validation split. The full profile says "auto"; the quick one
    "none" (its 5 minutes). Under a budget "auto" still chooses on validation; the bundle stage
    then measures the views artifact as selection measures points and keeps the views only if
    it fits the budget (trainer/pipeline/views_cost.py). ``refit``: the shipped model trained on
    the validation images too (small data), so "auto" has nothing left to choose on and means
    "none".
    """
    setting = cfg.test_time_views or _PROFILE_VIEWS[cfg.profile.value]
    if setting == "auto" and refit:
        return "none"
    return setting


def _bundle_key(ctx: Context) -> dict[str, Any]:
    """The bundle stage's config: the budget (and its device records) only when "auto" views
    are weighed against it, so runs without a budget keep their stage key."""
    cfg = _cfg(ctx)
    key: dict[str, Any] = {"allow": cfg.allow_parity_failure, "views": bundle_views(cfg)}
    if key["views"] == "auto" and cfg.budget.active:
        key["budget"] = cfg.budget.to_dict()
        if cfg.budget_bench:
            key["budget_bench"] = list(cfg.budget_bench)
    return key


def _export_one(
    ctx: Context, name: str, out: Path, ecfg: Any, model_dir: Path | None = None
) -> Any:
    """Export candidate ``name``'s registered model (or the model in ``model_dir``) into ``out``
    behind the parity gate."""
    from edge_runtime.common.fileio import read_json
    from trainer.bundle import make_bundle
    from trainer.registry import get_model

    model_dir = Path(model_dir or get_model(ctx.run_dir, name).path)
    ds = _dataset(ctx)
    return make_bundle(
        model_dir / "model.keras",
        out,
        ecfg,
        ds,
        _cfg(ctx).data,
        meta=read_json(model_dir / "metadata.json"),
        name=f"{ds.name}-{name}",
    )


def run_export(ctx: Context) -> dict[str, Any]:
    """Every Keras candidate through the gate into ``<run>/exports/<name>/``.

    A failed gate does not stop the run here: each artifact's verdict is in its manifest, and only
    artifacts that passed become selection points. Whether the SHIPPED artifact may have failed
    its gate is decided when the bundle is assembled (``--allow-parity-failure``).
    """
    from trainer.rundir import RunDir

    ecfg = _export_config(ctx, allow_parity_failure=True)
    names = _keras_names(ctx)
    if not names:
        from edge_runtime.common.errors import CollapseError

        why = "; ".join(f"{n}: {r}" for n, r in _collapsed(ctx).items())
        raise CollapseError(f"every Keras candidate collapsed, nothing to export ({why})")
    RunDir(ctx.run_dir).write_stage_config("export", ecfg, candidates=names)
    out: dict[str, Any] = {}
    for name in names:
        result = _export_one(ctx, name, ctx.run_dir / EXPORTS_DIR / name, ecfg)
        arts = list(getattr(result, "artifacts", []) or [])
        out[name] = {
            "dir": str(ctx.run_dir / EXPORTS_DIR / name),
            "artifacts": len(arts),
            "passed": sum(1 for r in arts if r.passed),
        }
    return out


def crossval_enabled(ctx: Context) -> bool:
    """Small data: the validation split is too small to tell the candidates apart
    (trainer/pipeline/crossval.py says what "too small" is)."""
    from trainer.data.load import split_indices
    from trainer.pipeline.crossval import validation_too_small

    setting = _cfg(ctx).crossval
    if setting != "auto":
        return setting == "on"
    _, val = split_indices(_dataset(ctx), _cfg(ctx).data)
    return validation_too_small(len(val))


def run_crossval(ctx: Context) -> dict[str, Any]:
    from trainer.pipeline.crossval import run_crossval as crossval

    cfg = _cfg(ctx)
    collapsed = _collapsed(ctx)
    record = crossval(
        ctx.run_dir,
        _dataset(ctx),
        cfg.data,
        [c for c in _candidates(ctx) if c.name not in collapsed],
        lambda name: _stage_config(ctx, name),
        lambda name: _candidate(ctx, name).classical_spec(cfg.profile.value),
        cfg.seed,
    )
    return {k: record[k] for k in ("folds", "images", "leader", "in_race", "seconds")}


def _chosen_candidate(ctx: Context) -> str | None:
    from edge_runtime.common.fileio import read_json
    from trainer.pipeline.selection_stage import SELECTION_NAME

    path = ctx.run_dir / SELECTION_NAME
    if not path.is_file():
        return None
    return (read_json(path).get("chosen") or {}).get("candidate")


def run_refit(ctx: Context) -> dict[str, Any]:
    """Small data: the chosen candidate retrained on every training image (trainer/pipeline/refit.py)."""
    from edge_runtime.common.errors import ConfigError
    from trainer.pipeline.refit import run_refit as refit

    chosen = _chosen_candidate(ctx)
    if chosen is None:
        raise ConfigError("selection.json records no choice; run the select stage first")
    record = refit(
        ctx.run_dir,
        _dataset(ctx),
        _cfg(ctx).data,
        chosen,
        _candidates(ctx),
        lambda name: _stage_config(ctx, name),
    )
    return {k: record[k] for k in ("candidate", "images", "model", "seconds")}


def shipped_model_dir(ctx: Context, candidate: str) -> Path:
    """The model that ships for ``candidate``: its refit on small data, else the registry's."""
    from trainer.pipeline.refit import model_dir
    from trainer.registry import get_model

    if crossval_enabled(ctx):
        return model_dir(ctx.run_dir, candidate)
    return Path(get_model(ctx.run_dir, candidate).path)


def run_select(ctx: Context) -> dict[str, Any]:
    from trainer.pipeline.crossval import load_record
    from trainer.pipeline.selection_stage import select_and_record

    return select_and_record(
        ctx.run_dir,
        _cfg(ctx),
        _dataset(ctx),
        _keras_names(ctx),
        collapsed=_collapsed(ctx),
        crossval=load_record(ctx.run_dir) if crossval_enabled(ctx) else None,
    )


def run_bundle(ctx: Context) -> dict[str, Any]:
    from trainer.pipeline.assemble import assemble_bundle

    refit = None
    if crossval_enabled(ctx):
        from trainer.pipeline.refit import load_record

        refit = load_record(ctx.run_dir)
    return assemble_bundle(
        ctx, _export_config, _export_one, bundle_views(_cfg(ctx), refit is not None), refit
    )


def run_bench(ctx: Context) -> dict[str, Any]:
    from edge_runtime.bench.config import BenchConfig
    from edge_runtime.bench.run import run_bench as bench
    from edge_runtime.common.fileio import write_json

    cfg = _cfg(ctx)
    record = bench(
        BenchConfig(
            bundle=str(ctx.run_dir / BUNDLE_DIR),
            threads=cfg.bench_threads,
            runs=cfg.bench_runs,
            warmup=max(5, cfg.bench_runs // 10),
        )
    )
    record["shipped_ops"] = _shipped_ops(ctx.run_dir / BUNDLE_DIR)
    out = ctx.run_dir / "bench" / "bench.json"
    write_json(out, record)
    ok = [r for r in record["rows"] if r.get("status") == "ok"]
    ops = record["shipped_ops"]
    return {
        "bench": str(out),
        "rows": len(record["rows"]),
        "ok": len(ok),
        "shipped_ops_s": ops.get("seconds"),
    }


# The shipped artifact's per-operator profile in the bench stage: one thread, a bounded number of
# runs (TFLite: 5 interleaved rounds over every operator; ONNX Runtime: this many profiled runs).
SHIPPED_OPS_RUNS = 20


def _shipped_ops(bundle: Path) -> dict[str, Any]:
    """``edgetk bench --ops`` on the bundle's default artifact at 1 thread, in its own process:
    the report's "where the time goes" table and chart. A failure is recorded, never fatal."""
    import time

    from edge_runtime.bench.config import BenchConfig
    from edge_runtime.bench.run import run_bench as bench
    from edge_runtime.manifest import load_manifest

    default = load_manifest(bundle).default_artifact
    t0 = time.perf_counter()
    rec = bench(
        BenchConfig(
            bundle=str(bundle),
            artifacts=(default,),
            threads=(1,),
            runs=SHIPPED_OPS_RUNS,
            warmup=5,
            ops=True,
        )
    )
    row = rec["rows"][0]
    head = {"artifact": default, "threads": 1, "runs": SHIPPED_OPS_RUNS}
    seconds = round(time.perf_counter() - t0, 2)
    if row.get("status") != "ok":
        return {**head, "seconds": seconds, "error": str(row.get("error"))}
    return {**head, "seconds": seconds, **row["ops"]}


def run_report(ctx: Context) -> dict[str, Any]:
    from trainer.report import write_report

    maps = _explanation_maps(ctx)
    md, html = write_report(ctx.run_dir)
    return {"markdown": str(md), "html": str(html), "explanation_maps": maps}


def _explanation_maps(ctx: Context) -> str | None:
    """The shipped artifact's occlusion maps beside the Keras model's, on validation images, for
    the report (trainer/report/explain_maps.py); None when nothing ships."""
    from edge_runtime.common.fileio import read_json
    from edge_runtime.manifest import MANIFEST_NAME, load_manifest
    from trainer.data import make_splits
    from trainer.pipeline.selection_stage import SELECTION_NAME
    from trainer.report.explain_maps import write_explanation_maps

    bundle = ctx.run_dir / BUNDLE_DIR
    sel_file = ctx.run_dir / SELECTION_NAME
    if not (bundle / MANIFEST_NAME).is_file() or not sel_file.is_file():
        return None
    chosen = read_json(sel_file).get("chosen") or {}
    if not chosen.get("candidate"):
        return None
    splits = make_splits(_dataset(ctx), _cfg(ctx).data)
    model = shipped_model_dir(ctx, chosen["candidate"]) / "model.keras"
    labels = load_manifest(bundle).labels
    out = write_explanation_maps(ctx.run_dir, model, bundle, splits.x_val, splits.y_val, labels)
    return str(out) if out else None


def _training_config(name: str):
    return lambda ctx: {
        "stage": _stage_config(ctx, name).to_dict(),
        "data": _cfg(ctx).data.to_dict(),
    }


def pipeline_stages(config: PipelineConfig | None = None) -> list[Stage]:
    """The stage list of ``edgetk run``, in order: one training stage per candidate."""
    config = config or PipelineConfig()
    data_cfg = lambda ctx: _cfg(ctx).data.to_dict()  # noqa: E731
    stages = [
        Stage("eda", run_eda, data_cfg, description="class balance, samples, pixel statistics")
    ]
    for c in config.candidate_list():
        if c.is_classical:
            stages.append(
                Stage(
                    c.name,
                    classical(c.name),
                    lambda ctx, c=c: {
                        "spec": _settings(ctx, c),
                        "data": _cfg(ctx).data.to_dict(),
                        "seed": _cfg(ctx).seed,
                    },
                    description=c.description or "classical anchor",
                )
            )
        else:
            stages.append(
                Stage(
                    c.name,
                    train(c.name),
                    _training_config(c.name),
                    description=c.description or c.kind,
                )
            )
    stages += [
        Stage(
            "crossval",
            run_crossval,
            lambda ctx: {
                "data": data_cfg(ctx),
                "seed": _cfg(ctx).seed,
                "candidates": {c.name: _settings(ctx, c) for c in _candidates(ctx)},
            },
            enabled=crossval_enabled,
            description="small data: the candidates compared by k-fold cross-validation",
        ),
        Stage(
            "tune",
            run_tune,
            lambda ctx: {
                "profile": _cfg(ctx).profile.value,
                "data": data_cfg(ctx),
                # only when given, so runs without overrides keep their stage key
                **({"overrides": _cfg(ctx).tune_overrides} if _cfg(ctx).tune_overrides else {}),
            },
            enabled=lambda ctx: _cfg(ctx).tune,
            description="KerasTuner search on cached features",
        ),
        Stage(
            "export",
            run_export,
            lambda ctx: {
                "formats": _cfg(ctx).formats,
                "profile": _cfg(ctx).profile.value,
                "candidates": _keras_names(ctx),
            },
            description="every candidate through the parity gate (TFLite / ONNX)",
        ),
        Stage(
            "select",
            run_select,
            lambda ctx: {
                "budget": _cfg(ctx).budget.to_dict(),
                "runs": _cfg(ctx).bench_runs,
                # only when given, so runs without device records keep their stage key
                **(
                    {"budget_bench": list(_cfg(ctx).budget_bench)} if _cfg(ctx).budget_bench else {}
                ),
            },
            description="the most accurate artifact on validation within budget",
        ),
        Stage(
            "refit",
            run_refit,
            lambda ctx: {
                "data": data_cfg(ctx),
                "chosen": _chosen_candidate(ctx),
                "candidates": {
                    c.name: _settings(ctx, c) for c in _candidates(ctx) if not c.is_classical
                },
            },
            enabled=crossval_enabled,
            description="small data: the chosen candidate retrained on every training image",
        ),
        Stage(
            "bundle",
            run_bundle,
            _bundle_key,
            description="the chosen artifact becomes the bundle's default (with test-time views "
            "when validation says they help)",
        ),
        Stage(
            "bench",
            run_bench,
            lambda ctx: {
                "runs": _cfg(ctx).bench_runs,
                "threads": list(_cfg(ctx).bench_threads),
                "shipped_ops_runs": SHIPPED_OPS_RUNS,
            },
            description="latency, throughput, memory per artifact; the shipped one's operators",
        ),
        Stage("report", run_report, description="report.md + report.html"),
    ]
    return stages


def run_pipeline(
    config: PipelineConfig, run_dir: str | Path, from_stage: str | None = None, echo=print
):
    """Run (or resume) the whole pipeline in ``run_dir``; returns the pipeline state."""
    from trainer import env
    from trainer.pipeline.runner import run_stages
    from trainer.rundir import RunDir

    env.prepare()
    run = RunDir.open(run_dir)
    config.save(run.path / "pipeline_config.json")
    ctx = Context(run.path, {"config": config})
    return run_stages(pipeline_stages(config), ctx, from_stage=from_stage, echo=echo)
