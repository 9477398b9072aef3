"""A run directory's records, read once through their classes, for the report's sections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_runtime.common.fileio import read_json
from edge_runtime.manifest import MANIFEST_NAME, Manifest, load_manifest
from trainer.pipeline.selection_record import SelectionRecord
from trainer.pipeline.state import STATE_NAME, PipelineState
from trainer.report.bench_record import BenchRecord
from trainer.report.records import StageConfigFile
from trainer.report.run_candidates import RanCandidate, load_candidate, ran_candidates


def _json(path: Path) -> Any | None:
    try:
        return read_json(path)
    except (OSError, ValueError):
        return None


class RunFiles:
    """What the report reads: the candidates that ran (names, kinds, summaries, metrics), the
    selection, the bundle manifest, the bench records, the pipeline state; None where a stage did
    not run. The EDA and tuning files stay plain JSON (their sections read them as they are)."""

    def __init__(
        self, run_dir: Path, bundle_dir: Path | None = None, extra_bench: tuple[Path, ...] = ()
    ) -> None:
        self.run = run_dir
        self.eda = _json(run_dir / "eda" / "eda_summary.json")
        self.eda_config = StageConfigFile.load(run_dir / "eda")
        self.candidates: tuple[RanCandidate, ...] = ran_candidates(run_dir)
        self.tune_summary = _json(run_dir / "tune" / "summary.json")
        self.tune_comparison = _json(run_dir / "tune" / "comparison.json")
        self.bundle_dir = bundle_dir or run_dir / "bundle"
        self.manifest: Manifest | None = (
            load_manifest(self.bundle_dir) if (self.bundle_dir / MANIFEST_NAME).is_file() else None
        )
        self.bench = BenchRecord.load(run_dir / "bench" / "bench.json")
        self.extra_bench = [b for b in (BenchRecord.load(p) for p in extra_bench) if b]
        self.state = PipelineState.load(run_dir) if (run_dir / STATE_NAME).is_file() else None
        self.selection = SelectionRecord.load(run_dir)
        # small data: the chosen candidate retrained on every training image (refit stage)
        self.refit = _json(run_dir / "refit.json")

    def candidate(self, name: str) -> RanCandidate:
        """The named candidate (read from its folder if the run's lists did not name it)."""
        for c in self.candidates:
            if c.name == name:
                return c
        return load_candidate(self.run, name)

    @property
    def bundle_source(self) -> str | None:
        """The candidate the bundle's model came from (``source_model.stage`` in the manifest)."""
        stage = (self.manifest.source_model if self.manifest else {}).get("stage")
        return stage if isinstance(stage, str) else None

    @property
    def shipped_name(self) -> str | None:
        """The candidate that ships: selection's choice, else the bundle's source, else None."""
        if self.selection and self.selection.chosen:
            return self.selection.chosen.candidate
        return self.bundle_source

    @property
    def shipped(self) -> RanCandidate | None:
        return self.candidate(self.shipped_name) if self.shipped_name else None

    @property
    def shipped_refit(self) -> RanCandidate | None:
        """Small data: the chosen candidate retrained on every training image, when the bundle
        ships that model (its files in ``<run>/refit/<name>/``); else None."""
        rec, name = self.refit, self.shipped_name
        if not rec or not name or rec.get("candidate") != name or not rec.get("model"):
            return None
        if self.manifest is None:
            return None
        source = str((self.manifest.source_model or {}).get("path", ""))
        if not Path(source).as_posix().endswith(str(rec.get("model"))):
            return None
        return load_candidate(self.run / "refit", name)

    @property
    def evaluated(self) -> list[RanCandidate]:
        """The candidates with a test-split evaluation (``metrics.json``), in run order."""
        return [c for c in self.candidates if c.metrics]

    @property
    def focus(self) -> list[RanCandidate]:
        """Whose evaluation the report shows in full: the shipped candidate, or, while nothing
        ships yet, every evaluated one."""
        s = self.shipped
        return [s] if s and s.metrics else self.evaluated

    @property
    def input_spec(self) -> dict[str, Any]:
        """The run's preprocessing contract (the EDA's dataset description, or a stage's)."""
        spec = ((self.eda or {}).get("dataset") or {}).get("input_spec")
        if spec:
            return spec
        for cfg in (self.eda_config, *(c.config for c in self.candidates)):
            if cfg and cfg.input_spec:
                return cfg.input_spec
        return {}


__all__ = ["RunFiles"]
