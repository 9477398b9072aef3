"""Where a search keeps its files inside the run directory's ``tune/`` stage folder.

tune/
  config.json                      the TuneConfig it ran with (+ versions)
  features/<key>/                  cached backbone features (x_/y_ train|val|test .npy, meta.json)
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

STAGE = "tune"
PROJECT_NAME = "search"
STATS_DIR = "trial_stats"


@dataclass(frozen=True)
class TunePaths:
    root: Path

    @property
    def features(self) -> Path:
        return self.root / "features"

    @property
    def tuner_dir(self) -> Path:
        return self.root / "kt"

    @property
    def project(self) -> Path:
        return self.tuner_dir / PROJECT_NAME

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def best(self) -> Path:
        return self.root / "best_hyperparameters.json"

    @property
    def comparison(self) -> Path:
        return self.root / "comparison.json"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"
