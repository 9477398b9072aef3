"""``edgetk bench --ops``: one artifact's per-operator profile, whichever runtime runs it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def profile_ops(
    path: str | Path, fmt: str, q: np.ndarray, threads: int | None, runs: int
) -> dict[str, Any]:
    """Per-operator profile of the artifact at ``path`` (format ``fmt``) on input batch ``q``.

    ``runs`` is the benchmark's timed-run count: ONNX Runtime profiles that many runs; the
    TFLite method times every operator in ``runs // 10`` interleaved rounds (at least 5).
    """
    if fmt == "tflite":
        from edge_runtime.profiling.tflite_ops import profile_tflite

        return profile_tflite(path, q, threads, rounds=max(5, runs // 10))
    if fmt == "onnx":
        from edge_runtime.profiling.onnx_ops import profile_onnx

        return profile_onnx(path, q, threads, runs=max(10, runs))
    raise ValueError(f"no per-operator profiler for format {fmt!r}")


__all__ = ["profile_ops"]
