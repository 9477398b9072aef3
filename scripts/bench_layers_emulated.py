"""The layer check and per-operator profile of a bundle's TFLite artifacts on the emulated arm64
root (qemu-user, scripts/arm64_emulated_check.sh setup), against this x86 machine.

    sudo .venv/bin/python scripts/bench_layers_emulated.py --bundle RUN/bundle [--root arm64-root]
        [--images 16] [--out benchmarks/edge/layers_arm64_emulated]

What ``edgetk bench --remote --check-layers`` does on a board, with the root as the board: the
reference (the exact input tensors of ``--images`` calibration images and every layer's output)
is made here by the same artifact, copied into the root, and compared there by the device-side
code (``edge_runtime.profiling.layers.check_against``) running on the root's own interpreter and
ai-edge-litert; then ``edgetk bench --ops`` on the TFLite artifacts inside the root. Timings under
emulation are NOT device timings (labelled so); the layer check is about arithmetic, which
emulation reproduces instruction by instruction. Writes OUT.json and OUT.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

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
from edge_runtime.manifest import load_manifest
from edge_runtime.profiling.layers import check_against, format_layers, make_reference

WORK = "/opt/edgetk-layers"  # inside the root


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, required=True)
    ap.add_argument("--root", type=Path, default=ROOT / "arm64-root")
    ap.add_argument("--images", type=int, default=16)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/edge/layers_arm64_emulated")
    args = ap.parse_args()
    require_root(args.root)
    manifest = load_manifest(args.bundle)
    tflite = [a.file for a in manifest.artifacts if a.format == "tflite"]
    images = list(calibration_images(args.bundle, args.images))

    work = args.root / WORK.lstrip("/")
    stage_sources(ROOT, work, ("edge_runtime", "edgetk"))
    shutil.copytree(args.bundle, work / "bundle")

    def run_in_root(*cmd: str) -> str:
        return in_root(args.root, f"{WORK}/src", *cmd)

    try:
        with bind_mounts(args.root, ("proc",)):
            here, there = {}, {}
            with tempfile.TemporaryDirectory() as tmp:
                for k, art in enumerate(tflite):
                    ref = make_reference(args.bundle, art, images, Path(tmp) / f"ref{k}.npz")
                    here[art] = check_against(
                        ref, args.bundle / art, "tflite"
                    )  # x86 against itself
                    shutil.copy(ref, work / f"ref{k}.npz")
                    code = (
                        "import json; from edge_runtime.profiling.layers import check_against; "
                        f"print(json.dumps(check_against('{WORK}/ref{k}.npz', "
                        f"'{WORK}/bundle/{art}', 'tflite')))"
                    )
                    there[art] = json.loads(run_in_root(ROOT_PYTHON, "-c", code).splitlines()[-1])
                    print(format_layers(there[art], where="arm64 (emulated): "))
            run_in_root(
                ROOT_PYTHON, "-m", "edgetk.cli", "bench",
                f"{WORK}/bundle", "--artifacts", ",".join(tflite), "--ops",
                "--thread-counts", "1", "--runs", str(args.runs), "--warmup", "5",
                "--label", LABEL, "--out-file", f"{WORK}/ops.json",
            )  # fmt: skip
            record = json.loads((work / "ops.json").read_text())
            platform = run_in_root(ROOT_PYTHON, "-c",
                                   "import platform; print(platform.machine(), platform.python_version())")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    record["bundle"]["path"] = record["settings"]["bundle"] = shown_path(args.bundle)
    record["device"].pop("hostname", None)
    body = {
        **provenance(__file__),
        "bundle": shown_path(args.bundle),
        "label": LABEL,
        "emulated_platform": platform.strip(),
        "qemu_cpu": QEMU_CPU,
        "machine_here": machine(),
        "images": len(images),
        "layers_arm64_emulated": there,
        "layers_x86_self_check": {a: r["identical"] for a, r in here.items()},
        "ops_record_arm64_emulated": record,
    }
    write_json(args.out.with_suffix(".json"), body)
    lines = [
        "# Layer check and per-operator profile on the emulated arm64 root",
        "",
        f"Written by `{body['script']}` (`{body['command']}`). Bundle `{body['bundle']}`; the "
        f"root: Debian 12 arm64 under qemu-user ({body['emulated_platform']}, QEMU_CPU={QEMU_CPU}), "
        "ai-edge-litert "
        + record["versions"].get("ai-edge-litert", "?")
        + ", numpy "
        + record["versions"].get("numpy", "?")
        + "; the reference made on this x86 machine "
        f"({body['machine_here']['device'].get('cpu_model')}). {len(images)} calibration images "
        "(training images). **Emulated: the times below are not device timings**; the layer check "
        "is arithmetic, which emulation reproduces.",
        "",
        "## Layer check: each artifact on arm64 (emulated) against the same artifact here",
        "",
    ]
    for res in there.values():
        lines.append("    " + format_layers(res).replace("\n", "\n    "))
        lines.append("")
    lines += [f"## Per-operator profile under emulation ({LABEL}), 1 thread", ""]
    from edge_runtime.profiling.table import format_ops

    for row in record["rows"]:
        if row.get("ops"):
            text = format_ops(row["ops"], top=8, title=f"{row['artifact']} x{row['threads']}")
            lines.append("    " + text.replace("\n", "\n    "))
            lines.append("")
    write_text(args.out.with_suffix(".md"), "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
