"""Write the record of ``scripts/remote_bench_two_targets.sh`` from the run's own files.

    python scripts/remote_bench_record.py WORK OUT --bundle BUNDLE

Reads ``WORK/run1/<device>/bench.json`` and ``WORK/run2/...`` (the results each
``edgetk bench --devices`` run saved), ``WORK/run*.command.json`` (exit code and wall time of each
command) and ``WORK/run2.out`` (the comparison table the command printed), and writes under OUT:
``summary.json``, ``README.md`` (tables), ``comparison.txt`` and each device's records.
Nothing here is typed by hand. Every JSON record it writes names this script and its command
(``script``, ``command``), and local paths in them are shown by name (under WORK: relative to it).

Besides ``README.md`` and ``summary.json`` it copies each target's records as
``<target>_run1.json`` / ``<target>_run2.json`` (here ``x86-loopback_run1.json``,
``arm64-emulated_run2.json``, ...) into ``benchmarks/edge/remote/``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge_runtime.bench.device import cpu_model, device_info  # noqa: E402
from edge_runtime.common.fileio import read_json, write_json, write_text  # noqa: E402
from scripts.bench_common import provenance, scrub_local_paths  # noqa: E402

# What one remote run cost: environment reuse, setup, push and measurement times.
_RUN_KEYS = (
    "env_reused",
    "setup_s",
    "pushed_files",
    "pushed_bytes",
    "measure_s",
    "overhead_s",
    "total_s",
)


def _device_summary(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    r1, r2 = first["remote"], second["remote"]
    d = second["device"]
    return {
        "label": second["label"],
        "device": {k: d[k] for k in ("cpu_model", "arch", "cores_logical", "os", "python")},
        "runtime_versions": second["versions"],
        "first_run": {k: r1[k] for k in _RUN_KEYS},
        "second_run": {k: r2[k] for k in _RUN_KEYS},
        "thermal_first_run": r1["thermal"],
        "parity_first_run": {
            art: {
                k: p[k]
                for k in (
                    "n",
                    "device_correct",
                    "device_accuracy",
                    "local_accuracy",
                    "top1_agree",
                    "top1_agreement",
                )
            }  # fmt: skip
            for art, p in (r1.get("parity") or {}).items()
        },
        "rows_first_run": [
            {
                "artifact": r["artifact"],
                "threads": r["threads"],
                "status": r["status"],
                "p50_ms": r["latency_ms"]["p50"] if r["status"] == "ok" else None,
                "p99_ms": r["latency_ms"]["p99"] if r["status"] == "ok" else None,
                "n": r["latency_ms"]["n"] if r["status"] == "ok" else None,
            }
            for r in first["rows"]
        ],
    }


def _markdown(summary: dict[str, Any]) -> str:
    devs = summary["devices"]
    names = list(devs)
    s1, s2 = summary["settings"]["run1"], summary["settings"]["run2"]
    lines = [
        "# `edgetk bench --devices`: two targets in one command",
        "",
        f"Host: {summary['host']['cpu_model']}, {summary['host']['cores_logical']} logical cores, "
        f"{summary['host']['os']}. Bundle `{summary['bundle']}`, edgetk commit "
        f"`{summary['edgetk_commit'][:10]}`. One command measured both targets "
        "in parallel, run twice: first with empty device caches (run 1: "
        f"{s1['runs']} timed runs after {s1['warmup']} warm-up per (artifact, threads), threads "
        f"{s1['threads']}, parity on {summary['parity_n']} labelled Fashion-MNIST test images), "
        f"then again with what the devices already held (run 2: {s2['runs']} runs, threads "
        f"{s2['threads']}, artifacts {s2['artifacts'] or 'all'}; fewer because emulation is slow). "
        "Each target is a real OpenSSH server on 127.0.0.1; both share this machine's 2 cores "
        "with each other and with other jobs (load average above 10), so x86 timings are noisy "
        "too.",
        "",
        "**The arm64 target is EMULATED (qemu-user on this x86 machine): its timings are not "
        "device timings** and only show the loop works end to end on aarch64 / Python 3.11.",
        "",
        "## The loop's own cost",
        "",
        "Per target, from its own record (`remote` section): the whole loop (`total_s`), the "
        "environment setup, what was pushed, and the overhead = loop time beyond the measurement "
        "itself (connections, probe, push, setup, verification, parity, results back).",
        "",
        "| target | run | environment | setup s | files pushed | bytes pushed | measurement s | "
        "overhead s | loop total s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for n in names:
        for run in ("first_run", "second_run"):
            r = devs[n][run]
            lines.append(
                f"| {n} | {run.split('_')[0]} | {'reused' if r['env_reused'] else 'created'} | "
                f"{r['setup_s']:.1f} | {r['pushed_files']} | {r['pushed_bytes']:,} | "
                f"{r['measure_s']:.1f} | {r['overhead_s']:.1f} | {r['total_s']:.1f} |"
            )
    cmd = summary["bench_runs"]
    walls = [f"{k} {v['wall_s']:.1f} s" for k, v in cmd.items() if v]
    if walls:
        lines += ["", "Wall time of the whole command: " + ", ".join(walls) + "."]
    lines += [
        "",
        "## Latency (run 1), p50 ms, and ratio to the x86 target",
        "",
        "| artifact | threads | " + " | ".join(names) + " | ratio |",
        "|---|---|" + "---|" * (len(names) + 1),
    ]
    base = {(r["artifact"], r["threads"]): r for r in devs[names[0]]["rows_first_run"]}
    for key in base:
        cells, p50s = [], []
        for n in names:
            row = next(
                (r for r in devs[n]["rows_first_run"] if (r["artifact"], r["threads"]) == key),
                None,
            )
            p50 = row["p50_ms"] if row else None
            p50s.append(p50)
            cells.append("error" if p50 is None else f"{p50:.3f}")
        ratio = f"{p50s[-1] / p50s[0]:.1f}x" if None not in (p50s[0], p50s[-1]) else "-"
        lines.append(f"| {key[0]} | {key[1]} | " + " | ".join(cells) + f" | {ratio} |")
    lines += [
        "",
        "## On-device parity (run 1)",
        "",
        "| target | artifact | n | device accuracy | accuracy here | top-1 agreement |",
        "|---|---|---|---|---|---|",
    ]
    for n in names:
        for art, p in devs[n]["parity_first_run"].items():
            lines.append(
                f"| {n} | {art} | {p['n']} | {p['device_accuracy']:.4f} | "
                f"{p['local_accuracy']:.4f} | {p['top1_agree']}/{p['n']} |"
            )
    lines += [
        "",
        "Versions on each target: "
        + "; ".join(
            f"{n}: " + ", ".join(f"{k} {v}" for k, v in devs[n]["runtime_versions"].items())
            for n in names
        ),
        "",
        f"Written by `{summary['command']}` from the run's own files. "
        "Files: `summary.json` (this page's numbers), `comparison_run1.txt` / "
        "`comparison_run2.txt` (the tables the command printed), `<target>_run1.json` / "
        "`<target>_run2.json` (each device's full record, thermal state included).",
        "",
    ]
    return "\n".join(lines)


def _device_record(record: dict[str, Any], prov: dict[str, str], work: Path) -> dict[str, Any]:
    """A device's record as ``edgetk bench --devices`` saved it, with this script's provenance
    first (its command under ``script_command`` if the record has a ``command`` of its own) and
    local paths shown by name (those under ``work`` relative to it)."""
    head = dict(prov)
    if "command" in record:
        head["script_command"] = head.pop("command")
    return {**head, **scrub_local_paths({k: v for k, v in record.items() if k not in head}, work)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("work", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--bundle", required=True)
    args = ap.parse_args(argv)
    work, out = args.work, args.out
    prov = provenance(__file__, argv)
    out.mkdir(parents=True, exist_ok=True)
    names = sorted(p.name for p in (work / "run2").iterdir() if (p / "bench.json").is_file())
    devices = {}
    for n in names:
        first = read_json(work / "run1" / n / "bench.json")
        second = read_json(work / "run2" / n / "bench.json")
        devices[n] = _device_summary(first, second)
        write_json(out / f"{n}_run1.json", _device_record(first, prov, work))
        write_json(out / f"{n}_run2.json", _device_record(second, prov, work))
    # x86 first so ratios read "emulated arm64 / x86".
    names.sort(key=lambda n: devices[n]["device"]["arch"] != "x86_64")
    devices = {n: devices[n] for n in names}

    def settings(run: str) -> dict[str, Any]:
        rec = read_json(work / run / names[0] / "bench.json")
        return {k: rec["settings"][k] for k in ("artifacts", "threads", "runs", "warmup", "batch")}

    def command(run: str) -> dict[str, Any] | None:
        f = work / f"{run}.command.json"
        return read_json(f) if f.is_file() else None

    host = device_info()
    summary = {
        **prov,
        "host": {"cpu_model": cpu_model(), **{k: host[k] for k in ("cores_logical", "os", "arch")}},
        "bundle": Path(args.bundle).name,
        "edgetk_commit": (work / "commit.txt").read_text().strip(),
        "settings": {"run1": settings("run1"), "run2": settings("run2")},
        "parity_n": next(
            (p["n"] for d in devices.values() for p in d["parity_first_run"].values()), 0
        ),
        # Exit code and wall time of each `edgetk bench --devices` run.
        "bench_runs": {"run1": command("run1"), "run2": command("run2")},
        "devices": devices,
    }
    write_json(out / "summary.json", summary)
    for run in ("run1", "run2"):
        text = (work / f"{run}.out").read_text(encoding="utf-8")
        write_text(out / f"comparison_{run}.txt", scrub_local_paths(text, work))
    write_text(out / "README.md", _markdown(summary))
    print(json.dumps({n: d["second_run"] for n, d in devices.items()}, indent=1))


if __name__ == "__main__":
    main()
