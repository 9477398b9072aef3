"""Per-class tables from a metrics dict: CSV for tools, Markdown for people."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from edge_runtime.common.fileio import write_text

CSV_COLUMNS = ("index", "name", "precision", "recall", "f1", "support", "predicted")


def per_class_csv(metrics: dict[str, Any]) -> str:
    """The ``per_class`` rows as CSV (header + one row per class)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in metrics["per_class"]:
        writer.writerow(
            {k: (f"{row[k]:.6f}" if isinstance(row[k], float) else row[k]) for k in CSV_COLUMNS}
        )
    return buf.getvalue()


def per_class_markdown(metrics: dict[str, Any], stage: str = "") -> str:
    """Headline numbers, a COLLAPSE section when it fired, per-class table, confused pairs."""
    c = metrics["collapse"]
    lines = [f"# Evaluation{': ' + stage if stage else ''}", ""]
    if c["detected"]:
        lines += ["## COLLAPSE", "", "This model collapsed; its results are not usable.", ""]
        lines += [f"- {reason}" for reason in c["reasons"]]
        lines += [""]
    lines += [
        f"- samples: {metrics['n_samples']}",
        f"- accuracy: {metrics['accuracy']:.4f} (chance {c['chance_accuracy']:.4f})",
        f"- macro F1: {metrics['macro_f1']:.4f}",
        f"- weighted F1: {metrics['weighted_f1']:.4f}",
        "",
        "| # | class | precision | recall | F1 | support | predicted |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in metrics["per_class"]:
        lines.append(
            f"| {r['index']} | {r['name']} | {r['precision']:.3f} | {r['recall']:.3f} | "
            f"{r['f1']:.3f} | {r['support']} | {r['predicted']} |"
        )
    if metrics["most_confused"]:
        lines += ["", "Most confused pairs (true -> predicted):", ""]
        lines += ["| true | predicted | count | share of true class |", "|---|---|---:|---:|"]
        lines += [
            f"| {p['true_name']} | {p['predicted_name']} | {p['count']} | "
            f"{p['share_of_true']:.1%} |"
            for p in metrics["most_confused"]
        ]
    return "\n".join(lines) + "\n"


def write_tables(metrics: dict[str, Any], out_dir: Path, stage: str = "") -> dict[str, Path]:
    """Write ``per_class.csv`` and ``per_class.md`` into ``out_dir`` (atomically)."""
    return {
        "per_class_csv": write_text(out_dir / "per_class.csv", per_class_csv(metrics)),
        "per_class_md": write_text(out_dir / "per_class.md", per_class_markdown(metrics, stage)),
    }
