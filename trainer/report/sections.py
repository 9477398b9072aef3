"""The report's sections, each built only from files in the run directory.

Every number printed here is read from a file the run wrote, through its record class
(:mod:`trainer.report.run_files`); a section whose files are missing says so instead of inventing
content. Sections follow the candidates that ran (:mod:`trainer.report.candidate_sections`): no
candidate name is special, and the model the summary calls final is the one that ships.
"""

from __future__ import annotations

import glob
import re
from pathlib import Path

from trainer.report.blocks import Bullets, Figure, Heading, Para, Report, Table
from trainer.report.candidate_sections import (
    curves_section,
    evaluation_section,
    fig,
    models_section,
)
from trainer.report.device_sections import device_profile_section
from trainer.report.fmt import mb, ms, num, pct
from trainer.report.records import ArtifactParity
from trainer.report.run_files import RunFiles
from trainer.report.selection_sections import (
    anchor_section,
    bench_p95,
    selection_section,
    views_cost_of,
    views_cost_section,
    views_of,
    views_plain_and_chosen,
)


def _shipped_lines(f: RunFiles) -> list[str]:
    """The summary's lines on the model that ships (or on the candidates, while none does)."""
    items = []
    shipped = f.shipped
    if shipped:
        refit = f.shipped_refit
        # Small data: what ships is the chosen candidate retrained on every training image.
        m = refit.metrics if refit is not None and refit.metrics else shipped.metrics
        how = f" as `{f.selection.chosen.artifact}`" if f.selection and f.selection.chosen else ""
        line = f"Final model: **{shipped.name}**" + (
            f" ({shipped.kind})" if shipped.kind and shipped.kind != shipped.name else ""
        )
        if refit is not None and refit.metrics:
            line += f" retrained on all {f.refit['images']} training images"
        line += f", the candidate that ships{how}"
        if m:
            line += (
                f"; its Keras model's test accuracy **{pct(m.accuracy)}**, macro-F1 "
                f"{num(m.macro_f1)} on {m.n_samples} held-out test images."
            )
        elif shipped.summary and shipped.summary.accuracy is not None:
            line += f"; test accuracy **{pct(shipped.summary.accuracy)}**."
        else:
            line += "."
        items.append(line)
        if refit is not None and refit.metrics and shipped.metrics:
            items.append(
                "Small data: cross-validation chose it, then the `refit` stage retrained it on "
                "every training image (validation included) into "
                f"`refit/{shipped.name}`. The evaluation sections below show the model the "
                f"choice was made with, trained without the validation images: test accuracy "
                f"{pct(shipped.metrics.accuracy)}."
            )
        src = f.bundle_source
        if f.manifest and src and src != shipped.name:
            items.append(
                f"**The bundle at `{f.bundle_dir}` was made from `{src}`, not from the chosen "
                f"`{shipped.name}`**: re-run the bundle stage (`edgetk run --from bundle`)."
            )
    else:
        for c in f.evaluated:
            m = c.metrics
            items.append(
                f"Candidate `{c.name}` ({c.kind or '?'}): test accuracy **{pct(m.accuracy)}**, "
                f"macro-F1 {num(m.macro_f1)} on {m.n_samples} held-out test images."
            )
        if items:
            items.insert(0, "No model ships yet: the select stage has not chosen one.")
    if len(f.candidates) > 1:
        items.append(
            "Candidates that ran: "
            + ", ".join(f"`{c.name}` ({c.kind or '?'})" for c in f.candidates)
            + " (the return-on-complexity table compares them)."
        )
    return items


def summary_section(r: Report, f: RunFiles) -> None:
    r.add(Heading("Summary"))
    items = _shipped_lines(f)
    man = f.manifest
    if man:
        default = man.artifact()
        acc = ArtifactParity.of(default).accuracy
        items.append(
            f"Default device artifact: `{default.file}` ({default.format} {default.precision}, "
            f"{mb(default.size_bytes)})"
            + (f", test accuracy {pct(acc)}" if acc is not None else "")
            + (", parity gate passed." if default.parity_passed else ", parity gate NOT passed.")
        )
    if f.bench:
        ok = f.bench.ok_rows()
        # An artifact that failed its gate is no candidate for "fastest": it is named apart.
        failed = {a.file for a in (man.artifacts if man else ()) if a.parity_passed is False}
        passing = [row for row in ok if row.artifact not in failed]
        if passing:
            best = min(passing, key=lambda row: row.latency.p50)
            items.append(
                f"Fastest measured artifact that passed its parity gate, on this machine: "
                f"`{best.artifact}` with {best.threads} thread(s), p50 "
                f"{best.latency.p50:.3f} ms per image "
                f"({best.single_stream_ips:.0f} images/s single-stream)."
            )
        if ok and failed:
            quickest = min(ok, key=lambda row: row.latency.p50)
            if quickest.artifact in failed:
                items.append(
                    f"`{quickest.artifact}` measured faster (p50 "
                    f"{quickest.latency.p50:.3f} ms) but FAILED its parity gate: not "
                    "for deployment."
                )
    r.add(Bullets(tuple(items)) if items else Para("No stage has finished yet."))


