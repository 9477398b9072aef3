"""Runs a list of stages in order, skipping finished ones whose config is unchanged.

A stage is a name, a function that does the work and returns a small JSON summary, and a function
that returns the config it depends on (hashed with the upstream keys). ``from_stage`` redoes that
stage and everything after it. A failing stage is recorded, earlier stages' outputs are left as
they are, and a :class:`StageFailed` names the stage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_runtime.common.errors import ConfigError, EdgetkError
from trainer.pipeline.state import PipelineState, StageRecord, config_key
from trainer.rundir import utc_now

log = logging.getLogger(__name__)


@dataclass
class Context:
    """What stages share: the run directory, the options, and earlier stages' summaries."""

    run_dir: Path
    options: dict[str, Any]
    results: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[Context], dict[str, Any]]
    config: Callable[[Context], dict[str, Any]] = lambda ctx: {}
    enabled: Callable[[Context], bool] = lambda ctx: True
    description: str = ""


class StageFailed(EdgetkError):
    """A pipeline stage failed; earlier stages' outputs are intact."""

    def __init__(self, stage: str, cause: BaseException) -> None:
        self.stage = stage
        self.cause = cause
        self.exit_code = getattr(cause, "exit_code", 1)
        super().__init__(
            f"stage '{stage}' failed: {cause.__class__.__name__}: {cause}. Outputs of earlier stages "
            f"are intact; fix the cause and re-run the same command to resume from '{stage}'"
        )


def _fmt(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}m{s:02d}s" if m else f"{seconds:.1f}s"


def run_stages(
    stages: list[Stage],
    ctx: Context,
    from_stage: str | None = None,
    echo: Callable[[str], None] = print,
) -> PipelineState:
    """Run ``stages`` in order in ``ctx.run_dir``; returns the final state (also in pipeline.json)."""
    names = [s.name for s in stages]
    if from_stage is not None and from_stage not in names:
        raise ConfigError(f"--from {from_stage!r} is not a stage; stages are {names}")
    state = PipelineState.load(ctx.run_dir)
    t0 = time.perf_counter()
    redo = False
    upstream: list[str] = []
    active = [s for s in stages if s.enabled(ctx)]
    for i, stage in enumerate(active, 1):
        redo = redo or stage.name == from_stage
        key = config_key(stage.config(ctx), upstream)
        upstream.append(key)
        prefix = f"[{i}/{len(active)}] {stage.name:<9}"
        if not redo and state.is_fresh(stage.name, key):
            ctx.results[stage.name] = state.stages[stage.name].summary
            echo(f"{prefix} up to date, skipped (elapsed {_fmt(time.perf_counter() - t0)})")
            continue
        echo(f"{prefix} running{' - ' + stage.description if stage.description else ''}")
        started, s0 = utc_now(), time.perf_counter()
        try:
            summary = stage.run(ctx) or {}
        except BaseException as exc:
            state.stages[stage.name] = StageRecord(
                stage.name,
                "failed",
                key,
                started,
                time.perf_counter() - s0,
                {},
                f"{exc.__class__.__name__}: {exc}",
            )
            state.save()
            if isinstance(exc, KeyboardInterrupt):
                raise
            echo(f"{prefix} FAILED after {_fmt(time.perf_counter() - s0)}")
            raise StageFailed(stage.name, exc) from exc
        seconds = time.perf_counter() - s0
        ctx.results[stage.name] = summary
        state.stages[stage.name] = StageRecord(stage.name, "done", key, started, seconds, summary)
        state.save()
        echo(f"{prefix} done in {_fmt(seconds)} (elapsed {_fmt(time.perf_counter() - t0)})")
    return state
