"""The report's sections, each built only from files in the run directory.

Every number printed here is read from a JSON file the run wrote; a section whose files are
missing says so instead of inventing content. Section order follows the user's outline.
"""

from __future__ import annotations

import glob
import re
from pathlib import Path
from typing import Any

from edge_runtime.common.fileio import read_json
from trainer.report.blocks import Bullets, Figure, Heading, Para, Report, Table
from trainer.report.selection_sections import anchor_section, selection_section

TRAIN_STAGES = ("baseline", "resnet", "transfer", "finetune")


def pct(v: float | None, digits: int = 2) -> str:
    return "-" if v is None else f"{100 * v:.{digits}f} %"


def num(v: float | None, digits: int = 4) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def mb(v: float | None) -> str:
    return "-" if v is None else f"{v / 1e6:.2f} MB"


def _json(path: Path) -> Any | None:
    try:
        return read_json(path)
    except (OSError, ValueError):
        return None


def _fig(run: Path, rel: str, caption: str, width: int = 720) -> Figure | None:
    return Figure(Path(rel), caption, width) if (run / rel).is_file() else None


class RunFiles:
    """Typed access to a run directory's JSON outputs (None where a stage did not run)."""

    def __init__(
        self, run_dir: Path, bundle_dir: Path | None = None, extra_bench: tuple[Path, ...] = ()
    ) -> None:
        self.run = run_dir
        self.eda = _json(run_dir / "eda" / "eda_summary.json")
        self.summaries = {s: _json(run_dir / s / "summary.json") for s in TRAIN_STAGES}
        self.metrics = {s: _json(run_dir / s / "metrics.json") for s in TRAIN_STAGES}
        self.complexity = _json(run_dir / "return_on_complexity.json")
        self.tune_summary = _json(run_dir / "tune" / "summary.json")
        self.tune_comparison = _json(run_dir / "tune" / "comparison.json")
        self.tune_best = _json(run_dir / "tune" / "best_hyperparameters.json")
        self.bundle_dir = bundle_dir or run_dir / "bundle"
        self.manifest = _json(self.bundle_dir / "manifest.json")
        self.bench = _json(run_dir / "bench" / "bench.json")
        self.extra_bench = [b for b in (_json(p) for p in extra_bench) if b]
        self.pipeline = _json(run_dir / "pipeline.json")
        self.run_info = _json(run_dir / "run.json")
        self.selection = _json(run_dir / "selection.json")

    @property
    def final_stage(self) -> str | None:
        chosen = ((self.selection or {}).get("chosen") or {}).get("candidate")
        if chosen in self.metrics and self.metrics[chosen]:
            return chosen  # the model selection shipped
        for s in reversed(TRAIN_STAGES):
            if self.metrics[s]:
                return s
        return None


