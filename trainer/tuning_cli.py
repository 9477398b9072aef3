"""``edgetk tune``: hyperparameter search with KerasTuner (thin: options -> TuneConfig -> run_search)."""

from __future__ import annotations

from pathlib import Path

import click

from edge_runtime.cli_options import shown_option
from trainer.cli_options import (
    OverrideTable,
    data_config_from_options,
    data_options,
    override_options,
    overrides,
    run_dir_option,
)

PRESETS = ("full", "quick")

# Settings that override the preset when given (see OverrideTable).
_SEARCH: OverrideTable = (
    (
        "--algorithm",
        "algorithm",
        click.Choice(["hyperband", "bayesian", "random"]),
        "Search algorithm.",
    ),
    ("--max-trials", "max_trials", int, "Total trials in the project."),
    (
        "--time-budget",
        "time_budget_min",
        float,
        "Minutes of wall clock for this run; no new trial starts after it.",
    ),
    ("--executions-per-trial", "executions_per_trial", int, "Repeats averaged per trial."),
    ("--max-epochs", "max_epochs", int, "Longest trial, in epochs."),
    ("--batch-size", "batch_size", int, "Head training batch size."),
    (
        "--recycle-every",
        "recycle_every",
        int,
        "Trials per child process (memory stays flat); 0 runs all in this process.",
    ),
)
_BACKBONE: OverrideTable = (
    ("--backbone", "backbone", None, "Feature extractor (e.g. mobilenet_v2)."),
    ("--alpha", "alpha", float, "Backbone width multiplier."),
    ("--backbone-size", "image_size", int, "Resolution fed to the backbone, in pixels."),
    ("--weights", "weights", None, "'imagenet', 'none' or a weights file."),
)


@click.command()
@run_dir_option
@shown_option(
    "--preset",
    type=click.Choice(PRESETS),
    default="full",
    help="full: whole dataset, 30 trials; quick: 6,000 training images, 10 short trials.",
)
@override_options(_SEARCH)
@override_options(_BACKBONE)
@click.option("--overwrite", is_flag=True, help="Delete an earlier search here and start over.")
@click.option("--no-compare", is_flag=True, help="Skip the best-vs-default test comparison.")
@click.option("--features-only", is_flag=True, help="Compute and cache the features, then stop.")
@data_options
def tune(
    run_dir: Path | None,
    preset: str,
    overwrite: bool,
    no_compare: bool,
    features_only: bool,
    **opts,
) -> None:
    """Search the head's learning rate, dropout, dense layers and label smoothing.

    The objective is validation macro-F1. Backbone features are computed once and cached in the
    run directory; an interrupted search resumes when run again with the same settings. Set
    KERASTUNER_TUNER_ID / KERASTUNER_ORACLE_IP / KERASTUNER_ORACLE_PORT to run as the chief or a
    worker of a distributed search (docs/tuning.md).
    """
    from trainer import env
    from trainer.rundir import default_run_dir
    from trainer.tuning import TuneConfig
    from trainer.tuning.features import BackboneConfig

    env.prepare()
    base = TuneConfig.quick() if preset == "quick" else TuneConfig.full()
    if opts["train_size"] is None:
        opts["train_size"] = base.data.train_size
    changes = overrides(_SEARCH, opts)
    backbone = overrides(_BACKBONE, opts)
    data = data_config_from_options(**opts)
    bb = {**base.backbone.to_dict(), **backbone}
    if "backbone" in backbone and "alpha" not in backbone:
        bb["alpha"] = None  # the family's own default, not MobileNetV2's 0.35
    if changes.get("recycle_every") == 0:
        changes["recycle_every"] = None
    cfg = TuneConfig.from_dict(
        {
            **base.to_dict(),
            **changes,
            "seed": data.seed,
            "data": data.to_dict(),
            "backbone": BackboneConfig.from_dict(bb).to_dict(),
        }
    )
    run = run_dir or default_run_dir(
        data.source.value if data.path is None else Path(data.path).name
    )

    if features_only:
        from trainer.tuning import prepare_features

        fs = prepare_features(cfg, run)
        click.echo(f"features {fs.feature_dim}-d for {fs.describe()['counts']} -> {fs.path}")
        return

    from trainer.tuning import run_search

    res = run_search(cfg, run, overwrite=overwrite, compare=not no_compare)
    if res.role == "worker":
        click.echo(f"worker: ran {len(res.trials_run_now)} trial(s); the chief writes the results")
        return
    ran = "run by the workers" if res.role == "chief" else f"{len(res.trials_run_now)} this run"
    click.echo(
        f"{cfg.algorithm.value}: {len(res.trials)} trials ({ran}) "
        f"in {res.seconds:.0f} s; stopped: {res.stop_reason or 'search space done'}"
    )
    if res.best is None:
        click.echo("no completed trial; nothing to report")
        return
    click.echo(f"best val_macro_f1 {res.best_value:.4f}: {res.best.to_dict()}")
    if res.comparison:
        d, b = res.comparison["default"]["test"], res.comparison["best"]["test"]
        click.echo(
            f"test  default acc {d['accuracy']:.4f} F1 {d['macro_f1']:.4f}  |  "
            f"best acc {b['accuracy']:.4f} F1 {b['macro_f1']:.4f}  "
            f"({res.comparison['winner_on_test_macro_f1']} wins on test macro-F1)"
        )
    click.echo(f"-> {res.paths.best}  (edgetk train overrides), {res.paths.root}/trials.csv")
