"""The run directory: everything one run produced, under ``runs/<name>/`` by default.

Layout (each stage owns a subfolder)::

    runs/<name>/
      run.json              what ran: config, dataset description, versions, seed
      eda/                  figures + eda_summary.json
      <stage>/              baseline/, transfer/, finetune/, tune/, export/, bench/, ...
      models/<model>/v<N>/  the model registry (see trainer.registry)
      report/
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_runtime.common.configbase import JsonConfig
from edge_runtime.common.errors import ConfigError
from edge_runtime.common.fileio import read_json, write_json
from edge_runtime.common.versions import library_versions

DEFAULT_RUNS_ROOT = Path("runs")


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def code_version() -> str:
    """The git commit of the checkout (with '+dirty'), or the package version outside git."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        from edge_runtime.common.versions import edgetk_version

        return edgetk_version()


@dataclass(frozen=True)
class RunDir:
    path: Path

    @classmethod
    def open(cls, path: str | Path, create: bool = True) -> RunDir:
        p = Path(path)
        if p.exists() and not p.is_dir():
            raise ConfigError(f"run directory {p} exists and is a file; choose another --run-dir")
        if create:
            p.mkdir(parents=True, exist_ok=True)
        elif not p.is_dir():
            raise ConfigError(f"run directory {p} does not exist")
        return cls(p)

    def stage(self, name: str) -> Path:
        """The folder of one stage (created on demand)."""
        d = self.path / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def write_stage_config(
        self, stage: str, config: JsonConfig | dict[str, Any], **extra: Any
    ) -> Path:
        """Record the config a stage ran with (and anything else worth keeping) as JSON."""
        body = config.to_dict() if isinstance(config, JsonConfig) else dict(config)
        return write_json(
            self.stage(stage) / "config.json",
            {
                "config": body,
                "written_utc": utc_now(),
                "versions": library_versions(),
                "code_version": code_version(),
                **extra,
            },
        )

    def read_json(self, relpath: str) -> Any:
        return read_json(self.path / relpath)


def default_run_dir(dataset_name: str, runs_root: Path = DEFAULT_RUNS_ROOT) -> Path:
    return runs_root / dataset_name.replace("/", "_")
