"""Report sections for the choice of model: the selection table with the Pareto figure, and the
classical anchor. Every number is read from ``<run>/selection.json``, as the select stage wrote it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trainer.pipeline.views_cost import Verdict, ViewsCost
from trainer.report.blocks import Bullets, Figure, Heading, Para, Report, Table
from trainer.report.fmt import count, ms, pct
from trainer.report.records import ArtifactParity


def selection_section(r: Report, f: Any) -> None:
    """``f.selection``: a :class:`~trainer.pipeline.selection_record.SelectionRecord` or None."""
    r.add(Heading("Which model ships: selection on validation, within budget"))
    sel = getattr(f, "selection", None)
    if not sel:
        r.add(Para("The select stage has not run (no `selection.json`)."))
        return
    r.add(Para(f"Rule: {sel.rule}"))
    _evidence(r, sel.evidence)
    small_data_section(r, f)
    chosen = sel.chosen.key if sel.chosen else None
    within, pareto = set(sel.within_budget), set(sel.pareto)
    rows = []
    for p in sorted(sel.points, key=lambda p: -p.val_accuracy):
        marks = []
        if p.key == chosen:
            marks.append("**chosen**")
        if p.key in pareto:
            marks.append("Pareto")
        if sel.budget.active and p.key not in within:
            marks.append("over budget")
        rows.append(
            (
                p.candidate,
                f"`{p.artifact}`",
                p.precision,
                pct(p.val_accuracy),
                f"{p.size_kb:.0f} KB",
                ms(p.p95_ms),
                "-" if p.peak_ram_mb is None else f"{p.peak_ram_mb:.0f} MB",
                ", ".join(marks),
            )
        )
    n_val = sel.points[0].val_count if sel.points else 0
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
            + (sel.budget.describe() if sel.budget.active else "none"),
        )
    )
    for name, why in sel.collapsed.items():
        r.add(Para(f"Left out: **{name}** collapsed in training ({why}); it was not exported."))
    if sel.figure:
        # relative to the run directory, as every report figure is (the renderers resolve it)
        r.add(Figure(Path(sel.figure), "Accuracy / latency / size of every gated artifact"))
    if not sel.chosen:
        r.add(Para(f"**Nothing fits the budget.** {sel.error or ''}"))
        return
    ch = sel.chosen
    r.add(Para(f"Chosen: **{ch.key}**: {ch.reason}."))
    rows = [
        (
            name,
            t.kind,
            pct(sel.validation[name].accuracy if name in sel.validation else None),
            pct(t.accuracy),
            count(t.params),
        )
        for name, t in sel.test_after_choice.items()
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
    if ch.test and ch.test.accuracy is not None:
        r.add(
            Para(
                f"The shipped artifact scores {pct(ch.test.accuracy)} on the {ch.test.images}-image "
                f"test split (its Keras model: {pct(ch.test.keras_accuracy)})."
            )
        )
    _refit(r, f, ch)


def _refit(r: Report, f: Any, ch: Any) -> None:
    """Small data: the chosen candidate retrained on every training image, and what shipped."""
    rec = getattr(f, "refit", None)
    if not rec or rec.get("candidate") != ch.candidate:
        return
    manifest = getattr(f, "manifest", None)
    shipped_refit = getattr(f, "shipped_refit", None) is not None
    art = None
    if manifest is not None:
        art = next((a for a in manifest.artifacts if a.file == manifest.default_artifact), None)
    parity = (art.parity if art else {}) or {}
    text = f"**Retrained before shipping.** {rec['why'][:1].upper()}{rec['why'][1:]}. "
    if shipped_refit and parity.get("accuracy") is not None:
        text += (
            f"The bundle ships that model: its `{art.file}` scores {pct(parity['accuracy'])} on "
            f"the {parity.get('images', '?')}-image test split (its Keras "
            f"model: {pct(parity.get('keras_accuracy'))}), read after the choice."
        )
    elif rec.get("collapsed"):
        text += f"The refit collapsed ({rec['collapsed']}), so the main run's artifact ships."
    elif not shipped_refit:
        text += "Its artifact did not pass the parity gate, so the main run's artifact ships."
    r.add(Para(text))


def anchor_section(r: Report, f: Any) -> None:
    """``f.selection`` (a SelectionRecord or None) and ``f.manifest`` (a Manifest or None)."""
    r.add(Heading("The classical anchor: what the deep models buy"))
    sel = getattr(f, "selection", None)
    if not sel or not sel.anchor_comparison:
        r.add(Para("No classical anchor ran in this run (add one to the candidates file)."))
        return
    items = []
    views_acc = _views_accuracy(getattr(f, "manifest", None))
    for name, a in sel.anchor_comparison.items():
        t = sel.test_after_choice.get(name)
        how = count(t.train_count) if t and t.train_count is not None else "?"
        shipped, beats = a.deployed_test_accuracy, a.beats_anchor
        extra = ""
        if views_acc is not None:  # the bundle stage added test-time views to the chosen artifact
            cost = _cost_phrase(views_cost_of(f))
            extra = f" (with test-time views{cost}; plain, as selected: {pct(shipped)})"
            shipped, beats = views_acc, views_acc > a.anchor_test_accuracy
        line = (
            f"`{name}` (scikit-learn on raw pixels, {how} training images): "
            f"{pct(a.anchor_test_accuracy)} test accuracy; the shipped artifact "
            f"{pct(shipped)}{extra}, {100 * (shipped - a.anchor_test_accuracy):+.2f} points."
        )
        if not beats:
            line += (
                " **The shipped artifact does NOT beat the classical anchor on this data**: the "
                "deep candidates buy nothing here, and the simpler model deserves a look."
            )
        items.append(line)
    r.add(Bullets(tuple(items)))


def views_of(manifest: Any) -> dict[str, Any]:
    """The bundle's test-time views record (``source_model.test_time_views``), or {}."""
    return (manifest.source_model.get("test_time_views") if manifest else None) or {}


