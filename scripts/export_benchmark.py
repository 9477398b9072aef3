"""Acceptance measurement of the export stage: every artifact, its size and its gate verdict.

Exports MODEL (registry version folder or model folder) with ``edgetk export`` into BUNDLE
(``--allow-parity-failure`` so every row is measured even when one fails), then writes
``benchmarks/export/<tag>.json`` and ``<tag>.md``: artifact, size, accuracy, delta, worst
per-class F1 delta, agreement, gate verdict, checked against the acceptance targets, with the
machine it ran on. ``--onnx-methods`` also compares ONNX Runtime's calibration methods, each in a
child process whose peak resident memory is measured.

    .venv/bin/python scripts/export_benchmark.py runs/full/models/finetune --bundle runs/bundles/full \
        --tag full --onnx-methods "minmax;entropy;percentile"
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGETS = {
    "fp32 TFLite agreement >= 99.9 %": ("tflite_fp32", "agreement", ">=", 0.999),
    "fp32 ONNX agreement >= 99.9 %": ("onnx_fp32", "agreement", ">=", 0.999),
    "int8 TFLite <= 40 % of fp32 file": ("tflite_int8", "size_ratio", "<=", 0.40),
    "int8 TFLite loses <= 1.5 points": ("tflite_int8", "accuracy_drop", "<=", 0.015),
    "recovered TFLite loses <= 0.5 points": ("tflite_int8_mixed", "accuracy_drop", "<=", 0.005),
    "ONNX int8 loses <= 1.0 point": ("onnx_int8", "accuracy_drop", "<=", 0.010),
}


def machine() -> dict[str, Any]:
    import psutil

    from edge_runtime.bench.device import cpu_model

    cpu = cpu_model()
    return {
        "description": "shared 2-core x86_64 VM (other jobs ran beside it; times are indicative)",
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def _gate_row(
    artifact: str,
    file: str | None,
    size_bytes: int,
    fp32_bytes: int | None,
    p: dict[str, Any],
    verdict: str,
) -> dict[str, Any]:
    """The columns an artifact's gate record gives, whether it was kept or left out."""
    return {
        "artifact": artifact,
        "file": file,
        "size_bytes": size_bytes,
        "size_ratio": size_bytes / fp32_bytes if fp32_bytes is not None else None,
        "keras_accuracy": p["keras_accuracy"],
        "accuracy": p["accuracy"],
        "accuracy_delta": p["accuracy_delta"],
        "accuracy_drop": -p["accuracy_delta"],
        "macro_f1_delta": p["macro_f1_delta"],
        "worst_class": p["worst_class"],
        "worst_class_f1_delta": p["worst_class_f1_delta"],
        "agreement": p["agreement"],
        "max_abs_diff": p["max_abs_diff"],
        "verdict": verdict,
        "failures": p["failures"],
    }


def rows_from_manifest(bundle: Path) -> list[dict[str, Any]]:
    from edge_runtime.manifest import load_manifest

    m = load_manifest(bundle, verify_hashes=True)
    fp32 = {a.format: a.size_bytes for a in m.artifacts if a.precision == "fp32"}
    rows = []
    for a in m.artifacts:
        rows.append(
            {
                **_gate_row(
                    f"{a.format}_{a.precision}",
                    a.file,
                    a.size_bytes,
                    fp32.get(a.format),
                    a.parity,
                    a.parity["verdict"],
                ),
                "float_layers": len(a.float_layers),
                "input_dtype": a.input.dtype,
                "input_quantization": a.input.quantization.to_dict()
                if a.input.quantization
                else None,
            }
        )
    for e in m.excluded:  # failed the gate, left out of the bundle: still a row, with numbers
        name = f"{e['format']}_{e['precision']}"
        size, fp32_size = e["size_bytes"], fp32.get(e["format"])
        rows.append(
            {
                **_gate_row(name, None, size, fp32_size, e["parity"], "fail (left out)"),
                "float_layers": None,
                "input_dtype": None,
                "input_quantization": None,
            }
        )
    return rows


