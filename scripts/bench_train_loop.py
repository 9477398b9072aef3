"""The pipeline's training loop against a bare ``fit`` of the same model (issue 31, measure first).

    KERAS_HOME=../shared/keras-home .venv/bin/python scripts/bench_train_loop.py \
        [--candidate resnet_fast] [--profile full] [--steps 150] [--rounds 5]

One candidate, built with the project's builder and compile step, trains one epoch of the same
real Fashion-MNIST training images in four ways, alternated in a rotated order every round
(after one unrecorded warm-up round in which each arm traces its train step):

- ``bare``: ``model.fit`` on a float32 numpy array, no callbacks, no validation;
- ``pipeline``: the stage's tf.data pipeline (trainer/training/data.py: uint8 images cast per
  batch, seeded shuffle);
- ``pipeline + callbacks``: the same with the stage's callbacks (trainer/training/callbacks.py:
  epoch timer, early stopping, best-epoch checkpoint, TensorBoard, CSV log);
- ``whole loop``: the same with a validation pass over a tenth as many images as the epoch (the
  full profile validates 6,000 images per 54,000-image epoch).

Each arm's time is divided by the bare fit's in the same round (paired); medians and ranges over
the rounds, the load average per round. Writes benchmarks/training/train_loop.json and .md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge_runtime.common.fileio import write_json, write_text  # noqa: E402
from scripts.bench_common import machine, provenance  # noqa: E402

ARMS = ("bare", "pipeline", "pipeline + callbacks", "whole loop")


def _fit(arm: str, model: Any, data: dict[str, Any], cfg: Any, work: Path) -> float:
    from trainer.training.callbacks import make_callbacks
    from trainer.training.data import make_pipeline

    kw = {
        "batch_size": cfg.batch_size,
        "num_classes": data["classes"],
        "seed": 0,
        "one_hot": cfg.label_smoothing > 0,
    }
    t0 = time.perf_counter()
    if arm == "bare":
        model.fit(
            data["x_float"],
            data["y_fit"],
            batch_size=cfg.batch_size,
            epochs=1,
            verbose=0,
            shuffle=False,
        )
        return time.perf_counter() - t0
    train = make_pipeline(data["x"], data["y"], shuffle=True, **kw)
    callbacks, val = None, None
    if arm != "pipeline":
        stage = Path(tempfile.mkdtemp(dir=work))
        callbacks = make_callbacks(stage, cfg.patience, has_validation=arm == "whole loop")
    if arm == "whole loop":
        val = make_pipeline(data["x_val"], data["y_val"], shuffle=False, **kw)
    t0 = time.perf_counter()
    model.fit(train, validation_data=val, epochs=1, callbacks=callbacks, verbose=0, shuffle=False)
    return time.perf_counter() - t0


def bench(name: str, profile: str, steps: int, rounds: int) -> dict[str, Any]:
    from trainer import env

    env.prepare()
    from trainer.candidates.spec import load_candidates
    from trainer.data import DataConfig, load_dataset
    from trainer.training.runner import _build, _compile

    ds = load_dataset(DataConfig())
    cand = next(c for c in load_candidates().candidates if c.name == name)
    cfg = cand.stage_config(profile, seed=0)
    n = steps * cfg.batch_size
    n_val = max(cfg.batch_size, n // 10)
    x, y = ds.x_train[:n], ds.y_train[:n].astype(np.int64)
    y_fit = np.eye(ds.num_classes, dtype=np.float32)[y] if cfg.label_smoothing > 0 else y
    data = {
        "x": x,
        "y": y,
        "x_float": x.astype(np.float32),
        "y_fit": y_fit,
        "x_val": ds.x_train[n : n + n_val],
        "y_val": ds.y_train[n : n + n_val].astype(np.int64),
        "classes": ds.num_classes,
    }
    models = {}
    for arm in ARMS:
        model, _ = _build(cfg, ds, Path("."))
        _compile(model, cfg, steps)
        model.fit(
            x[: 3 * cfg.batch_size].astype(np.float32),
            y_fit[: 3 * cfg.batch_size],
            batch_size=cfg.batch_size,
            epochs=1,
            verbose=0,
        )
        models[arm] = model
    seconds: dict[str, list[float]] = {a: [] for a in ARMS}
    ratios: dict[str, list[float]] = {a: [] for a in ARMS if a != "bare"}
    loads = []
    with tempfile.TemporaryDirectory() as tmp:
        # A warm-up round, not recorded: each arm traces its train step for its own input kind
        # once (the pipeline does that once per stage, not once per epoch).
        for arm in ARMS:
            _fit(arm, models[arm], data, cfg, Path(tmp))
        for r in range(rounds):
            order = ARMS[r % len(ARMS) :] + ARMS[: r % len(ARMS)]
            got = {}
            for arm in order:
                got[arm] = _fit(arm, models[arm], data, cfg, Path(tmp))
                seconds[arm].append(round(got[arm], 3))
            for arm in ratios:
                ratios[arm].append(round(got[arm] / got["bare"], 3))
            loads.append(round(os.getloadavg()[0], 2))
            print(
                f"round {r + 1}/{rounds}: " + ", ".join(f"{a} {got[a]:.2f} s" for a in ARMS),
                flush=True,
            )
    return {
        "candidate": name,
        "profile": profile,
        "batch_size": cfg.batch_size,
        "images_per_epoch": n,
        "validation_images": n_val,
        "rounds": rounds,
        "seconds": {
            a: {"median": statistics.median(v), "min": min(v), "max": max(v), "samples": v}
            for a, v in seconds.items()
        },
        "over_bare": {
            a: {"median": statistics.median(v), "min": min(v), "max": max(v), "per_round": v}
            for a, v in ratios.items()
        },
        "load_average_1min_per_round": loads,
    }


def write_markdown(record: dict[str, Any], path: Path) -> None:
    dev = record["machine"]["device"]
    r = record["result"]
    loads = r["load_average_1min_per_round"]
    lines = [
        "# The pipeline's training loop against a bare fit (issue 31, measure first)",
        "",
        f"Machine: {dev.get('cpu_model', '?')}, {dev.get('cores_logical', '?')} logical CPUs; "
        f"TensorFlow {record['tensorflow']}, Keras {record['keras']}. Written by "
        f"`{record['command']}`. `{r['candidate']}` ({r['profile']} preset, batch "
        f"{r['batch_size']}), one epoch of {r['images_per_epoch']} real Fashion-MNIST images per "
        f"fit, {r['rounds']} rounds, arms in a rotated order; the ratio is to the bare fit of the "
        f"same round. Load (1 min) {min(loads):.1f}-{max(loads):.1f}: the machine is shared.",
        "",
        "| arm | seconds (median, range) | over the bare fit (median, range) |",
        "|---|---|---|",
    ]
    for arm in ARMS:
        s = r["seconds"][arm]
        q = r["over_bare"].get(arm)
        ratio = "1" if q is None else f"{q['median']:.3f} ({q['min']:.3f}-{q['max']:.3f})"
        lines.append(f"| {arm} | {s['median']:.2f} ({s['min']:.2f}-{s['max']:.2f}) | {ratio} |")
    lines += [
        "",
        f"The whole loop validates {r['validation_images']} images per epoch, a tenth of the "
        "epoch, as the full profile does (6,000 per 54,000).",
    ]
    write_text(path, "\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidate", default="resnet_fast")
    ap.add_argument("--profile", default="full", choices=("quick", "full"))
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "training")
    args = ap.parse_args(argv)
    result = bench(args.candidate, args.profile, args.steps, args.rounds)
    import keras
    import tensorflow as tf

    record = {
        **provenance(__file__, argv),
        "machine": machine(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "result": result,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "train_loop.json", record)
    write_markdown(record, args.out / "train_loop.md")
    print(f"wrote {args.out / 'train_loop.json'} and train_loop.md")


if __name__ == "__main__":
    main()