def views_plain_and_chosen(views: dict[str, Any]) -> tuple[dict | None, dict | None]:
    """The validation rows of the plain model and of the chosen view set (None where absent)."""
    rows = {v["views"]: v for v in views.get("validation", [])}
    return rows.get("none"), rows.get(views.get("chosen"))


def _views_accuracy(manifest: Any) -> float | None:
    """The bundle's default artifact's test accuracy when it averages test-time views, else None."""
    if views_of(manifest).get("count", 1) <= 1:
        return None
    return ArtifactParity.of(manifest.artifact()).accuracy


def views_cost_of(f: Any) -> ViewsCost | None:
    """The bundle stage's measurement of the views artifact (``<run>/views.json``), or None."""
    run = getattr(f, "run", None)
    return ViewsCost.load(run) if run is not None else None


def _cost_phrase(cost: ViewsCost | None) -> str:
    """ ", 3.0x the plain artifact's p95 (measured)" when the views were measured, else ""."""
    if cost is None or cost.p95_ratio is None:
        return ""
    how = "estimated" if cost.p95_estimated else "measured"
    return f", {cost.p95_ratio:.1f}x the plain artifact's p95 ({how})"


def views_cost_section(r: Report, f: Any) -> None:
    """Test-time views: what they buy on validation and test, and what they cost in latency.

    Numbers from ``<run>/views.json`` (the bundle stage measured the views artifact beside the
    plain one selection chose); a run without that record but with views in its bundle shows the
    choice's validation table and the bench stage's 1-thread p95 instead.
    """
    cost = views_cost_of(f)
    if cost is None:  # no views artifact was measured: each applies to its own case
        _views_not_chosen(r, f)
        _views_cost_unmeasured(r, f)
        return
    plain, views = cost.plain, cost.views
    ships = cost.verdict is Verdict.KEPT
    estimate = " (estimate)" if cost.p95_estimated else ""
    rows = (
        (
            f"`{cost.artifact}` plain, as selected",
            "none (1 run per image)",
            _val(plain),
            _test(plain),
            ms(plain.p95_ms),
            "" if ships else "**ships**",
        ),
        (
            f"`{cost.artifact}` with views",
            f"{views.views} ({views.count} runs per image)",
            _val(views),
            _test(views),
            ms(views.p95_ms) + estimate,
            "**ships**" if ships else "not shipped",
        ),
    )
    r.add(
        Table(
            ("artifact", "test-time views", "validation accuracy", "test accuracy", "p95", ""),
            rows,
            caption="Test-time views: what they buy and what they cost. Validation accuracy "
            "through the device runtime (the views were chosen on this split with the Keras "
            "model; the test split was read after, by each artifact's parity gate); p95 latency "
            f"{cost.latency}"
            + ("" if cost.p95_estimated else "; the plain artifact's from the select stage")
            + ". Budget: "
            + (cost.budget.describe() if cost.budget.active else "none"),
        )
    )
    ratio = cost.p95_ratio
    cost_text = (
        f"{ratio:.1f}x the plain artifact's p95 ({ms(plain.p95_ms)} -> {ms(views.p95_ms)}"
        f"{', estimated' if cost.p95_estimated else ''})"
        if ratio is not None
        else "a latency that was not measured"
    )
    text = (
        f"The views buy {cost.gain_points:+.2f} points on {views.val_images} validation images "
        f"({cost.gain_images:+d} images) for {cost_text}. "
    )
    if not ships:
        text += f"**They do not ship**: {cost.reason}."
    elif cost.budget.active:
        text += f"They ship: {cost.reason}."
    else:
        text += (
            f"No budget was given, so they ship; without them the plain `{cost.artifact}` would "
            f"have cost {ms(plain.p95_ms)} p95 and scored {pct(plain.test_accuracy)} on the "
            f"{plain.test_images}-image test split ({pct(views.test_accuracy)} with the views)."
        )
    r.add(Para(text))


