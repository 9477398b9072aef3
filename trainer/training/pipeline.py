"""All three stages for a profile: baseline -> transfer -> finetune, then the comparison table."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_runtime.common.fileio import write_json
from trainer.data import DataConfig, load_dataset
from trainer.training.config import Profile, Stage, StageConfig, parse_enum
from trainer.training.runner import StageResult, run_stage

log = logging.getLogger(__name__)


def profile_data_config(profile: Profile | str, **overrides: Any) -> DataConfig:
    """The data a profile trains on: ``quick`` a stratified 6,000-image training subset, ``full``
    all of it; both evaluate on the whole test split, so their numbers compare."""
    profile = parse_enum(Profile, profile, "profile")
    base: dict[str, Any] = {"train_size": 6000} if profile is Profile.QUICK else {}
    return DataConfig(**{**base, **overrides})


@dataclass(frozen=True)
class ProfileResult:
    results: dict[str, StageResult]
    wall_seconds: float
    table: dict[str, Any]


def run_profile(
    run_dir: str | Path,
    profile: Profile | str,
    data_config: DataConfig | None = None,
    *,
    configs: dict[str, StageConfig] | None = None,
    stages: tuple[str, ...] = ("baseline", "transfer", "finetune"),
) -> ProfileResult:
    """Run ``stages`` in order with the ``profile`` presets (``configs`` replaces any of them).

    The dataset is loaded once; each stage registers its model; the return-on-complexity table and
    ``<run_dir>/training_profile.json`` (wall times) are written at the end. A failing stage
    (e.g. a collapse) stops the profile with its error.
    """
    from trainer.training.complexity import write_return_on_complexity

    profile = parse_enum(Profile, profile, "profile")
    data_config = data_config or profile_data_config(profile)
    configs = configs or {}
    t0 = time.perf_counter_ns()
    ds = load_dataset(data_config)
    results: dict[str, StageResult] = {}
    stage_walls: dict[str, float] = {}
    for name in stages:
        stage = parse_enum(Stage, name, "stage")
        cfg = configs.get(stage.value) or StageConfig.preset(profile, stage)
        ts = time.perf_counter_ns()
        results[stage.value] = run_stage(run_dir, cfg, data_config, dataset=ds)
        stage_walls[stage.value] = (time.perf_counter_ns() - ts) / 1e9
        log.info(
            "%s done in %.0f s: %s",
            stage.value,
            stage_walls[stage.value],
            results[stage.value].metrics,
        )
    table = write_return_on_complexity(run_dir)
    wall = (time.perf_counter_ns() - t0) / 1e9
    write_json(
        Path(run_dir) / "training_profile.json",
        {
            "profile": profile.value,
            "wall_seconds": wall,
            "stage_wall_seconds": stage_walls,
            "data_config": data_config.to_dict(),
            "results": {k: r.to_dict() for k, r in results.items()},
        },
    )
    return ProfileResult(results=results, wall_seconds=wall, table=table)
