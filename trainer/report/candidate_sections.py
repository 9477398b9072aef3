"""Report sections over the candidates that ran: return on complexity, learning curves, and the
evaluation of the shipped model (with links to every other candidate's evaluation files).

Every section iterates over ``RunFiles.candidates`` (names and kinds from the run's own records);
no candidate name is special.
"""

from __future__ import annotations

from pathlib import Path

from trainer.report.blocks import Figure, FileLinks, Heading, Para, Report, Table
from trainer.report.fmt import count, mb, minutes, num, pct
from trainer.report.run_candidates import RanCandidate
from trainer.report.run_files import RunFiles

# The ladder of approaches, simplest first: the table reads down it one step at a time.
COMPLEXITY_ORDER = ("classical", "baseline", "resnet", "transfer", "finetune")


def fig(run: Path, rel: str, caption: str, width: int = 720) -> Figure | None:
    return Figure(Path(rel), caption, width) if (run / rel).is_file() else None


def _model_id(path: str | None) -> tuple[str, ...]:
    """``models/<name>/v<N>`` of a registered model path (the run folder may have moved)."""
    return tuple(Path(path).parts[-2:]) if path else ()


def _source_of(c: RanCandidate, cands: tuple[RanCandidate, ...]) -> RanCandidate | None:
    """The candidate a fine-tuned model started from (its registered model), if it ran here."""
    src = _model_id(c.summary.source_model if c.summary else None)
    if not src:
        return None
    return next(
        (o for o in cands if o.summary and _model_id(o.summary.registered_path) == src), None
    )


def _total_train_seconds(c: RanCandidate, cands: tuple[RanCandidate, ...]) -> float | None:
    """A candidate's training time including the model it builds on (fine-tune: + its source)."""
    own = c.summary.train_seconds if c.summary else None
    src = _source_of(c, cands)
    base = src.summary.train_seconds if src and src.summary else None
    return own + base if own is not None and base is not None else own


def complexity_ladder(f: RunFiles) -> list[RanCandidate]:
    """The finished candidates, simplest approach first (kind), then fewest parameters, then
    the order they ran in."""
    done = [c for c in f.candidates if c.summary]
    rank = {k: i for i, k in enumerate(COMPLEXITY_ORDER)}
    return sorted(
        done,
        key=lambda c: (
            rank.get(c.kind, len(rank)),
            c.summary.params if c.summary.params is not None else float("inf"),
        ),
    )


def _ratio(a: float | None, b: float | None, what: str) -> str | None:
    return f"{a / b:.1f}x {what}" if a and b else None


def _step(c: RanCandidate, prev: RanCandidate, cands: tuple[RanCandidate, ...]) -> str:
    """What ``c`` bought over the simpler ``prev``: accuracy points, and what it cost."""
    s, p = c.summary, prev.summary
    parts = []
    if s.accuracy is not None and p.accuracy is not None:
        parts.append(f"{100 * (s.accuracy - p.accuracy):+.2f} pts test accuracy")
    parts += [
        x
        for x in (
            _ratio(s.params, p.params, "parameters"),
            _ratio(s.latency_p50_ms, p.latency_p50_ms, "latency"),
            _ratio(_total_train_seconds(c, cands), _total_train_seconds(prev, cands), "train time"),
        )
        if x
    ]
    return f"over `{prev.name}`: " + ", ".join(parts) if parts else "-"


def _train_time(c: RanCandidate, cands: tuple[RanCandidate, ...]) -> str:
    own = minutes(c.summary.train_seconds)
    src = _source_of(c, cands)
    if src and src.summary and src.summary.train_seconds:
        return f"{own} (+ {minutes(src.summary.train_seconds)} of {src.name})"
    return own