def data_section(r: Report, f: RunFiles) -> None:
    r.add(Heading("Data and exploratory analysis"))
    e = f.eda
    if not e:
        r.add(Para("The EDA stage has not run (no `eda/eda_summary.json`)."))
        return
    d = e["dataset"]
    counts = e["class_counts"]["train"]
    r.add(
        Para(
            f"Dataset **{d['name']}** (`{d['source']}`): {d['train_count']} training and {d['test_count']} "
            f"test images of {'x'.join(str(v) for v in d['image_shape'])} pixels, {d['num_classes']} classes; "
            f"sha256 fingerprint `{d['fingerprint_sha256'][:16]}…`. Training images per class range from "
            f"{min(counts.values())} to {max(counts.values())} (imbalance ratio "
            f"{e['imbalance_ratio']['train']:.2f}), so accuracy and macro-F1 tell the same story and no "
            "class re-weighting is needed."
        )
    )
    r.add(
        Table(
            ("class", "train", "test", "pixel mean", "pixel std"),
            tuple(
                (
                    c["class"],
                    str(c["train_count"]),
                    str(c["test_count"]),
                    num(c["mean"], 1),
                    num(c["std"], 1),
                )
                for c in e["per_class"]
            ),
            caption="Class balance and per-class intensity (training split, raw 0..255 pixels)",
        )
    )
    for rel, cap in (
        ("eda/samples_grid.png", "Random samples per class"),
        ("eda/class_distribution.png", "Class distribution"),
        ("eda/pixel_histogram.png", "Pixel intensities and per-class mean ± std"),
        ("eda/mean_images.png", "Mean image per class"),
    ):
        r.add(fig(f.run, rel, cap))


def _contract_text(spec: dict, dataset: dict) -> str:
    """One paragraph: the input contract and where its polarity came from."""
    evidence = (dataset.get("extra") or {}).get("polarity_evidence") or {}
    if evidence.get("set_by"):
        why = f"set by {evidence['set_by']}"
    elif "dark_on_light_share" in evidence:
        why = (
            f"detected from the {evidence['images']} training images "
            f"({100 * evidence['dark_on_light_share']:.1f} % look dark-on-light)"
        )
    else:
        why = "the dataset's known polarity"
    inverts = {
        "natural": "the device never inverts a picture",
        "light_on_dark": "the device inverts a picture whose border is brighter than its centre",
        "dark_on_light": "the device inverts a picture whose border is darker than its centre",
    }.get(spec.get("polarity", ""), "")
    return (
        f"Input contract (training, parity gate and device alike): {spec['height']}x{spec['width']} "
        f"{'grey' if spec['channels'] == 1 else 'RGB'}, raw pixels "
        f"{spec['value_range'][0]:g}..{spec['value_range'][1]:g}, other aspect ratios brought to "
        f"that size by **{spec['resize']}**, polarity **{spec['polarity']}** ({why}; {inverts})."
    )


