"""Thread scaling per artifact, from a benchmark's rows: the curve behind most "slow on my board"
reports (a board's cores, and the runtime's default thread count)."""

from __future__ import annotations

from typing import Any


def thread_scaling(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Per artifact, its thread counts in order with the median ``Predictor.predict`` latency,
    the median bare ``invoke()``, the speed-up of the invoke median over the fewest threads
    measured, and the parallel efficiency (speed-up per added thread, 1.0 = linear)."""
    by_art: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r.get("status") == "ok":
            by_art.setdefault(r["artifact"], []).append(r)
    out: dict[str, list[dict[str, Any]]] = {}
    for art, rs in by_art.items():
        rs = sorted(rs, key=lambda r: r["threads"])
        base = rs[0]
        b_inv, b_thr = base["invoke_ms"]["p50"], base["threads"]
        out[art] = [
            {
                "threads": r["threads"],
                "latency_p50_ms": r["latency_ms"]["p50"],
                "invoke_p50_ms": r["invoke_ms"]["p50"],
                "speedup": round(b_inv / r["invoke_ms"]["p50"], 3)
                if r["invoke_ms"]["p50"]
                else None,
                "efficiency": (
                    round(b_inv / r["invoke_ms"]["p50"] / (r["threads"] / b_thr), 3)
                    if r["invoke_ms"]["p50"]
                    else None
                ),
            }
            for r in rs
        ]
    return out


def format_scaling(scaling: dict[str, list[dict[str, Any]]]) -> str:
    """Per artifact: threads, medians, speed-up with a bar, efficiency."""
    lines = ["thread scaling (bare invoke() median; speed-up over the fewest threads measured)"]
    for art, points in scaling.items():
        if len(points) < 2:
            continue
        for p in points:
            s = p["speedup"] or 0.0
            lines.append(
                f"  {art:<24} x{p['threads']:<3} invoke {p['invoke_p50_ms']:>9.4f} ms  "
                f"predict {p['latency_p50_ms']:>9.4f} ms  speed-up {s:>5.2f} "
                f"eff {p['efficiency'] or 0:>4.2f} {'#' * round(s * 10)}"
            )
    return "\n".join(lines) if len(lines) > 1 else ""


__all__ = ["format_scaling", "thread_scaling"]