def models_section(r: Report, f: RunFiles) -> None:
    r.add(Heading("The candidates that ran: return on complexity"))
    ladder = complexity_ladder(f)
    if not ladder:
        r.add(Para("No candidate has finished training."))
        return
    shipped = f.shipped_name
    rows = []
    prev: RanCandidate | None = None  # the last row that did not collapse
    for c in ladder:
        s = c.summary
        name = f"**{c.name}** (ships)" if c.name == shipped else c.name
        if c.collapsed:
            name += " (collapsed, left out)"
        rows.append(
            (
                name,
                c.kind or "-",
                pct(s.val_accuracy),
                pct(s.accuracy),
                num(s.macro_f1),
                count(s.params),
                mb(s.model_file_bytes),
                _train_time(c, f.candidates),
                "-" if s.latency_p50_ms is None else f"{s.latency_p50_ms:.2f} ms",
                "collapsed: not compared"
                if c.collapsed
                else (_step(c, prev, f.candidates) if prev else "-"),
            )
        )
        prev = prev if c.collapsed else c
    r.add(
        Table(
            (
                "candidate",
                "kind",
                "val accuracy",
                "test accuracy",
                "macro-F1",
                "parameters",
                ".keras size",
                "train time",
                "p50 latency (1 image)",
                "what this step bought",
            ),
            tuple(rows),
            caption="Every candidate of this run, simplest approach first (classical anchor, "
            "shallow CNN, residual CNN, frozen pretrained backbone, fine-tuned backbone), then by "
            "parameters; each row's last column compares it with the row above (a model that "
            "collapsed is left out of that comparison). Test numbers were read after the choice; latency is single-image Keras inference (scikit-learn's "
            "predict for the anchor) on this machine, warm-up excluded; a fine-tuned model's "
            "train time adds the model it started from.",
        )
    )
    verdict = _verdict(f, ladder)
    if verdict:
        r.add(Para(verdict))


def _verdict(f: RunFiles, ladder: list[RanCandidate]) -> str:
    """The shipped candidate against the simplest deep candidate of the run."""
    deep = [c for c in ladder if not c.is_classical and not c.collapsed]
    shipped = next((c for c in ladder if c.name == f.shipped_name), None)
    if shipped is None or not deep:
        return ""
    if shipped.name == deep[0].name:
        return (
            f"The simplest deep candidate, `{shipped.name}`, ships: on validation no more complex "
            "candidate bought enough to be chosen over it."
            if len(deep) > 1
            else ""
        )
    b, t = deep[0].summary, shipped.summary
    if b.accuracy is None or t.accuracy is None:
        return ""
    gain = 100 * (t.accuracy - b.accuracy)
    text = (
        f"The shipped `{shipped.name}` is {gain:+.2f} points of test accuracy over the simplest "
        f"deep candidate, `{deep[0].name}`"
        + (f", for {t.params / b.params:.1f}x the parameters" if t.params and b.params else "")
        + (
            f" and {t.latency_p50_ms / b.latency_p50_ms:.1f}x the single-image latency"
            if t.latency_p50_ms and b.latency_p50_ms
            else ""
        )
        + ". "
    )
    return text + (
        "Selection read the validation split, not this one; on the test split the extra "
        "complexity bought nothing here."
        if gain <= 0
        else "Whether that gain is worth its cost depends on the device budget (see the latency "
        "section)."
    )


def curves_section(r: Report, f: RunFiles) -> None:
    r.add(Heading("Learning curves and bias / variance"))
    rows = []
    for c in f.candidates:
        s = c.summary
        if not s or c.is_classical:
            continue
        rows.append(
            (
                c.name,
                str(s.epochs_run if s.epochs_run is not None else "-"),
                str(s.best_epoch if s.best_epoch is not None else "-"),
                pct(s.train_accuracy_curve),
                pct(s.val_accuracy_curve),
                s.diagnosis or "-",
            )
        )
        r.add(
            fig(
                f.run,
                f"{c.name}/learning_curves.png",
                f"{c.name}: training vs validation loss and accuracy",
            )
        )
    if rows:
        r.add(
            Table(
                ("candidate", "epochs", "best epoch", "train acc", "val acc", "diagnosis"),
                tuple(rows),
            )
        )
    else:
        r.add(Para("No Keras candidate has finished training."))


_UPPER_BODY = {"T-shirt/top", "Shirt", "Pullover", "Coat", "Dress"}


