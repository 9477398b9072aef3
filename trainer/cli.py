"""Training-side commands. Heavy imports (TensorFlow) happen inside each command."""

from __future__ import annotations

from pathlib import Path

import click

from edge_runtime.cli_options import path_option, shown_option
from trainer.cli_options import (
    OverrideTable,
    data_config_from_options,
    data_options,
    override_options,
    overrides,
    run_dir_option,
)


@click.command()
@data_options
@run_dir_option
@shown_option(
    "--samples-per-class",
    type=click.IntRange(1, 64),
    default=8,
    help="Images per class in the sample grid.",
)
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


# --- train / models -------------------------------------------------------------------------

_STAGES = ("baseline", "transfer", "finetune")

# StageConfig settings that override the preset / --config when given (see OverrideTable); the
# messages name the option a user typed for a field.
_OVERRIDES: OverrideTable = (
    ("--epochs", "epochs", click.IntRange(min=1), "Override the preset's epochs."),
    ("--batch-size", "batch_size", click.IntRange(min=1), "Override the preset's batch size."),
    ("--learning-rate", "learning_rate", click.FloatRange(1e-7, 1.0), "Override the initial LR."),
    (
        "--backbone",
        "backbone",
        click.Choice(["mobilenet_v2", "efficientnet_b0", "mobilenet_v3_small"]),
        "transfer: the pretrained backbone.",
    ),
    ("--alpha", "alpha", float, "transfer: backbone width multiplier."),
    (
        "--backbone-size",
        "image_size",
        click.IntRange(min=32),
        "transfer: backbone resolution in pixels (at least 32).",
    ),
    (
        "--weights",
        "weights",
        str,
        "transfer: 'imagenet' (Keras cache), 'none', or a weights file path.",
    ),
    (
        "--unfreeze-fraction",
        "unfreeze_fraction",
        click.FloatRange(0.0, 1.0, min_open=True),
        "finetune: top share.",
    ),
    ("--unfreeze-layers", "unfreeze_layers", click.IntRange(min=1), "finetune: top layer count."),
    (
        "--strategy",
        "strategy",
        click.Choice(["default", "mirrored"]),
        "mirrored: tf.distribute.MirroredStrategy over all local GPUs.",
    ),
)
_FLAG_OF = {key: flag for flag, key, _kind, _text in _OVERRIDES}


@click.command()
@click.option(
    "--stage",
    type=click.Choice([*_STAGES, "resnet", "all"]),
    required=True,
    help="Which stage to train ('resnet': the native residual CNN); 'all' runs baseline -> "
    "transfer -> finetune.",
)
@shown_option(
    "--profile",
    type=click.Choice(["quick", "full"]),
    default="quick",
    help="quick: a stratified 6,000-image training subset, the whole test split and few epochs; "
    "full: all data, the full recipe.",
)
@data_options
@run_dir_option
@path_option(
    "--config",
    "config_file",
    help="A StageConfig JSON file to start from instead of the profile preset.",
)
@path_option(
    "--hyperparameters",
    "hparams_file",
    help="best_hyperparameters.json from `edgetk tune`: applied on top of the preset / --config.",
)
@override_options(_OVERRIDES)
def train(
    stage: str,
    profile: str,
    run_dir: Path | None,
    config_file: Path | None,
    hparams_file: Path | None,
    **opts,
) -> None:
    """Train a stage (or all three), evaluate it on the test set and register the model."""
    from edge_runtime.common.errors import ConfigError
    from trainer.data import load_dataset
    from trainer.rundir import default_run_dir
    from trainer.training import StageConfig, profile_data_config, run_profile, run_stage
    from trainer.training.config import Stage

    hparams = None
    if hparams_file is not None:  # validate before the (slow) data loading
        from trainer.tuning.hyperparameters import apply_overrides, load_overrides

        hparams = load_overrides(hparams_file)
    given = overrides(_OVERRIDES, opts)
    data_cfg = data_config_from_options(**opts)
    ds = load_dataset(data_cfg)
    if profile == "quick" and data_cfg.train_size is None and data_cfg.test_size is None:
        # The quick profile trains on a stratified subset of a large dataset (small ones whole).
        quick = profile_data_config("quick")
        # The quick preset subsets training data only; the whole test set keeps numbers comparable.
        if len(ds.y_train) > (quick.train_size or len(ds.y_train)):
            data_cfg = data_cfg.replace(train_size=quick.train_size)
            ds = load_dataset(data_cfg)
    if config_file is not None and stage == "all":
        raise ConfigError(
            "--config holds one stage's config; use it with --stage baseline|transfer|finetune"
        )

    def stage_config(name: str) -> StageConfig:
        base = StageConfig.load(config_file) if config_file else StageConfig.preset(profile, name)
        if hparams:
            base = apply_overrides(base, hparams)
        if config_file and base.stage.value != name:
            raise ConfigError(f"{config_file} is a {base.stage.value!r} config, not {name!r}")
        mine = dict(given)
        if "epochs" in mine or "batch_size" in mine:
            mine["min_steps"] = 0  # explicit --epochs / --batch-size win over small-data scaling
        if name == Stage.FINETUNE.value:
            inherited = [k for k in ("backbone", "alpha", "image_size", "weights") if k in mine]
            if inherited and stage == "finetune":
                raise ConfigError(
                    f"finetune inherits {inherited} from the transfer model; pass them to "
                    "--stage transfer instead"
                )
            for k in inherited:
                mine.pop(k)
            if "unfreeze_layers" in mine:
                mine["unfreeze_fraction"] = None
        else:
            for k in ("unfreeze_fraction", "unfreeze_layers"):
                if k in mine and stage != "all":
                    raise ConfigError(f"--{k.replace('_', '-')} applies to --stage finetune only")
                mine.pop(k, None)
        try:
            return StageConfig.from_dict(
                {**base.to_dict(), **_jsonable(mine), "seed": data_cfg.seed}
            )
        except ConfigError as exc:
            raise ConfigError(_with_flags(str(exc), given)) from None

    run = Path(run_dir) if run_dir else default_run_dir(ds.name)
    if stage == "all":
        result = run_profile(run, profile, data_cfg, configs={s: stage_config(s) for s in _STAGES})
        for r in result.results.values():
            click.echo(_summary_line(r))
        click.echo(
            f"all stages in {result.wall_seconds / 60:.1f} min; table: {run}/return_on_complexity.md"
        )
        return
    r = run_stage(run, stage_config(stage), data_cfg, dataset=ds)
    from trainer.training.complexity import write_return_on_complexity

    write_return_on_complexity(run)
    click.echo(_summary_line(r))


