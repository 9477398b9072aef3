"""What ``edgetk run`` does: the profile, the data, and the optional stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edge_runtime.common.configbase import JsonConfig
from edge_runtime.common.errors import ConfigError
from trainer.data.config import DataConfig
from trainer.pipeline.budget import Budget
from trainer.training.config import Profile


@dataclass(frozen=True)
class PipelineConfig(JsonConfig):
    profile: Profile = Profile.QUICK
    data: DataConfig = field(default_factory=DataConfig)
    tune: bool = False  # hyperparameter search (after fine-tuning; reported, not fed back)
    formats: tuple[str, ...] | None = None  # export format keys; None: the profile's default
    allow_parity_failure: bool = False
    gate_explanations: bool = False  # --gate-explanations: explanation agreement fails the gate
    bench_runs: int = 100
    bench_threads: tuple[int, ...] = (1, 2)
    seed: int = 42
    # candidate name -> StageConfig fields over the candidate's own settings
    stage_overrides: dict[str, Any] = field(default_factory=dict)
    # TuneConfig fields over the profile's search preset (the tune stage, when --tune is on)
    tune_overrides: dict[str, Any] = field(default_factory=dict)
    candidates_file: str | None = None  # None: trainer/candidates/default.json
    candidate_names: tuple[str, ...] | None = None  # None: the profile's list in that file
    budget: Budget = field(default_factory=Budget)
    # edgetk bench records made on the target: the latency budget is judged on their p95
    budget_bench: tuple[str, ...] = ()
    # test-time views of every export (export/views.py); None: the profile's ("auto" in full)
    test_time_views: str | None = None
    # small data: compare the candidates by k-fold cross-validation ("auto": when the validation
    # split is too small to tell them apart; trainer/pipeline/crossval.py)
    crossval: str = "auto"

    def validate(self) -> None:
        if self.bench_runs < 10:
            raise ConfigError(
                f"bench_runs={self.bench_runs}: use at least 10 for stable percentiles"
            )
        if self.test_time_views is not None:
            from export.views import check_choice

            check_choice(self.test_time_views)
        if self.crossval not in ("auto", "on", "off"):
            raise ConfigError(f"crossval={self.crossval!r}; use auto, on or off")
        if self.tune_overrides:  # refused before any training, not when the tune stage starts
            self.tune_config()

    def tune_config(self) -> Any:
        """The tune stage's search: the profile's preset on this run's data and seed, with
        ``tune_overrides`` over it (unknown fields and bad values: a ConfigError)."""
        from trainer.tuning.config import TuneConfig

        base = TuneConfig.quick() if self.profile is Profile.QUICK else TuneConfig()
        tc = base.replace(data=self.data, seed=self.seed)
        if not self.tune_overrides:
            return tc
        return TuneConfig.from_dict({**tc.to_dict(), **self.tune_overrides}, "tune_overrides")

    def candidate_list(self) -> list[Any]:
        """The candidates this run trains, in order (validated against the candidates file)."""
        from trainer.candidates import load_candidates

        picked = load_candidates(self.candidates_file).for_profile(
            self.profile.value, self.candidate_names
        )
        unknown = set(self.stage_overrides) - {c.name for c in picked}
        if unknown:
            raise ConfigError(
                f"stage_overrides for candidate(s) {sorted(unknown)} that this run does not train; "
                f"it trains {[c.name for c in picked]}"
            )
        return picked

    @classmethod
    def for_profile(cls, profile: Profile | str, **changes: Any) -> PipelineConfig:
        """The preset of ``profile``: quick trains on a stratified subset, full on everything."""
        from trainer.training.pipeline import profile_data_config

        p = Profile(profile)
        data = changes.pop("data", None) or profile_data_config(p, seed=changes.get("seed", 42))
        return cls(profile=p, data=data, bench_runs=50 if p is Profile.QUICK else 200, **changes)
