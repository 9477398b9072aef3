"""Which candidates a run trained, with their kinds and files: what every report section iterates.

Names come from the run's own records, first that answers:

1. ``pipeline_config.json``: the candidates file and the ``--models`` list the run was started
   with (``PipelineConfig.candidate_list``), in the order they ran;
2. ``pipeline.json``: the stages the runner recorded, less the pipeline's own (eda, export, ...);
3. the run directory: every folder with a ``summary.json``, ``metrics.json`` or ``config.json``
   (a run made by ``edgetk train`` stages, not ``edgetk run``).

A name is kept when its folder holds any of those files. Its kind is the one its ``summary.json``
recorded, else the candidates file's, else its ``config.json``'s; no name is special.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from edge_runtime.common.errors import EdgetkError
from trainer.candidates.spec import KINDS, RESERVED
from trainer.report.records import (
    CONFIG_FILE,
    METRICS_FILE,
    SUMMARY_FILE,
    EvalMetrics,
    StageConfigFile,
    StageSummary,
)

log = logging.getLogger(__name__)

PIPELINE_CONFIG_FILE = "pipeline_config.json"
_RUN_FILES = (SUMMARY_FILE, METRICS_FILE, CONFIG_FILE)


@dataclass(frozen=True)
class RanCandidate:
    """One candidate of the run and what it left in ``<run>/<name>/`` (None: not written yet)."""

    name: str
    kind: str  # baseline, resnet, transfer, finetune, classical; "" when no record says
    summary: StageSummary | None = None
    metrics: EvalMetrics | None = None  # the Keras model on the test split
    config: StageConfigFile | None = None
    description: str = ""  # from the candidates file, when the run's file is still readable

    @property
    def is_classical(self) -> bool:
        return self.kind == "classical"

    @property
    def collapsed(self) -> bool:
        return bool(
            (self.summary and self.summary.collapsed)
            or (self.metrics and self.metrics.collapse_detected)
        )

    @property
    def label(self) -> str:
        """``name (kind)``, or the name alone when the kind is unknown or the same word."""
        return self.name if self.kind in ("", self.name) else f"{self.name} ({self.kind})"


def load_candidate(run_dir: Path, name: str, kind: str = "", description: str = "") -> RanCandidate:
    """The candidate ``name`` with its files read through their record classes."""
    folder = run_dir / name
    summary = StageSummary.load(folder)
    config = StageConfigFile.load(folder)
    kind = (
        (summary.kind if summary else "")
        or kind
        or ((config.kind or "") if config else "")
        or (name if name in KINDS else "")
    )
    return RanCandidate(name, kind, summary, EvalMetrics.load(folder), config, description)


def _from_pipeline_config(run_dir: Path) -> list[tuple[str, str, str]] | None:
    path = run_dir / PIPELINE_CONFIG_FILE
    if not path.is_file():
        return None
    from trainer.pipeline.config import PipelineConfig

    try:
        picked = PipelineConfig.load(path).candidate_list()
    except (EdgetkError, ValueError) as exc:
        # A candidates file moved or edited since the run: the runner's own record still says
        # which candidates ran.
        log.info("%s: its candidates cannot be listed (%s); reading pipeline.json", path, exc)
        return None
    return [(c.name, c.kind, c.description) for c in picked]


def _from_pipeline_state(run_dir: Path) -> list[tuple[str, str, str]] | None:
    from trainer.pipeline.state import STATE_NAME, PipelineState

    if not (run_dir / STATE_NAME).is_file():
        return None
    try:
        state = PipelineState.load(run_dir)
    except (EdgetkError, ValueError) as exc:
        log.info("%s cannot be read (%s); listing the run's folders", run_dir / STATE_NAME, exc)
        return None
    return [(n, "", "") for n in state.stages if n not in RESERVED] or None


def _from_folders(run_dir: Path) -> list[tuple[str, str, str]]:
    names = [
        p.name
        for p in run_dir.iterdir()
        if p.is_dir() and p.name not in RESERVED and any((p / f).is_file() for f in _RUN_FILES)
    ]
    order = {k: i for i, k in enumerate(KINDS)}
    return [(n, "", "") for n in sorted(names, key=lambda n: (order.get(n, len(order)), n))]


def ran_candidates(run_dir: Path) -> tuple[RanCandidate, ...]:
    """The run's candidates in the order they ran, each with its typed records."""
    planned = (
        _from_pipeline_config(run_dir) or _from_pipeline_state(run_dir) or _from_folders(run_dir)
    )
    return tuple(
        load_candidate(run_dir, name, kind, description)
        for name, kind, description in planned
        if any((run_dir / name / f).is_file() for f in _RUN_FILES)
    )


__all__ = ["RanCandidate", "load_candidate", "ran_candidates"]
