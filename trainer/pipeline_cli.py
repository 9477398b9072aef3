"""``edgetk run`` and ``edgetk report``."""

from __future__ import annotations

import time
from pathlib import Path

import click

from edge_runtime.cli_options import (
    CommaList,
    Decorator,
    artifacts_option,
    deprecated_option,
    list_option,
    out_dir_option,
    path_option,
    shown_option,
)
from export.formats import FORMAT_KEYS
from trainer.cli_options import data_config_from_options, data_options, run_dir_option


def _budget_option(flag: str, help: str) -> Decorator:
    """One limit of the shipped artifact: a positive number, or left out for no limit."""

    def check(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise click.BadParameter(f"{value:g}: give a positive number, or leave {flag} out")
        return value

    return click.option(
        flag, type=float, default=None, callback=check, show_default="no limit", help=help
    )


@click.command()
@shown_option(
    "--profile",
    type=click.Choice(["quick", "full"]),
    default="quick",
    help="quick: a stratified subset and few epochs (minutes); full: all data.",
)
@click.option(
    "--from",
    "from_stage",
    default=None,
    show_default="resume: skip the finished stages",
    help="Redo this stage and every stage after it (eda, a candidate's name, crossval, tune, "
    "export, select, refit, bundle, bench, report; crossval and refit run on small data only).",
)
@path_option(
    "--candidates",
    "candidates_file",
    type=click.Path(dir_okay=False, path_type=Path),
    show_default="the shipped one",
    help="Candidates file (JSON) listing the models to train.",
)
@list_option(
    "--models",
    show_default="the profile's list in the candidates file",
    help="Candidates to train, comma-separated.",
)
@_budget_option(
    "--budget-ms",
    "Most p95 latency per image (ms, 1 thread) the shipped artifact may have: on this "
    "machine, or on the device of --budget-bench.",
)
@click.option(
    "--budget-bench",
    "budget_bench",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An edgetk bench JSON made on the target (repeatable; e.g. "
    "`edgetk bench RUN/exports/NAME --remote DEST`): --budget-ms is judged on its p95.",
)
@_budget_option(
    "--budget-kb", "Largest artifact file (KB, 1000 bytes) the shipped artifact may be."
)
@_budget_option(
    "--budget-ram-mb", "Most peak memory (MB) a process running the shipped artifact may use."
)
@shown_option("--tune/--no-tune", default=False, help="Include the hyperparameter search.")
@artifacts_option(
    f"Artifacts to export, comma-separated: {', '.join(FORMAT_KEYS)}.",
    choices=FORMAT_KEYS,
    show_default="the profile's",
)
@deprecated_option("--formats", "--artifacts", type=CommaList(choices=FORMAT_KEYS))
@click.option(
    "--test-time-views",
    type=click.Choice(["auto", "none", "flip", "shift", "flip_shift"]),
    default=None,
    show_default="auto in full, none in quick",
    help="Average the shipped model over flipped / shifted copies inside its graph; auto "
    "chooses on the validation split and, under a budget, keeps them only if their measured "
    "artifact fits it.",
)
@click.option(
    "--crossval",
    type=click.Choice(["auto", "on", "off"]),
    default="auto",
    show_default=True,
    help="Compare the candidates by k-fold cross-validation on the training split: auto when "
    "the validation split is too small to tell them apart (fewer than 500 images).",
)
@click.option(
    "--allow-parity-failure",
    is_flag=True,
    help="Export even if an artifact fails its gate (recorded).",
)
@click.option(
    "--gate-explanations",
    is_flag=True,
    help="Fail an artifact whose occlusion maps drift from the Keras model's (budgets: the "
    "gate preset); without it explanation agreement is reported, not gated.",
)
@data_options
@run_dir_option
def run(
    profile: str,
    from_stage: str | None,
    tune: bool,
    artifacts: tuple[str, ...] | None,
    allow_parity_failure: bool,
    gate_explanations: bool,
    test_time_views: str | None,
    crossval: str,
    candidates_file: Path | None,
    models: tuple[str, ...] | None,
    budget_ms: float | None,
    budget_kb: float | None,
    budget_ram_mb: float | None,
    budget_bench: tuple[Path, ...],
    run_dir: Path | None,
    **data_opts,
) -> None:
    """The whole pipeline: EDA, every candidate (from the candidates file), (tune), export,
    selection on validation within budget, bundle, bench, report.

    Re-running the same command resumes: finished stages whose config is unchanged are skipped.
    """
    from trainer.pipeline.budget import Budget
    from trainer.pipeline.config import PipelineConfig
    from trainer.pipeline.stages import run_pipeline
    from trainer.training.pipeline import profile_data_config

    # --artifacts is checked by click against the table: a typo must not cost a training run.
    explicit = data_config_from_options(**data_opts)
    preset = profile_data_config(profile)
    # The profile's subset applies unless the user asked for sizes or another source.
    data = (
        explicit
        if (explicit.train_size or explicit.test_size or explicit.path)
        else preset.replace(
            seed=explicit.seed,
            val_fraction=explicit.val_fraction,
            resize=explicit.resize,
            polarity=explicit.polarity,
            augment=explicit.augment,
        )
    )
    cfg = PipelineConfig.for_profile(
        profile,
        data=data,
        tune=tune,
        seed=explicit.seed,
        allow_parity_failure=allow_parity_failure,
        gate_explanations=gate_explanations,
        formats=artifacts,
        candidates_file=str(candidates_file) if candidates_file else None,
        candidate_names=models,
        budget=Budget(max_ms=budget_ms, max_kb=budget_kb, max_ram_mb=budget_ram_mb),
        budget_bench=tuple(str(p) for p in budget_bench),
        test_time_views=test_time_views,
        crossval=crossval,
    )
    target = run_dir or Path("runs") / f"{profile}"
    t0 = time.perf_counter()
    run_pipeline(cfg, target, from_stage=from_stage, echo=click.echo)
    click.echo(
        f"pipeline finished in {(time.perf_counter() - t0) / 60:.1f} min; report: {target / 'report' / 'report.html'}"
    )


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@path_option("--bundle", show_default="RUN_DIR/bundle", help="Bundle folder.")
@path_option(
    "--bench",
    "benches",
    multiple=True,
    help="Extra benchmark JSON files (other devices) to put side by side; repeat it.",
)
@out_dir_option("Where report.md and report.html go.", show_default="RUN_DIR/report")
@click.option(
    "--copy-figures",
    is_flag=True,
    help="Copy compact figures beside report.md, so the output folder stands alone.",
)
def report(
    run_dir: Path,
    bundle: Path | None,
    benches: tuple[Path, ...],
    out_dir: Path | None,
    copy_figures: bool,
) -> None:
    """Write report.md and a self-contained report.html from a run directory's files."""
    from trainer.report import write_report

    md, html = write_report(
        run_dir, out_dir, copy_figures=copy_figures, bundle_dir=bundle, extra_bench=benches
    )
    click.echo(f"report: {md}\n        {html}")
