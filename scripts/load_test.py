"""Load-test the REST service: the real ``edgetk serve`` process, driven over loopback.

    PYTHONPATH=. .venv/bin/python scripts/load_test.py BUNDLE [--levels 1,2,4,8]
        [--requests 3000] [--duration 20] [--repeat 3] [--workers 1] [--threads 1]

1. In-process single-stream throughput on the same bundle, PNG bytes and runtime threads: one
   image at a time, ``decode_image_bytes`` + ``Predictor.predict`` (the service's work per
   request), warm-up excluded; ``predict`` alone is reported beside it.
2. ``edgetk serve BUNDLE --port 0`` as a subprocess (``serve_harness.start_server``).
3. Each concurrency level: that many keep-alive clients in one asyncio loop
   (``serve_harness.drive``) POST one PNG each until the request or the duration cap; latency per
   request, client side; server and client CPU time per request (robust to other work on a
   shared machine, unlike wall time).
4. The in-process run is repeated after each level (server idle) and each level is compared with
   the higher of the two runs around it: other work on a shared machine drifts over minutes.
5. ``<out>/<tag>.json`` and ``.md``: throughput, p50 / p90 / p99, errors, ratios, machine.

The committed records under benchmarks/serve/ are named by ``--tag``: load_test_full_isolated.json
and load_test_full_in_process.json (``--in-process``) of the full bundle, load_test_full_int8.json;
their commands are in benchmarks/README.md and in each record.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from bench_common import machine, median, provenance, shown_path
from PIL import Image
from serve_harness import ROOT, drive, percentiles_ms, request_bytes, start_server

from edge_runtime import Predictor
from edge_runtime.common.fileio import write_json, write_text
from edge_runtime.common.versions import installed_versions

SERVE_LIBRARIES = (
    "edgetk",
    "fastapi",
    "uvicorn",
    "starlette",
    "httptools",
    "h11",
    "prometheus-client",
)


def sample_pngs(predictor: Predictor, count: int) -> tuple[list[bytes], str]:
    """``count`` PNG test pictures: Fashion-MNIST's test set when cached and 28x28, else noise."""
    spec = predictor.manifest.input
    home = Path(os.environ.get("KERAS_HOME") or ROOT.parent / "shared" / "keras-home")
    path = home / "datasets" / "fashion-mnist" / "t10k-images-idx3-ubyte.gz"
    if path.exists() and (spec.height, spec.width) == (28, 28):
        with gzip.open(path, "rb") as fh:
            raw = fh.read()
        images = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)[:count]
        source = "Fashion-MNIST test set (first images)"
    else:
        shape = (count, spec.height, spec.width) + (() if spec.channels == 1 else (3,))
        images = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
        source = "synthetic noise pictures of the bundle's input size"
    out = []
    for img in images:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "PNG")
        out.append(buf.getvalue())
    return out, source


def in_process(bundle: Path, artifact: str | None, threads: int | None, pngs: list[bytes],
               seconds: float, warmup: int = 50) -> dict[str, Any]:  # fmt: skip
    """Single-stream decode + predict on the same PNG bytes the server gets."""
    from edge_runtime.preprocess import decode_image_bytes

    predictor = Predictor.from_bundle(bundle, artifact=artifact, threads=threads)
    for i in range(warmup):
        predictor.predict([decode_image_bytes(pngs[i % len(pngs)])])
    lat: list[int] = []
    predict_ns = 0
    cpu0, start = time.process_time(), time.perf_counter_ns()
    while time.perf_counter_ns() - start < seconds * 1e9:
        t0 = time.perf_counter_ns()
        image = decode_image_bytes(pngs[len(lat) % len(pngs)])
        t1 = time.perf_counter_ns()
        predictor.predict([image])
        t2 = time.perf_counter_ns()
        predict_ns += t2 - t1
        lat.append(t2 - t0)
    elapsed = (time.perf_counter_ns() - start) / 1e9
    predictor.close()
    return {
        "images": len(lat),
        "seconds": round(elapsed, 3),
        "images_per_s": round(len(lat) / elapsed, 2),
        "predict_only_images_per_s": round(len(lat) / (predict_ns / 1e9), 2),
        "cpu_ms_per_image": round((time.process_time() - cpu0) * 1e3 / len(lat), 4),
        **{f"{k}_ms": v for k, v in percentiles_ms(lat).items()},
    }


