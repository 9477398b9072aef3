"""Single-image CPU latency of a Keras model: perf_counter_ns, warm-up excluded, percentiles."""

from __future__ import annotations

import time
from typing import Any

import numpy as np


def single_image_latency(
    model: Any, sample: np.ndarray, runs: int = 100, warmup: int = 10
) -> dict[str, Any]:
    """Latency of one image through a traced (``tf.function``) inference call, in milliseconds.

    ``sample`` is one native-size image (H, W, C). The call is traced once and warmed up ``warmup``
    times before ``runs`` timed calls; the result holds p50 / p90 / p99 / mean / min / max.
    """
    import tensorflow as tf

    x = tf.constant(np.asarray(sample, dtype=np.float32)[None, ...])
    fn = tf.function(lambda t: model(t, training=False))
    for _ in range(warmup):
        fn(x).numpy()
    samples = np.empty(runs, dtype=np.float64)
    for i in range(runs):
        t0 = time.perf_counter_ns()
        fn(x).numpy()
        samples[i] = (time.perf_counter_ns() - t0) / 1e6
    return {
        "runs": runs,
        "warmup": warmup,
        "batch": 1,
        "p50_ms": float(np.percentile(samples, 50)),
        "p90_ms": float(np.percentile(samples, 90)),
        "p99_ms": float(np.percentile(samples, 99)),
        "mean_ms": float(samples.mean()),
        "min_ms": float(samples.min()),
        "max_ms": float(samples.max()),
        "device": "cpu" if not tf.config.list_logical_devices("GPU") else "gpu",
    }
