"""Acceptance benchmark of `edgetk tune`: a full-data search on cached features, measured here.

    .venv/bin/python scripts/tune_benchmark.py                 # search (TuneConfig.full) + record
    .venv/bin/python scripts/tune_benchmark.py --collect-only  # record an existing run dir

Writes benchmarks/tuning/search_full.json and .md (+ the objective figure). Checks: >= 30 trials,
search wall clock < 15 min, best trial's validation macro-F1 vs the defaults', and the peak RSS
of the last trial within 300 MB of the third's.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge_runtime.common.fileio import read_json, write_json, write_text  # noqa: E402
from scripts.bench_common import provenance, scrub_local_paths  # noqa: E402


def machine() -> dict:
    import psutil

    from edge_runtime.bench.device import cpu_model

    cpu = cpu_model()
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "machine": platform.machine(),
        "system": platform.platform(),
        "gpu": "none",
        "shared": "2-core x86_64 VM shared with other developers' jobs while this ran",
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }


def parse_time_log(path: Path | None) -> dict | None:
    """User / system CPU seconds and elapsed time from a ``/usr/bin/time -v`` log, if given."""
    if path is None:
        return None
    out = {}
    keys = {"User time (seconds)": "user_s", "System time (seconds)": "sys_s"}
    for line in path.read_text(errors="replace").splitlines():
        name, _, value = line.strip().partition(": ")
        if name in keys:
            out[keys[name]] = float(value)
        elif name.startswith("Elapsed (wall clock)"):
            parts = [float(p) for p in value.split(":")]
            out["elapsed_s"] = sum(p * 60**i for i, p in enumerate(reversed(parts)))
    return out or None


def collect(
    run_dir: Path, wall_s: float | None, cpu: dict | None = None, argv: list[str] | None = None
) -> dict:
    """The record of the search in ``run_dir``; ``argv``: this script's arguments (the command)."""
    tune = run_dir / "tune"
    summary = read_json(tune / "summary.json")
    trials = read_json(tune / "trials.json")
    comparison = read_json(tune / "comparison.json")
    cfg = read_json(tune / "config.json")["config"]
    feats_meta = read_json(Path(summary["features"]["path"]) / "meta.json")
    done = [t for t in trials if t["status"] == "COMPLETED"]
    peaks = [t["peak_rss_mb"] for t in trials]
    secs = [t["seconds"] for t in trials if t["seconds"] is not None]
    best_trial = max(done, key=lambda t: t["val_macro_f1"])
    default_val = comparison["default"]["val"]["macro_f1"]
    checks = {
        "at_least_30_trials": len(done) >= 30,
        "search_under_15_min": summary["search_seconds"] < 900,
        "best_trial_val_f1_beats_default": best_trial["val_macro_f1"] > default_val,
        "memory_last_within_300mb_of_third": abs(peaks[-1] - peaks[2]) <= 300,
    }
    return {
        **provenance(__file__, argv),
        "what": f"edgetk tune, {cfg['algorithm']} over the head on cached MobileNetV2-0.35 features",
        "machine": machine(),
        "config": scrub_local_paths(cfg, run_dir),
        "features": {
            "counts": summary["features"]["counts"],
            "feature_dim": summary["features"]["feature_dim"],
            "backbone": feats_meta.get("backbone"),
            "compute_seconds_once": feats_meta.get("seconds"),
        },
        "search": {
            "trials": len(trials),
            "completed": len(done),
            "search_seconds": summary["search_seconds"],
            "wall_seconds_incl_comparison": round(wall_s, 1) if wall_s else None,
            "stop_reason": summary["stop_reason"],
            "trial_seconds_median": round(statistics.median(secs), 1),
            "trial_seconds_max": max(secs),
            "epochs_total": sum(t["epochs"] or 0 for t in trials),
            "whole_command_cpu": cpu,
        },
        "best_trial": {
            "trial_id": best_trial["trial_id"],
            "val_macro_f1": best_trial["val_macro_f1"],
            "hyperparameters": summary["best_hyperparameters"],
        },
        "default_val_macro_f1_same_protocol": default_val,
        "best_trial_minus_default_val_macro_f1": best_trial["val_macro_f1"] - default_val,
        "comparison_retrained": scrub_local_paths(comparison, run_dir),
        "memory": {
            "peak_rss_mb_per_trial": peaks,
            "third_trial_peak_mb": peaks[2],
            "last_trial_peak_mb": peaks[-1],
            "last_minus_third_mb": round(peaks[-1] - peaks[2], 1),
            "recycle_every": cfg.get("recycle_every"),
        },
        "checks": checks,
    }


