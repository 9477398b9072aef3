"""Candidates' validation numbers, read from their summaries: the only numbers selection sees.

This module reads ``val_metrics`` and nothing else from a summary, so no test-set number can
reach the choice (a test fails if it does).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_runtime.common.errors import ConfigError
from edge_runtime.common.fileio import read_json

SUMMARY = "summary.json"


def validation_table(run_dir: Path, names: list[str]) -> dict[str, dict[str, Any]]:
    """``{candidate: {"accuracy", "macro_f1", "count"}}`` from each ``<run>/<name>/summary.json``."""
    table: dict[str, dict[str, Any]] = {}
    for name in names:
        path = Path(run_dir) / name / SUMMARY
        if not path.is_file():
            raise ConfigError(
                f"candidate {name!r} has no {path}; its training stage must run first"
            )
        val = read_json(path).get("val_metrics")
        if not val:
            raise ConfigError(
                f"candidate {name!r} has no validation numbers ({path}); selection needs a "
                "validation split: use --val-fraction above 0"
            )
        table[name] = {k: val[k] for k in ("accuracy", "macro_f1", "count")}
    return table