def _with_flags(message: str, given: dict) -> str:
    """``message`` with config field names the user set by option replaced by those options."""
    for field in given:
        flag = _FLAG_OF[field]
        message = message.replace(f"{field}=", f"{flag} ")
    return message


def _jsonable(values: dict) -> dict:
    return {k: (v.value if hasattr(v, "value") else v) for k, v in values.items()}


def _summary_line(r) -> str:
    m = r.metrics
    return (
        f"{r.stage}: test accuracy {m.get('accuracy', float('nan')):.4f}, macro-F1 "
        f"{m.get('macro_f1', float('nan')):.4f}, {r.epochs_run} epochs (best {r.best_epoch}) in "
        f"{r.train_seconds / 60:.1f} min, {r.params:,} params -> {r.model_path}"
    )


@click.group()
def models() -> None:
    """List and inspect the model registry (<run-dir>/models/<name>/v<N>/)."""


@models.command("list")
@path_option("--run-dir", show_default="every run under runs/", help="One run directory.")
def models_list(run_dir: Path | None) -> None:
    """Show registered models as a table."""
    from trainer.registry import MODELS_DIR, format_table, list_models
    from trainer.rundir import DEFAULT_RUNS_ROOT

    if run_dir is not None:
        dirs = [run_dir]
    else:
        root = DEFAULT_RUNS_ROOT
        dirs = (
            sorted(p for p in root.iterdir() if (p / MODELS_DIR).is_dir()) if root.is_dir() else []
        )
    found = [m for d in dirs for m in list_models(d)]
    if not found:
        where = run_dir or DEFAULT_RUNS_ROOT
        click.echo(f"no registered models under {where}; train one with 'edgetk train --stage ...'")
        return
    click.echo(format_table(found))


@models.command("show")
@click.argument("name")
@click.option(
    "--run-dir",
    type=click.Path(path_type=Path),
    required=True,
    help="The run directory whose registry holds the model.",
)
@click.option(
    "--version", "version", type=int, default=None, show_default="the latest", help="Version N."
)
def models_show(name: str, run_dir: Path, version: int | None) -> None:
    """Print one registered model's metadata.json."""
    import json

    from trainer.registry import get_model

    m = get_model(run_dir, name, version)
    click.echo(f"# {m.path}")
    click.echo(json.dumps(m.metadata, indent=2))
