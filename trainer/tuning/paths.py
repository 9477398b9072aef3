"""Where a search keeps its files inside the run directory's ``tune/`` stage folder.

features/<key>/                    cached backbone features (x_/y_ train|val|test .npy, meta.json),
                                   beside tune/ in the run directory: the transfer stage trains its
                                   head on the same cache (trainer/training/head_on_features.py)
tune/
  config.json                      the TuneConfig it ran with (+ versions)
  kt/search/                       KerasTuner's project: oracle.json, trial_*/, trial_stats/
  trials.json, trials.csv          one row per trial
  objective_vs_hyperparameters.png
  best_hyperparameters.json        stage-config overrides for ``edgetk train``
  comparison.json                  best vs default hyperparameters on validation and test
  summary.json                     what the search did (trials, time, stop reason, memory)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

STAGE = "tune"
PROJECT_NAME = "search"
STATS_DIR = "trial_stats"


class _Below:
    """A path below ``TunePaths.root``, as the tree above lays it out."""

    def __init__(self, *parts: str) -> None:
        self.parts = parts

    def __get__(self, paths: TunePaths | None, owner: type | None = None) -> Any:
        return self if paths is None else paths.root.joinpath(*self.parts)


@dataclass(frozen=True)
class TunePaths:
    root: Path

    @property
    def features(self) -> Path:
        return self.root.parent / "features"

    tuner_dir = _Below("kt")
    project = _Below("kt", PROJECT_NAME)
    config = _Below("config.json")
    best = _Below("best_hyperparameters.json")
    comparison = _Below("comparison.json")
    summary = _Below("summary.json")