def summary_section(r: Report, f: RunFiles) -> None:
    r.add(Heading("Summary"))
    items = []
    stage = f.final_stage
    if stage:
        m = f.metrics[stage]
        items.append(
            f"Final model: **{stage}** stage, test accuracy **{pct(m['accuracy'])}**, macro-F1 "
            f"{num(m['macro_f1'])} on {m['n_samples']} held-out test images."
        )
    if f.manifest:
        default = next(
            (a for a in f.manifest["artifacts"] if a["file"] == f.manifest["default_artifact"]),
            None,
        )
        if default:
            p = default.get("parity", {})
            acc = p.get("accuracy")
            items.append(
                f"Default device artifact: `{default['file']}` ({default['format']} {default['precision']}, "
                f"{mb(default['size_bytes'])})"
                + (f", test accuracy {pct(acc)}" if acc is not None else "")
                + (
                    ", parity gate passed."
                    if default.get("parity_passed")
                    else ", parity gate NOT passed."
                )
            )
    if f.bench:
        ok = [row for row in f.bench["rows"] if row.get("status") == "ok"]
        # An artifact that failed its gate is no candidate for "fastest": it is named apart.
        failed = {
            a["file"]
            for a in (f.manifest or {}).get("artifacts", [])
            if a.get("parity_passed") is False
        }
        passing = [row for row in ok if row["artifact"] not in failed]
        if passing:
            best = min(passing, key=lambda row: row["latency_ms"]["p50"])
            items.append(
                f"Fastest measured artifact that passed its parity gate, on this machine: "
                f"`{best['artifact']}` with {best['threads']} thread(s), p50 "
                f"{best['latency_ms']['p50']:.3f} ms per image "
                f"({best['throughput']['single_stream_ips']:.0f} images/s single-stream)."
            )
        if ok and failed:
            quickest = min(ok, key=lambda row: row["latency_ms"]["p50"])
            if quickest["artifact"] in failed:
                items.append(
                    f"`{quickest['artifact']}` measured faster (p50 "
                    f"{quickest['latency_ms']['p50']:.3f} ms) but FAILED its parity gate: not "
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
        r.add(_fig(f.run, rel, cap))


def _input_spec(f: RunFiles) -> dict:
    """The run's preprocessing contract (dataset description of a stage or the EDA)."""
    if ((f.eda or {}).get("dataset") or {}).get("input_spec"):
        return f.eda["dataset"]["input_spec"]
    for stage in ("eda", *TRAIN_STAGES):
        d = (_json(f.run / stage / "config.json") or {}).get("dataset") or {}
        if d.get("input_spec"):
            return d["input_spec"]
    return {}


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
    spec = _input_spec(f)
    if spec:
        r.add(Para(_contract_text(spec, (f.eda or {}).get("dataset") or {})))
    cfg = _json(f.run / "transfer" / "config.json") or {}
    c = cfg.get("config", {})
    if c:
        grey = (spec.get("channels") or 1) == 1
        r.add(
            Para(
                f"Transfer models resize inside the graph from the native size to "
                f"{c.get('image_size', '?')} px"
                + (", repeat the grey channel to RGB" if grey else "")
                + " and apply the backbone's `preprocess_input`."
            )
        )
    used = []
    for stage in ("baseline", "transfer"):
        aug = (_json(f.run / stage / "config.json") or {}).get("config", {}).get("augment")
        if aug is not None:
            used.append(f"{stage}: {describe_augment(AugmentConfig.from_dict(aug))}")
    if used:
        allowed = (
            (_json(f.run / "baseline" / "config.json") or {}).get("data_config", {}).get("augment")
        )
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
    r.add(_fig(f.run, "transfer/augmentation.png", "Augmented training samples (transfer stage)"))


def models_section(r: Report, f: RunFiles) -> None:
    r.add(Heading("Baseline vs transfer vs fine-tuned: return on complexity"))
    rows = (f.complexity or {}).get("rows") or []
    if not rows:
        r.add(Para("No training stage has finished."))
        return
    r.add(
        Table(
            (
                "stage",
                "test accuracy",
                "macro-F1",
                "parameters",
                ".keras size",
                "train time",
                "p50 latency (Keras, 1 image)",
            ),
            tuple(
                (
                    row["stage"],
                    pct(row["accuracy"]),
                    num(row["macro_f1"]),
                    f"{row['params']:,}",
                    mb(row.get("model_file_bytes")),
                    f"{row['train_seconds'] / 60:.1f} min" if row.get("train_seconds") else "-",
                    f"{row['latency_p50_ms']:.2f} ms" if row.get("latency_p50_ms") else "-",
                )
                for row in rows
            ),
            caption="Measured on this machine; latency is single-image Keras inference (warm-up excluded)",
        )
    )
    by = {row["stage"]: row for row in rows}
    if "baseline" in by and f.final_stage and f.final_stage != "baseline":
        b, t = by["baseline"], by[f.final_stage]
        gain = 100 * (t["accuracy"] - b["accuracy"])
        ratio = (t["params"] / b["params"]) if b["params"] else None
        verdict = (
            f"The {f.final_stage} model is {gain:+.2f} points of accuracy over the baseline"
            + (f" for {ratio:.1f}x the parameters" if ratio else "")
            + (
                f" and {t['latency_p50_ms'] / b['latency_p50_ms']:.1f}x the single-image latency"
                if t.get("latency_p50_ms") and b.get("latency_p50_ms")
                else ""
            )
            + ". "
        )
        spec = _input_spec(f)
        size = f"{spec['height']}x{spec['width']}" if spec else "native-size"
        kind = "grey" if spec.get("channels", 1) == 1 else "RGB"
        verdict += (
            f"The small CNN wins on accuracy as well as cost here: for {size} {kind} images of this "
            "dataset, ImageNet features upscaled from the native size add little."
            if gain <= 0
            else "Whether that gain is worth its cost depends on the device budget (see the latency section)."
        )
        r.add(Para(verdict))


def curves_section(r: Report, f: RunFiles) -> None:
    r.add(Heading("Learning curves and bias / variance"))
    rows = []
    for s in TRAIN_STAGES:
        sm = f.summaries[s]
        if not sm:
            continue
        lc = sm.get("learning_curves", {})
        rows.append(
            (
                s,
                str(sm.get("epochs_run")),
                str(sm.get("best_epoch")),
                pct(lc.get("train_accuracy")),
                pct(lc.get("val_accuracy")),
                lc.get("diagnosis", "-"),
            )
        )
        r.add(
            _fig(
                f.run, f"{s}/learning_curves.png", f"{s}: training vs validation loss and accuracy"
            )
        )
    if rows:
        r.add(
            Table(
                ("stage", "epochs", "best epoch", "train acc", "val acc", "diagnosis"), tuple(rows)
            )
        )


def evaluation_section(r: Report, f: RunFiles) -> None:
    stage = f.final_stage
    r.add(Heading("Evaluation and error analysis" + (f" ({stage})" if stage else "")))
    if not stage:
        r.add(Para("No evaluation yet."))
        return
    m = f.metrics[stage]
    r.add(
        Para(
            f"Accuracy {pct(m['accuracy'])}, macro-F1 {num(m['macro_f1'])}, weighted F1 {num(m['weighted_f1'])} "
            f"on {m['n_samples']} test images. Collapse detector: "
            + (
                "**FIRED** — " + "; ".join(m["collapse"].get("reasons", []))
                if m["collapse"].get("detected")
                else "silent"
            )
            + "."
        )
    )
    r.add(
        Table(
            ("class", "precision", "recall", "F1", "support"),
            tuple(
                (
                    c["name"],
                    num(c["precision"], 3),
                    num(c["recall"], 3),
                    num(c["f1"], 3),
                    str(c["support"]),
                )
                for c in m["per_class"]
            ),
            caption="Per-class metrics on the test set",
        )
    )
    worst = sorted(m["per_class"], key=lambda c: c["f1"])[:3]
    pairs = m.get("most_confused", [])[:5]
    if pairs:
        r.add(
            Table(
                ("true", "predicted as", "count"),
                tuple(
                    (
                        p.get("true_name", str(p.get("true"))),
                        p.get("predicted_name", str(p.get("predicted"))),
                        str(p.get("count")),
                    )
                    for p in pairs
                ),
                caption="Most confused pairs",
            )
        )
    text = (
        "Post-mortem: the weakest classes are "
        + ", ".join(f"{c['name']} (F1 {c['f1']:.3f})" for c in worst)
        + "."
    )
    if pairs:
        top = pairs[0]
        text += (
            f" The largest single confusion is {top['true_name']} read as {top['predicted_name']} "
            f"({top['count']} images, {100 * top.get('share_of_true', 0):.1f} % of that class)."
        )
        upper = {"T-shirt/top", "Shirt", "Pullover", "Coat", "Dress"}
        in_upper = sum(p["true_name"] in upper and p["predicted_name"] in upper for p in pairs)
        if in_upper >= max(1, len(pairs) - 1):
            text += (
                " These are upper-body garments whose distinguishing details (collars, buttons, "
                "sleeve length) are a few pixels wide at 28x28; the Grad-CAM grids below show where "
                "the model looked."
            )
    r.add(Para(text))
    r.add(
        _fig(f.run, f"{stage}/confusion_matrix_normalized.png", "Confusion matrix (row-normalized)")
    )
    r.add(_fig(f.run, f"{stage}/misclassified.png", "Misclassified examples"))
    for rel, cap in (
        (f"{stage}/gradcam/gradcam_misclassified.png", "Grad-CAM: misclassified examples"),
        (f"{stage}/gradcam/gradcam_correct.png", "Grad-CAM: correctly classified examples"),
    ):
        r.add(_fig(f.run, rel, cap))


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
    rows = []
    for a in man["artifacts"]:
        p = a.get("parity", {})
        if a.get("parity_passed"):
            verdict = "pass"
        elif a.get("parity_failure_accepted"):
            verdict = "FAIL (accepted by the user)"
        else:
            verdict = "FAIL"
        d_acc, d_f1 = p.get("accuracy_delta"), p.get("worst_class_f1_delta")
        rows.append(
            (
                a["file"],
                f"{a['format']} {a['precision']}",
                mb(a["size_bytes"]),
                pct(p.get("accuracy")),
                "-" if d_acc is None else f"{100 * d_acc:+.2f}",
                pct(p.get("agreement")),
                "-" if d_f1 is None else f"{100 * d_f1:+.2f} ({p.get('worst_class', '?')})",
                "-" if p.get("max_abs_diff") is None else f"{p['max_abs_diff']:.2e}",
                verdict,
            )
        )
    data = man.get("parity_data", {})
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
            caption=f"Parity against the Keras model on {data.get('description', 'held-out data')}",
        )
    )
    for a in man["artifacts"]:
        if a.get("float_layers"):
            r.add(
                Para(
                    f"`{a['file']}` keeps {len(a['float_layers'])} layer(s) in float to recover accuracy"
                    + (" (the first 16 shown)" if len(a["float_layers"]) > 16 else "")
                    + ": "
                    + ", ".join(f"`{_layer_name(n)}`" for n in a["float_layers"][:16])
                    + "."
                )
            )
        failures = a.get("parity", {}).get("failures") or []
        if failures:
            r.add(Para(f"`{a['file']}` gate failures: " + "; ".join(failures) + "."))