def _val(side: Any) -> str:
    return f"{pct(side.val_accuracy)} ({side.val_correct} / {side.val_images})"


def _test(side: Any) -> str:
    return pct(side.test_accuracy) + (f" of {side.test_images}" if side.test_images else "")


def bench_p95(f: Any) -> float | None:
    """The bench stage's 1-thread p95 of the bundle's default artifact, or None."""
    manifest, bench = getattr(f, "manifest", None), getattr(f, "bench", None)
    if manifest is None or bench is None:
        return None
    one = [x for x in bench.ok_rows(manifest.default_artifact) if x.threads == 1]
    return one[0].latency.p95 if one and one[0].latency else None


def _views_not_chosen(r: Report, f: Any) -> None:
    """Views weighed on validation and none chosen: what each set bought there, and its cost.

    No views artifact was built, so each set's p95 is an estimate: the plain artifact's p95 (the
    select stage's) times the set's network runs per image.
    """
    manifest, sel = getattr(f, "manifest", None), getattr(f, "selection", None)
    views = views_of(manifest)
    table = views.get("validation") or []
    if views.get("count", 1) > 1 or len(table) < 2 or not sel or not sel.chosen:
        return
    plain_p95 = sel.chosen.point.p95_ms
    rows = []
    for v in table:
        plain = v["views"] == "none"
        est = None if plain_p95 is None else plain_p95 * v["count"]
        rows.append(
            (
                v["views"],
                str(v["count"]),
                f"{pct(v['accuracy'])} of {v['images']}",
                "-" if plain else f"+{v['gained_vs_none']} / -{v['lost_vs_none']}",
                "-" if plain else f"{v['p_vs_none']:.3f}",
                ms(plain_p95) if plain else ms(est) + " (estimate)",
                "**ships**" if plain else "",
            )
        )
    r.add(
        Table(
            (
                "test-time views",
                "runs per image",
                "validation accuracy",
                "images gained / lost",
                "p (one-sided McNemar)",
                "p95",
                "",
            ),
            rows,
            caption="Test-time views: what they would buy and cost. Validation accuracy of the "
            f"chosen model (`{sel.chosen.candidate}`, Keras) with each view set, against the plain "
            "model on the same images; p95 of the plain artifact from the select stage, the "
            "others estimated as that times their runs per image (no views artifact was built)",
        )
    )
    test = sel.chosen.test
    r.add(
        Para(
            f"The plain `{sel.chosen.artifact}` ships: {views.get('reason', 'no view set chosen')}"
            f" (alpha {views.get('alpha', 0.05)}). It costs {ms(plain_p95)} p95 and scored "
            f"{pct(test.accuracy if test else None)} on the test split, read after the choice."
        )
    )


