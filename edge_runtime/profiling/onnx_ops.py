"""Per-operator time of an ONNX artifact, from ONNX Runtime's own profiler.

``SessionOptions.enable_profiling`` makes the session write a Chrome-trace JSON with one event
per kernel execution (``cat`` "Node", name ``<node>_kernel_time``, ``dur`` in microseconds,
``args.op_name``) and one per run (``cat`` "Session", name ``model_run``). The kernels are the
ones of the optimized graph (fused nodes keep their fused names), timed by the runtime itself
on the target; what they leave out is the session's own per-run work (input binding, the
executor's scheduling), which the record shows as the gap between the operators' sum and the
whole model's median.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.backends.onnx import _import_ort
from edge_runtime.profiling.table import op_table

METHOD = (
    "ONNX Runtime's profiler (SessionOptions.enable_profiling): per-kernel 'Node' events of the "
    "optimized graph, median over the timed runs; whole model = median run() of a plain session "
    "(no profiling) run alternately with the profiled one"
)


def parse_trace(events: list[dict[str, Any]], skip_runs: int) -> tuple[list[dict], list[float]]:
    """Per-node median time (ms) over the runs after the first ``skip_runs`` (medians: a shared
    machine's stalls hit single runs), and each kept run's ``model_run`` duration (ms). The
    trace's durations are whole microseconds."""
    runs = [e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"]
    runs.sort(key=lambda e: e["ts"])
    kept = runs[skip_runs:]
    if not kept:
        return [], []
    start = kept[0]["ts"]
    per_node: dict[str, dict[str, Any]] = {}
    per_run: dict[tuple[str, int], float] = {}
    for e in events:
        if e.get("cat") != "Node" or not str(e.get("name", "")).endswith("_kernel_time"):
            continue
        if e["ts"] < start:
            continue
        name = e["name"][: -len("_kernel_time")]
        args = e.get("args") or {}
        per_node.setdefault(
            name, {"name": name, "type": args.get("op_name", "?"), "provider": args.get("provider")}
        )
        # which run: the last model_run that started at or before this event
        k = max(i for i, r in enumerate(kept) if r["ts"] <= e["ts"])
        per_run[(name, k)] = per_run.get((name, k), 0.0) + e["dur"] / 1000
    entries = []
    for name, info in per_node.items():
        times = [per_run.get((name, k), 0.0) for k in range(len(kept))]
        entries.append({**info, "ms": float(np.median(times))})
    return entries, [r["dur"] / 1000 for r in kept]


def _session(ort: Any, path: Path, threads: int | None, prefix: str | None) -> Any:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or 0
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    if prefix:
        opts.enable_profiling = True
        opts.profile_file_prefix = prefix
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def profile_onnx(
    path: str | Path, q: np.ndarray, threads: int | None, runs: int = 50, warmup: int = 5
) -> dict[str, Any]:
    """Per-operator times of the ONNX model at ``path`` for the input batch ``q``.

    A profiled session and a plain one run alternately: the plain one's median is the whole
    model's time (what the operators are set against), the profiled one's says what the
    profiler itself costs (``profiler_overhead``: its timestamps inflate many tiny kernels).
    """
    path = Path(path)
    ort = _import_ort(path)
    with tempfile.TemporaryDirectory(prefix="edgetk-ortprof-") as tmp:
        profiled = _session(ort, path, threads, os.path.join(tmp, "ort"))
        plain = _session(ort, path, threads, None)
        name = plain.get_inputs()[0].name
        out = plain.get_outputs()[0].name
        for _ in range(warmup):
            profiled.run([out], {name: q})
            plain.run([out], {name: q})
        wall: dict[str, list[float]] = {"plain": [], "profiled": []}
        for _ in range(runs):
            for key, session in (("plain", plain), ("profiled", profiled)):
                t0 = time.perf_counter_ns()
                session.run([out], {name: q})
                wall[key].append((time.perf_counter_ns() - t0) / 1e6)
        trace = profiled.end_profiling()
        events = json.loads(Path(trace).read_text(encoding="utf-8"))
    entries, run_ms = parse_trace(events, warmup)
    whole = float(np.median(wall["plain"]))
    return op_table(
        entries,
        whole_ms=whole,
        method=METHOD,
        extra={
            "profiled_run_ms": float(np.median(run_ms)) if run_ms else None,
            "profiled_wall_ms": float(np.median(wall["profiled"])),
            "profiler_overhead": round(float(np.median(wall["profiled"])) / whole, 3)
            if whole > 0
            else None,
            "runs": runs,
            "kernels": "ONNX Runtime CPUExecutionProvider, optimized graph",
        },
    )


__all__ = ["METHOD", "parse_trace", "profile_onnx"]
