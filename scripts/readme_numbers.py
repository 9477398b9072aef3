"""The README's "Measured" table, written from the benchmark records, and checked against them.

    .venv/bin/python scripts/readme_numbers.py --write   # regenerate the table in README.md
    .venv/bin/python scripts/readme_numbers.py --check   # exit 1 if README.md differs (tests run it)

Each row reads one committed record under benchmarks/ and formats its figures; the table sits
between the ``<!-- measured:begin`` and ``<!-- measured:end -->`` markers of README.md. The README
cannot drift from the records: a new record changes the table the next time ``--write`` runs, and
a hand edit of the table fails ``--check`` (tests/test_readme_numbers.py).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BEGIN = re.compile(r"<!-- measured:begin[^>]*-->\n")
END = "<!-- measured:end -->"


def record(rel: str) -> dict[str, Any]:
    return json.loads((ROOT / rel).read_text(encoding="utf-8"))


def _link(rel: str) -> str:
    md = rel[: -len(".json")] + ".md"
    return f"[record]({md if (ROOT / md).is_file() else rel})"


def pipeline_row(rel: str) -> tuple[str, str]:
    r = record(rel)
    d = r["deployed"]
    seeds = r.get("seeds") or {}
    dep = seeds.get("deployed_test_accuracy")
    spread = (
        f"; {100 * dep['mean']:.2f} % mean over {dep['n']} seeds (std {100 * dep['std']:.2f} pt)"
        if dep and dep.get("n", 0) > 1 and dep.get("std") is not None
        else ""
    )
    plain = seeds.get("plain_deployed_test_accuracy")
    if spread and plain and plain["values"] != dep["values"]:  # some seed shipped views
        spread += f" as shipped, {100 * plain['mean']:.2f} % without test-time views"
    anchor = next(iter((r["selection"].get("anchor_comparison") or {}).values()), None)
    anchor_txt = (
        f"; classical anchor {100 * anchor['anchor_test_accuracy']:.2f} %" if anchor else ""
    )
    names = ", ".join(c["stage"] for c in r["candidates"])
    views = d.get("test_time_views", "none")
    what = f"`edgetk {r['command'].split(' --run-dir')[0].replace('edgetk ', '')}` ({names})"
    result = (
        f"{r['wall_seconds'] / 60:.1f} min, one run; ships `{d['candidate']}` {d['format']} "
        f"{d['precision']}{'' if views == 'none' else f' with {views} views'}: "
        f"**{100 * d['test_accuracy']:.2f} %** on the {d['test_images']:,}-image test split"
        f"{spread}, {d['size_bytes'] / 1e6:.2f} MB{anchor_txt} ({_link(rel)})"
    )
    return what, result


def install_row(rel: str) -> tuple[str, str]:
    r = record(rel)
    rows = {e["extra"]: e for e in r["extras"]}
    edge = rows["edge"]
    litert = edge["packages"].get("ai-edge-litert", "?")
    others = ", ".join(
        f"`{k}` {v['venv_du_mb']:.0f} MB" for k, v in rows.items() if k in ("onnx", "serve")
    )
    return (
        "smallest device install (`edge` extra)",
        f"{edge['venv_du_mb']:.0f} MB venv with ai-edge-litert {litert}, no TensorFlow "
        f"({others}) ({_link(rel)})",
    )


def cold_start_row(rel: str) -> tuple[str, str]:
    r = record(rel)
    p, m = r["predict"], r["minimal"]
    load = r.get("load_average_start")
    at = f" at load {load[0]:.1f} on 2 cores" if load else ""
    return (
        "`edgetk predict` cold start, one image",
        f"{r['wall_ratio']:.2f}x a minimal LiteRT script that loads the same model "
        f"({p['wall_s_median']:.3f} s vs {m['wall_s_median']:.3f} s{at}), median of "
        f"{r['runs_each']} alternated runs ({_link(rel)})",
    )


def isolation_row(rel: str) -> tuple[str, str]:
    r = record(rel)
    one = next(x for x in r["latency"] if x["batch"] == 1)
    iso, inproc = r["memory"]["isolated"], r["memory"]["in-process"]
    return (
        "`edgetk serve` runtime isolation (crash containment)",
        f"+{one['added_ms_p50']:.2f} ms per single-image call (p50), "
        f"+{iso['uss_mib'] - inproc['uss_mib']:.0f} MiB (USS), a crashed runtime answers again "
        f"after {r['restart']['crash_to_next_answer_ms_p50']:.0f} ms ({_link(rel)})",
    )


def resize_row(rel: str) -> tuple[str, str]:
    r = record(rel)
    short = {"ai-edge-litert": "litert", "onnxruntime": "ort", "tflite-runtime": "tflite-runtime"}
    by_machine: dict[str, list[str]] = {}
    for run in r["runs"]:
        ok = sum(x["status"] == "ok" for x in run["rows"])
        where = "emulated arm64" if run["machine"].startswith("aarch64") else run["machine"]
        cell = (
            f"{short.get(run['runtime'], run['runtime'])} {run['version']} {ok}/{len(run['rows'])}"
        )
        by_machine.setdefault(where, []).append(cell)
    text = "; ".join(f"{m}: " + ", ".join(cells) for m, cells in by_machine.items())
    return (
        "artifacts passing growing / shrinking batches, per runtime version",
        f"{text} ({_link(rel)})",
    )


ROWS: tuple[tuple[Callable[[str], tuple[str, str]], str], ...] = (
    (pipeline_row, "benchmarks/pipeline/quick_profile.json"),
    (pipeline_row, "benchmarks/pipeline/full_profile.json"),
    (install_row, "benchmarks/edge/install_footprint.json"),
    (cold_start_row, "benchmarks/edge/cold_start_crash_guard.json"),
    (isolation_row, "benchmarks/serve/isolation.json"),
    (resize_row, "benchmarks/edge/runtime_resize.json"),
)


def table() -> str:
    lines = ["| what | measured |", "|---|---|"]
    for fn, rel in ROWS:
        what, result = fn(rel)
        lines.append(f"| {what} | {result} |")
    return "\n".join(lines) + "\n"


def replace_table(text: str, new: str) -> str:
    m = BEGIN.search(text)
    end = text.find(END)
    if not m or end < m.end():
        raise SystemExit(f"{README.name}: no '<!-- measured:begin ... -->' ... '{END}' block")
    return text[: m.end()] + new + text[end:]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    a = ap.parse_args()
    text = README.read_text(encoding="utf-8")
    wanted = replace_table(text, table())
    if a.write:
        README.write_text(wanted, encoding="utf-8")
        return 0
    if wanted != text:
        print(
            "README.md's measured table differs from the records; run "
            "scripts/readme_numbers.py --write",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