def preprocessing_section(r: Report, f: RunFiles) -> None:
    from trainer.data.augment_policy import describe_augment
    from trainer.models.augment import AugmentConfig

    r.add(Heading("Preprocessing and augmentation"))
    if f.eda:
        r.add(Para(f.eda["normalization"]))
    spec = f.input_spec
    if spec:
        r.add(Para(_contract_text(spec, (f.eda or {}).get("dataset") or {})))
    grey = (spec.get("channels") or 1) == 1
    by_size: dict[int, list[str]] = {}
    for c in f.candidates:
        if c.kind in ("transfer", "finetune") and c.config and c.config.image_size:
            by_size.setdefault(c.config.image_size, []).append(f"`{c.name}`")
    for size, names in by_size.items():
        r.add(
            Para(
                f"{', '.join(names)} (pretrained backbone) resize{'s' if len(names) == 1 else ''} "
                f"inside the graph from the native size to {size} px"
                + (", repeat the grey channel to RGB" if grey else "")
                + " and apply the backbone's `preprocess_input`."
            )
        )
    used = []
    allowed = None
    for c in f.candidates:
        if not c.config:
            continue
        if allowed is None:
            allowed = c.config.allowed_augment
        # a fine-tuned model keeps its source model's augmentation layers
        if c.config.augment is not None and c.kind != "finetune":
            used.append(f"{c.name}: {describe_augment(AugmentConfig.from_dict(c.config.augment))}")
    if used:
        r.add(
            Para(
                "Augmentation used (at the native resolution, training only): "
                + "; ".join(used)
                + (
                    f". Allowed by --augment: {', '.join(allowed) or 'none'}."
                    if allowed is not None
                    else ". Flips are allowed for Fashion-MNIST / IDX data and off by default for "
                    "image folders (--augment asks for them)."
                )
            )
        )
    shown = [f.shipped] if f.shipped else []
    for c in [*shown, *f.candidates]:
        grid = fig(f.run, f"{c.name}/augmentation.png", f"Augmented training samples ({c.name})")
        if grid:
            r.add(grid)
            break


def tuning_section(r: Report, f: RunFiles) -> None:
    if not (f.tune_summary or f.tune_comparison):
        return
    r.add(Heading("Hyperparameter search"))
    s = f.tune_summary or {}
    if s:
        r.add(
            Para(
                f"KerasTuner {s.get('algorithm', '?')} over cached frozen-backbone features, objective "
                f"validation macro-F1: {s.get('trials_completed', '?')} trials completed in "
                f"{(s.get('search_seconds') or 0) / 60:.1f} min (stop: {s.get('stop_reason', '-')}); best "
                f"trial {s.get('best_trial', '-')} reached {num(s.get('best_val_macro_f1'))}."
            )
        )
    c = f.tune_comparison or {}
    rows = []
    for name in ("default", "best"):
        v = c.get(name)
        if not isinstance(v, dict):
            continue
        hp = ", ".join(
            f"{k}={val:.4g}" if isinstance(val, float) else f"{k}={val}"
            for k, val in (v.get("hyperparameters") or {}).items()
        )
        rows.append(
            (
                name,
                hp,
                num((v.get("val") or {}).get("macro_f1")),
                pct((v.get("test") or {}).get("accuracy")),
                num((v.get("test") or {}).get("macro_f1")),
            )
        )
    if rows:
        r.add(
            Table(
                ("head", "hyperparameters", "val macro-F1", "test accuracy", "test macro-F1"),
                tuple(rows),
                caption="Best vs default hyperparameters, both retrained with the same protocol",
            )
        )
        if len(rows) == 2:
            d = (
                (c["best"]["test"]["macro_f1"] - c["default"]["test"]["macro_f1"])
                if c["best"].get("test")
                else None
            )
            if d is not None:
                r.add(
                    Para(
                        f"On the test set the tuned head is {100 * d:+.2f} macro-F1 points "
                        f"{'better' if d > 0 else 'worse'} than the defaults."
                    )
                )
    fig = sorted(
        glob.glob(str(f.run / "tune" / "**" / "objective_vs_hyperparameters.png"), recursive=True)
    )
    if fig:
        r.add(Figure(Path(fig[0]).resolve(), "Validation macro-F1 against each hyperparameter"))


def _layer_name(tensor: str) -> str:
    """The Keras layer behind a TFLite fused tensor name, e.g. ``block_2_depthwise_relu`` for
    ``transfer_1/backbone_1/block_2_depthwise_relu_1/Relu6;...`` (the manifest keeps the full one)."""
    parts = [p for p in tensor.split(";")[0].split("/") if p]
    inner = [p for p in parts[1:-1] if not p.startswith("backbone")] or parts[:1]
    return re.sub(r"_\d+$", "", inner[0])


