"""Paired training speed of native residual CNN layouts on this machine.

    PYTHONPATH=$PWD .venv/bin/python scripts/resnet_layout_speed.py [--rounds 5] [--steps 20]

Builds every layout with the project's own ``build_resnet`` (the full preset's augmentation, AdamW
and label smoothing), then times ``--steps`` training steps of each in turn, ``--rounds`` times,
on random images of the dataset's size. Each round compares the layouts under the same machine
conditions: the record keeps every round's time per step and the median over rounds of each
layout's speed relative to the first (a ratio inside one round), which is what survives this
shared VM's speed swings. Speed on random pixels is the same as on real ones; accuracy is not
measured here (docs/candidates.md has the accuracy runs).

Writes ``benchmarks/resnet_layouts/speed.json`` + ``speed.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge_runtime.bench.device import device_info  # noqa: E402
from edge_runtime.common.fileio import write_json, write_text  # noqa: E402
from scripts.bench_common import provenance  # noqa: E402

# name -> (widths, blocks per stage); the first is the reference of every ratio.
LAYOUTS: dict[str, tuple[list[int], list[int]]] = {
    "resnet 16/32/64 [2,2,2]": ([16, 32, 64], [2, 2, 2]),
    "16/32/64 [1,1,1]": ([16, 32, 64], [1, 1, 1]),
    "16/32/64 [1,2,2]": ([16, 32, 64], [1, 2, 2]),
    "24/48/96 [1,1,1]": ([24, 48, 96], [1, 1, 1]),
    "16/48/96 [1,2,2]": ([16, 48, 96], [1, 2, 2]),
    "resnet_fast 16/48/96 [0,2,2]": ([16, 48, 96], [0, 2, 2]),
    "16/64/128 [0,1,1]": ([16, 64, 128], [0, 1, 1]),
    "32/64/128 [1,1,1]": ([32, 64, 128], [1, 1, 1]),
}


def build(widths: list[int], blocks: list[int], size: int, channels: int) -> Any:
    import keras

    from trainer.models import build_resnet
    from trainer.training import StageConfig

    cfg = StageConfig.full("resnet")
    model = build_resnet(
        (size, size, channels),
        10,
        widths=tuple(widths),
        blocks_per_stage=tuple(blocks),
        augment=cfg.augment,
        seed=0,
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(cfg.learning_rate, weight_decay=cfg.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing),
    )
    return model


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20, help="training steps per layout per round")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--size", type=int, default=28, help="image side in pixels")
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "resnet_layouts")
    a = ap.parse_args(argv)
    for flag, v in (("--rounds", a.rounds), ("--steps", a.steps), ("--batch", a.batch)):
        if v < 1:
            print(f"error: {flag} {v}: use 1 or more", file=sys.stderr)
            return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np

    from trainer import env

    env.prepare()
    rng = np.random.default_rng(0)
    n = a.batch * a.steps
    x = rng.integers(0, 256, (n, a.size, a.size, a.channels)).astype("float32")
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, n)]
    models = {}
    for name, (widths, blocks) in LAYOUTS.items():
        m = build(widths, blocks, a.size, a.channels)
        for _ in range(3):  # trace and warm up outside the timed rounds
            m.train_on_batch(x[: a.batch], y[: a.batch])
        models[name] = m
    step_ms: dict[str, list[float]] = {k: [] for k in models}
    load: list[float] = []
    for _ in range(a.rounds):
        load.append(os.getloadavg()[0])
        for name, m in models.items():
            t0 = time.perf_counter()
            for j in range(a.steps):
                m.train_on_batch(
                    x[j * a.batch : (j + 1) * a.batch], y[j * a.batch : (j + 1) * a.batch]
                )
            step_ms[name].append(1000 * (time.perf_counter() - t0) / a.steps)
    ref = next(iter(models))
    rows = []
    for name, m in models.items():
        widths, blocks = LAYOUTS[name]
        ratios = [r / t for r, t in zip(step_ms[ref], step_ms[name])]
        med = statistics.median(step_ms[name])
        rows.append({
            "layout": name,
            "widths": widths,
            "blocks_per_stage": blocks,
            "params": m.count_params(),
            "ms_per_step": [round(v, 1) for v in step_ms[name]],
            "median_ms_per_step": round(med, 1),
            "median_images_per_s": round(a.batch * 1000 / med, 1),
            "speed_vs_ref_per_round": [round(v, 3) for v in ratios],
            "median_speed_vs_ref": round(statistics.median(ratios), 3),
        })  # fmt: skip
    record = {
        **provenance(__file__, argv),
        "what": "training steps of native residual CNN layouts, paired rounds",
        "batch": a.batch,
        "image": [a.size, a.size, a.channels],
        "steps_per_round": a.steps,
        "rounds": a.rounds,
        "reference": ref,
        "machine": device_info(),
        "one_minute_load_per_round": [round(v, 2) for v in load],
        "rows": rows,
    }
    a.out.mkdir(parents=True, exist_ok=True)
    write_json(a.out / "speed.json", record)
    mach = record["machine"]
    lines = [
        "# Training speed of native residual CNN layouts",
        "",
        f"Command: `{record['command'].strip()}`. {a.rounds} paired rounds of {a.steps} training "
        f"steps (batch {a.batch}, {a.size}x{a.size}x{a.channels}, the full preset's augmentation, "
        f"AdamW). Machine: {mach.get('cpu_model')}, {mach.get('cores_usable')} usable cores; "
        f"1-minute load per round {record['one_minute_load_per_round']}.",
        "",
        f"Speed is relative to `{ref}` inside each round (higher is faster); the median over rounds.",
        "",
        "| layout | params | median ms/step | images/s | speed vs reference (median) |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['layout']} | {r['params']:,} | {r['median_ms_per_step']} | "
            f"{r['median_images_per_s']:.0f} | {r['median_speed_vs_ref']:.2f} |"
        )
    write_text(a.out / "speed.md", "\n".join(lines) + "\n")
    print(json.dumps({r["layout"]: r["median_speed_vs_ref"] for r in rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
