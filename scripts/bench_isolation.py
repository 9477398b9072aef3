"""What running the runtime in a child process costs ``edgetk serve``: latency, memory, restart.

    .venv/bin/python scripts/bench_isolation.py [--bundle DIR] [--artifact FILE]
        [--sizes 1,8,16] [--calls 200] [--rounds 5]

The service's workers run their runtime in a child process (edge_runtime/backends/isolated.py)
so that a native crash costs the requests in flight and not the service. This measures the price
on one bundle artifact, in one run, as ratios:

- latency: ``Predictor.predict`` on decoded images, in-process vs isolated, per batch size;
  ``--rounds`` alternated rounds of ``--calls`` timed calls each (after warm-up), medians and p90
  of all calls;
- memory: each mode in a fresh process that loads the artifact and runs every batch size, then
  reports unique (USS) and proportional (PSS) memory of itself and its children (psutil);
- restart: the child is killed (SIGKILL, as a crash would end it); time until the call in flight
  raises, and until the next call is answered by a fresh child.

Writes ``benchmarks/serve/isolation.json`` and ``.md`` (the machine, package versions, the
command). Default bundle: the first of scripts/bench_common.py's candidates.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench_common import ROOT, machine, median, pick_bundle, provenance

from edge_runtime.common.fileio import write_json, write_text

OUT = ROOT / "benchmarks" / "serve" / "isolation"


def images(bundle: Path, n: int) -> list[Any]:
    import numpy as np

    from edge_runtime.manifest import load_manifest

    spec = load_manifest(bundle).input
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (spec.height, spec.width, spec.channels), dtype=np.uint8)
            for _ in range(n)]  # fmt: skip


def percentile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(values, q))


def latency(bundle: Path, artifact: str, sizes: list[int], calls: int, rounds: int) -> list[dict]:
    from edge_runtime.predictor import Predictor

    preds = {
        "in-process": Predictor.from_bundle(bundle, artifact, threads=1),
        "isolated": Predictor.from_bundle(bundle, artifact, threads=1, isolate=True),
    }
    imgs = images(bundle, max(sizes))
    times: dict[tuple[str, int], list[float]] = {(m, n): [] for m in preds for n in sizes}
    for _ in range(rounds):
        for n in sizes:
            for mode, pred in preds.items():
                batch = imgs[:n]
                for _ in range(5):  # warm-up
                    pred.predict(batch)
                for _ in range(calls):
                    t0 = time.perf_counter_ns()
                    pred.predict(batch)
                    times[(mode, n)].append((time.perf_counter_ns() - t0) / 1e6)
    for pred in preds.values():
        pred.close()
    rows = []
    for n in sizes:
        a, b = times[("in-process", n)], times[("isolated", n)]
        rows.append({
            "batch": n, "calls_per_mode": len(a),
            "in_process_ms": {"p50": median(a), "p90": percentile(a, 90)},
            "isolated_ms": {"p50": median(b), "p90": percentile(b, 90)},
            "added_ms_p50": median(b) - median(a),
            "ratio_p50": median(b) / median(a),
        })  # fmt: skip
    return rows


def memory_probe(bundle: Path, artifact: str, mode: str, sizes: list[int]) -> dict[str, float]:
    """In a fresh process: load, run every batch size, report USS / PSS of self + children."""
    import psutil

    from edge_runtime.predictor import Predictor

    pred = Predictor.from_bundle(bundle, artifact, threads=1, isolate=mode == "isolated")
    imgs = images(bundle, max(sizes))
    for n in sizes:
        for _ in range(20):
            pred.predict(imgs[:n])
    me = psutil.Process()
    procs = [me, *me.children(recursive=True)]
    # the fork server is a child too; count every process this mode needs
    info = [p.memory_full_info() for p in procs]
    pred.close()
    return {
        "processes": len(procs),
        "uss_mib": sum(i.uss for i in info) / 2**20,
        "pss_mib": sum(i.pss for i in info) / 2**20,
        "rss_mib": sum(i.rss for i in info) / 2**20,
    }


def memory(bundle: Path, artifact: str, sizes: list[int], repeats: int) -> dict[str, Any]:
    out: dict[str, list[dict[str, float]]] = {"in-process": [], "isolated": []}
    for _ in range(repeats):
        for mode in out:
            proc = subprocess.run(
                [sys.executable, __file__, "--probe", mode, "--bundle", str(bundle),
                 "--artifact", artifact, "--sizes", ",".join(map(str, sizes))],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            out[mode].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return {
        mode: {k: median([r[k] for r in runs]) for k in runs[0]} | {"runs": len(runs)}
        for mode, runs in out.items()
    }


def restart(bundle: Path, artifact: str, times: int) -> dict[str, Any]:
    from edge_runtime.errors import RuntimeCrashedError
    from edge_runtime.predictor import Predictor

    pred = Predictor.from_bundle(bundle, artifact, threads=1, isolate=True)
    img = images(bundle, 1)
    pred.predict(img)
    raised, answered = [], []
    for _ in range(times):
        os.kill(pred.backend.pid, signal.SIGKILL)  # type: ignore[attr-defined]
        t0 = time.perf_counter_ns()
        try:
            pred.predict(img)
        except RuntimeCrashedError:
            pass
        t1 = time.perf_counter_ns()
        pred.predict(img)
        t2 = time.perf_counter_ns()
        raised.append((t1 - t0) / 1e6)
        answered.append((t2 - t0) / 1e6)
    pred.close()
    return {"restarts": times, "crash_to_503_ms_p50": median(raised),
            "crash_to_next_answer_ms_p50": median(answered),
            "crash_to_next_answer_ms_max": max(answered)}  # fmt: skip


def markdown(rec: dict[str, Any]) -> str:
    m = rec["memory"]
    lines = [
        "# Runtime isolation in `edgetk serve`: what the child process costs",
        "",
        f"Written by `{rec['command']}` on {rec['created_utc']}: {rec['machine']['device'].get('cpu_model')}, "
        f"{os.cpu_count()} cores, shared machine (compare the two modes of this run with each "
        f"other). Artifact `{rec['artifact']}` of bundle `{rec['bundle']}`, 1 runtime thread. "
        f"Runtime: {rec['runtime']}.",
        "",
        "| batch | calls per mode | in-process p50 ms | isolated p50 ms | added p50 ms | ratio | "
        "in-process p90 | isolated p90 |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rec["latency"]:
        a, b = r["in_process_ms"], r["isolated_ms"]
        lines.append(
            f"| {r['batch']} | {r['calls_per_mode']} | {a['p50']:.3f} | {b['p50']:.3f} | "
            f"{r['added_ms_p50']:+.3f} | {r['ratio_p50']:.2f}x | {a['p90']:.3f} | {b['p90']:.3f} |"
        )
    lines += [
        "",
        "| mode | processes | USS MiB | PSS MiB | RSS MiB (sum) |",
        "|---|---:|---:|---:|---:|",
    ]
    for mode, v in m.items():
        lines.append(
            f"| {mode} | {v['processes']:.0f} | {v['uss_mib']:.1f} | {v['pss_mib']:.1f} | "
            f"{v['rss_mib']:.1f} |"
        )
    r = rec["restart"]
    lines += [
        "",
        f"Memory: medians of {m['isolated']['runs']} fresh processes per mode; the isolated mode "
        "counts the service process, the fork server and the worker's child.",
        "",
        f"Restart after a crash ({r['restarts']} SIGKILLs of the child): the call in flight "
        f"fails after {r['crash_to_503_ms_p50']:.1f} ms (median), the next call is answered "
        f"{r['crash_to_next_answer_ms_p50']:.1f} ms after the crash (median; max "
        f"{r['crash_to_next_answer_ms_max']:.1f} ms).",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle")
    ap.add_argument("--artifact", help="default: the bundle's default artifact")
    ap.add_argument("--sizes", default="1,8,16")
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--memory-runs", type=int, default=3)
    ap.add_argument("--restarts", type=int, default=10)
    ap.add_argument("--probe", choices=["in-process", "isolated"], help=argparse.SUPPRESS)
    ap.add_argument("--out", default=str(OUT), help="output path without extension")
    a = ap.parse_args()
    bundle = pick_bundle(a.bundle)
    sizes = [int(s) for s in a.sizes.split(",")]
    from edge_runtime.manifest import load_manifest

    artifact = a.artifact or load_manifest(bundle).artifact().file
    if a.probe:
        print(json.dumps(memory_probe(bundle, artifact, a.probe, sizes)))
        return 0
    from edge_runtime.predictor import Predictor

    runtime = Predictor.from_bundle(bundle, artifact).runtime
    rec = {
        **provenance(__file__),
        "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "bundle": bundle.name,
        "artifact": artifact,
        "runtime": runtime,
        "latency": latency(bundle, artifact, sizes, a.calls, a.rounds),
        "memory": memory(bundle, artifact, sizes, a.memory_runs),
        "restart": restart(bundle, artifact, a.restarts),
    }
    out = Path(a.out)
    write_json(out.with_suffix(".json"), rec)
    write_text(out.with_suffix(".md"), markdown(rec))
    print(markdown(rec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
