"""Benchmark every requested artifact at every thread count; one failure is one error row."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edge_runtime.bench.config import BenchConfig
from edge_runtime.bench.device import device_info, runtime_versions
from edge_runtime.bench.measure import measure
from edge_runtime.bench.scaling import thread_scaling
from edge_runtime.common.errors import DataError
from edge_runtime.common.fileio import sha256_file
from edge_runtime.inputs import collect_inputs
from edge_runtime.integrity import verify_artifact_file
from edge_runtime.manifest import Artifact, Manifest, load_manifest

log = logging.getLogger(__name__)

SCHEMA = "edgetk.bench/1"


def _error_row(
    artifact: str, threads: int, error: str, manifest_artifact: Any = None
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "artifact": artifact,
        "threads": threads,
        "status": "error",
        "error": error,
    }
    if manifest_artifact is not None:
        row.update(format=manifest_artifact.format, precision=manifest_artifact.precision)
    return row


def _signal_name(rc: int) -> str:
    try:
        return signal.Signals(-rc).name
    except ValueError:
        return f"signal {-rc}"


def _measure_isolated(kwargs: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "edge_runtime.bench.worker", json.dumps(kwargs)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"status": "error", "error": f"measurement took longer than {timeout_s:.0f} s"}
    if proc.returncode != 0:
        why = (
            f"crashed with {_signal_name(proc.returncode)}"
            if proc.returncode < 0
            else f"exited with code {proc.returncode}"
        )
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        return {"status": "error", "error": f"measuring process {why}: {tail}"}
    return _parse_worker_row(proc.stdout, proc.stderr)


def _parse_worker_row(stdout: str, stderr: str) -> dict[str, Any]:
    """The worker's row from its last stdout line; anything else is an error row, not a crash.

    A runtime that prints to stdout after the row, or a worker killed mid-write, must cost one
    row, not the whole benchmark.
    """
    lines = stdout.strip().splitlines()
    last = lines[-1] if lines else ""
    try:
        row = json.loads(last)
    except ValueError:
        row = None
    if not isinstance(row, dict) or "status" not in row:
        shown = last[:200] if last else "nothing"
        tail = " | ".join(stderr.strip().splitlines()[-2:])
        return {
            "status": "error",
            "error": f"measuring process printed {shown!r} instead of a result row"
            + (f" ({tail})" if tail else ""),
        }
    return row


def _check_data(data: str, manifest: Manifest) -> None:
    """``--data-dir`` must be a labelled folder with images: otherwise every row would fail alike."""
    items, labelled = collect_inputs([data], manifest.labels)
    if not labelled or not items:
        raise DataError(
            f"--data-dir {data} is not a labelled folder with images (one subfolder per class, named "
            f"after the labels {list(manifest.labels)}); pass such a folder or leave --data-dir out"
        )


def chosen_artifacts(manifest: Manifest, names: Sequence[str]) -> list[Artifact]:
    """The artifacts named (by file or format:precision), or all of the bundle's when none are."""
    return [manifest.artifact(a) for a in names] if names else list(manifest.artifacts)


def run_bench(
    config: BenchConfig, progress: Callable[[dict[str, Any]], None] | None = None
) -> dict[str, Any]:
    """Measure and return the benchmark record (see docs/edge_runtime.md for the schema)."""
    bundle = Path(config.bundle)
    manifest = load_manifest(bundle)
    chosen = chosen_artifacts(manifest, config.artifacts)
    # Refuse before measuring: these would otherwise fail every row alike and still exit 0.
    for art in chosen:
        verify_artifact_file(bundle / art.file, art.sha256, verify=config.verify)
    if config.data:
        _check_data(config.data, manifest)
    rows = []
    for art in chosen:
        for threads in config.threads:
            kwargs = {
                "bundle": str(bundle),
                "artifact": art.file,
                "threads": threads,
                "runs": config.runs,
                "warmup": config.warmup,
                "batch": config.batch,
                "data": config.data,
                "data_limit": config.data_limit,
                "verify": config.verify,
                "ops": config.ops,
            }
            log.debug("measuring %s with %d thread(s)", art.file, threads)
            if config.isolate:
                row = _measure_isolated(kwargs, config.timeout_s)
            else:
                try:
                    row = measure(**kwargs)
                except Exception as exc:  # one artifact's failure must not hide the others
                    row = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
            if row.get("status") != "ok":
                row = _error_row(art.file, threads, str(row.get("error")), art)
                f = bundle / art.file
                if f.is_file():
                    row["size_bytes"] = f.stat().st_size
            rows.append(row)
            if progress:
                progress(row)
    return {
        "schema": SCHEMA,
        "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "label": config.label,
        "device": device_info(),
        "versions": runtime_versions(),
        "bundle": {
            "path": str(bundle),
            "name": manifest.name,
            "default_artifact": manifest.default_artifact,
            "manifest_sha256": sha256_file(bundle / "manifest.json"),
            "source_model_sha256": manifest.source_model.get("sha256"),
        },
        "settings": config.to_dict(),
        "rows": rows,
        "thread_scaling": thread_scaling(rows),
    }


__all__ = ["SCHEMA", "run_bench"]
