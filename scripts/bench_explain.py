"""Cost of one explanation (occlusion saliency, edge_runtime/explain.py) per artifact of a bundle.

    .venv/bin/python scripts/bench_explain.py --bundle RUN/bundle [--images 20] [--threads 1]

For every artifact of the bundle: ``Predictor.explain`` on ``--images`` of the bundle's own
calibration images (``calibration/calibration.npz``, training images, uint8 as decoded), after two
warm-up explanations, one thread by default; the median / p90 ms per explanation, the forward
passes each took, and the ms per pass. Also the fp32 TFLite artifact's agreement with each other
artifact on the same images (rank correlation and top-10 % IoU). Writes
benchmarks/edge/explain_cost.json and .md (``--out``).
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path

import numpy as np
from bench_common import ROOT, machine, provenance, shown_path

from edge_runtime import Predictor
from edge_runtime.common.fileio import write_json, write_text
from edge_runtime.common.versions import library_versions
from edge_runtime.explain import rank_correlation, top_overlap
from edge_runtime.manifest import load_manifest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, required=True)
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "edge" / "explain_cost")
    ap.add_argument(
        "--figure", type=Path, help="also draw the first 6 images' maps per artifact in one PNG"
    )
    args = ap.parse_args()

    manifest = load_manifest(args.bundle)
    with np.load(args.bundle / "calibration" / "calibration.npz") as f:
        x = f["x"] if "x" in f else f[next(iter(f.files))]
    images = np.asarray(x[: args.images]).astype(np.uint8)
    load = [os.getloadavg()[0]]
    rows, maps = [], {}
    for art in manifest.artifacts:
        p = Predictor.from_bundle(args.bundle, art.file, threads=args.threads, polarity="never")
        try:
            for img in images[:2]:
                p.explain(img)
            found = [p.explain(img) for img in images]
        finally:
            p.close()
        load.append(os.getloadavg()[0])
        ms = sorted(e.ms for e in found)
        passes = found[0].passes
        maps[art.file] = [e.saliency for e in found]
        rows.append(
            {
                "artifact": art.file,
                "format": art.format,
                "precision": art.precision,
                "explanations": len(found),
                "passes": passes,
                "patch": found[0].patch,
                "stride": found[0].stride,
                "median_ms": round(statistics.median(ms), 3),
                "p90_ms": round(ms[int(0.9 * (len(ms) - 1))], 3),
                "ms_per_pass": round(statistics.median(ms) / passes, 4),
                "empty_maps": sum(e.signal <= 0 for e in found),
            }
        )
    ref = next((k for k in maps if k.endswith("fp32.tflite")), next(iter(maps)))
    for r in rows:
        rho = [rank_correlation(a, b) for a, b in zip(maps[ref], maps[r["artifact"]])]
        iou = [top_overlap(a, b, 0.1) for a, b in zip(maps[ref], maps[r["artifact"]])]
        r["agreement_with"] = ref
        r["rank_correlation_median"] = round(float(np.median(rho)), 3)
        r["top10_iou_median"] = round(float(np.median(iou)), 3)
    body = {
        **provenance(__file__),
        "bundle": shown_path(args.bundle),
        "model_input": manifest.input.to_dict(),
        "threads": args.threads,
        "machine": machine(),
        "packages": library_versions(),
        "load_average_1min": {"median": statistics.median(load), "samples": load},
        "rows": rows,
    }
    write_json(args.out.with_suffix(".json"), body)
    spec = manifest.input
    lines = [
        "# Cost of one explanation (occlusion, `edgetk predict --explain`) per artifact",
        "",
        f"Written by `{body['script']}` (`{body['command']}`). Bundle `{body['bundle']}`, input "
        f"{spec.height}x{spec.width}x{spec.channels}; {args.images} of its calibration images, "
        f"{args.threads} thread(s), two warm-up explanations per artifact; machine "
        f"{body['machine']['device'].get('cpu_model')}, {body['machine']['device'].get('cores_logical')} "
        f"cores, 1-minute load median {statistics.median(load):.2f}. Agreement: median over the "
        f"images against `{ref}`'s maps.",
        "",
        "| artifact | passes | patch / stride | median ms | p90 ms | ms per pass | empty maps "
        "| rank corr. | top-10 % IoU |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['artifact']} | {r['passes']} | {r['patch']} / {r['stride']} | "
            f"{r['median_ms']:.1f} | {r['p90_ms']:.1f} | {r['ms_per_pass']:.3f} | "
            f"{r['empty_maps']} of {r['explanations']} | {r['rank_correlation_median']:.2f} | "
            f"{r['top10_iou_median']:.2f} |"
        )
    write_text(args.out.with_suffix(".md"), "\n".join(lines) + "\n")
    print("\n".join(lines))
    if args.figure:
        _figure(args.figure, images[:6], maps, manifest.labels)


def _figure(path: Path, images: np.ndarray, maps: dict[str, list], labels) -> None:
    """One row per image: the image, then each artifact's overlay (4x upscaled)."""
    from PIL import Image, ImageDraw

    from edge_runtime.explain import overlay

    scale, pad, head = 4, 4, 14
    h, w = images.shape[1] * scale, images.shape[2] * scale
    cols = ["image", *maps]
    sheet = Image.new("RGB", (len(cols) * (w + pad) + pad, head + len(images) * (h + pad) + pad))
    sheet.paste((255, 255, 255), (0, 0, sheet.width, sheet.height))
    draw = ImageDraw.Draw(sheet)
    for j, name in enumerate(cols):
        draw.text((pad + j * (w + pad), 2), name.replace("model_", ""), fill=(0, 0, 0))
    for i, img in enumerate(images):
        big = np.asarray(
            Image.fromarray(img[..., 0] if img.shape[2] == 1 else img).resize((w, h), Image.NEAREST)
        )
        tiles = [np.repeat(big[..., None], 3, 2) if big.ndim == 2 else big]
        tiles += [overlay(big, maps[name][i]) for name in maps]
        for j, tile in enumerate(tiles):
            sheet.paste(Image.fromarray(tile), (pad + j * (w + pad), head + pad + i * (h + pad)))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


if __name__ == "__main__":
    main()
