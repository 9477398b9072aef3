"""Write the record of ``scripts/remote_bench_two_targets.sh`` from the run's own files.

    python scripts/remote_bench_record.py WORK OUT --bundle BUNDLE

Reads ``WORK/run1/<device>/bench.json`` and ``WORK/run2/...`` (the results each
``edgetk bench --devices`` run saved), ``WORK/run*.command.json`` (exit code and wall time of each
command) and ``WORK/run2.out`` (the comparison table the command printed), and writes under OUT:
``summary.json``, ``README.md`` (tables), ``comparison.txt`` and each device's records.
Nothing here is typed by hand.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

from edge_runtime.bench.device import cpu_model, device_info
from edge_runtime.common.fileio import read_json, write_json, write_text


def _device_summary(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    r1, r2 = first["remote"], second["remote"]
    d = second["device"]
    return {
        "label": second["label"],
        "device": {k: d[k] for k in ("cpu_model", "arch", "cores_logical", "os", "python")},
        "runtime_versions": second["versions"],
        "first_run": {
            k: r1[k]
            for k in (
                "env_reused",
                "setup_s",
                "pushed_files",
                "pushed_bytes",
                "measure_s",
                "overhead_s",
                "total_s",
            )
        },  # fmt: skip
        "second_run": {
            k: r2[k]
            for k in (
                "env_reused",
                "setup_s",
                "pushed_files",
                "pushed_bytes",
                "measure_s",
                "overhead_s",
                "total_s",
            )
        },  # fmt: skip
        "thermal_second_run": r2["thermal"],
        "parity_second_run": {
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
            for art, p in (r2.get("parity") or {}).items()
        },
        "rows_second_run": [
            {
                "artifact": r["artifact"],
                "threads": r["threads"],
                "status": r["status"],
                "p50_ms": r["latency_ms"]["p50"] if r["status"] == "ok" else None,
                "p99_ms": r["latency_ms"]["p99"] if r["status"] == "ok" else None,
                "n": r["latency_ms"]["n"] if r["status"] == "ok" else None,
            }
            for r in second["rows"]
        ],
    }


def _markdown(summary: dict[str, Any]) -> str:
    devs = summary["devices"]
    names = list(devs)
    lines = [
        "# `edgetk bench --devices`: two targets in one command",
        "",
        f"Host: {summary['host']['cpu_model']}, {summary['host']['cores_logical']} logical cores, "
        f"{summary['host']['os']}. Bundle `{summary['bundle']}`, edgetk commit "
        f"`{summary['edgetk_commit'][:10]}`. One command measured both targets "
        f"in parallel, run twice: first with empty device caches, then again. "
        f"{summary['settings']['runs']} timed runs per (artifact, threads), "
        f"{summary['settings']['warmup']} warm-up; parity on {summary['parity_n']} labelled images. "
        "Each target is a real OpenSSH server on 127.0.0.1.",
        "",
        "**The arm64 target is EMULATED (qemu-user on this x86 machine): its timings are not "
        "device timings** and only show the loop works end to end on aarch64 / Python 3.11.",
        "",
        "## The loop's own cost",
        "",
        "| target | label | command wall s (run 1 / run 2) | first-run setup s | bytes pushed run 1 | "
        "bytes pushed run 2 | run 2 overhead s beyond measurement | run 2 measurement s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    w1, w2 = summary["command"]["run1"]["wall_s"], summary["command"]["run2"]["wall_s"]
    for n in names:
        d = devs[n]
        lines.append(
            f"| {n} | {d['label']} | {w1:.1f} / {w2:.1f} | {d['first_run']['setup_s']:.1f} | "
            f"{d['first_run']['pushed_bytes']:,} | {d['second_run']['pushed_bytes']:,} | "
            f"{d['second_run']['overhead_s']:.1f} | {d['second_run']['measure_s']:.1f} |"
        )
    lines += [
        "",
        "## Latency (run 2), p50 ms, and ratio to the x86 target",
        "",
        "| artifact | threads | " + " | ".join(names) + " | ratio |",
        "|---|---|" + "---|" * (len(names) + 1),
    ]
    base = {(r["artifact"], r["threads"]): r for r in devs[names[0]]["rows_second_run"]}
    for key in base:
        cells, p50s = [], []
        for n in names:
            row = next(
                (r for r in devs[n]["rows_second_run"] if (r["artifact"], r["threads"]) == key),
                None,
            )
            p50 = row["p50_ms"] if row else None
            p50s.append(p50)
            cells.append("error" if p50 is None else f"{p50:.3f}")
        ratio = f"{p50s[-1] / p50s[0]:.1f}x" if None not in (p50s[0], p50s[-1]) else "-"
        lines.append(f"| {key[0]} | {key[1]} | " + " | ".join(cells) + f" | {ratio} |")
    lines += [
        "",
        "## On-device parity (run 2)",
        "",
        "| target | artifact | n | device accuracy | accuracy here | top-1 agreement |",
        "|---|---|---|---|---|---|",
    ]
    for n in names:
        for art, p in devs[n]["parity_second_run"].items():
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
        "Files: `summary.json` (this table's numbers), `comparison.txt` (the table the command "
        "printed), `<target>_run1.json` / `<target>_run2.json` (each device's full record).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("work", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--bundle", required=True)
    args = ap.parse_args()
    work, out = args.work, args.out
    out.mkdir(parents=True, exist_ok=True)
    names = sorted(p.name for p in (work / "run2").iterdir() if (p / "bench.json").is_file())
    devices = {}
    for n in names:
        first = read_json(work / "run1" / n / "bench.json")
        second = read_json(work / "run2" / n / "bench.json")
        devices[n] = _device_summary(first, second)
        shutil.copyfile(work / "run1" / n / "bench.json", out / f"{n}_run1.json")
        shutil.copyfile(work / "run2" / n / "bench.json", out / f"{n}_run2.json")
    # x86 first so ratios read "emulated arm64 / x86".
    names.sort(key=lambda n: devices[n]["device"]["arch"] != "x86_64")
    devices = {n: devices[n] for n in names}
    some = read_json(work / "run2" / names[0] / "bench.json")
    host = device_info()
    summary = {
        "host": {"cpu_model": cpu_model(), **{k: host[k] for k in ("cores_logical", "os", "arch")}},
        "bundle": Path(args.bundle).name,
        "edgetk_commit": (work / "commit.txt").read_text().strip(),
        "settings": {k: some["settings"][k] for k in ("threads", "runs", "warmup", "batch")},
        "parity_n": next(
            (p["n"] for d in devices.values() for p in d["parity_second_run"].values()), 0
        ),
        "command": {
            "run1": read_json(work / "run1.command.json"),
            "run2": read_json(work / "run2.command.json"),
        },
        "devices": devices,
    }
    write_json(out / "summary.json", summary)
    write_text(out / "comparison.txt", (work / "run2.out").read_text(encoding="utf-8"))
    write_text(out / "README.md", _markdown(summary))
    print(json.dumps({n: d["second_run"] for n, d in devices.items()}, indent=1))


if __name__ == "__main__":
    main()
