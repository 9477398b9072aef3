"""Training stages: configs with presets, the stage runner, the three-stage profile, comparison."""

from trainer.training.config import LRSchedule, Profile, Stage, StageConfig, Strategy
from trainer.training.pipeline import ProfileResult, profile_data_config, run_profile
from trainer.training.runner import StageResult, run_stage

__all__ = [
    "LRSchedule",
    "Profile",
    "ProfileResult",
    "Stage",
    "StageConfig",
    "StageResult",
    "Strategy",
    "profile_data_config",
    "run_profile",
    "run_stage",
]
