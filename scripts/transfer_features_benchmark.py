"""The transfer (frozen-backbone) stage three ways, on the same data and seeds, in rotated order:
``through_short``: the head trained through the frozen backbone every epoch (with augmentation), for
the two epochs the presets gave it before the cache; ``through``: the same, on the cached arm's
schedule (epochs, patience, batch); ``cached``: the head trained on backbone features computed once
(trainer/training/head_on_features.py).

    .venv/bin/python scripts/transfer_features_benchmark.py --profile quick --seeds 42,43,44

Each run is a whole ``run_stage`` of the profile's transfer preset (features included in its time),
with Grad-CAM off. Writes benchmarks/pipeline/transfer_features_<profile>.json and .md
(transfer_features_quick.json from the command above): per run the stage's
training seconds and validation accuracy (what a choice may read), the test accuracy (reported,
never chosen on), and the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.bench_common import machine, provenance  # noqa: E402

# What the transfer presets trained before the cache: two epochs through the frozen backbone.
THROUGH = {"quick": {"epochs": 2, "batch_size": 32, "patience": 4}, "full": {"epochs": 2}}


ARMS = ("through_short", "through", "cached")


def _run(run_dir: Path, profile: str, arm: str, seed: int, data_config) -> dict:
    from trainer.training.config import StageConfig
    from trainer.training.runner import run_stage

    cfg = StageConfig.preset(profile, "transfer").replace(
        seed=seed, gradcam=False, latency_runs=10, cached_features=arm == "cached"
    )
    if arm == "through_short":
        cfg = cfg.replace(**THROUGH[profile])
    shutil.rmtree(run_dir, ignore_errors=True)
    t0 = time.perf_counter()
    result = run_stage(run_dir, cfg, data_config)
    wall = time.perf_counter() - t0
    summary = json.loads((result.stage_dir / "summary.json").read_text())
    return {
        "arm": arm,
        "seed": seed,
        "epochs": cfg.epochs,
        "epochs_run": result.epochs_run,
        "train_seconds": round(result.train_seconds, 1),
        "stage_wall_seconds": round(wall, 1),
        "val_accuracy": summary["val_metrics"]["accuracy"],
        "val_count": summary["val_metrics"]["count"],
        "test_accuracy": result.metrics["accuracy"],
        "test_count": summary["test_count"],
        "cached_features": summary.get("cached_features"),
    }


def render(body: dict) -> str:
    """The Markdown table of a record (also: ``--render FILE.json`` rewrites its .md)."""
    runs, summary, seeds = body["runs"], body["summary"], body["seeds"]
    load = body["load_average_1min"]["samples"]
    val_n = runs[0]["val_count"]
    speedup = body["verdict"]["speedup"]
    versions = body.get("packages") or body["machine"].get("versions") or {}
    packages = ", ".join(f"{k} {v}" for k, v in versions.items() if v)
    lines = [
        f"# Transfer stage: through the frozen backbone vs the head on cached features ({body['profile']})",
        "",
        f"Written by `{body['script']}` (`{body['command']}`). {len(seeds)} seeds, arms "
        f"in rotated order; machine: {body['machine']['device'].get('cpu_model', 'CPU')}, "
        f"{body['machine']['device'].get('cores_logical')} cores, 1-minute load "
        f"median {statistics.median(load):.2f}. Validation: {val_n} images (one image = "
        f"{100 / val_n:.2f} points); test: {runs[0]['test_count']} images, reported only. "
        f"Packages: {packages}.",
        "",
        "| arm | seed | epochs run | train s | val acc | test acc |",
        "|---|---|---|---|---|---|",
    ]
    for r in runs:
        lines.append(
            f"| {r['arm']} | {r['seed']} | {r['epochs_run']} | {r['train_seconds']:.1f} | "
            f"{100 * r['val_accuracy']:.2f} % | {100 * r['test_accuracy']:.2f} % |"
        )
    s = summary
    lines += [
        "",
        f"On the same schedule, training through the backbone took "
        f"{s['through']['train_seconds_median']:.1f} s (median) and the head on cached features "
        f"{s['cached']['train_seconds_median']:.1f} s, features included: **{speedup:.1f}x**.",
        "",
        "| arm | median train s | val accuracy (mean ± std) | test accuracy (mean ± std) |",
        "|---|---|---|---|",
    ]
    for name in ARMS:
        a = s[name]
        lines.append(
            f"| {name} | {a['train_seconds_median']:.1f} | {100 * a['val_accuracy_mean']:.2f} ± "
            f"{100 * a['val_accuracy_std']:.2f} % | {100 * a['test_accuracy_mean']:.2f} ± "
            f"{100 * a['test_accuracy_std']:.2f} % |"
        )
    lines += [
        "",
        "`through_short` is the two-epoch schedule the presets used before the cache; the "
        "presets now train the cached arm.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", choices=["quick", "full"], default="quick")
    ap.add_argument("--seeds", default="42,43,44")
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "transfer_features")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "pipeline")
    ap.add_argument("--render", type=Path, help="rewrite the .md of this JSON record and stop")
    args = ap.parse_args()
    if args.render:
        from edge_runtime.common.fileio import write_text

        write_text(args.render.with_suffix(".md"), render(json.loads(args.render.read_text())))
        return 0

    from edge_runtime.common.fileio import write_json, write_text
    from edge_runtime.common.versions import library_versions
    from trainer import env

    env.prepare()
    from trainer.training.pipeline import profile_data_config

    seeds = [int(s) for s in args.seeds.split(",")]
    load = [os.getloadavg()[0]]
    runs = []
    for i, seed in enumerate(seeds):
        data = profile_data_config(args.profile, seed=seed)
        for arm in ARMS[i % 3 :] + ARMS[: i % 3]:  # rotated: each arm runs first once in 3
            runs.append(_run(args.work / f"{arm}_{seed}", args.profile, arm, seed, data))
            load.append(os.getloadavg()[0])
            print(json.dumps(runs[-1]), flush=True)

    def arm(name: str, key: str) -> list[float]:
        return [r[key] for r in runs if r["arm"] == name]

    summary = {}
    for name in ARMS:
        secs, val, test = (arm(name, k) for k in ("train_seconds", "val_accuracy", "test_accuracy"))
        summary[name] = {
            "train_seconds_median": statistics.median(secs),
            "val_accuracy_mean": statistics.mean(val),
            "val_accuracy_std": statistics.stdev(val) if len(val) > 1 else 0.0,
            "test_accuracy_mean": statistics.mean(test),
            "test_accuracy_std": statistics.stdev(test) if len(test) > 1 else 0.0,
        }
    speedup = summary["through"]["train_seconds_median"] / summary["cached"]["train_seconds_median"]
    val_n = runs[0]["val_count"]
    # One validation image moves accuracy by 1/val_n; a seed-to-seed spread says the rest.
    verdict = {
        "speedup": round(speedup, 2),
        "val_difference_points": round(
            100
            * (summary["cached"]["val_accuracy_mean"] - summary["through"]["val_accuracy_mean"]),
            2,
        ),
        "one_val_image_points": round(100 / val_n, 3),
    }
    body = {
        **provenance(__file__),
        "profile": args.profile,
        "seeds": seeds,
        "machine": machine(),
        "packages": library_versions(),
        "load_average_1min": {"median": statistics.median(load), "max": max(load), "samples": load},
        "through_preset": THROUGH[args.profile],
        "runs": runs,
        "summary": summary,
        "verdict": verdict,
    }
    stem = args.out / f"transfer_features_{args.profile}"
    write_json(stem.with_suffix(".json"), body)
    write_text(stem.with_suffix(".md"), render(body))
    print(f"wrote {stem}.json and .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
