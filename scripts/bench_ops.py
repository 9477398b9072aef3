"""Where the time and the int8 error go: per-operator profiles, thread scaling and the int8-vs-fp32
layer check of a bundle's artifacts on this machine (``edgetk bench --ops --check-layers``).

    .venv/bin/python scripts/bench_ops.py --bundle RUN/bundle [--threads 1,2] [--runs 200]
        [--layer-images 16] [--label TEXT] [--out benchmarks/edge/ops_quick]

Every artifact at every thread count through ``run_bench`` with ``ops=True`` (each in its own
process, as ``edgetk bench`` does): its operators sorted by time, the per-type summary, the sum
of the operators against the whole model (the profiler's own median and the benchmark's separately
measured bare-invoke median). Then each int8 TFLite artifact's layers against the fp32 TFLite
artifact's on ``--layer-images`` of the bundle's calibration images (training images, never the
test split): relative error and cosine per layer, the first beyond 0.1. Writes OUT.json and OUT.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

import numpy as np
from bench_common import ROOT, machine, provenance, shown_path

from edge_runtime.bench import BenchConfig, run_bench
from edge_runtime.common.fileio import write_json, write_text
from edge_runtime.manifest import load_manifest
from edge_runtime.profiling.layers import check_against, make_reference


def _layers(bundle: Path, n: int) -> dict:
    manifest = load_manifest(bundle)
    fp32 = next(
        (a for a in manifest.artifacts if (a.format, a.precision) == ("tflite", "fp32")), None
    )
    int8 = [
        a for a in manifest.artifacts if a.format == "tflite" and a.precision.startswith("int8")
    ]
    if fp32 is None or not int8:
        return {}
    with np.load(bundle / "calibration" / "calibration.npz") as f:
        x = f["x"] if "x" in f else f[next(iter(f.files))]
    images = list(np.asarray(x[:n]).astype(np.uint8))
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for art in int8:
            ref = make_reference(bundle, art.file, images, Path(tmp) / "ref.npz", fp32.file)
            out[art.file] = check_against(ref, bundle / art.file, "tflite")
    return out


def _markdown(body: dict, top: int) -> list[str]:
    rec = body["record"]
    dev = body["machine"]["device"]
    lines = [
        "# Per-operator profiles, thread scaling and int8 layer drift of a bundle",
        "",
        f"Written by `{body['script']}` (`{body['command']}`). Bundle `{body['bundle']}`; "
        f"{dev.get('cpu_model')}, {dev.get('arch')}, {dev.get('cores_logical')} cores"
        + (f" ({body['label']})" if body["label"] else "")
        + f"; 1-minute load median {body['load_average_1min']['median']:.2f}; runtimes "
        + ", ".join(f"{k} {v}" for k, v in rec["versions"].items() if k != "edgetk")
        + f". {rec['settings']['runs']} timed runs per (artifact, threads) after "
        f"{rec['settings']['warmup']} warm-up. How the numbers are obtained and how far to trust "
        'them: docs/edge_runtime.md, "Why is it slow on my board?".',
        "",
        "## Accounting: do the operators add up to the whole model?",
        "",
        "| artifact | threads | operators | sum of operators ms | profiler's whole ms | sum / whole "
        "| bench invoke p50 ms | sum / p50 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rec["rows"]:
        o = r.get("ops") or {}
        if r.get("status") != "ok" or "error" in o:
            lines.append(
                f"| {r['artifact']} | {r['threads']} | error: {o.get('error') or r.get('error')} |||||"
            )
            continue
        lines.append(
            f"| {r['artifact']} | {r['threads']} | {len(o['ops'])} | {o['sum_ms']:.3f} | "
            f"{o['whole_ms']:.3f} | {o['sum_over_whole']:.2f} | {o['bench_invoke_p50_ms']:.3f} | "
            f"{o['sum_over_bench_p50']:.2f} |"
        )
    for r in rec["rows"]:
        o = r.get("ops") or {}
        if (
            r.get("status") != "ok"
            or "error" in o
            or r["threads"] != min(rec["settings"]["threads"])
        ):
            continue
        lines += [
            "",
            f"## {r['artifact']}, {r['threads']} thread(s): top {top} operators",
            "",
            "| # | operator | type | ms | share | cumulative | |",
            "|---|---|---|---|---|---|---|",
        ]
        for k, op in enumerate(o["ops"][:top], 1):
            bar = "█" * round(op["share"] * 40)
            name = op["name"] if len(op["name"]) <= 60 else "…" + op["name"][-59:]
            lines.append(
                f"| {k} | `{name}` | {op['type']} | {op['total_ms']:.4f} | {op['share']:.1%} | "
                f"{op['cumulative_share']:.1%} | {bar} |"
            )
        lines += ["", "| type | operators | ms | share |", "|---|---|---|---|"]
        for t in o["types"]:
            lines.append(f"| {t['type']} | {t['count']} | {t['total_ms']:.4f} | {t['share']:.1%} |")
    lines += [
        "",
        "## Thread scaling (bare invoke() median)",
        "",
        "| artifact | threads | invoke p50 ms | predict p50 ms | speed-up | efficiency |",
        "|---|---|---|---|---|---|",
    ]
    for art, points in rec["thread_scaling"].items():
        for p in points:
            lines.append(
                f"| {art} | {p['threads']} | {p['invoke_p50_ms']:.3f} | {p['latency_p50_ms']:.3f} | "
                f"{p['speedup']:.2f} | {p['efficiency']:.2f} |"
            )
    for art, res in body["layers"].items():
        first = res["first_divergent"]
        lines += [
            "",
            f"## Layer check: {art} against {res['reference']} ({res['images']} calibration images)",
            "",
            (
                f"First layer beyond the threshold ({res['threshold']}): #{first['index']} "
                f"`{first['name']}` ({first['type']})."
                if first
                else f"No layer beyond the threshold ({res['threshold']})."
            ),
            "",
            "| # | layer | type | relative error | cosine |",
            "|---|---|---|---|---|",
        ]
        for row in res["layers"]:
            name = row["name"] if len(row["name"]) <= 60 else "…" + row["name"][-59:]
            lines.append(
                f"| {row['index']} | `{name}` | {row['type']} | {row['rel_error']:.4f} | "
                f"{row['cosine']:.5f} |"
            )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, required=True)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--layer-images", type=int, default=16)
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--label", default="")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "edge" / "ops_quick")
    args = ap.parse_args()

    load = [os.getloadavg()[0]]
    config = BenchConfig(
        bundle=str(args.bundle),
        threads=tuple(int(t) for t in args.threads.split(",")),
        runs=args.runs,
        warmup=args.warmup,
        ops=True,
        label=args.label,
    )
    record = run_bench(
        config, lambda row: print(f"  {row['artifact']} x{row['threads']}: {row['status']}")
    )
    load.append(os.getloadavg()[0])
    layers = _layers(args.bundle, args.layer_images)
    load.append(os.getloadavg()[0])
    record["bundle"]["path"] = shown_path(args.bundle)
    record["settings"]["bundle"] = shown_path(args.bundle)
    record["device"].pop("hostname", None)
    body = {
        **provenance(__file__),
        "bundle": shown_path(args.bundle),
        "label": args.label,
        "machine": machine(),
        "load_average_1min": {"median": statistics.median(load), "samples": load},
        "record": record,
        "layers": layers,
    }
    write_json(args.out.with_suffix(".json"), body)
    lines = _markdown(body, args.top)
    write_text(args.out.with_suffix(".md"), "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
