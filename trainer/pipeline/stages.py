"""The stages of ``edgetk run``: each calls one library function of the layer that owns the work."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from trainer.pipeline.config import PipelineConfig
from trainer.pipeline.runner import Context, Stage

log = logging.getLogger(__name__)

BUNDLE_DIR = "bundle"


def _cfg(ctx: Context) -> PipelineConfig:
    return ctx.options["config"]


def _dataset(ctx: Context):
    """Load the dataset once per pipeline invocation."""
    if "_dataset" not in ctx.options:
        from trainer.data import load_dataset

        ctx.options["_dataset"] = load_dataset(_cfg(ctx).data)
    return ctx.options["_dataset"]


def _stage_config(ctx: Context, name: str):
    from trainer.training.config import StageConfig

    cfg = _cfg(ctx)
    base = StageConfig.preset(cfg.profile, name).to_dict()
    return StageConfig.from_dict({**base, "seed": cfg.seed, **cfg.stage_overrides.get(name, {})})


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
        from trainer.training.complexity import write_return_on_complexity
        from trainer.training.runner import run_stage

        res = run_stage(
            ctx.run_dir, _stage_config(ctx, name), _cfg(ctx).data, dataset=_dataset(ctx)
        )
        write_return_on_complexity(ctx.run_dir)
        return {
            "metrics": res.metrics,
            "model": str(res.model_path),
            "epochs_run": res.epochs_run,
            "train_seconds": res.train_seconds,
        }

    return run


def run_tune(ctx: Context) -> dict[str, Any]:
    from trainer.tuning import TuneConfig, run_search

    cfg = _cfg(ctx)
    base = TuneConfig.quick() if cfg.profile.value == "quick" else TuneConfig()
    tc = base.replace(data=cfg.data, seed=cfg.seed)
    res = run_search(tc, ctx.run_dir, overwrite=True)
    return {
        "best": res.best.to_dict() if res.best is not None else None,
        "best_val_macro_f1": res.best_value,
        "trials": len(res.trials),
    }


def _latest_model(run_dir: Path) -> Path:
    from edge_runtime.common.errors import ModelError
    from trainer.registry import get_model

    for stage in ("finetune", "transfer", "baseline"):
        try:
            return Path(get_model(run_dir, stage).path)
        except ModelError:
            continue
    raise ModelError(
        f"no registered model under {run_dir}/models; the training stages must run first"
    )


def run_export(ctx: Context) -> dict[str, Any]:
    from edge_runtime.common.fileio import read_json
    from export import ExportConfig, export_bundle
    from trainer.data import make_splits
    from trainer.rundir import RunDir

    cfg = _cfg(ctx)
    model_dir = _latest_model(ctx.run_dir)
    meta = read_json(model_dir / "metadata.json")
    ds = _dataset(ctx)
    splits = make_splits(ds, cfg.data)
    base = ExportConfig.quick() if cfg.profile.value == "quick" else ExportConfig.default()
    changes: dict[str, Any] = {"overwrite": True, "allow_parity_failure": cfg.allow_parity_failure}
    if cfg.formats:
        changes["formats"] = cfg.formats
    ecfg = base.replace(**changes)
    RunDir(ctx.run_dir).write_stage_config("export", ecfg, model=str(model_dir))
    from edge_runtime.manifest import InputSpec

    result = export_bundle(
        model_dir / "model.keras",
        ctx.run_dir / BUNDLE_DIR,
        ecfg,
        splits.x_train,
        splits.y_train,
        splits.x_test,
        splits.y_test,
        ds.class_names,
        x_select=splits.x_val if len(splits.y_val) else None,
        y_select=splits.y_val if len(splits.y_val) else None,
        input_spec=InputSpec.from_dict(meta["input"]),
        name=f"{ds.name}-{meta.get('stage', 'model')}",
        source_model={
            "path": str(model_dir),
            "sha256": meta.get("model_sha256"),
            "version": meta.get("version"),
            "stage": meta.get("stage"),
            "metrics": meta.get("metrics"),
        },
        calibration_source={
            "dataset_fingerprint": ds.fingerprint,
            "split": "train (validation held out)",
        },
        parity_source={
            "dataset_fingerprint": ds.fingerprint,
            "split": "test",
            "description": f"the {len(splits.y_test)}-image test split",
        },
    )
    return {
        "bundle": str(ctx.run_dir / BUNDLE_DIR),
        "artifacts": len(getattr(result, "artifacts", []) or []),
    }


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
    out = ctx.run_dir / "bench" / "bench.json"
    write_json(out, record)
    ok = [r for r in record["rows"] if r.get("status") == "ok"]
    return {"bench": str(out), "rows": len(record["rows"]), "ok": len(ok)}


def run_report(ctx: Context) -> dict[str, Any]:
    from trainer.report import write_report

    md, html = write_report(ctx.run_dir)
    return {"markdown": str(md), "html": str(html)}


def _training_config(name: str):
    return lambda ctx: {
        "stage": _stage_config(ctx, name).to_dict(),
        "data": _cfg(ctx).data.to_dict(),
    }


def pipeline_stages() -> list[Stage]:
    """The stage list of ``edgetk run``, in order."""
    data_cfg = lambda ctx: _cfg(ctx).data.to_dict()  # noqa: E731
    return [
        Stage("eda", run_eda, data_cfg, description="class balance, samples, pixel statistics"),
        Stage(
            "baseline", train("baseline"), _training_config("baseline"), description="shallow CNN"
        ),
        Stage(
            "transfer",
            train("transfer"),
            _training_config("transfer"),
            description="frozen backbone + head",
        ),
        Stage(
            "finetune",
            train("finetune"),
            _training_config("finetune"),
            description="unfreeze the top of the backbone",
        ),
        Stage(
            "tune",
            run_tune,
            lambda ctx: {"profile": _cfg(ctx).profile.value, "data": data_cfg(ctx)},
            enabled=lambda ctx: _cfg(ctx).tune,
            description="KerasTuner search on cached features",
        ),
        Stage(
            "export",
            run_export,
            lambda ctx: {
                "formats": _cfg(ctx).formats,
                "profile": _cfg(ctx).profile.value,
                "allow": _cfg(ctx).allow_parity_failure,
            },
            description="TFLite / ONNX behind the parity gate",
        ),
        Stage(
            "bench",
            run_bench,
            lambda ctx: {"runs": _cfg(ctx).bench_runs, "threads": list(_cfg(ctx).bench_threads)},
            description="latency, throughput, memory per artifact",
        ),
        Stage("report", run_report, description="report.md + report.html"),
    ]


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
    return run_stages(pipeline_stages(), ctx, from_stage=from_stage, echo=echo)
