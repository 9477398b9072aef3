"""Latency budgets judged on the target: p95 from ``edgetk bench`` records made on the device.

``edgetk bench runs/X/exports/<candidate> --remote pi@board`` (or a bench run on the board
itself) measures each candidate's artifacts there; ``edgetk run --from select --budget-ms 5
--budget-bench bench.json ...`` then judges the latency budget on those numbers instead of this
machine's. Artifacts are matched by their sha256, so a record of another build cannot be
mistaken for this one; an artifact the records do not cover has no device latency and does not
fit a latency budget.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from edge_runtime.common.errors import ConfigError


def load_device_latency(paths: tuple[str, ...]) -> tuple[dict[str, float], list[str]]:
    """``({sha256: p95 ms at the fewest threads measured}, [device descriptions])``.

    Records from before the bench reported p95 give p99 (stricter), said in the description.
    """
    latency: dict[str, tuple[int, float]] = {}
    devices: list[str] = []
    for path in paths:
        try:
            record = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"--budget-bench {path}: no such file") from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"--budget-bench {path}: not a bench JSON record ({exc})") from None
        rows = record.get("rows") if isinstance(record, dict) else None
        if not isinstance(rows, list):
            raise ConfigError(
                f"--budget-bench {path}: no 'rows'; give a JSON file written by edgetk bench"
            )
        dev = record.get("device") or {}
        used_p99 = False
        for row in rows:
            stats = row.get("latency_ms") if isinstance(row, dict) else None
            if row.get("status") != "ok" or not isinstance(stats, dict) or not row.get("sha256"):
                continue
            value = stats.get("p95")
            if value is None:
                value, used_p99 = stats.get("p99"), True
            if value is None:
                continue
            threads = int(row.get("threads") or 1)
            old = latency.get(row["sha256"])
            if old is None or threads < old[0]:
                latency[row["sha256"]] = (threads, float(value))
        devices.append(
            f"{record.get('label') or dev.get('cpu_model') or path} ({dev.get('arch', '?')})"
            + (", p99 used: the record has no p95" if used_p99 else "")
        )
    return {sha: v for sha, (_, v) in latency.items()}, devices


def apply_device_latency(
    points: list[Any], hashes: dict[str, str], latency: dict[str, float]
) -> list[Any]:
    """The points with ``p95_ms`` replaced by the device's (None where the device has none).

    ``hashes``: point key -> the artifact's sha256 from its export manifest.
    """
    return [dataclasses.replace(p, p95_ms=latency.get(hashes.get(p.key, ""))) for p in points]
