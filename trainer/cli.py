"""Training-side commands. Heavy imports (TensorFlow) happen inside each command."""

from __future__ import annotations

from pathlib import Path

import click

from trainer.cli_options import data_config_from_options, data_options, run_dir_option


@click.command()
@data_options
@run_dir_option
@click.option("--samples-per-class", type=int, default=8, show_default=True)
def eda(run_dir: Path | None, samples_per_class: int, **data_opts) -> None:
    """Explore a dataset: class balance, sample grid, pixel histogram, mean images, JSON summary."""
    from trainer.data import load_dataset
    from trainer.eda import SUMMARY_NAME, run_eda
    from trainer.rundir import RunDir, default_run_dir

    cfg = data_config_from_options(**data_opts)
    ds = load_dataset(cfg)
    run = RunDir.open(run_dir or default_run_dir(ds.name))
    run.write_stage_config("eda", cfg, dataset=ds.describe())
    summary = run_eda(ds, run.stage("eda"), samples_per_class=samples_per_class, seed=cfg.seed)
    counts = summary["class_counts"]["train"]
    px = summary["pixels"]
    click.echo(
        f"EDA of {ds.name}: {len(ds.y_train)} train / {len(ds.y_test)} test images, "
        f"{ds.num_classes} classes, train per class {min(counts.values())}..{max(counts.values())} "
        f"(imbalance {summary['imbalance_ratio']['train']:.2f}), pixel mean {px['mean']:.1f} std {px['std']:.1f}"
    )
    click.echo(f"fingerprint {ds.fingerprint[:16]}…  ->  {run.stage('eda') / SUMMARY_NAME}")
