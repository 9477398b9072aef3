"""One per-operator profile's layout, whichever runtime measured it, and its text form."""

from __future__ import annotations

from typing import Any

BAR_WIDTH = 30


def op_table(
    entries: list[dict[str, Any]], whole_ms: float, method: str, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Operators sorted by time with share and cumulative share, a per-type summary, and the
    accounting check: the operators' sum against the whole model's median (``sum_over_whole``).

    ``entries``: ``name``, ``type``, ``ms`` (time per inference), optional ``count`` (executions
    per inference, 1 by default) and any further fields, which are kept.
    """
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for e in entries:
        key = (e["name"], e["type"])
        row = merged.setdefault(key, {**e, "count": 0, "total_ms": 0.0})
        row["count"] += int(e.get("count", 1))
        row["total_ms"] += float(e["ms"])
    rows = sorted(merged.values(), key=lambda r: -r["total_ms"])
    total = sum(r["total_ms"] for r in rows)
    cum = 0.0
    ops = []
    for r in rows:
        r.pop("ms", None)
        cum += r["total_ms"]
        ops.append(
            {
                **r,
                "total_ms": round(r["total_ms"], 5),
                "mean_ms": round(r["total_ms"] / max(1, r["count"]), 5),
                "share": round(r["total_ms"] / total, 5) if total else 0.0,
                "cumulative_share": round(cum / total, 5) if total else 0.0,
            }
        )
    types: dict[str, dict[str, Any]] = {}
    for r in ops:
        t = types.setdefault(r["type"], {"type": r["type"], "count": 0, "total_ms": 0.0})
        t["count"] += r["count"]
        t["total_ms"] += r["total_ms"]
    type_rows = sorted(types.values(), key=lambda t: -t["total_ms"])
    for t in type_rows:
        t["total_ms"] = round(t["total_ms"], 5)
        t["share"] = round(t["total_ms"] / total, 5) if total else 0.0
    return {
        "method": method,
        "ops": ops,
        "types": type_rows,
        "sum_ms": round(total, 5),
        "whole_ms": round(whole_ms, 5),
        "sum_over_whole": round(total / whole_ms, 4) if whole_ms > 0 else None,
        **(extra or {}),
    }


def _bar(share: float) -> str:
    n = share * BAR_WIDTH
    return "#" * int(n) + ("+" if n - int(n) >= 0.5 else "")


def format_ops(profile: dict[str, Any], top: int = 15, title: str = "") -> str:
    """The top operators as a table with a bar per share, then the per-type summary."""
    if profile.get("error"):
        return f"{title}per-op profile: ERROR {profile['error']}"
    lines = []
    if title:
        lines.append(
            f"{title}: operators sum to {profile['sum_ms']:.3f} ms, whole model "
            f"{profile['whole_ms']:.3f} ms (sum/whole {profile['sum_over_whole']})"
        )
    lines.append(
        f"  {'#':>3} {'operator':<44} {'type':<18} {'n':>3} {'total ms':>9} {'mean ms':>8} "
        f"{'share':>6} {'cum':>6}"
    )
    shown = profile["ops"][:top]
    for k, r in enumerate(shown, 1):
        name = r["name"] if len(r["name"]) <= 44 else "…" + r["name"][-43:]
        lines.append(
            f"  {k:>3} {name:<44} {r['type'][:18]:<18} {r['count']:>3} {r['total_ms']:>9.4f} "
            f"{r['mean_ms']:>8.4f} {r['share']:>6.1%} {r['cumulative_share']:>6.1%} "
            f"{_bar(r['share'])}"
        )
    rest = profile["ops"][top:]
    if rest:
        lines.append(
            f"      ... {len(rest)} more operator(s), {sum(r['share'] for r in rest):.1%} of the time"
        )
    lines.append(f"  {'by type':<48} {'n':>22} {'total ms':>9} {'share':>15}")
    for t in profile["types"]:
        lines.append(
            f"      {t['type']:<44} {t['count']:>22} {t['total_ms']:>9.4f} {t['share']:>15.1%} "
            f"{_bar(t['share'])}"
        )
    return "\n".join(lines)


__all__ = ["format_ops", "op_table"]