def markdown(r: dict) -> str:
    m, s, c = r["machine"], r["search"], r["comparison_retrained"]
    d, b = c["default"], c["best"]
    mem = r["memory"]
    lines = [
        "# Hyperparameter search benchmark (edgetk tune)",
        "",
        f"Machine: {m['cpu']}, {m['logical_cores']} logical cores, {m['ram_gib']} GiB RAM, no GPU; "
        f"{m['shared']} (load average at the end {m['load_average_at_end']}). Timings are "
        "from one run and depend on that load.",
        "",
        f"Data: Fashion-MNIST {r['features']['counts']} (train / val / test), features "
        f"{r['features']['feature_dim']}-d from {r['features']['backbone']}, computed once in "
        f"{r['features']['compute_seconds_once']} s and cached.",
        "",
        f"Search: {r['config']['algorithm']}, max_epochs {r['config']['max_epochs']}, batch "
        f"{r['config']['batch_size']}, child process recycled every "
        f"{mem['recycle_every']} trials.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| trials completed | {s['completed']} of {s['trials']} ({s['stop_reason']}) |",
        f"| search wall clock | {s['search_seconds']:.0f} s ({s['search_seconds'] / 60:.1f} min) |",
        f"| trial seconds, median / max | {s['trial_seconds_median']} / {s['trial_seconds_max']} |",
        f"| epochs trained in total | {s['epochs_total']} |",
        *(
            [
                f"| whole command (features cached, search, comparison): elapsed / user+sys CPU "
                f"| {s['whole_command_cpu']['elapsed_s']:.0f} s / "
                f"{s['whole_command_cpu']['user_s'] + s['whole_command_cpu']['sys_s']:.0f} s |"
            ]
            if s.get("whole_command_cpu")
            else []
        ),
        f"| best trial val macro-F1 | {r['best_trial']['val_macro_f1']:.4f} (trial "
        f"{r['best_trial']['trial_id']}) |",
        f"| default hyperparameters val macro-F1 | {r['default_val_macro_f1_same_protocol']:.4f} |",
        f"| best trial minus default (val) | {r['best_trial_minus_default_val_macro_f1']:+.4f} |",
        f"| peak RSS trial 3 / last | {mem['third_trial_peak_mb']} / {mem['last_trial_peak_mb']} MB "
        f"({mem['last_minus_third_mb']:+} MB) |",
        "",
        "Best vs default, both retrained with the same protocol (up to max_epochs, early stopping "
        "on val macro-F1, best weights restored), scored on validation and the TEST split:",
        "",
        "| hyperparameters | val acc | val macro-F1 | test acc | test macro-F1 | epochs |",
        "|---|---|---|---|---|---|",
        f"| default {d['hyperparameters']} | {d['val']['accuracy']:.4f} | {d['val']['macro_f1']:.4f} "
        f"| {d['test']['accuracy']:.4f} | {d['test']['macro_f1']:.4f} | {d['epochs']} |",
        f"| best {b['hyperparameters']} | {b['val']['accuracy']:.4f} | {b['val']['macro_f1']:.4f} "
        f"| {b['test']['accuracy']:.4f} | {b['test']['macro_f1']:.4f} | {b['epochs']} |",
        "",
        f"Winner on test macro-F1: **{c['winner_on_test_macro_f1']}** "
        f"(best minus default: {c['best_minus_default']['test']['macro_f1']:+.4f}).",
        "",
        "Acceptance checks: "
        + ", ".join(f"{k} = {'yes' if v else 'NO'}" for k, v in r["checks"].items()),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--run-dir", type=Path, default=Path("runs/tuning_bench"))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "tuning")
    ap.add_argument("--collect-only", action="store_true")
    ap.add_argument(
        "--algorithm",
        choices=["hyperband", "bayesian", "random"],
        default="hyperband",
        help="hyperband writes search_full.*; the others search_full_<algorithm>.*",
    )
    ap.add_argument("--time-log", type=Path, default=None, help="a /usr/bin/time -v log of the run")
    args = ap.parse_args(argv)
    wall = None
    if not args.collect_only:
        import logging

        from trainer import env

        env.prepare()
        logging.basicConfig(level=logging.INFO)
        from trainer.tuning import Algorithm, TuneConfig, run_search

        t0 = time.perf_counter_ns()
        run_search(
            TuneConfig.full(algorithm=Algorithm(args.algorithm)), args.run_dir, overwrite=True
        )
        wall = (time.perf_counter_ns() - t0) / 1e9
    record = collect(args.run_dir, wall, parse_time_log(args.time_log), argv)
    suffix = "" if args.algorithm == "hyperband" else f"_{args.algorithm}"
    write_json(args.out / f"search_full{suffix}.json", record)
    write_text(args.out / f"search_full{suffix}.md", markdown(record))
    fig = args.run_dir / "tune" / "objective_vs_hyperparameters.png"
    if fig.is_file():
        shutil.copyfile(fig, args.out / f"objective_vs_hyperparameters{suffix}.png")
    print(markdown(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
