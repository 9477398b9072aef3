"""``pipeline.json``: what each stage of a run did, so a re-run can skip what is done."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from edge_runtime.common.configbase import JsonConfig
from edge_runtime.common.fileio import read_json, write_json

STATE_NAME = "pipeline.json"
Status = Literal["done", "failed", "running", "skipped"]


def config_key(config: dict[str, Any], upstream: list[str]) -> str:
    """Hash of a stage's config and its upstream stages' keys: a change upstream reruns downstream."""
    blob = json.dumps({"config": config, "upstream": upstream}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class StageRecord(JsonConfig):
    name: str
    status: Status
    key: str
    started_utc: str = ""
    seconds: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)
    error: str = ""


@dataclass
class PipelineState:
    """Mutable while a run progresses; saved atomically after every stage."""

    path: Path
    stages: dict[str, StageRecord] = field(default_factory=dict)

    @classmethod
    def load(cls, run_dir: Path) -> PipelineState:
        path = run_dir / STATE_NAME
        if not path.exists():
            return cls(path)
        data = read_json(path)
        return cls(path, {k: StageRecord.from_dict(v) for k, v in data.get("stages", {}).items()})

    def save(self) -> None:
        write_json(self.path, {"stages": {k: v.to_dict() for k, v in self.stages.items()}})

    def is_fresh(self, name: str, key: str) -> bool:
        rec = self.stages.get(name)
        return rec is not None and rec.status == "done" and rec.key == key
