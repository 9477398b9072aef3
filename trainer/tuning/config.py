"""What a search runs: algorithm, budgets, trial length, the feature extractor, the data."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from edge_runtime.common.configbase import JsonConfig, check_fields
from edge_runtime.common.errors import ConfigError
from trainer.data import DataConfig
from trainer.tuning.features import BackboneConfig
from trainer.tuning.space import SearchSpace


class Algorithm(str, Enum):
    HYPERBAND = "hyperband"  # successive halving: many short trials, the best trained longer
    BAYESIAN = "bayesian"  # Gaussian-process guided, full-length trials
    RANDOM = "random"  # independent random trials, full-length


@dataclass(frozen=True)
class TuneConfig(JsonConfig):
    """A hyperparameter search over the head trained on cached backbone features."""

    algorithm: Algorithm = Algorithm.HYPERBAND
    max_trials: int | None = 30  # total for the project, resumed runs included; None: no cap
    time_budget_min: float | None = None  # wall clock for this invocation; None: no limit
    executions_per_trial: int = 1  # repeat each trial and average (noisy objectives)
    max_epochs: int = 9  # hyperband: the longest trial; bayesian / random: every trial's cap
    hyperband_factor: int = 3
    patience: int = 3  # bayesian / random: early stop on val_macro_f1; 0 disables
    batch_size: int = 256
    seed: int = 42
    # Single machine: run the trials in a child process replaced every N trials, so TensorFlow's
    # per-trial leftovers (keras-tuner#873) cannot pile up; None: everything in this process.
    recycle_every: int | None = 10
    space: SearchSpace = field(default_factory=SearchSpace)
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    data: DataConfig = field(default_factory=DataConfig)

    def validate(self) -> None:
        if not isinstance(self.algorithm, Algorithm):
            raise ConfigError(
                f"algorithm={self.algorithm!r} must be an Algorithm; choose one of "
                f"{[a.value for a in Algorithm]} (TuneConfig.from_dict converts strings)"
            )
        if self.max_trials is not None and self.max_trials < 1:
            raise ConfigError(f"max_trials={self.max_trials}; use at least 1 or leave it unset")
        if self.time_budget_min is not None and self.time_budget_min <= 0:
            raise ConfigError(
                f"time_budget_min={self.time_budget_min}; give a positive number of minutes"
            )
        if self.max_trials is None and self.time_budget_min is None:
            raise ConfigError(
                "a search needs a budget: set max_trials (--max-trials) and/or "
                "time_budget_min (--time-budget)"
            )
        check_fields(
            self,
            {
                "executions_per_trial": (1, 10),
                "max_epochs": (1, 1000),
                "hyperband_factor": (2, 10),
                "patience": (0, 1000),
                "batch_size": (1, 65536),
            },
        )
        if self.recycle_every is not None and self.recycle_every < 1:
            raise ConfigError(
                f"recycle_every={self.recycle_every}; use at least 1, or None to keep every "
                "trial in one process"
            )
        if self.data.val_fraction == 0:
            raise ConfigError(
                "data.val_fraction=0 leaves no validation split; the objective is validation "
                "macro-F1, so use a fraction in (0, 0.5]"
            )

    @classmethod
    def quick(cls, **changes) -> TuneConfig:
        """Minutes on a laptop CPU: 10 short trials on a 6,000-image subset."""
        return cls(
            max_trials=10,
            max_epochs=6,
            data=DataConfig(train_size=6000),
        ).replace(**changes)

    @classmethod
    def full(cls, **changes) -> TuneConfig:
        """The whole dataset, 30 trials (the acceptance benchmark runs this shape)."""
        return cls(max_trials=30, max_epochs=9).replace(**changes)

    def search_identity(self) -> dict:
        """The fields that define a search; budgets may change when resuming, these may not."""
        d = self.to_dict()
        for budget_field in ("max_trials", "time_budget_min", "recycle_every"):
            d.pop(budget_field)
        return d
