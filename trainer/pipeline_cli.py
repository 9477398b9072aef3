"""``edgetk run`` and ``edgetk report``."""

from __future__ import annotations

import time
from pathlib import Path

import click

from edge_runtime.cli_options import Decorator, path_option, shown_option
from trainer.cli_options import data_config_from_options, data_options, run_dir_option


def _budget_option(flag: str, help: str) -> Decorator:
    """One limit of the shipped artifact: a positive number, or left out for no limit."""

    def check(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise click.BadParameter(f"{value:g}: give a positive number, or leave {flag} out")
        return value

    return click.option(flag, type=float, default=None, callback=check, help=help)


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
    help="Redo this stage and every stage after it (eda, a candidate's name, tune, export, "
    "select, bundle, bench, report).",
)
@path_option(
    "--candidates",
    "candidates_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Candidates file (JSON) listing the models to train; default: the shipped one.",
)
@click.option(
    "--models",
    default=None,
    help="Candidates to train, comma-separated (default: the profile's list in the file).",
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
@click.option(
    "--formats", default=None, help="Export formats, comma-separated (default: the profile's)."
)
@click.option(
    "--test-time-views",
    type=click.Choice(["auto", "none", "flip", "shift", "flip_shift"]),
    default=None,
    help="Average the shipped model over flipped / shifted copies inside its graph; auto "
    "chooses on the validation split (default: auto in full, none in quick or under --budget-ms).",
)
@click.option(
    "--allow-parity-failure",
    is_flag=True,
    help="Export even if an artifact fails its gate (recorded).",
)
@data_options
@run_dir_option
def run(
    profile: str,
    from_stage: str | None,
    tune: bool,
    formats: str | None,
    allow_parity_failure: bool,
    test_time_views: str | None,
    candidates_file: Path | None,
    models: str | None,
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

    wanted = tuple(f.strip() for f in formats.split(",") if f.strip()) if formats else None
    if wanted is not None:
        # Checked now, not after the training stages: a typo must not cost a training run.
        from export.formats import FORMAT_KEYS

        unknown = [f for f in wanted if f not in FORMAT_KEYS]
        if unknown or not wanted:
            raise click.BadParameter(
                f"{formats!r}: unknown {unknown or 'empty list'}; choose from {list(FORMAT_KEYS)}",
                param_hint="'--formats'",
            )
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
        formats=wanted,
        candidates_file=str(candidates_file) if candidates_file else None,
        candidate_names=tuple(m.strip() for m in models.split(",") if m.strip())
        if models
        else None,
        budget=Budget(max_ms=budget_ms, max_kb=budget_kb, max_ram_mb=budget_ram_mb),
        budget_bench=tuple(str(p) for p in budget_bench),
        test_time_views=test_time_views,
    )
    target = run_dir or Path("runs") / f"{profile}"
    t0 = time.perf_counter()
    run_pipeline(cfg, target, from_stage=from_stage, echo=click.echo)
    click.echo(
        f"pipeline finished in {(time.perf_counter() - t0) / 60:.1f} min; report: {target / 'report' / 'report.html'}"
    )


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@path_option("--bundle", help="Bundle folder (default RUN_DIR/bundle).")
@path_option(
    "--bench",
    "benches",
    multiple=True,
    help="Extra benchmark JSON files (other devices) to put side by side.",
)
@path_option("--out", help="Output folder (default RUN_DIR/report).")
@click.option(
    "--copy-figures",
    is_flag=True,
    help="Copy compact figures beside report.md, so the output folder stands alone.",
)
def report(
    run_dir: Path,
    bundle: Path | None,
    benches: tuple[Path, ...],
    out: Path | None,
    copy_figures: bool,
) -> None:
    """Write report.md and a self-contained report.html from a run directory's files."""
    from trainer.report import write_report

    md, html = write_report(
        run_dir, out, copy_figures=copy_figures, bundle_dir=bundle, extra_bench=benches
    )
    click.echo(f"report: {md}\n        {html}")