def latency_section(r: Report, f: RunFiles) -> None:
    r.add(Heading("Size and latency per artifact"))
    benches = ([f.bench] if f.bench else []) + f.extra_bench
    if not benches:
        r.add(Para("No benchmark in this run (`bench/bench.json`)."))
        return
    rows = []
    for b in benches:
        dev = b.get("device", {})
        where = b.get("label") or (
            f"{dev.get('cpu_model', '?')} ({dev.get('arch', '?')}, {dev.get('cores_usable', '?')} cores)"
        )
        for row in b["rows"]:
            if row.get("status") != "ok":
                err = "error: " + str(row.get("error"))[:80]
                rows.append((where, row["artifact"], str(row["threads"]), err, "", "", "", ""))
                continue
            lat = row["latency_ms"]
            rows.append(
                (
                    where,
                    row["artifact"],
                    str(row["threads"]),
                    mb(row["size_bytes"]),
                    f"{lat['p50']:.3f}",
                    f"{lat['p99']:.3f}",
                    f"{row['throughput']['batched_ips']:.0f}",
                    f"{row['memory']['peak_rss_mb']:.0f}",
                )
            )
    runs = benches[0].get("settings", {}).get("runs")
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
            caption=f"Per-image latency over {runs} runs after warm-up (preprocessing included)",
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
    dev = bench.get("device", {})
    cores = dev.get("cores_usable") or dev.get("cores_logical") or "?"
    where = (
        f"{dev.get('cpu_model', 'an undescribed CPU')} ({dev.get('arch', '?')}, {cores} usable "
        f"cores, {dev.get('os', '?')})"
    )
    return (
        f"Latency numbers come from the machine `edgetk bench` ran on: {where}. They are that "
        "machine's, not the target device's; measure on the target with `edgetk bench` before "
        "committing to a frame-rate budget."
    )


