"""The parity table (Markdown): one row per artifact, saved as ``parity.md`` in the bundle."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _mib(n: int) -> str:
    return f"{n / 2**20:.2f} MiB"


def parity_table(rows: Sequence[dict[str, Any]]) -> str:
    """Markdown table from artifact rows (``key``, ``size_bytes``, ``parity`` dict, ...)."""
    head = (
        "| artifact | size | vs fp32 | accuracy | Δ acc (pts) | Δ macro-F1 (pts) | "
        "worst class Δ F1 (pts) | agreement | max abs Δp | verdict |\n"
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---|\n"
    )
    fp32 = {r["format"]: r["size_bytes"] for r in rows if r.get("precision") == "fp32"}
    lines = []
    for r in rows:
        p = r.get("parity") or {}
        if not p:
            lines.append(f"| {r['key']} | – | – | – | – | – | – | – | – | {r.get('status', '–')} |")
            continue
        ref = fp32.get(r["format"])
        ratio = f"{100 * r['size_bytes'] / ref:.1f} %" if ref else "–"
        verdict = p["verdict"]
        if verdict == "fail" and r.get("parity_failure_accepted"):
            verdict = "fail (accepted)"
        lines.append(
            f"| {r['key']} | {_mib(r['size_bytes'])} | {ratio} | {100 * p['accuracy']:.2f} % | "
            f"{100 * p['accuracy_delta']:+.2f} | {100 * p['macro_f1_delta']:+.2f} | "
            f"{100 * p['worst_class_f1_delta']:+.2f} ({p['worst_class']}) | "
            f"{100 * p['agreement']:.2f} % | {p['max_abs_diff']:.2e} | {verdict} |"
        )
    return head + "\n".join(lines) + "\n"


def parity_markdown(
    rows: Sequence[dict[str, Any]], title: str, data_note: str, extra: Sequence[str] = ()
) -> str:
    """The full ``parity.md``: title, what the gate ran on, the table, failures, recovery."""
    out = [f"# Parity: {title}", "", data_note, "", parity_table(rows)]
    fails = [(r["key"], f) for r in rows for f in (r.get("parity") or {}).get("failures", [])]
    if fails:
        out += ["## Failures", ""] + [f"- {k}: {f}" for k, f in fails] + [""]
    out += list(extra)
    return "\n".join(out).rstrip() + "\n"


def recovery_markdown(recovery: dict[str, Any]) -> list[str]:
    """Lines describing which layers precision recovery kept in float, and why."""
    if not recovery.get("needed", True):
        return ["## Precision recovery", "", "Not needed: strict int8 met the int8_mixed gate.", ""]
    lines = ["## Precision recovery", "", f"Ranking metric: {recovery['metric']}.", ""]
    lines += ["| float layers | Δ acc (pts) | worst class Δ F1 (pts) | agreement | gate |",
              "|---:|---:|---:|---:|---|"]  # fmt: skip
    for a in recovery["attempts"]:
        lines.append(
            f"| {a['float_layers']} | {100 * a['accuracy_delta']:+.2f} | "
            f"{100 * a['worst_class_f1_delta']:+.2f} | {100 * a['agreement']:.2f} % | "
            f"{'pass' if a['passed'] else 'fail'} |"
        )
    lines += ["", "(measured on the selection images, not the parity set)", ""]
    lines += ["Kept in float:", ""]
    lines += [f"- `{e['tensor']}`: {e['reason']}" for e in recovery["float_layers"]]
    return lines + [""]
