"""Issue 31, measure first: training throughput of the shipped candidates in float32 and in
Keras' ``mixed_bfloat16`` policy (bfloat16 compute, float32 variables) on this CPU.

    KERAS_HOME=../shared/keras-home .venv/bin/python scripts/bench_train_step.py \
        [--candidates resnet_fast,resnet] [--profile full] [--steps 40] [--rounds 7]

For each candidate of the default candidates file, the model is built twice with the project's
own builder and compile step (its augmentation, optimizer, schedule and loss), once under each
policy; both are traced with a few warm-up steps. Then, ``--rounds`` times, each model runs one
``fit`` of ``--steps`` batches of real Fashion-MNIST training images (the candidate's batch size,
the same images for both), alternated, the order swapped every round. Throughput is images per
second of that ``fit`` (wall clock); the bfloat16 / float32 ratio is taken round by round (paired)
and its median and range reported, with the 1-minute load average sampled every round: the
machine is shared. Accuracy is not measured here. Writes benchmarks/training/train_step.json and
train_step.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge_runtime.common.fileio import write_json, write_text  # noqa: E402
from scripts.bench_common import machine, provenance  # noqa: E402

POLICIES = ("float32", "mixed_bfloat16")


def cpu_flags() -> list[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags |= set(line.split(":", 1)[1].split())
    return sorted(f for f in flags if "bf16" in f or f in ("avx512f", "amx_tile"))


def _fit_seconds(model: Any, x: np.ndarray, y: np.ndarray, batch: int) -> float:
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
    return time.perf_counter() - t0


def bench_candidate(name: str, profile: str, steps: int, rounds: int, ds: Any) -> dict[str, Any]:
    import keras

    from trainer.candidates.spec import load_candidates
    from trainer.training.runner import _build, _compile

    cand = next(c for c in load_candidates().candidates if c.name == name)
    cfg = cand.stage_config(profile, seed=0)
    batch = cfg.batch_size
    n = steps * batch
    x = ds.x_train[:n]
    y = ds.y_train[:n].astype(np.int64)
    if cfg.label_smoothing > 0:
        y = np.eye(ds.num_classes, dtype=np.float32)[y]
    models = {}
    for policy in POLICIES:
        keras.mixed_precision.set_global_policy(policy)
        model, _ = _build(cfg, ds, Path("."))
        _compile(model, cfg, steps)
        model.fit(x[: 3 * batch], y[: 3 * batch], batch_size=batch, epochs=1, verbose=0)
        models[policy] = model
    keras.mixed_precision.set_global_policy("float32")
    samples: dict[str, list[float]] = {p: [] for p in POLICIES}
    ratios, loads = [], []
    for r in range(rounds):
        order = POLICIES if r % 2 == 0 else POLICIES[::-1]
        got = {}
        for policy in order:
            got[policy] = n / _fit_seconds(models[policy], x, y, batch)
            samples[policy].append(round(got[policy], 1))
        ratios.append(round(got["mixed_bfloat16"] / got["float32"], 3))
        loads.append(round(os.getloadavg()[0], 2))
    return {
        "candidate": name,
        "kind": cand.kind,
        "profile": profile,
        "batch_size": batch,
        "images_per_fit": n,
        "params": int(models["float32"].count_params()),
        "images_per_s": {
            p: {
                "median": round(statistics.median(v), 1),
                "min": min(v),
                "max": max(v),
                "samples": v,
            }
            for p, v in samples.items()
        },
        "bf16_over_fp32": {
            "median": statistics.median(ratios),
            "min": min(ratios),
            "max": max(ratios),
            "per_round": ratios,
        },
        "load_average_1min_per_round": loads,
    }


def write_markdown(record: dict[str, Any], path: Path) -> None:
    dev = record["machine"]["device"]
    lines = [
        "# Training throughput: float32 against bfloat16 autocast (issue 31, measure first)",
        "",
        f"Machine: {dev.get('cpu_model', '?')}, {dev.get('cores_logical', '?')} logical CPUs, "
        f"CPU flags {', '.join(record['cpu_flags']) or 'none'}; TensorFlow "
        f"{record['tensorflow']}, Keras {record['keras']}. Written by "
        f"`{record['command']}`. Each candidate built with the project's "
        "builder and compile step under each policy; alternated `fit` runs of the same real "
        "Fashion-MNIST images, order swapped every round; the ratio is per round (paired). "
        "The machine is shared: the load average is per round in the JSON.",
        "",
        "| candidate | batch | images per fit | rounds | float32 images/s (median, range) "
        "| bfloat16 images/s | bf16 / fp32 (median, range) | load (1 min) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in record["results"]:
        f, b, q = (
            r["images_per_s"]["float32"],
            r["images_per_s"]["mixed_bfloat16"],
            r["bf16_over_fp32"],
        )
        loads = r["load_average_1min_per_round"]
        lines.append(
            f"| {r['candidate']} ({r['profile']}) | {r['batch_size']} | {r['images_per_fit']} | "
            f"{len(q['per_round'])} | {f['median']} ({f['min']}-{f['max']}) | {b['median']} "
            f"({b['min']}-{b['max']}) | {q['median']:.2f} ({q['min']:.2f}-{q['max']:.2f}) | "
            f"{min(loads):.1f}-{max(loads):.1f} |"
        )
    lines += [
        "",
        "Not measured here: accuracy under bfloat16, and the pipeline's training loop against a "
        "bare `fit`.",
    ]
    write_text(path, "\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidates", default="resnet_fast,resnet")
    ap.add_argument("--profile", default="full", choices=("quick", "full"))
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "training")
    args = ap.parse_args(argv)
    from trainer import env

    env.prepare()
    import keras
    import tensorflow as tf

    from trainer.data import DataConfig, load_dataset

    ds = load_dataset(DataConfig())
    results = []
    for name in args.candidates.split(","):
        print(f"== {name}", flush=True)
        results.append(bench_candidate(name, args.profile, args.steps, args.rounds, ds))
        print(results[-1]["bf16_over_fp32"], flush=True)
    record = {
        **provenance(__file__, argv),
        "what": "training throughput of the shipped candidates, float32 vs mixed_bfloat16",
        "cpu_flags": cpu_flags(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "machine": machine(),
        "results": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "train_step.json", record)
    write_markdown(record, args.out / "train_step.md")
    print(f"wrote {args.out / 'train_step.json'} and train_step.md")


if __name__ == "__main__":
    main()