def limitations_section(r: Report, f: RunFiles) -> None:
    r.add(Heading("Limitations"))
    spec = _input_spec(f)
    polarity = spec.get("polarity", "light_on_dark")
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
    stage = f.final_stage
    if stage:
        m = f.metrics[stage]
        n = m["n_samples"]
        half = 100 * 1.96 * (0.25 / n) ** 0.5
        items.append(
            f"Accuracy is measured on {n} test images from one training run with one seed: differences "
            f"under about {half:.1f} points (the 95 % half-width of a proportion at this n, worst case) "
            "are within noise."
        )
        worst = min(m["per_class"], key=lambda c: c["f1"])
        items.append(
            f"The weakest class, {worst['name']}, has F1 {worst['f1']:.3f}: applications that hinge on it "
            "need more data or a second-stage check."
        )
    r.add(Bullets(tuple(items)))


def business_section(r: Report, f: RunFiles) -> None:
    r.add(Heading("What the numbers mean on a device"))
    if not (f.manifest and f.bench):
        r.add(Para("Needs both an export bundle and a benchmark."))
        return
    default = f.manifest["default_artifact"]
    rows = [
        row
        for row in f.bench["rows"]
        if row.get("artifact") == default and row.get("status") == "ok"
    ]
    if not rows:
        r.add(Para(f"The default artifact `{default}` has no successful benchmark row."))
        return
    row = min(rows, key=lambda x: x["latency_ms"]["p50"])
    fps = 1000.0 / row["latency_ms"]["p99"]
    acc = (
        next(a for a in f.manifest["artifacts"] if a["file"] == default)
        .get("parity", {})
        .get("accuracy")
    )
    r.add(
        Para(
            f"The default artifact `{default}` is {mb(row['size_bytes'])} on disk and classifies one image in "
            f"{row['latency_ms']['p50']:.3f} ms (p50; p99 {row['latency_ms']['p99']:.3f} ms) with {row['threads']} "
            f"thread(s) on this machine, i.e. a worst-case budget of about {fps:.0f} frames per second for the model "
            f"alone, with {row['memory']['peak_rss_mb']:.0f} MB peak process memory"
            + (f", at {pct(acc)} test accuracy" if acc is not None else "")
            + ". A 30 fps camera loop is limited by capture, not by the model; a Raspberry Pi 4 class CPU is several "
            "times slower than this x86 core, so re-run `edgetk bench` there before promising a frame rate."
        )
    )
    views = (f.manifest.get("source_model") or {}).get("test_time_views") or {}
    if views.get("count", 1) > 1:
        rows_v = {v["views"]: v for v in views.get("validation", [])}
        plain, got = rows_v.get("none"), rows_v.get(views["chosen"])
        gain = (
            f" ({pct(plain['accuracy'])} -> {pct(got['accuracy'])} on {got['images']} validation images)"
            if plain and got
            else ""
        )
        r.add(
            Para(
                f"That time includes test-time views: the graph averages the model over {views['count']} copies of "
                f"each image ({views['chosen']}: mirrored and/or shifted one row), chosen on the validation split"
                f"{gain}, at {views['count']} times the compute of the plain model."
            )
        )


def reproducibility_section(r: Report, f: RunFiles) -> None:
    r.add(Heading("Reproducibility"))
    rows = []
    if f.eda:
        rows.append(("dataset fingerprint (sha256)", f.eda["dataset"]["fingerprint_sha256"]))
    for s in TRAIN_STAGES:
        cfg = _json(f.run / s / "config.json")
        if cfg:
            rows.append((f"{s} seed", str(cfg.get("config", {}).get("seed", "-"))))
            rows.append((f"{s} code version", str(cfg.get("code_version", "-"))))
    if f.manifest:
        rows.append(
            ("source model sha256", str(f.manifest.get("source_model", {}).get("sha256", "-")))
        )
        for a in f.manifest["artifacts"]:
            rows.append((f"{a['file']} sha256", a["sha256"]))
        rows += [(f"version: {k}", str(v)) for k, v in f.manifest.get("versions", {}).items()]
    if f.pipeline:
        rows += [
            (f"stage {k} wall time", f"{v['seconds']:.0f} s")
            for k, v in f.pipeline["stages"].items()
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
    limitations_section,
    business_section,
    reproducibility_section,
)