def export_section(r: Report, f: RunFiles) -> None:
    r.add(Heading("Export and the parity gate"))
    man = f.manifest
    if not man:
        r.add(Para(f"No bundle at `{f.bundle_dir}`."))
        return
    if f.bundle_source:
        r.add(Para(f"The bundle holds `{f.bundle_source}`'s model, exported as follows."))
    rows = []
    for a in man.artifacts:
        p = ArtifactParity.of(a)
        if a.parity_passed:
            verdict = "pass"
        elif a.parity_failure_accepted:
            verdict = "FAIL (accepted by the user)"
        else:
            verdict = "FAIL"
        d_acc, d_f1 = p.accuracy_delta, p.worst_class_f1_delta
        rows.append(
            (
                a.file,
                f"{a.format} {a.precision}",
                mb(a.size_bytes),
                pct(p.accuracy),
                "-" if d_acc is None else f"{100 * d_acc:+.2f}",
                pct(p.agreement),
                "-" if d_f1 is None else f"{100 * d_f1:+.2f} ({p.worst_class or '?'})",
                "-" if p.max_abs_diff is None else f"{p.max_abs_diff:.2e}",
                verdict,
            )
        )
    r.add(
        Table(
            (
                "artifact",
                "precision",
                "size",
                "accuracy",
                "Δ acc (pts)",
                "top-1 agreement",
                "worst class ΔF1 (pts)",
                "max abs Δp",
                "gate",
            ),
            tuple(rows),
            caption="Parity against the Keras model on "
            + str(man.parity_data.get("description") or "held-out data"),
        )
    )
    _explanation_table(r, man.artifacts)
    _explanation_maps(r, f)
    for a in man.artifacts:
        if a.float_layers:
            r.add(
                Para(
                    f"`{a.file}` keeps {len(a.float_layers)} layer(s) in float to recover accuracy"
                    + (" (the first 16 shown)" if len(a.float_layers) > 16 else "")
                    + ": "
                    + ", ".join(f"`{_layer_name(n)}`" for n in a.float_layers[:16])
                    + "."
                )
            )
        failures = ArtifactParity.of(a).failures
        if failures:
            r.add(Para(f"`{a.file}` gate failures: " + "; ".join(failures) + "."))


def _explanation_table(r: Report, artifacts: tuple) -> None:
    """Explanation agreement per artifact (export/explain_parity.py), when the gate measured it."""
    rows = []
    n = None
    gated = False
    for a in artifacts:
        p = ArtifactParity.of(a)
        if p.explain_rank_correlation is None or p.explain_top_overlap is None:
            continue
        n = p.explain_images
        gated = gated or p.explain_gate is not None
        rq, tq = p.explain_rank_correlation, p.explain_top_overlap
        rows.append(
            (
                a.file,
                f"{rq[1]:.2f} [{rq[0]:.2f}, {rq[2]:.2f}]",
                f"{tq[1]:.2f} [{tq[0]:.2f}, {tq[2]:.2f}]",
                f"{p.explain_empty_maps} of {n}",
                p.explain_gate or "not gated",
            )
        )
    if rows:
        r.add(
            Table(
                ("artifact", "rank correlation", "top-10 % IoU", "empty maps", "gate"),
                tuple(rows),
                caption=f"Explanation agreement: each artifact's occlusion maps (what `edgetk "
                f"predict --explain` computes on the device) against the Keras model's, on {n} "
                "validation images, median [quartiles]; 1.0 is the same map, a model with random "
                "weights scores about 0. "
                + (
                    "Gated (--gate-explanations): under the preset's budgets an artifact fails"
                    if gated
                    else "Reported, not gated (--gate-explanations gates them)"
                ),
            )
        )


def _explanation_maps(r: Report, f: RunFiles) -> None:
    """The shipped artifact's maps beside the Keras model's (trainer/report/explain_maps.py)."""
    import numpy as np

    from edge_runtime.common.fileio import read_json
    from trainer.report.explain_maps import MAPS_JSON, MAPS_PNG

    if not (f.run / MAPS_PNG).is_file():
        return
    try:
        info = read_json(f.run / MAPS_JSON)
        rows = info["images"]
    except (OSError, ValueError, KeyError):
        return
    right = [x for x in rows if x["correct"]]
    wrong = [x for x in rows if not x["correct"]]

    def med(xs: list[dict], key: str) -> str:
        return f"{np.median([x[key] for x in xs]):.2f}" if xs else "-"

    caption = (
        f"Where the models look: occlusion maps (bright: hiding that part of the image moves the "
        f"answer most) of the Keras model and of the shipped `{info['artifact']}`, for the class "
        f"the Keras model predicts, on {len(right)} validation images it gets right and "
        f"{len(wrong)} it gets wrong. Per image: rank correlation ρ and top-10 % IoU of the two "
        f"maps (median {med(right, 'rank_correlation')} / {med(right, 'top_overlap')} on the right "
        f"ones, {med(wrong, 'rank_correlation')} / {med(wrong, 'top_overlap')} on the wrong ones). "
        "Near 1: the artifact answers for the same reasons as the float model; a map that moved "
        "means quantization changed what the answer rests on, even where the answer held"
    )
    r.add(Heading("Explanations: float model and shipped artifact", 3))
    r.add(Figure(Path(MAPS_PNG), caption))