def _evaluation(r: Report, f: RunFiles, c: RanCandidate) -> None:
    """The full evaluation of one candidate: headline, per-class table, confusions, figures."""
    m = c.metrics
    r.add(
        Para(
            f"`{c.name}`: accuracy {pct(m.accuracy)}, macro-F1 {num(m.macro_f1)}, weighted F1 "
            f"{num(m.weighted_f1)} on {m.n_samples} test images. Collapse detector: "
            + ("**FIRED** — " + "; ".join(m.collapse_reasons) if m.collapse_detected else "silent")
            + "."
        )
    )
    r.add(
        Table(
            ("class", "precision", "recall", "F1", "support"),
            tuple(
                (k.name, num(k.precision, 3), num(k.recall, 3), num(k.f1, 3), str(k.support))
                for k in m.per_class
            ),
            caption=f"Per-class metrics of {c.name} on the test set",
        )
    )
    pairs = m.most_confused[:5]
    if pairs:
        r.add(
            Table(
                ("true", "predicted as", "count"),
                tuple((p.true_name, p.predicted_name, str(p.count)) for p in pairs),
                caption="Most confused pairs",
            )
        )
    worst = sorted(m.per_class, key=lambda k: k.f1)[:3]
    text = (
        "Post-mortem: the weakest classes are "
        + ", ".join(f"{k.name} (F1 {k.f1:.3f})" for k in worst)
        + "."
    )
    if pairs:
        top = pairs[0]
        text += (
            f" The largest single confusion is {top.true_name} read as {top.predicted_name} "
            f"({top.count} images, {100 * top.share_of_true:.1f} % of that class)."
        )
        in_upper = sum(
            p.true_name in _UPPER_BODY and p.predicted_name in _UPPER_BODY for p in pairs
        )
        if in_upper >= max(1, len(pairs) - 1):
            text += (
                " These are upper-body garments whose distinguishing details (collars, buttons, "
                "sleeve length) are a few pixels wide at 28x28; the Grad-CAM grids below show where "
                "the model looked."
            )
    r.add(Para(text))
    r.add(
        fig(
            f.run,
            f"{c.name}/confusion_matrix_normalized.png",
            f"{c.name}: confusion matrix (row-normalized)",
        )
    )
    r.add(fig(f.run, f"{c.name}/misclassified.png", f"{c.name}: misclassified examples"))
    gradcam = [
        fig(f.run, f"{c.name}/gradcam/gradcam_{which}.png", f"{c.name}, Grad-CAM: {what}")
        for which, what in (
            ("misclassified", "misclassified examples"),
            ("correct", "correctly classified examples"),
        )
    ]
    if any(gradcam):
        r.add(Heading(f"Grad-CAM: where {c.name} looks", 3), *gradcam)


# (label, file under <run>/<candidate>/) of the evaluation files linked for the other candidates
EVALUATION_FILES = (
    ("confusion matrix", "confusion_matrix_normalized.png"),
    ("per-class table", "per_class.md"),
    ("misclassified", "misclassified.png"),
    ("Grad-CAM, misclassified", "gradcam/gradcam_misclassified.png"),
    ("Grad-CAM, correct", "gradcam/gradcam_correct.png"),
    ("metrics", "metrics.json"),
)


def evaluation_section(r: Report, f: RunFiles) -> None:
    shipped = f.shipped
    focus = f.focus
    title = "Evaluation and error analysis"
    if shipped and shipped.metrics:
        title += f": {shipped.name}, the model that ships"
    r.add(Heading(title))
    if not focus:
        r.add(Para("No candidate has been evaluated on the test split yet."))
        return
    if shipped and not shipped.metrics:
        r.add(
            Para(
                f"`{shipped.name}` ships, but this run holds no test-split evaluation of it "
                f"(no `{shipped.name}/metrics.json`): every evaluated candidate follows."
            )
        )
    elif not shipped:
        r.add(
            Para(
                "No model ships yet (the select stage has not chosen one): every evaluated "
                "candidate follows."
            )
        )
    for c in focus:
        if len(focus) > 1:
            r.add(Heading(c.label, 3))
        _evaluation(r, f, c)
    others = [c for c in f.evaluated if c not in focus]
    if others:
        r.add(Heading("The other candidates' evaluations", 3))
        r.add(
            FileLinks(
                tuple(
                    (
                        f"`{c.name}` ({c.kind or '?'}): test accuracy {pct(c.metrics.accuracy)}, "
                        f"macro-F1 {num(c.metrics.macro_f1)}",
                        tuple(
                            (label, Path(c.name) / rel)
                            for label, rel in EVALUATION_FILES
                            if (f.run / c.name / rel).is_file()
                        ),
                    )
                    for c in others
                )
            )
        )


__all__ = [
    "COMPLEXITY_ORDER",
    "complexity_ladder",
    "curves_section",
    "evaluation_section",
    "fig",
    "models_section",
]
