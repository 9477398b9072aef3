"""``edgetk run`` and ``edgetk report``."""

from __future__ import annotations

import time
from pathlib import Path

import click

from trainer.cli_options import data_config_from_options, data_options, run_dir_option

STAGES = ("eda", "baseline", "transfer", "finetune", "tune", "export", "bench", "report")


@click.command()
@click.option(
    "--profile",
    type=click.Choice(["quick", "full"]),
    default="quick",
    show_default=True,
    help="quick: a stratified subset and few epochs (minutes); full: all data.",
)
@click.option(
    "--from",
    "from_stage",
    type=click.Choice(STAGES),
    default=None,
    help="Redo this stage and every stage after it.",
)
@click.option(
    "--tune/--no-tune", default=False, show_default=True, help="Include the hyperparameter search."
)
@click.option(
    "--formats", default=None, help="Export formats, comma-separated (default: the profile's)."
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
    run_dir: Path | None,
    **data_opts,
) -> None:
    """The whole pipeline: EDA, baseline, transfer, fine-tune, (tune), export, bench, report.

    Re-running the same command resumes: finished stages whose config is unchanged are skipped.
    """
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
    )
    target = run_dir or Path("runs") / f"{profile}"
    t0 = time.perf_counter()
    run_pipeline(cfg, target, from_stage=from_stage, echo=click.echo)
    click.echo(
        f"pipeline finished in {(time.perf_counter() - t0) / 60:.1f} min; report: {target / 'report' / 'report.html'}"
    )


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--bundle",
    type=click.Path(path_type=Path),
    default=None,
    help="Bundle folder (default RUN_DIR/bundle).",
)
@click.option(
    "--bench",
    "benches",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Extra benchmark JSON files (other devices) to put side by side.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Output folder (default RUN_DIR/report).",
)
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