def latency_section(r: Report, f: RunFiles) -> None:
    r.add(Heading("Size and latency per artifact"))
    benches = ([f.bench] if f.bench else []) + f.extra_bench
    if not benches:
        r.add(Para("No benchmark in this run (`bench/bench.json`)."))
        return
    rows = []
    for b in benches:
        for row in b.rows:
            if not row.ok:
                err = "error: " + str(row.error)[:80]
                rows.append((b.where, row.artifact, str(row.threads), err, "", "", "", ""))
                continue
            rows.append(
                (
                    b.where,
                    row.artifact,
                    str(row.threads),
                    mb(row.size_bytes),
                    f"{row.latency.p50:.3f}",
                    f"{row.latency.p99:.3f}",
                    f"{row.batched_ips:.0f}",
                    "-" if row.peak_rss_mb is None else f"{row.peak_rss_mb:.0f}",
                )
            )
    r.add(
        Table(
            (
                "device",
                "artifact",
                "threads",
                "size",
                "p50 ms",
                "p99 ms",
                "batched img/s",
                "peak RSS MB",
            ),
            tuple(rows),
            caption=f"Per-image latency over {benches[0].runs} runs after warm-up (preprocessing "
            "included)",
        )
    )


def _latency_machine_sentence(f: RunFiles) -> str:
    """Where this run's latency was measured, from its own bench record (never a fixed text)."""
    bench = f.bench or (f.extra_bench[0] if f.extra_bench else None)
    if not bench:
        return (
            "No latency was measured in this run. Measure on the target with `edgetk bench` before "
            "committing to a frame-rate budget."
        )
    return (
        f"Latency numbers come from the machine `edgetk bench` ran on: {bench.device.describe()}. "
        "They are that machine's, not the target device's; measure on the target with `edgetk "
        "bench` before committing to a frame-rate budget."
    )


def limitations_section(r: Report, f: RunFiles) -> None:
    r.add(Heading("Limitations"))
    polarity = f.input_spec.get("polarity", "light_on_dark")
    handling = {
        "light_on_dark": "the runtime inverts pictures with a light background to match",
        "dark_on_light": "the runtime inverts pictures with a dark background to match",
        "natural": "the runtime takes pictures as they are (the training images have no single "
        "polarity to match)",
    }[polarity]
    items = [
        "The test images come from the same source as the training images. Camera photos differ in "
        f"background, lighting and perspective; {handling}, but accuracy on other pictures has not "
        "been measured here and will be lower.",
        _latency_machine_sentence(f),
    ]
    if f.evaluated:
        n = f.evaluated[0].metrics.n_samples
        half = 100 * 1.96 * (0.25 / n) ** 0.5
        items.append(
            f"Accuracy is measured on {n} test images from one training run with one seed: differences "
            f"under about {half:.1f} points (the 95 % half-width of a proportion at this n, worst case) "
            "are within noise."
        )
    if len(f.focus) == 1:
        c = f.focus[0]
        worst = c.metrics.weakest
        if worst:
            items.append(
                f"The weakest class of `{c.name}`, {worst.name}, has F1 {worst.f1:.3f}: applications "
                "that hinge on it need more data or a second-stage check."
            )
    r.add(Bullets(tuple(items)))


