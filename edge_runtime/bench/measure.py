"""Measure one (artifact, threads) pair in this process: one benchmark row."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.common.fileio import sha256_file
from edge_runtime.evaluation import evaluate
from edge_runtime.inputs import collect_inputs
from edge_runtime.predictor import Predictor
from edge_runtime.preprocess import load_image
from edge_runtime.stats import LatencyStats

MEMORY_METHOD = (
    "peak resident set size of the measuring process (VmHWM on Linux, else getrusage ru_maxrss)"
)


def peak_rss_mb() -> float | None:
    """Peak RSS of this process in MiB.

    Linux: ``VmHWM`` from /proc/self/status, which belongs to this address space. ``ru_maxrss`` is
    NOT used there: Linux carries it across fork + exec, so a worker started by a process that had
    loaded TensorFlow would report the parent's peak. Elsewhere: ``ru_maxrss`` (bytes on macOS).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    try:
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)
    except ImportError:  # Windows
        return None


def sample_image(predictor: Predictor, data: str | None) -> np.ndarray:
    """A real image from ``data`` if given, else a fixed pseudo-random one at the native size."""
    if data:
        items, _ = collect_inputs([data], predictor.labels)
        if items:
            return load_image(items[0].path)
    spec = predictor.manifest.input
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (spec.height, spec.width, spec.channels), dtype=np.uint8)


def _timed(fn: Any, n: int) -> list[int]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        fn()
        out.append(time.perf_counter_ns() - t0)
    return out


def accuracy_on(predictor: Predictor, data: str, limit: int | None, batch: int) -> dict[str, Any]:
    """Accuracy and macro-F1 on a labelled folder, through the same path as ``edgetk predict``."""
    items, labelled = collect_inputs([data], predictor.labels)
    if not labelled:
        return {"error": f"{data} is not a labelled folder (one subfolder per class)"}
    if limit:
        items = items[:: max(1, len(items) // limit)][:limit]
    y_true, y_pred = [], []
    for i in range(0, len(items), batch):
        chunk = items[i : i + batch]
        preds = predictor.predict([load_image(it.path) for it in chunk])
        y_true += [it.true_index for it in chunk]
        y_pred += [p.index for p in preds]
    ev = evaluate(y_true, y_pred, predictor.labels)
    return {"n": ev.n, "accuracy": round(ev.accuracy, 6), "macro_f1": round(ev.macro_f1, 6)}


def measure(
    bundle: str,
    artifact: str,
    threads: int,
    runs: int,
    warmup: int,
    batch: int,
    data: str | None = None,
    data_limit: int | None = None,
    verify: bool = True,
    ops: bool = False,
) -> dict[str, Any]:
    """Load, first inference, latency distribution, throughput, memory and accuracy of one artifact.

    ``latency_ms`` is ``Predictor.predict`` on one decoded image (preprocessing, quantization,
    inference, dequantization, top-k); ``invoke_ms`` is the bare runtime call on an already
    quantized input, so their ratio is the runtime's own per-image overhead. ``ops``: also the
    per-operator profile (``edge_runtime.profiling``) on the same input, with its operators' sum
    set against ``invoke_ms``'s median.
    """
    t0 = time.perf_counter_ns()
    predictor = Predictor.from_bundle(bundle, artifact, threads, verify_hashes=verify)
    load_ms = (time.perf_counter_ns() - t0) / 1e6
    a = predictor.artifact
    path = Path(bundle) / a.file
    image = sample_image(predictor, data)

    t0 = time.perf_counter_ns()
    predictor.predict([image])
    first_ms = (time.perf_counter_ns() - t0) / 1e6
    for _ in range(warmup):
        predictor.predict([image])
    e2e = _timed(lambda: predictor.predict([image]), runs)

    backend = predictor.backend
    q = backend.quantize_input(predictor.preprocess(image)[None])
    for _ in range(warmup):
        backend.invoke(q)
    bare = _timed(lambda: backend.invoke(q), runs)

    xb = np.repeat(predictor.preprocess(image)[None], batch, axis=0)
    for _ in range(max(2, warmup // batch)):
        predictor.predict_batch(xb)
    n_batches = max(3, runs // batch)
    batched = _timed(lambda: predictor.predict_batch(xb), n_batches)

    row: dict[str, Any] = {
        "artifact": a.file,
        "format": a.format,
        "precision": a.precision,
        "threads": threads,
        "status": "ok",
        "error": None,
        "size_bytes": path.stat().st_size,
        "sha256": sha256_file(path),
        "sha256_matches_manifest": sha256_file(path) == a.sha256,
        "runtime": backend.runtime,
        "batchable": backend.batchable,
        "load_ms": round(load_ms, 3),
        "first_inference_ms": round(first_ms, 3),
        "latency_ms": LatencyStats.from_ns(e2e).to_dict(),
        "invoke_ms": LatencyStats.from_ns(bare).to_dict(),
        "throughput": {
            "single_stream_ips": round(runs / (sum(e2e) / 1e9), 2),
            "batched_ips": round(n_batches * batch / (sum(batched) / 1e9), 2),
            "batch": batch,
        },
        "accuracy": accuracy_on(predictor, data, data_limit, batch) if data else None,
        "memory": {"peak_rss_mb": peak_rss_mb(), "method": MEMORY_METHOD},
    }
    predictor.close()
    if ops:
        row["ops"] = _ops_profile(path, a.format, q, threads, runs, row["invoke_ms"]["p50"])
    return row


def _ops_profile(
    path: Path, fmt: str, q: np.ndarray, threads: int, runs: int, invoke_p50: float
) -> dict[str, Any]:
    """The profile, or an ``error`` entry: a profiler failure must not lose the row's timings."""
    from edge_runtime.profiling.ops import profile_ops

    try:
        profile = profile_ops(path, fmt, q, threads, runs)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    profile["bench_invoke_p50_ms"] = invoke_p50
    profile["sum_over_bench_p50"] = (
        round(profile["sum_ms"] / invoke_p50, 4) if invoke_p50 > 0 else None
    )
    return profile


__all__ = ["MEMORY_METHOD", "accuracy_on", "measure", "peak_rss_mb"]
