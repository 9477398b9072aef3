"""Return on complexity: baseline vs transfer vs fine-tune, side by side, from the stage summaries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_runtime.common.fileio import read_json, write_json, write_text
from trainer.training.config import Stage

TABLE_JSON = "return_on_complexity.json"
TABLE_MD = "return_on_complexity.md"


def _row(stage: str, s: dict[str, Any]) -> dict[str, Any]:
    m = s.get("metrics", {})
    lat = s.get("latency", {})
    val = s.get("val_metrics") or {}
    return {
        "stage": stage,
        "kind": s.get("kind", stage),
        "val_accuracy": val.get("accuracy"),
        "accuracy": m.get("accuracy"),
        "macro_f1": m.get("macro_f1"),
        "params": s.get("params"),
        "model_file_bytes": s.get("model_file_bytes"),
        "weights_bytes_float32": s.get("weights_bytes_float32"),
        "train_seconds": s.get("train_seconds"),
        "epochs_run": s.get("epochs_run"),
        "latency_p50_ms": lat.get("p50_ms", lat.get("median_ms")),
        "latency_p90_ms": lat.get("p90_ms"),
        "latency_p99_ms": lat.get("p99_ms"),
        "latency_runs": lat.get("runs"),
        "model_path": (s.get("registered") or {}).get("path"),
        "train_count": s.get("train_count"),
    }


def _fmt(v: Any, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def write_return_on_complexity(run_dir: str | Path) -> dict[str, Any]:
    """Collect every finished stage's ``summary.json`` into a table; write JSON and Markdown.

    Writes ``<run_dir>/return_on_complexity.json`` and ``.md``; returns the JSON body. Training time
    includes the cumulative time of the stages a model builds on (fine-tune includes transfer).
    """
    from trainer.training.runner import SUMMARY_NAME

    run = Path(run_dir)
    # Every candidate folder with a summary: the stage kinds in their usual order, then the
    # candidates a user added (any name), the classical anchor among them.
    known = [s.value for s in Stage]
    found = sorted(
        (p.parent.name for p in run.glob(f"*/{SUMMARY_NAME}")),
        key=lambda n: (known.index(n) if n in known else len(known), n),
    )
    rows = []
    for stage in found:
        summary = read_json(run / stage / SUMMARY_NAME)
        if isinstance(summary, dict) and "metrics" in summary and "stage" in summary:
            rows.append(_row(stage, summary))
    by = {r["stage"]: r for r in rows}
    if "finetune" in by and "transfer" in by and by["transfer"]["train_seconds"] is not None:
        by["finetune"]["cumulative_train_seconds"] = (
            by["finetune"]["train_seconds"] + by["transfer"]["train_seconds"]
        )
    base = by.get("baseline")
    for r in rows:
        if base and base["accuracy"] is not None and r["accuracy"] is not None:
            r["accuracy_gain_vs_baseline_pts"] = round(100 * (r["accuracy"] - base["accuracy"]), 3)
        if base and base["latency_p50_ms"] and r["latency_p50_ms"]:
            r["latency_ratio_vs_baseline"] = round(r["latency_p50_ms"] / base["latency_p50_ms"], 2)
    body = {"run_dir": str(run), "rows": rows}
    write_json(run / TABLE_JSON, body)
    lines = [
        "# Return on complexity",
        "",
        "Validation accuracy (what selection reads) and test-set accuracy / macro-F1 (read after "
        "the choice); single-image CPU latency is the median (p50) and p90 of traced Keras "
        "inference calls (scikit-learn's predict for the classical anchor), warm-up excluded, "
        "measured in the same process as training (a shared 2-core VM here: timings are noisy).",
        "",
        "| stage | val accuracy | test accuracy | macro-F1 | params | .keras size | train time | p50 latency | p90 latency | vs baseline |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        size = r["model_file_bytes"]
        gain = r.get("accuracy_gain_vs_baseline_pts")
        ratio = r.get("latency_ratio_vs_baseline")
        name = r["stage"]
        if r["kind"] == "classical":
            name += f" (classical anchor, {_fmt(r.get('train_count'), ',')} training images)"
        lines.append(
            f"| {name} | {_fmt(r['val_accuracy'], '.4f')} | {_fmt(r['accuracy'], '.4f')} | {_fmt(r['macro_f1'], '.4f')} | "
            f"{_fmt(r['params'], ',')} | {'-' if size is None else f'{size / 1e6:.2f} MB'} | "
            f"{_fmt(r['train_seconds'], '.0f')} s | {_fmt(r['latency_p50_ms'], '.2f')} ms | "
            f"{_fmt(r['latency_p90_ms'], '.2f')} ms | "
            f"{'-' if gain is None else f'{gain:+.2f} pts'}, "
            f"{'-' if ratio is None else f'{ratio:.1f}x latency'} |"
        )
    lines.append("")
    write_text(run / TABLE_MD, "\n".join(lines))
    return body