def check_targets(rows: list[dict[str, Any]], skipped: dict[str, str]) -> dict[str, dict[str, Any]]:
    by = {r["artifact"]: r for r in rows}
    out = {}
    for name, (art, key, op, bound) in TARGETS.items():
        if art not in by:
            out[name] = {"value": None, "met": None, "note": skipped.get(art, "not exported")}
            continue
        v = by[art][key]
        out[name] = {"value": v, "met": bool(v >= bound if op == ">=" else v <= bound)}
    return out


_CHILD = r"""
import json, sys, time
import numpy as np
from calibration import CalibrationSet
from export.config import OnnxQuantConfig, OnnxCalibrationMethod
from export.onnx_export import quantize_onnx_int8
from export.runners import predict_onnx
from trainer import env
from trainer.data import DataConfig, load_dataset
bundle, spec, out, data_cfg = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
method, _, opts = spec.partition(":")  # e.g. "percentile:chunk_images=200,histogram_max_images=400"
overrides = {k: int(v) for k, v in (o.split("=") for o in opts.split(",") if o)}
env.prepare()
calib = CalibrationSet.load(bundle + "/calibration/calibration")
t0 = time.perf_counter_ns()
info = quantize_onnx_int8(bundle + "/model_fp32.onnx", out, calib,
                          OnnxQuantConfig(method=OnnxCalibrationMethod(method), **overrides))
secs = (time.perf_counter_ns() - t0) / 1e9
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so it would report the parent's peak.
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
ds = load_dataset(DataConfig.from_dict(data_cfg))
acc = float(np.mean(predict_onnx(out, ds.x_test).argmax(1) == ds.y_test))
print(json.dumps({"spec": spec, "seconds": secs, "peak_rss_mib": peak, "accuracy": acc, **info}))
"""


def onnx_methods(bundle: Path, methods: list[str], keras_acc: float) -> list[dict[str, Any]]:
    from edge_runtime.manifest import load_manifest

    data_cfg = load_manifest(bundle).parity_data.get("data_config", {})
    out = []
    for method in methods:
        target = Path("/tmp") / f"export_bench_{method.replace(':', '_').replace(',', '_')}.onnx"
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(bundle), method, str(target), json.dumps(data_cfg)],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if proc.returncode != 0:
            out.append({"spec": method, "status": f"failed (exit {proc.returncode})",
                        "stderr_tail": proc.stderr[-600:]})  # fmt: skip
            continue
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        row["accuracy_delta"] = row["accuracy"] - keras_acc
        row["status"] = "ok"
        out.append(row)
        target.unlink(missing_ok=True)
        print(f"onnx {method}: {row}", flush=True)
    return out