def business_section(r: Report, f: RunFiles) -> None:
    r.add(Heading("What the numbers mean on a device"))
    if not (f.manifest and f.bench):
        r.add(Para("Needs both an export bundle and a benchmark."))
        return
    default = f.manifest.artifact()
    rows = f.bench.ok_rows(default.file)
    if not rows:
        r.add(Para(f"The default artifact `{default.file}` has no successful benchmark row."))
        return
    row = min(rows, key=lambda x: x.latency.p50)
    fps = 1000.0 / row.latency.p99
    acc = ArtifactParity.of(default).accuracy
    who = f" (`{f.bundle_source}`)" if f.bundle_source else ""
    memory = (
        f", with {row.peak_rss_mb:.0f} MB peak process memory"
        if row.peak_rss_mb is not None
        else ""
    )
    r.add(
        Para(
            f"The default artifact `{default.file}`{who} is {mb(row.size_bytes)} on disk and classifies "
            f"one image in {row.latency.p50:.3f} ms (p50; p99 {row.latency.p99:.3f} ms) with "
            f"{row.threads} thread(s) on this machine, i.e. a worst-case budget of about {fps:.0f} "
            f"frames per second for the model alone{memory}"
            + (f", at {pct(acc)} test accuracy" if acc is not None else "")
            + ". A 30 fps camera loop is limited by capture, not by the model; a Raspberry Pi 4 class CPU is several "
            "times slower than this x86 core, so re-run `edgetk bench` there before promising a frame rate."
        )
    )
    views = views_of(f.manifest)
    if views.get("count", 1) > 1:
        gain = _views_choice_gain(views)
        cost = views_cost_of(f)
        plain_p95 = f.selection.chosen.point.p95_ms if f.selection and f.selection.chosen else None
        views_p95 = bench_p95(f)
        if cost is not None and cost.p95_ratio is not None:
            price = (
                f"measured beside the plain artifact, they cost {cost.p95_ratio:.1f}x its p95 "
                f"({ms(cost.plain.p95_ms)} -> {ms(cost.views.p95_ms)}"
                + (", estimated" if cost.p95_estimated else "")
                + ")"
            )
        elif plain_p95 and views_p95 is not None:
            price = (
                f"their artifact's p95 at 1 thread in the bench stage is {views_p95 / plain_p95:.1f}x "
                f"the plain artifact's in the select stage ({ms(plain_p95)} -> {ms(views_p95)}, "
                "separate measurements)"
            )
        else:
            price = f"the network runs {views['count']} times per image (latency not measured)"
        r.add(
            Para(
                f"That time includes test-time views: the graph averages the model over {views['count']} copies of "
                f"each image ({views['chosen']}: mirrored and/or shifted one row), chosen on the validation split"
                f"{gain}; {price}."
            )
        )
    views_cost_section(r, f)


def _views_choice_gain(views: dict) -> str:
    """The validation gain the views were chosen on: the export stage weighs them with the Keras
    model, so the figure is that model's (the views table reports the device runtime's)."""
    plain, got = views_plain_and_chosen(views)
    if not (plain and got):
        return ""
    return (
        f" with the Keras model ({pct(plain['accuracy'])} -> {pct(got['accuracy'])} on "
        f"{got['images']} validation images)"
    )


def reproducibility_section(r: Report, f: RunFiles) -> None:
    r.add(Heading("Reproducibility"))
    rows = []
    if f.eda:
        rows.append(("dataset fingerprint (sha256)", f.eda["dataset"]["fingerprint_sha256"]))
    shipped = f.shipped
    if shipped:
        art = f" as `{f.selection.chosen.artifact}`" if f.selection and f.selection.chosen else ""
        rows.append(("model that ships", f"{shipped.label}{art}"))
    for c in f.candidates:
        if c.config:
            rows.append(
                (f"{c.name} seed", str(c.config.seed if c.config.seed is not None else "-"))
            )
            rows.append((f"{c.name} code version", c.config.code_version or "-"))
    if f.manifest:
        src = f" ({f.bundle_source})" if f.bundle_source else ""
        rows.append(
            (f"source model sha256{src}", str(f.manifest.source_model.get("sha256") or "-"))
        )
        for a in f.manifest.artifacts:
            rows.append((f"{a.file} sha256", a.sha256))
        rows += [(f"version: {k}", str(v)) for k, v in f.manifest.versions.items()]
    if f.state:
        rows += [
            (f"stage {name} wall time", f"{rec.seconds:.0f} s")
            for name, rec in f.state.stages.items()
        ]
    r.add(Table(("item", "value"), tuple(rows)) if rows else Para("Nothing recorded yet."))


SECTIONS = (
    summary_section,
    data_section,
    preprocessing_section,
    models_section,
    selection_section,
    anchor_section,
    curves_section,
    evaluation_section,
    tuning_section,
    export_section,
    latency_section,
    device_profile_section,
    limitations_section,
    business_section,
    reproducibility_section,
)

__all__ = ["SECTIONS"]
