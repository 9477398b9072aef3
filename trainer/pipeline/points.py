"""Measure each gated artifact of each candidate: validation accuracy, size, p95 latency, memory.

Accuracy runs the artifact through the device runtime (the same ``Predictor`` a device uses) on
the validation split; latency is ``Predictor.predict`` on one image, warm-up excluded, one thread,
in this process; peak memory comes from ``edgetk bench``'s isolated process per artifact, so it is
that artifact's alone and not this TensorFlow process's.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from trainer.pipeline.select import Point

log = logging.getLogger(__name__)

EVAL_BATCH = 256


def gated_artifacts(export_dir: Path) -> list[Any]:
    """The artifacts of an export whose parity gate passed."""
    from edge_runtime.manifest import load_manifest

    return [a for a in load_manifest(export_dir).artifacts if a.parity_passed]


def _val_correct(predictor: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per validation image: did the artifact's top-1 match the label."""
    parts = []
    for i in range(0, len(y), EVAL_BATCH):
        probs = predictor.predict_batch(x[i : i + EVAL_BATCH].astype(np.float32))
        parts.append(np.argmax(probs, axis=1) == y[i : i + EVAL_BATCH])
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def _p95_ms(predictor: Any, image: np.ndarray, runs: int) -> float:
    for _ in range(max(5, runs // 10)):
        predictor.predict([image])
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        predictor.predict([image])
        samples.append((time.perf_counter_ns() - t0) / 1e6)
    return float(np.percentile(samples, 95))


def _peak_ram(export_dir: Path, files: list[str]) -> dict[str, float | None]:
    from edge_runtime.bench.config import BenchConfig
    from edge_runtime.bench.run import run_bench

    record = run_bench(
        BenchConfig(bundle=str(export_dir), artifacts=tuple(files), threads=(1,), runs=20, warmup=5)
    )
    out: dict[str, float | None] = {}
    for row in record["rows"]:
        mem = (row.get("memory") or {}).get("peak_rss_mb") if row.get("status") == "ok" else None
        out[row.get("artifact", "")] = mem
    return out


def measure_points(
    export_dir: Path, candidate: str, x_val: np.ndarray, y_val: np.ndarray, runs: int
) -> list[Point]:
    """One :class:`Point` per gated artifact of ``candidate``'s export in ``export_dir``."""
    from edge_runtime import Predictor

    arts = gated_artifacts(export_dir)
    if not arts:
        log.warning("%s: no artifact passed its gate; it offers no point", candidate)
        return []
    ram = _peak_ram(export_dir, [a.file for a in arts])
    points = []
    for a in arts:
        predictor = Predictor.from_bundle(export_dir, a.file, threads=1)
        try:
            correct = _val_correct(predictor, x_val, y_val)
            acc = float(np.mean(correct)) if len(correct) else 0.0
            p95 = _p95_ms(predictor, x_val[0], runs)
        finally:
            predictor.close()
        points.append(
            Point(
                candidate=candidate,
                artifact=a.file,
                format=a.format,
                precision=a.precision,
                val_accuracy=acc,
                val_count=int(len(y_val)),
                size_kb=a.size_bytes / 1000.0,
                p95_ms=p95,
                peak_ram_mb=ram.get(a.file),
                correct=correct,
            )
        )
        log.info(
            "%s/%s: val %.4f, %.0f KB, p95 %.2f ms", candidate, a.file, acc, a.size_bytes / 1e3, p95
        )
    return points