def markdown(tag: str, model: str, rows, targets, methods, mach, seconds, images: int) -> str:
    lines = [
        f"# Export acceptance: {tag}",
        "",
        f"Model: `{model}`. Machine: {mach['description']}; {mach['cpu']}, "
        f"{mach['logical_cores']} logical cores, {mach['memory_gib']} GiB. "
        + (
            f"Whole export {seconds:.0f} s. "
            if seconds
            else "Bundle measured as exported earlier. "
        )
        + f"Gate data: {images} labelled test images; deltas are "
        f"artifact minus Keras, in points (Keras accuracy {100 * rows[0]['keras_accuracy']:.2f} %).",
        "",
        "| artifact | size | vs fp32 | accuracy | Δ acc | worst class Δ F1 | agreement | gate |",
        "|---|---:|---:|---:|---:|---|---:|---|",
    ]
    for r in rows:
        ratio = f"{100 * r['size_ratio']:.1f} %" if r["size_ratio"] else "–"
        extra = f" ({r['float_layers']} float layers)" if r["float_layers"] else ""
        lines.append(
            f"| {r['artifact']}{extra} | {r['size_bytes'] / 2**20:.2f} MiB | {ratio} | "
            f"{100 * r['accuracy']:.2f} % | {100 * r['accuracy_delta']:+.2f} | "
            f"{100 * r['worst_class_f1_delta']:+.2f} ({r['worst_class']}) | "
            f"{100 * r['agreement']:.2f} % | {r['verdict']} |"
        )
    lines += ["", "## Acceptance targets", "", "| target | measured | met |", "|---|---:|---|"]
    for name, t in targets.items():
        v = t["value"]
        shown = "–" if v is None else (f"{100 * v:.2f} %" if "agreement" in name or "%" in name
                                       else f"{100 * v:.2f} points")  # fmt: skip
        lines.append(f"| {name} | {shown} | {t.get('note') or ('yes' if t['met'] else 'NO')} |")
    if methods:
        lines += ["", "## ONNX Runtime calibration methods (QDQ, per-channel, int8)", "",
                  "By default histogram methods see at most 200 images, fed 50 at a time (strided "
                  "calibration; a method:key=value row overrides that); peak RSS: the child process at the end of quantization (ORT, model, calibration set; before the evaluation data is loaded).", "",
                  "| method | images | Δ acc | quantize time | peak RSS |",
                  "|---|---:|---:|---:|---:|"]  # fmt: skip
        for m in methods:
            if m["status"] != "ok":
                lines.append(f"| {m['spec']} | – | – | – | {m['status']} |")
                continue
            lines.append(
                f"| {m['spec']} | {m['calibration_images']} ({m['chunk_images']} per stride) | "
                f"{100 * m['accuracy_delta']:+.2f} | "
                f"{m['seconds']:.0f} s | {m['peak_rss_mib']:.0f} MiB |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--tag", required=True)
    ap.add_argument(
        "--onnx-methods",
        default="",
        help="comma-free list separated by ';', e.g. 'minmax;percentile:chunk_images=200'",
    )
    ap.add_argument("--skip-export", action="store_true", help="measure an existing bundle")
    args = ap.parse_args()

    from edge_runtime.common.fileio import write_json, write_text
    from edgetk.cli import main as edgetk_main

    t0 = time.perf_counter_ns()
    if not args.skip_export:
        rc = edgetk_main(["export", args.model, "--out-dir", args.bundle,
                          "--allow-parity-failure", "--overwrite"])  # fmt: skip
        if rc != 0:
            raise SystemExit(f"edgetk export failed with exit code {rc}")
    seconds = (time.perf_counter_ns() - t0) / 1e9
    bundle = Path(args.bundle)
    rows = rows_from_manifest(bundle)
    from edge_runtime.manifest import load_manifest

    m = load_manifest(bundle)
    targets = check_targets(rows, m.parity_data.get("skipped", {}))
    methods = [m for m in args.onnx_methods.split(";") if m]
    method_rows = onnx_methods(bundle, methods, rows[0]["keras_accuracy"]) if methods else []
    mach = machine()
    record = {
        "tag": args.tag,
        "model": args.model,
        "source_model": m.source_model,
        "machine": mach,
        "versions": m.versions,
        "export_seconds": seconds if not args.skip_export else None,
        "parity_data": {k: v for k, v in m.parity_data.items() if k != "dataset"},
        "calibration": {k: m.calibration[k] for k in ("count", "seed", "per_class_counts")},
        "artifacts": rows,
        "targets": targets,
        "onnx_calibration_methods": method_rows,
    }
    out = ROOT / "benchmarks" / "export"
    write_json(out / f"{args.tag}.json", record)
    write_text(out / f"{args.tag}.md", markdown(args.tag, args.model, rows, targets,
                                               method_rows, mach, None if args.skip_export else seconds,
                                               m.parity_data["images"]))  # fmt: skip
    print((out / f"{args.tag}.md").read_text())


if __name__ == "__main__":
    main()
