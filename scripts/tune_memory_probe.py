"""Why the search recycles its process: RSS growth of repeated Keras fits, graph vs eager.

    .venv/bin/python scripts/tune_memory_probe.py [--models 6] [--rows 54000]

Builds the search's head again and again on random 1280-d features (the Fashion-MNIST feature
shape), one epoch each, releasing everything in between (clear_session, gc, malloc_trim), and
records the RSS growth per model and the epoch time, for tf.function (graph) and eager execution
side by side in one run. Writes benchmarks/tuning/memory_probe.json.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from edge_runtime.common.fileio import write_json  # noqa: E402
from scripts.bench_common import provenance  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", type=int, default=6)
    ap.add_argument("--rows", type=int, default=54000)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "tuning")
    args = ap.parse_args(argv)

    import keras

    from trainer.tuning.head import build_head, one_hot
    from trainer.tuning.hyperparameters import HeadHyperparameters
    from trainer.tuning.memory import current_rss_mb, release_free_memory

    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.rows, 1280)).astype(np.float32)
    y = one_hot(rng.integers(0, 10, args.rows), 10)
    results = {}
    for eager in (False, True):
        times, rss = [], []
        for _ in range(args.models):
            model = build_head(1280, 10, HeadHyperparameters(dense_units=(256,)))
            model.compile(optimizer=model.optimizer, loss=model.loss, run_eagerly=eager)
            t0 = time.perf_counter_ns()
            model.fit(x, y, epochs=1, batch_size=256, verbose=0)
            times.append((time.perf_counter_ns() - t0) / 1e9)
            del model
            keras.backend.clear_session()
            gc.collect()
            release_free_memory()
            rss.append(round(current_rss_mb(), 1))
        # The first model pays one-off costs (imports, allocator warm-up): growth from the second.
        growth = (rss[-1] - rss[1]) / (len(rss) - 2)
        results["eager" if eager else "graph"] = {
            "epoch_seconds": [round(t, 2) for t in times],
            "epoch_seconds_median_excl_first": round(statistics.median(times[1:]), 2),
            "rss_after_release_mb": rss,
            "rss_growth_mb_per_model": round(growth, 1),
        }
        print("eager" if eager else "graph", results["eager" if eager else "graph"], flush=True)
    record = {
        **provenance(__file__, argv),
        "what": "RSS after releasing each of N heads trained one epoch on random features",
        "rows": args.rows,
        "models": args.models,
        "machine": "2-core x86_64 VM, shared with other developers' jobs while this ran",
        "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
        "versions": {"keras": keras.__version__},
        "results": results,
        "eager_over_graph_epoch_time": round(
            results["eager"]["epoch_seconds_median_excl_first"]
            / results["graph"]["epoch_seconds_median_excl_first"],
            2,
        ),
    }
    write_json(args.out / "memory_probe.json", record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
