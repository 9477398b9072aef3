"""Benchmark records as text: one table per run, and several runs side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_runtime.bench.run import SCHEMA
from edge_runtime.common.errors import DataError
from edge_runtime.common.fileio import read_json_or_raise


def _f(v: Any, fmt: str = "{:.2f}") -> str:
    return "-" if v is None else fmt.format(v)


def format_table(record: dict[str, Any]) -> str:
    """A fixed-width table of a benchmark record's rows."""
    d = record["device"]
    head = f"{d['cpu_model']} | {d['arch']} | {d['cores_logical']} cores | {d['os']}" + (
        f" | {record['label']}" if record.get("label") else ""
    )
    cols = (
        f"{'artifact':<24} {'thr':>3} {'size KB':>8} {'load ms':>8} {'first ms':>8} "
        f"{'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'mean±std ms':>14} {'img/s':>8} "
        f"{'batch img/s':>11} {'peak MB':>8} {'acc':>6}"
    )
    lines = [head, cols]
    for r in record["rows"]:
        size = _f(r.get("size_bytes") and r["size_bytes"] / 1024, "{:.1f}")
        if r.get("status") != "ok":
            lines.append(
                f"{r['artifact']:<24} {r['threads']:>3} {size:>8}  ERROR: {r.get('error')}"
            )
            continue
        lat, tp = r["latency_ms"], r["throughput"]
        acc = r.get("accuracy") or {}
        lines.append(
            f"{r['artifact']:<24} {r['threads']:>3} {size:>8} {_f(r['load_ms']):>8} "
            f"{_f(r['first_inference_ms']):>8} {_f(lat['p50'], '{:.3f}'):>8} "
            f"{_f(lat['p90'], '{:.3f}'):>8} {_f(lat['p99'], '{:.3f}'):>8} "
            f"{lat['mean']:>7.3f}±{lat['std']:<6.3f} {_f(tp['single_stream_ips'], '{:.1f}'):>8} "
            f"{_f(tp['batched_ips'], '{:.1f}'):>11} {_f(r['memory']['peak_rss_mb'], '{:.1f}'):>8} "
            f"{_f(acc.get('accuracy'), '{:.4f}'):>6}"
        )
    return "\n".join(lines)


def format_details(record: dict[str, Any], top: int = 15) -> str:
    """What follows the table: each row's per-operator profile (``--ops``), the thread scaling
    per artifact (when more than one thread count was measured) and the layer check
    (``--check-layers``)."""
    from edge_runtime.bench.scaling import format_scaling, thread_scaling
    from edge_runtime.profiling.table import format_ops

    parts = []
    for r in record["rows"]:
        if r.get("ops") is not None:
            title = f"{r['artifact']} x{r['threads']}"
            parts.append(format_ops(r["ops"], top=top, title=title))
    scaling = format_scaling(record.get("thread_scaling") or thread_scaling(record["rows"]))
    if scaling:
        parts.append(scaling)
    if record.get("layers"):
        from edge_runtime.profiling.layers import format_layers

        parts.append("\n".join(format_layers(r) for r in record["layers"].values()))
    return "\n\n".join(parts)


def load_record(path: str | Path) -> dict[str, Any]:
    """Read a benchmark JSON written by ``edgetk bench --out-file``; DataError if it is not one."""
    p = Path(path)
    record = read_json_or_raise(
        p,
        DataError,
        f"benchmark file {p} does not exist",
        lambda exc: f"{p} is not JSON ({exc}); pass files written by `edgetk bench --out-file`",
    )
    if not isinstance(record, dict) or record.get("schema") != SCHEMA:
        raise DataError(f"{p} is not an edgetk benchmark record (expected schema {SCHEMA!r})")
    return record


def format_comparison(records: list[tuple[str, dict[str, Any]]]) -> str:
    """Side by side: p50 latency, single-stream throughput and peak memory per (artifact, threads)
    for each record, with the p50 ratio to the first record."""
    lines = []
    for i, (name, rec) in enumerate(records):
        d = rec["device"]
        lines.append(
            f"[{i}] {name}: {d['cpu_model']} ({d['arch']}, {d['cores_logical']} cores), "
            f"{rec['bundle']['name']}{' - ' + rec['label'] if rec.get('label') else ''}"
        )
    keys: list[tuple[str, int]] = []
    for _, rec in records:
        for r in rec["rows"]:
            k = (r["artifact"], r["threads"])
            if k not in keys:
                keys.append(k)
    header = f"{'artifact':<24} {'thr':>3}" + "".join(
        f" | [{i}] {'p50 ms':>8} {'img/s':>8} {'MB':>6} {'x[0]':>6}" for i in range(len(records))
    )
    lines += ["", header]
    for art, thr in keys:
        cells = []
        base = None
        for i, (_, rec) in enumerate(records):
            row = next(
                (r for r in rec["rows"] if (r["artifact"], r["threads"]) == (art, thr)), None
            )
            if row is None or row.get("status") != "ok":
                state = "missing" if row is None else "error"
                cells.append(f" | [{i}] {state:>8} {'':>8} {'':>6} {'':>6}")
                continue
            p50 = row["latency_ms"]["p50"]
            if i == 0:
                base = p50
            ratio = f"{p50 / base:.2f}" if base else "-"
            cells.append(
                f" | [{i}] {p50:>8.3f} {row['throughput']['single_stream_ips']:>8.1f} "
                f"{_f(row['memory']['peak_rss_mb'], '{:.0f}'):>6} {ratio:>6}"
            )
        lines.append(f"{art:<24} {thr:>3}" + "".join(cells))
    return "\n".join(lines)


__all__ = ["format_comparison", "format_details", "format_table", "load_record"]
