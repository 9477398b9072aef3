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
        elif verdict == "fail" and r.get("left_out"):
            verdict = "fail (left out)"
        elif verdict == "pass" and p.get("within_noise"):
            verdict = "pass (within noise)"
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
    noise = [(r["key"], f) for r in rows for f in (r.get("parity") or {}).get("within_noise", [])]
    if noise:
        out += ["## Over budget, but within noise (not failures)", ""]
        out += [f"- {k}: {f}" for k, f in noise] + [""]
    out += list(extra)
    return "\n".join(out).rstrip() + "\n"


def significance_markdown(rows: Sequence[dict[str, Any]], n: int, confidence: float) -> list[str]:
    """What the verdicts rest on: n, the confidence, the smallest drop n can show to be real,
    and each artifact's paired counts and p-values."""
    sigs = [(r["key"], (r.get("parity") or {}).get("significance")) for r in rows]
    sigs = [(k, s) for k, s in sigs if s]
    if not sigs:
        return []
    k_min = sigs[0][1]["min_detectable_images"]
    pct = f"{100 * confidence:g} %"
    lines = [
        "## Sample size and significance",
        "",
        f"Every verdict rests on n = {n} paired images. A budget that is broken fails the gate "
        f"only when a one-sided paired test calls the loss real at {pct} confidence; otherwise "
        f"it is listed as within noise. At n = {n} the smallest accuracy drop the test can call "
        f"real is {k_min} image(s), {100 * k_min / n:.2f} points (when every image the two models "
        f"disagree on goes against the artifact); one image is {100 / n:.2f} points.",
        "",
        "| artifact | right only for Keras | right only for artifact | disagreements | "
        "p (accuracy) | p (agreement) | p (macro-F1) | p (worst class F1) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def fmt(v: Any) -> str:
        return "–" if v is None else f"{v:.2g}"

    for key, s in sigs:
        lines.append(
            f"| {key} | {s['keras_only_correct']} | {s['artifact_only_correct']} | "
            f"{s['disagreements']} | {fmt(s['accuracy_p'])} | {fmt(s['agreement_p'])} | "
            f"{fmt(s['macro_f1_p'])} | {fmt(s['worst_class_f1_p'])} |"
        )
    lines += ["", f"Tests: {sigs[0][1]['method']}. F1 p-values are computed only where the "
              "drop is over budget.", ""]  # fmt: skip
    return lines


def excluded_markdown(rows: Sequence[dict[str, Any]], default_note: str) -> list[str]:
    """Which failed artifacts the bundle leaves out, and how the default was chosen."""
    out = [r for r in rows if r.get("left_out")]
    if not out and not default_note:
        return []
    lines = ["## Left out of the bundle", ""]
    if out:
        lines += [
            "These artifacts failed the gate; their files are not in the bundle and their "
            "numbers are in the manifest's `excluded`:",
            "",
        ]
        lines += [f"- {r['key']}: " + "; ".join(r["parity"]["failures"]) for r in out]
        lines += [""]
    if default_note:
        lines += [f"Default artifact: {default_note}.", ""]
    return lines


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
