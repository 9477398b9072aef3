"""Memory of a long search with every trial in ONE process (no child-process recycling).

    .venv/bin/python scripts/tune_memory_one_process.py                       # search + record
    .venv/bin/python scripts/tune_memory_one_process.py --collect-only        # record a run dir

Runs a 40-trial Hyperband search on the full cached Fashion-MNIST features with
``recycle_every=None``, then writes benchmarks/tuning/memory_one_process.json and .md from the
run's own files: ``<run>/tune/trials.json`` (each trial's epochs, seconds and peak RSS, sampled
by the tuner) and the search's log, which this script writes to ``<run>/tune_one_process.log``.
The record is why the default search recycles its child process (docs/tuning.md).
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge_runtime.common.fileio import read_json, write_json, write_text  # noqa: E402
from scripts.bench_common import provenance, shown_path  # noqa: E402

LOG_NAME = "tune_one_process.log"


def machine() -> dict:
    import psutil

    from edge_runtime.bench.device import cpu_model

    return {
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "system": platform.platform(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }


def run(run_dir: Path, trials: int, max_epochs: int, subset: int | None) -> None:
    from trainer import env

    env.prepare()
    run_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(run_dir / LOG_NAME, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler, logging.StreamHandler()])
    from trainer.tuning import TuneConfig, run_search

    cfg = TuneConfig.full(max_trials=trials, max_epochs=max_epochs, recycle_every=None)
    if subset:  # a smoke run of this script, not the record
        cfg = cfg.replace(data=cfg.data.replace(train_size=subset, test_size=subset))
    run_search(cfg, run_dir, overwrite=True, compare=False)


def collect(run_dir: Path, argv: list[str] | None = None) -> dict:
    """The record of the search in ``run_dir``; ``argv``: this script's arguments (the command)."""
    tune = run_dir / "tune"
    cfg = read_json(tune / "config.json")["config"]
    if cfg.get("recycle_every") is not None:
        raise SystemExit(
            f"{run_dir} recycled its child process every {cfg['recycle_every']} trials; this record "
            "needs a search with every trial in one process (recycle_every None)"
        )
    rows = [
        {k: t[k] for k in ("trial_id", "epochs", "seconds", "peak_rss_mb")}
        for t in read_json(tune / "trials.json")
        if t.get("peak_rss_mb") is not None
    ]
    if len(rows) < 4:
        raise SystemExit(f"{tune / 'trials.json'} has {len(rows)} measured trials; need at least 4")
    peaks = np.array([r["peak_rss_mb"] for r in rows], dtype=np.float64)
    # Least-squares slope over the trials after the first two (start-up allocations settle).
    slope = float(np.polyfit(np.arange(2, len(peaks)), peaks[2:], 1)[0])
    log = run_dir / LOG_NAME
    return {
        **provenance(__file__, argv),
        "what": "peak RSS per trial of one Hyperband search on the cached Fashion-MNIST features, "
        "ALL trials in ONE process (no recycling), with clear_session + gc + malloc_trim after "
        "every trial",
        "source": f"{shown_path(tune / 'trials.json', run_dir)} (trial_stats sampled by the tuner)"
        + (f" and the search log {shown_path(log, run_dir)}" if log.is_file() else ""),
        "machine": machine(),
        "config": {k: cfg[k] for k in ("algorithm", "max_trials", "max_epochs", "recycle_every")},
        "data": {k: cfg["data"].get(k) for k in ("source", "train_size", "test_size")},
        "trials": rows,
        "third_trial_peak_mb": rows[2]["peak_rss_mb"],
        "last_trial_peak_mb": rows[-1]["peak_rss_mb"],
        "last_minus_third_mb": round(rows[-1]["peak_rss_mb"] - rows[2]["peak_rss_mb"], 1),
        "growth_mb_per_trial": round(slope, 1),
    }


def markdown(r: dict) -> str:
    return "\n".join(
        [
            "# Peak RSS of a search with every trial in one process",
            "",
            f"{len(r['trials'])} trials, {r['config']['algorithm']}, max_epochs "
            f"{r['config']['max_epochs']}, on {r['machine']['cpu']} "
            f"({r['machine']['logical_cores']} cores, load average at the end "
            f"{r['machine']['load_average_at_end']}). Written by "
            f"`{r.get('command', 'scripts/tune_memory_one_process.py')}` from the run's "
            "trials.json.",
            "",
            "| measure | value |",
            "|---|---|",
            f"| peak RSS trial 3 / last | {r['third_trial_peak_mb']} / {r['last_trial_peak_mb']} MB |",
            f"| last minus third | {r['last_minus_third_mb']:+} MB |",
            f"| growth per trial (least squares, trials 3..) | {r['growth_mb_per_trial']} MB |",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--run-dir", type=Path, default=Path("runs/tuning_one_process"))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "tuning")
    ap.add_argument("--collect-only", action="store_true", help="record an existing run dir")
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--max-epochs", type=int, default=12)
    ap.add_argument("--subset", type=int, default=None, help="train/test images (smoke runs)")
    args = ap.parse_args(argv)
    if not args.collect_only:
        run(args.run_dir, args.trials, args.max_epochs, args.subset)
    record = collect(args.run_dir, argv)
    write_json(args.out / "memory_one_process.json", record)
    write_text(args.out / "memory_one_process.md", markdown(record))
    print(markdown(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
