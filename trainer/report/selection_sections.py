"""Report sections for the choice of model: the selection table with the Pareto figure, and the
classical anchor. Every number is read from ``<run>/selection.json``, as the select stage wrote it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trainer.report.blocks import Bullets, Figure, Heading, Para, Report, Table


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f} %"


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f} ms"


def selection_section(r: Report, f: Any) -> None:
    r.add(Heading("Which model ships: selection on validation, within budget"))
    sel = getattr(f, "selection", None)
    if not sel:
        r.add(Para("The select stage has not run (no `selection.json`)."))
        return
    r.add(Para(f"Rule: {sel['rule']}"))
    budget = {k: v for k, v in (sel.get("budget") or {}).items() if v is not None}
    chosen = (sel.get("chosen") or {}).get("key")
    within = set(sel.get("within_budget") or [])
    pareto = set(sel.get("pareto") or [])
    rows = []
    for p in sorted(sel["points"], key=lambda p: -p["val_accuracy"]):
        marks = []
        if p["key"] == chosen:
            marks.append("**chosen**")
        if p["key"] in pareto:
            marks.append("Pareto")
        if budget and p["key"] not in within:
            marks.append("over budget")
        rows.append(
            (
                p["candidate"],
                f"`{p['artifact']}`",
                p["precision"],
                _pct(p["val_accuracy"]),
                f"{p['size_kb']:.0f} KB",
                _ms(p["p95_ms"]),
                "-" if p["peak_ram_mb"] is None else f"{p['peak_ram_mb']:.0f} MB",
                ", ".join(marks),
            )
        )
    n_val = sel["points"][0]["val_count"] if sel["points"] else 0
    r.add(
        Table(
            (
                "candidate",
                "artifact",
                "precision",
                "val accuracy",
                "size",
                "p95 latency",
                "peak RAM",
                "",
            ),
            tuple(rows),
            caption=f"Every artifact that passed its parity gate; validation accuracy on {n_val} "
            "images through the device runtime; p95 of single-image predict calls, 1 thread, this "
            "machine; peak RAM of an isolated process running the artifact. Budget: "
            + (", ".join(f"{k} = {v:g}" for k, v in budget.items()) if budget else "none"),
        )
    )
    for name, why in (sel.get("collapsed") or {}).items():
        r.add(Para(f"Left out: **{name}** collapsed in training ({why}); it was not exported."))
    if sel.get("figure"):
        # relative to the run directory, as every report figure is (the renderers resolve it)
        r.add(Figure(Path(sel["figure"]), "Accuracy / latency / size of every gated artifact"))
    if sel["status"] != "chosen":
        r.add(Para(f"**Nothing fits the budget.** {sel.get('error', '')}"))
        return
    ch = sel["chosen"]
    r.add(Para(f"Chosen: **{ch['key']}**: {ch['reason']}."))
    tests = sel.get("test_after_choice") or {}
    val = sel.get("validation") or {}
    rows = [
        (
            name,
            t.get("kind", "-"),
            _pct((val.get(name) or {}).get("accuracy")),
            _pct((t.get("test") or {}).get("accuracy")),
            "-" if t.get("params") is None else f"{t['params']:,}",
        )
        for name, t in tests.items()
    ]
    if rows:
        r.add(
            Table(
                (
                    "candidate",
                    "kind",
                    "val accuracy (chose)",
                    "test accuracy (after)",
                    "parameters",
                ),
                tuple(rows),
                caption="Float models (the classical anchor: scikit-learn); the test split was read "
                "once, after the choice",
            )
        )
    dep = ch.get("test") or {}
    if dep.get("accuracy") is not None:
        r.add(
            Para(
                f"The shipped artifact scores {_pct(dep['accuracy'])} on the {dep.get('images')}-image "
                f"test split (its Keras model: {_pct(dep.get('keras_accuracy'))})."
            )
        )


def anchor_section(r: Report, f: Any) -> None:
    r.add(Heading("The classical anchor: what the deep models buy"))
    sel = getattr(f, "selection", None) or {}
    comp = sel.get("anchor_comparison") or {}
    tests = sel.get("test_after_choice") or {}
    if not comp:
        r.add(Para("No classical anchor ran in this run (add one to the candidates file)."))
        return
    items = []
    views_acc = _views_accuracy(getattr(f, "manifest", None))
    for name, a in comp.items():
        t = tests.get(name) or {}
        how = f"{t.get('train_count', '?'):,}" if isinstance(t.get("train_count"), int) else "?"
        shipped, beats = a["deployed_test_accuracy"], a["beats_anchor"]
        extra = ""
        if views_acc is not None:  # the bundle stage added test-time views to the chosen artifact
            extra = f" (with test-time views; plain, as selected: {_pct(shipped)})"
            shipped, beats = views_acc, views_acc > a["anchor_test_accuracy"]
        line = (
            f"`{name}` (scikit-learn on raw pixels, {how} training images): "
            f"{_pct(a['anchor_test_accuracy'])} test accuracy; the shipped artifact "
            f"{_pct(shipped)}{extra}, {100 * (shipped - a['anchor_test_accuracy']):+.2f} points."
        )
        if not beats:
            line += (
                " **The shipped artifact does NOT beat the classical anchor on this data**: the "
                "deep candidates buy nothing here, and the simpler model deserves a look."
            )
        items.append(line)
    r.add(Bullets(tuple(items)))


def _views_accuracy(manifest: dict | None) -> float | None:
    """The bundle's default artifact's test accuracy when it averages test-time views, else None."""
    m = manifest or {}
    views = (m.get("source_model") or {}).get("test_time_views") or {}
    if views.get("count", 1) <= 1:
        return None
    art = next((a for a in m.get("artifacts", []) if a["file"] == m.get("default_artifact")), None)
    return ((art or {}).get("parity") or {}).get("accuracy")


__all__ = ["anchor_section", "selection_section"]
