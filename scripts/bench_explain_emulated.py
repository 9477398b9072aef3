"""Cost of one explanation (occlusion, edge_runtime/explain.py) per artifact of a bundle on the
emulated arm64 root (qemu-user, scripts/arm64_emulated_check.sh setup), beside this x86 machine.

    sudo .venv/bin/python scripts/bench_explain_emulated.py --bundle RUN/bundle [--root arm64-root]
        [--images 3] [--threads 1] [--out benchmarks/edge/explain_cost_arm64_emulated]

The companion of scripts/bench_explain.py. The same measurement (``measure`` below: one warm-up
explanation, then ``Predictor.explain`` on each of ``--images`` of the bundle's calibration images,
``--threads`` threads) runs twice: inside the root, on its own Python, ai-edge-litert and
onnxruntime (this file and ``edge_runtime`` are copied in; nothing else of the project), and here
on x86 on the same images. Each artifact's arm64 maps are compared with its x86 maps (rank
correlation, top-10 % IoU). An artifact whose runtime the root lacks (the ``edge`` extra has no
onnxruntime: set the root up with ``EXTRA=onnx``) is listed as skipped. Timings under emulation are
NOT device timings (labelled so): qemu-user translates every instruction.
Writes OUT.json and OUT.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

WORK = "opt/edgetk-explain"  # inside the root


def measure(bundle: Path, artifacts: list[str], images: np.ndarray, threads: int) -> dict:
    """Per artifact: ms per explanation (after one warm-up), passes, patch/stride, maps."""
    from edge_runtime import Predictor

    out: dict[str, dict] = {}
    for art in artifacts:
        p = Predictor.from_bundle(bundle, art, threads=threads, polarity="never")
        try:
            p.explain(images[0])  # warm-up: batch resize, first-call costs
            found = [p.explain(img) for img in images]
        finally:
            p.close()
        out[art] = {
            "ms": [round(e.ms, 3) for e in found],
            "passes": found[0].passes,
            "patch": found[0].patch,
            "stride": found[0].stride,
            "empty_maps": sum(e.signal <= 0 for e in found),
            "labels": [e.label for e in found],
            "maps": [np.round(e.saliency, 6).tolist() for e in found],
        }
    return out


def _inside(work: Path) -> None:
    """Run in the root: read work/job.json and work/images.npy, write work/result.json."""
    import platform

    from edge_runtime.common.versions import library_versions

    job = json.loads((work / "job.json").read_text())
    images = np.load(work / "images.npy")
    result = measure(work / "bundle", job["artifacts"], images, job["threads"])
    body = {
        "platform": f"{platform.machine()} {platform.python_version()}",
        "versions": library_versions(),
        "rows": result,
    }
    (work / "result.json").write_text(json.dumps(body))


def _spread(ms: list[float]) -> dict:
    return {
        "median_ms": round(statistics.median(ms), 1),
        "min_ms": round(min(ms), 1),
        "max_ms": round(max(ms), 1),
    }


def main() -> None:
    # Host side only: the copy of this file inside the root runs _inside, which needs neither.
    from arm64_root import (
        LABEL,
        QEMU_CPU,
        ROOT_PYTHON,
        bind_mounts,
        calibration_images,
        in_root,
        require_root,
        stage_sources,
    )
    from bench_common import ROOT, machine, provenance, shown_path

    from edge_runtime.common.fileio import write_json, write_text
    from edge_runtime.common.versions import library_versions
    from edge_runtime.explain import rank_correlation, top_overlap
    from edge_runtime.manifest import load_manifest

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, required=True)
    ap.add_argument("--root", type=Path, default=ROOT / "arm64-root")
    ap.add_argument("--images", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/edge/explain_cost_arm64_emulated"
    )
    args = ap.parse_args()
    require_root(args.root)
    if args.images < 1:
        raise SystemExit(f"--images {args.images}: give at least 1")
    manifest = load_manifest(args.bundle)
    images = calibration_images(args.bundle, args.images)

    work = args.root / WORK
    stage_sources(ROOT, work, ("edge_runtime",))
    shutil.copy(Path(__file__), work / "bench_explain_emulated.py")
    shutil.copytree(args.bundle, work / "bundle")
    np.save(work / "images.npy", images)
    load = [os.getloadavg()[0]]
    try:
        # /proc for the interpreters, /sys for onnxruntime's CPU probe (it aborts without it).
        with bind_mounts(args.root, ("proc", "sys")):
            has_ort = in_root(
                args.root, f"/{WORK}/src", ROOT_PYTHON, "-c",
                "import importlib.util as u; print(u.find_spec('onnxruntime') is not None)",
            ).strip().endswith("True")  # fmt: skip
            artifacts = [a.file for a in manifest.artifacts if a.format == "tflite" or has_ort]
            skipped = {
                a.file: "no onnxruntime in the root (set it up with EXTRA=onnx)"
                for a in manifest.artifacts
                if a.file not in artifacts
            }
            (work / "job.json").write_text(
                json.dumps({"artifacts": artifacts, "threads": args.threads})
            )
            in_root(
                args.root, f"/{WORK}/src", ROOT_PYTHON, f"/{WORK}/bench_explain_emulated.py",
                "--inside", f"/{WORK}",
            )  # fmt: skip
            there = json.loads((work / "result.json").read_text())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load.append(os.getloadavg()[0])
    here = measure(args.bundle, artifacts, images, args.threads)
    load.append(os.getloadavg()[0])

    here_machine = machine()
    here_machine["device"].pop("hostname", None)
    rows = []
    for art in artifacts:
        a, b = there["rows"][art], here[art]
        rho = [rank_correlation(np.array(m), np.array(n)) for m, n in zip(a["maps"], b["maps"])]
        iou = [top_overlap(np.array(m), np.array(n), 0.1) for m, n in zip(a["maps"], b["maps"])]
        spec = next(s for s in manifest.artifacts if s.file == art)
        emu, x86 = _spread(a["ms"]), _spread(b["ms"])
        rows.append(
            {
                "artifact": art,
                "format": spec.format,
                "precision": spec.precision,
                "explanations": len(a["ms"]),
                "passes": a["passes"],
                "patch": a["patch"],
                "stride": a["stride"],
                "arm64_emulated": {**emu, "ms": a["ms"], "empty_maps": a["empty_maps"]},
                "x86_here": {**x86, "ms": b["ms"], "empty_maps": b["empty_maps"]},
                "emulated_ms_per_pass": round(emu["median_ms"] / a["passes"], 2),
                "emulation_slowdown": round(emu["median_ms"] / x86["median_ms"], 1),
                "same_labels": a["labels"] == b["labels"],
                "maps_vs_x86": {
                    "rank_correlation": [round(r, 4) for r in rho],
                    "top10_iou": [round(r, 4) for r in iou],
                    "max_abs_difference": float(
                        max(
                            np.abs(np.array(m) - np.array(n)).max()
                            for m, n in zip(a["maps"], b["maps"])
                        )
                    ),
                },
            }
        )
    body = {
        **provenance(__file__),
        "bundle": shown_path(args.bundle),
        "label": LABEL,
        "model_input": manifest.input.to_dict(),
        "images": len(images),
        "image_source": "the bundle's calibration images (training images), the first N",
        "warmup_explanations": 1,
        "maps_compared_at": "saliency rounded to 6 decimals on both sides",
        "threads": args.threads,
        "emulated_platform": there["platform"],
        "qemu_cpu": QEMU_CPU,
        "qemu_version": _qemu_version(),
        "packages_arm64_emulated": there["versions"],
        "packages_here": library_versions(),
        "machine_here": here_machine,
        "load_average_1min": load,
        "rows": rows,
        "skipped": skipped,
    }
    write_json(args.out.with_suffix(".json"), body)
    vers = there["versions"]
    spec = manifest.input
    lines = [
        "# Cost of one explanation on the emulated arm64 root (occlusion, per artifact)",
        "",
        f"Written by `{body['script']}` (`{body['command']}`). Bundle `{body['bundle']}`, input "
        f"{spec.height}x{spec.width}x{spec.channels}; the first {len(images)} of its calibration "
        f"images (training images), one warm-up explanation per artifact, {args.threads} "
        f"thread(s). The root: Debian 12 arm64 under {body['qemu_version']} "
        f"({there['platform']}, QEMU_CPU={QEMU_CPU}), ai-edge-litert "
        f"{vers.get('ai-edge-litert', vers.get('tflite-runtime', '-'))}, onnxruntime "
        f"{vers.get('onnxruntime', '-')}, numpy {vers.get('numpy', '-')}; host "
        f"{body['machine_here']['device'].get('cpu_model')}, "
        f"{body['machine_here']['device'].get('cores_logical')} cores shared with other jobs "
        f"(1-minute load {min(load):.1f}-{max(load):.1f}). The x86 column is the same "
        "measurement on the same images on the host, just after.",
        "",
        "**Emulated: these are not device timings.** qemu-user translates every instruction, at a "
        "cost that differs per kernel (the slowdown column), so the arm64 times say that the "
        "explanation runs there and how many forward passes it costs, not how long it takes on a "
        "board. Maps: each artifact's arm64 map against its own x86 map, the smallest over the "
        "images; the JSON has each image's value and the largest absolute difference (maps rounded "
        "to 6 decimals).",
        "",
        "| artifact | passes | patch / stride | arm64 emulated ms, median [min, max] "
        "| ms per pass (emulated) | x86 here ms, median [min, max] | slowdown "
        "| maps vs x86: rank corr. (min) | top-10 % IoU (min) | same labels |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        e, h, m = r["arm64_emulated"], r["x86_here"], r["maps_vs_x86"]
        lines.append(
            f"| {r['artifact']} | {r['passes']} | {r['patch']} / {r['stride']} | "
            f"{e['median_ms']:.0f} [{e['min_ms']:.0f}, {e['max_ms']:.0f}] | "
            f"{r['emulated_ms_per_pass']:.1f} | {h['median_ms']:.1f} [{h['min_ms']:.1f}, "
            f"{h['max_ms']:.1f}] | {r['emulation_slowdown']:.0f}x | "
            f"{min(m['rank_correlation']):.3f} | {min(m['top10_iou']):.2f} | "
            f"{'yes' if r['same_labels'] else 'no'} |"
        )
    for art, why in skipped.items():
        lines.append(f"| {art} | skipped: {why} |  |  |  |  |  |  |  |  |")
    write_text(args.out.with_suffix(".md"), "\n".join(lines) + "\n")
    print("\n".join(lines))


def _qemu_version() -> str:
    try:
        out = subprocess.run(
            ["qemu-aarch64-static", "--version"], capture_output=True, text=True
        ).stdout
    except OSError:
        return "qemu-user"
    first = out.splitlines()[0] if out else ""
    # "qemu-aarch64 version 7.2.x (Debian ...)" -> "qemu-user 7.2.x"
    words = first.split()
    return f"qemu-user {words[2]}" if len(words) > 2 and words[1] == "version" else "qemu-user"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--inside":
        _inside(Path(sys.argv[2]))
    else:
        main()
