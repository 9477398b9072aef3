"""Acceptance: per-image overhead of the runtime vs a bare ``invoke()`` loop on the same interpreter.

    .venv/bin/python scripts/bench_overhead.py [--bundle DIR] [--rounds 40] [--per-round 50]

Both are timed with ``perf_counter_ns`` on ONE interpreter (the Predictor's own), interleaved in
rounds so that drift on this shared machine hits both alike, after a warm-up. Reported: the
ratio of the two overall p50s, and the median / range of the per-round ratios. Runtime: the public
``Predictor.predict([decoded_image])`` (preprocessing from the manifest, int8 quantization, invoke,
dequantization, top-k). Baseline: ``interpreter.invoke()`` alone with the input already set.
Target: p50 ratio <= 1.15. Writes benchmarks/edge/overhead.json (``--out``) and prints a Markdown
row. ``benchmarks/edge/overhead_<bundle>_<artifact>.json`` came from ``--bundle runs/bundles/full
--artifact model_int8.tflite --out benchmarks/edge/overhead_full_int8.json`` and the same for the
quick bundle's ``model_int8.tflite`` and ``model_int8_mixed.tflite``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from bench_common import (
    ROOT,
    add_model_args,
    int8_artifact,
    machine,
    pick_bundle,
    provenance,
    shown_path,
)

from edge_runtime import Predictor
from edge_runtime.common.fileio import write_json
from edge_runtime.preprocess import decode_image_bytes
from edge_runtime.stats import LatencyStats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_args(ap)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--per-round", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "edge" / "overhead.json"))
    args = ap.parse_args()

    bundle = pick_bundle(args.bundle)
    artifact = args.artifact or int8_artifact(bundle)
    predictor = Predictor.from_bundle(bundle, artifact, args.threads)
    interp = predictor.backend.interpreter  # the same interpreter the runtime uses
    image = decode_image_bytes(Path(args.image).read_bytes())
    inp = interp.get_input_details()[0]
    q = predictor.backend.quantize_input(predictor.preprocess(image)[None])

    def runtime_once() -> None:
        predictor.predict([image])

    def set_input() -> None:
        # predict() may have resized the tensor for a batch; a bare loop runs batch 1.
        interp.set_tensor(inp["index"], q)

    for _ in range(args.warmup):
        runtime_once()
    set_input()
    for _ in range(args.warmup):
        interp.invoke()

    bare_ns: list[int] = []
    rt_ns: list[int] = []
    round_ratios: list[float] = []  # per round: median runtime / median bare of its two blocks
    for _ in range(args.rounds):
        set_input()
        for _ in range(args.per_round):
            t0 = time.perf_counter_ns()
            interp.invoke()
            bare_ns.append(time.perf_counter_ns() - t0)
        for _ in range(args.per_round):
            t0 = time.perf_counter_ns()
            runtime_once()
            rt_ns.append(time.perf_counter_ns() - t0)
        n = args.per_round
        round_ratios.append(statistics.median(rt_ns[-n:]) / statistics.median(bare_ns[-n:]))

    bare, rt = LatencyStats.from_ns(bare_ns), LatencyStats.from_ns(rt_ns)
    ratio = rt.p50 / bare.p50
    pred = predictor.predict([image])[0]
    record = {
        **provenance(__file__),
        "what": "Predictor.predict([decoded image]) vs bare interpreter.invoke() on the same interpreter",
        "bundle": shown_path(bundle),
        "artifact": artifact,
        "input_tensor": {
            "shape": [int(d) for d in inp["shape"]],
            "dtype": np.dtype(inp["dtype"]).name,
        },
        "image": shown_path(args.image),
        "prediction": {"label": pred.label, "probability": round(pred.probability, 4)},
        "threads": args.threads,
        "runs_each": len(bare_ns),
        "rounds": args.rounds,
        "bare_invoke_ms": bare.to_dict(),
        "runtime_predict_ms": rt.to_dict(),
        "p50_ratio": round(ratio, 4),
        "per_round_ratio": {
            "median": round(statistics.median(round_ratios), 4),
            "min": round(min(round_ratios), 4),
            "max": round(max(round_ratios), 4),
            "rounds_above_target": sum(r > 1.15 for r in round_ratios),
        },
        "target": "<= 1.15",
        "passed": ratio <= 1.15,
        **machine(),
    }
    write_json(args.out, record)
    print(
        f"| {record['bundle']} `{artifact}` | {args.threads} | {len(bare_ns)} | {bare.p50:.3f} | "
        f"{rt.p50:.3f} | {ratio:.3f} | {statistics.median(round_ratios):.3f} "
        f"({min(round_ratios):.3f}-{max(round_ratios):.3f}) | {'pass' if ratio <= 1.15 else 'FAIL'} |"
    )


if __name__ == "__main__":
    main()
