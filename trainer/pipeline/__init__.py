"""``edgetk run``: every stage from data to device bundle and report, resumable."""

from trainer.pipeline.config import PipelineConfig
from trainer.pipeline.runner import Context, Stage, StageFailed, run_stages

__all__ = ["Context", "PipelineConfig", "Stage", "StageFailed", "run_stages"]