def _views_cost_unmeasured(r: Report, f: Any) -> None:
    """Views in the bundle without the bundle stage's measurement (a run from before it)."""
    manifest, sel = getattr(f, "manifest", None), getattr(f, "selection", None)
    views = views_of(manifest)
    if views.get("count", 1) <= 1 or not sel or not sel.chosen:
        return
    plain_v, got = views_plain_and_chosen(views)
    views_p95 = bench_p95(f)
    test = sel.chosen.test
    rows = (
        (
            f"`{sel.chosen.artifact}` plain, as selected",
            "none (1 run per image)",
            pct(sel.chosen.point.val_accuracy),
            pct(test.accuracy if test else None),
            ms(sel.chosen.point.p95_ms),
        ),
        (
            f"`{manifest.default_artifact}` with views (ships)",
            f"{views['chosen']} ({views['count']} runs per image)",
            pct(got["accuracy"]) + " (Keras)" if got else "-",
            pct(_views_accuracy(manifest)),
            ms(views_p95) + " (bench stage)" if views_p95 is not None else "-",
        ),
    )
    r.add(
        Table(
            ("artifact", "test-time views", "validation accuracy", "test accuracy", "p95"),
            rows,
            caption="Test-time views: what they buy and what they cost. This run has no views.json "
            "(its bundle stage did not measure the views artifact): the views' validation "
            "accuracy is the Keras model's from the choice"
            + (f" (plain: {pct(plain_v['accuracy'])})" if plain_v else "")
            + ", their p95 the bench stage's at 1 thread",
        )
    )


__all__ = [
    "anchor_section",
    "bench_p95",
    "selection_section",
    "small_data_section",
    "views_cost_section",
    "views_of",
    "views_plain_and_chosen",
]


def _evidence(r: Report, ev: Any) -> None:
    """What the choice between candidates rests on (small data: cross-validation)."""
    if ev is None or ev.kind != "cross-validation":
        return
    r.add(
        Para(
            f"**Small data.** {ev.why[:1].upper()}{ev.why[1:]}. Only the candidates the "
            f"cross-validation leaves in the race ({', '.join(ev.in_race) or 'none'}) offer "
            "artifacts below; the test split is not read by it."
        )
    )
    rows = []
    for name, s in sorted(ev.scores.items(), key=lambda kv: -kv[1].accuracy):
        folds = ", ".join(f"{100 * a:.1f}" for a in s.fold_accuracy)
        if name == ev.leader:
            status = "leader"
        elif name in ev.in_race:
            status = f"in the race (p = {s.p_vs_leader:.2f})" if s.p_vs_leader is not None else "in"
        elif name in ev.out_of_race:
            status = "out: significantly worse"
        else:
            status = "anchor (not shipped)"
        rows.append(
            (name, pct(s.accuracy), f"{s.images}", folds, f"{100 * s.fold_std:.1f}", status)
        )
    r.add(
        Table(
            ("candidate", "out-of-fold accuracy", "images", "per fold (%)", "fold std (pts)", ""),
            tuple(rows),
            caption=f"{ev.folds}-fold stratified cross-validation on the training split: every "
            "image scored once, by the model of the fold that left it out",
        )
    )


def small_data_section(r: Report, f: Any) -> None:
    """What small data changed in each candidate's preset, and why (each stage's config.json)."""
    rows = []
    for c in getattr(f, "candidates", ()):
        for ch in c.config.small_data if c.config else ():
            rows.append(
                (
                    c.name,
                    ch.get("setting", "?"),
                    f"{ch.get('preset')}",
                    f"{ch.get('used')}",
                    ch.get("why", ""),
                )
            )
    if not rows:
        return
    r.add(
        Para(
            "**Training fitted to the data.** The profiles' presets are sized for thousands of "
            "images; on this dataset some settings were changed so that every candidate gets "
            "enough optimizer steps (a smaller batch, more epochs with patience in proportion, a "
            "shorter warm-up). Augmentation is the preset's. The cross-validation folds train "
            "with the same rule on their own image counts."
        )
    )
    r.add(
        Table(
            ("candidate", "setting", "preset", "used", "why"),
            tuple(rows),
            caption="Settings changed for small data (trainer/training/small_data.py); "
            "each stage's config.json records them under small_data",
        )
    )
