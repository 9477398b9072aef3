"""What the bench stage's shipped-artifact operator profile adds to an ``edgetk run``.

The pipeline's bench stage (``trainer.pipeline.stages.run_bench``) measures every artifact of the
bundle, then profiles the default artifact's operators at one thread (``_shipped_ops``, in its own
process). This times both parts on a bundle, alternately over ``--rounds`` rounds (so a busy
machine hits both alike), with the quick profile's bench settings, and sets the median against
the quick profile's committed wall time (benchmarks/pipeline/quick_profile.json).

    .venv/bin/python scripts/bench_shipped_ops.py --bundle runs/bench_quick/bundle [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from bench_common import ROOT, machine, provenance, shown_path

from edge_runtime.bench import BenchConfig, run_bench
from edge_runtime.common.fileio import read_json, write_json, write_text
from trainer.pipeline.stages import SHIPPED_OPS_RUNS, _shipped_ops

QUICK_RECORD = ROOT / "benchmarks" / "pipeline" / "quick_profile.json"


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
        "n": len(values),
    }


def _markdown(body: dict) -> list[str]:
    s, o, q = body["stage_bench_s"], body["shipped_ops_s"], body["quick_profile_wall_s"]
    first = body["rounds"][0]["shipped"]
    lines = [
        "# The bench stage's shipped-artifact operator profile: what it costs",
        "",
        f"Written by `{body['script']}` (`{body['command']}`). Bundle `{body['bundle']}` "
        f"(default artifact `{first['artifact']}`); {body['machine']['device'].get('cpu_model')}, "
        f"{body['machine']['device'].get('cores_usable')} usable cores; 1-minute load "
        f"{min(body['load_average_1min']):.1f}-{max(body['load_average_1min']):.1f}. "
        f"{s['n']} rounds, the two parts alternated.",
        "",
        "| part | settings | median s | min s | max s |",
        "|---|---|---|---|---|",
        f"| the bench stage's artifacts | {body['stage_settings']} | {s['median']} | {s['min']} | "
        f"{s['max']} |",
        f"| + the shipped artifact's operators | 1 thread, {SHIPPED_OPS_RUNS} runs, own process | "
        f"{o['median']} | {o['min']} | {o['max']} |",
        "",
        f"Against the quick profile's {q:.0f} s wall time (benchmarks/pipeline/quick_profile.json) "
        f"the profile adds {100 * o['median'] / q:.2f} % (median; at most "
        f"{100 * o['max'] / q:.2f} %). Per round, the operators' sum over the whole model's "
        "median measured beside them: "
        + ", ".join(f"{r['shipped']['sum_over_whole']}" for r in body["rounds"])
        + ".",
    ]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=50, help="the stage's runs (quick profile: 50)")
    ap.add_argument("--threads", default="1,2", help="the stage's thread counts")
    ap.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "pipeline" / "shipped_ops_quick"
    )
    args = ap.parse_args()

    threads = tuple(int(t) for t in args.threads.split(","))
    config = BenchConfig(
        bundle=str(args.bundle), threads=threads, runs=args.runs, warmup=max(5, args.runs // 10)
    )
    rounds, load = [], [round(os.getloadavg()[0], 2)]
    for i in range(args.rounds):
        t0 = time.perf_counter()
        rows = run_bench(config)["rows"]
        stage_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        shipped = _shipped_ops(args.bundle)
        ops_s = time.perf_counter() - t0
        load.append(round(os.getloadavg()[0], 2))
        rounds.append(
            {
                "stage_bench_s": round(stage_s, 3),
                "shipped_ops_s": round(ops_s, 3),
                "stage_rows_ok": sum(r.get("status") == "ok" for r in rows),
                "shipped": {
                    k: shipped.get(k)
                    for k in ("artifact", "threads", "runs", "seconds", "error", "sum_over_whole")
                }
                | {"operators": len(shipped.get("ops") or [])},
            }
        )
        print(f"round {i + 1}: stage bench {stage_s:.2f} s, shipped ops {ops_s:.2f} s")
    body = {
        **provenance(__file__),
        "bundle": shown_path(args.bundle),
        "machine": machine(),
        "load_average_1min": load,
        "stage_settings": f"threads {','.join(map(str, threads))}, {args.runs} runs",
        "stage_bench_s": _spread([r["stage_bench_s"] for r in rounds]),
        "shipped_ops_s": _spread([r["shipped_ops_s"] for r in rounds]),
        "quick_profile_wall_s": read_json(QUICK_RECORD)["wall_seconds"],
        "rounds": rounds,
    }
    body["machine"]["device"].pop("hostname", None)
    write_json(args.out.with_suffix(".json"), body)
    lines = _markdown(body)
    write_text(args.out.with_suffix(".md"), "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