def cpu_seconds(proc: psutil.Process) -> float:
    """CPU seconds of the service and every process under it (the runtime children of an
    isolated service run the model; a process that has ended is no longer counted)."""
    total = 0.0
    for p in (proc, *proc.children(recursive=True)):
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


def markdown(result: dict[str, Any]) -> str:
    base, dev, acc = result["in_process"], result["device"], result["acceptance"]
    runs = result["in_process_runs"]
    lines = [
        f"# Serving load test: {result['bundle']['name']} / {result['bundle']['artifact']}",
        "",
        f"Machine: {dev['cpu_model']}, {dev['cores_usable']} cores, shared with other work; the "
        f"load generator runs on the same cores. Server: `edgetk serve` "
        f"{' '.join(result['server_args']) or '(defaults)'}; client: {result['client']}.",
        f"Images: {result['images']}. 1-minute load average {result['load_average_1m']}. Written by "
        f"`{result.get('command', 'scripts/load_test.py')}`.",
        "",
        "In-process single-stream (decode + predict, images/s), before the first level and after "
        f"each: {', '.join(str(r['images_per_s']) for r in runs)}; `predict` alone: "
        f"{', '.join(str(r['predict_only_images_per_s']) for r in runs)}. CPU per image "
        f"{base['cpu_ms_per_image']} ms.",
        "",
        "| run | concurrency | requests | errors | req/s | in-process img/s | ratio "
        "| p50 ms | p90 ms | p99 ms | max ms | server CPU ms/req | client CPU ms/req |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for lv in result["levels"]:
        lines.append(
            f"| {lv['repeat']} | {lv['concurrency']} | {lv['requests']} | {lv['errors']} "
            f"| {lv['throughput_rps']} | {lv['in_process_images_per_s']} "
            f"| {lv['ratio_to_in_process']:.2f} | {lv['p50_ms']} | {lv['p90_ms']} | {lv['p99_ms']} "
            f"| {lv['max_ms']} | {lv['server_cpu_ms_per_request']} "
            f"| {lv['client_cpu_ms_per_request']} |"
        )
    lines += [
        "",
        f"Acceptance: zero errors **{acc['zero_errors']}**; at concurrency {acc['concurrency']} "
        f"{acc['ratio']:.2f} x in-process (median of {acc['repeats']}: {acc['ratios']}; needs "
        f">= 0.5): **{acc['throughput_ok']}**; p99 {acc['p99_ms']} ms (median). Caps per level: "
        f"{result['caps']['requests']} requests or {result['caps']['seconds']} s; "
        f"{result['caps']['warmup_per_connection']} warm-up requests per connection excluded.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", type=Path)
    ap.add_argument("--artifact", default=None)
    ap.add_argument("--levels", default="1,2,4,8")
    ap.add_argument("--requests", type=int, default=3000, help="request cap per level")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds cap per level")
    ap.add_argument("--warmup", type=int, default=5, help="warm-up requests per connection")
    ap.add_argument("--workers", type=int, default=None, help="server --workers")
    ap.add_argument("--max-batch", type=int, default=None, help="server --batch-size")
    ap.add_argument(
        "--in-process",
        action="store_true",
        help="server --in-process (the runtime in the service process, no isolation)",
    )
    ap.add_argument("--threads", type=int, default=None, help="runtime threads (both sides)")
    ap.add_argument("--baseline-seconds", type=float, default=10.0)
    ap.add_argument("--images", type=int, default=500, help="distinct test pictures to cycle")
    ap.add_argument("--repeat", type=int, default=1, help="run the levels this many times")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "serve")
    ap.add_argument("--tag", default=None, help="output file stem (default: load_test_<bundle>)")
    args = ap.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    if min(levels) < 1 or args.requests < 1 or args.duration <= 0 or args.repeat < 1:
        ap.error("levels, --requests, --duration and --repeat must be positive")

    probe = Predictor.from_bundle(args.bundle, artifact=args.artifact)
    pngs, source = sample_pngs(probe, args.images)
    art = probe.artifact
    bundle_info = {"path": shown_path(args.bundle), "name": probe.manifest.name, "artifact": art.file,
                   "precision": art.precision, "sha256": art.sha256,
                   "runtime": probe.backend.runtime}  # fmt: skip
    probe.close()
    server_args = ["--no-access-log", "--log-level", "warning"]
    if args.in_process:
        server_args.append("--in-process")
    for flag, value in (("--workers", args.workers), ("--threads", args.threads),
                        ("--batch-size", args.max_batch), ("--artifact", args.artifact)):  # fmt: skip
        if value is not None:
            server_args += [flag, str(value)]
    requests = [request_bytes("POST", "/v1/predict?top_k=1", png, {"Content-Type": "image/png"})
                for png in pngs]  # fmt: skip

    def baseline() -> dict[str, Any]:
        return in_process(args.bundle, args.artifact, args.threads, pngs, args.baseline_seconds)

    load_before = os.getloadavg()[0]
    runs = [baseline()]
    server = start_server(args.bundle, server_args)
    server_proc = psutil.Process(server.proc.pid)
    results = []
    try:
        for rep, c in ((r, c) for r in range(args.repeat) for c in levels):
            cpu_s, cpu_c = cpu_seconds(server_proc), time.process_time()
            res = drive(*server.host_port, requests, c, args.duration, args.requests, args.warmup)
            n = max(sum(res.statuses.values()), 1)
            lv: dict[str, Any] = {"repeat": rep + 1, **res.summary()}
            lv["server_cpu_ms_per_request"] = round((cpu_seconds(server_proc) - cpu_s) * 1e3 / n, 4)
            lv["client_cpu_ms_per_request"] = round((time.process_time() - cpu_c) * 1e3 / n, 4)
            runs.append(baseline())
            adjacent = max(runs[-2]["images_per_s"], runs[-1]["images_per_s"])
            predict_only = max(r["predict_only_images_per_s"] for r in runs[-2:])
            lv["in_process_images_per_s"] = adjacent
            lv["ratio_to_in_process"] = round(lv["throughput_rps"] / adjacent, 3)
            lv["ratio_to_predict_only"] = round(lv["throughput_rps"] / predict_only, 3)
            results.append(lv)
            print(f"  c={c}: {lv['throughput_rps']} req/s ({lv['ratio_to_in_process']:.2f} x), "
                  f"p99 {lv['p99_ms']} ms, errors {lv['errors']}", flush=True)  # fmt: skip
    finally:
        rc, _ = server.stop()
    tops = [lv for lv in results if lv["concurrency"] == max(levels)]
    result = {
        **provenance(__file__),
        "what": "edgetk serve load test",
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **machine(),
        "serve_versions": installed_versions(SERVE_LIBRARIES),
        "bundle": bundle_info,
        "server_args": server_args,
        "server_exit_code": rc,
        "client": "one asyncio loop, one keep-alive connection per concurrent client, "
        "pre-built requests, POST image/png (scripts/serve_harness.py)",
        "images": f"{len(pngs)} PNGs, {source}",
        "caps": {
            "requests": args.requests,
            "seconds": args.duration,
            "warmup_per_connection": args.warmup,
        },  # fmt: skip
        "in_process": max(runs[-2:], key=lambda r: r["images_per_s"]),
        "in_process_runs": runs,
        "load_average_1m": {
            "before": round(load_before, 2),
            "after": round(os.getloadavg()[0], 2),
        },  # fmt: skip
        "levels": results,
        "acceptance": {
            "concurrency": max(levels),
            "repeats": len(tops),
            "zero_errors": all(lv["errors"] == 0 for lv in results),
            "ratio": median([lv["ratio_to_in_process"] for lv in tops]),
            "ratios": [lv["ratio_to_in_process"] for lv in tops],
            "throughput_ok": median([lv["ratio_to_in_process"] for lv in tops]) >= 0.5,
            "p99_ms": median([lv["p99_ms"] or 0.0 for lv in tops]),
        },
    }
    tag = args.tag or f"load_test_{re.sub(r'[^A-Za-z0-9_.-]+', '_', args.bundle.name)}"
    write_json(args.out / f"{tag}.json", result)
    write_text(args.out / f"{tag}.md", markdown(result))
    print(markdown(result))
    return 0 if result["acceptance"]["zero_errors"] and result["acceptance"]["throughput_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
