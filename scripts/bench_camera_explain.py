"""Does `edgetk camera --explain-every N` keep the frame rate? Classified frames per second with and
without explanations, on a paced video (as a live camera delivers it) and unpaced (as fast as
the model goes).

    .venv/bin/python scripts/bench_camera_explain.py [--bundle B] [--every 0,1,5] [--rounds 3]

A video is written from the bundle's own calibration images (or the fixture's patterns when it
has none), 64x64 frames, ``--seconds`` long at ``--fps``; ``run_camera`` classifies it headless
(JSON-line mode, no window) once per setting and round, settings alternated within each round so
that machine noise hits them alike. Per setting: classified frames per second (median and range
over the rounds), the share of frames dropped, the model's p50 / p99 ms per frame, and for
explanations how many were computed, how many offers were declined because one was still running,
and the ms per explanation. Writes benchmarks/edge/camera_explain.json and .md (``--out``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

import numpy as np
from bench_common import ROOT, machine, provenance, shown_path

from edge_runtime.camera import CameraConfig, run_camera
from edge_runtime.common.fileio import write_json, write_text
from edge_runtime.common.versions import library_versions
from edge_runtime.manifest import load_manifest

FIXTURE = ROOT / "tests" / "fixtures" / "tiny_bundle"
SIZE = 64


def _frames(bundle: Path, n: int) -> list[np.ndarray]:
    import cv2

    calib = bundle / "calibration" / "calibration.npz"
    if calib.is_file():
        with np.load(calib) as f:
            x = f["x"] if "x" in f else f[next(iter(f.files))]
        pics = [np.asarray(v).astype(np.uint8) for v in x[: max(1, min(n, len(x)))]]
    else:
        from tests.fixtures.edge_helpers import LABELS, pattern

        pics = [pattern(k)[..., None] for k in LABELS]
    out = []
    for i in range(n):
        p = pics[i % len(pics)]
        p = p[..., 0] if p.shape[-1] == 1 else cv2.cvtColor(p, cv2.COLOR_RGB2GRAY)
        big = cv2.resize(p, (SIZE, SIZE), interpolation=cv2.INTER_NEAREST)
        out.append(cv2.cvtColor(big, cv2.COLOR_GRAY2BGR))
    return out


def _video(path: Path, frames: list[np.ndarray], fps: float) -> Path:
    import cv2

    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (SIZE, SIZE))
    for f in frames:
        w.write(f)
    w.release()
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, default=FIXTURE)
    ap.add_argument("--every", default="0,1,5", help="explain-every settings (0: off)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "edge" / "camera_explain")
    args = ap.parse_args()

    manifest = load_manifest(args.bundle)
    every = [int(v) for v in args.every.split(",")]
    n = int(args.fps * args.seconds)
    load = [os.getloadavg()[0]]
    runs: dict[tuple[str, int], list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        video = _video(Path(tmp) / "clip.avi", _frames(args.bundle, n), args.fps)
        for _ in range(args.rounds):
            for pace in (True, False):
                for e in every:
                    cfg = CameraConfig(
                        bundle=str(args.bundle),
                        source=str(video),
                        threads=args.threads,
                        headless=True,
                        pace=pace,
                        explain_every=e,
                        polarity="never",
                    )
                    stats = run_camera(cfg).to_dict()
                    runs.setdefault(("paced" if pace else "unpaced", e), []).append(stats)
            load.append(os.getloadavg()[0])

    rows = []
    for (mode, e), rs in runs.items():
        fps = [r["fps"] for r in rs]
        ex = [r["explanations"] for r in rs if r["explanations"]]
        rows.append(
            {
                "mode": mode,
                "explain_every": e,
                "rounds": len(rs),
                "frames_read": rs[0]["frames_read"],
                "fps_median": statistics.median(fps),
                "fps_min": min(fps),
                "fps_max": max(fps),
                "dropped_share_median": statistics.median(
                    r["frames_dropped"] / max(1, r["frames_read"]) for r in rs
                ),
                "model_ms_p50_median": statistics.median(r["model_ms"]["p50"] for r in rs),
                "model_ms_p99_median": statistics.median(r["model_ms"]["p99"] for r in rs),
                "explained_median": statistics.median(x["explained"] for x in ex) if ex else 0,
                "skipped_busy_median": statistics.median(x["skipped_busy"] for x in ex)
                if ex
                else 0,
                "explain_ms_p50_median": statistics.median(x["ms_p50"] for x in ex if x["ms_p50"])
                if ex
                else None,
            }
        )
    body = {
        **provenance(__file__),
        "bundle": shown_path(args.bundle),
        "artifact": manifest.default_artifact,
        "video": {"frames": n, "fps": args.fps, "size": SIZE},
        "threads": args.threads,
        "machine": machine(),
        "packages": library_versions(),
        "load_average_1min": {"median": statistics.median(load), "samples": load},
        "rows": rows,
    }
    write_json(args.out.with_suffix(".json"), body)
    lines = [
        "# `edgetk camera --explain-every N`: does the frame rate hold?",
        "",
        f"Written by `{body['script']}` (`{body['command']}`). Bundle `{body['bundle']}` "
        f"(`{manifest.default_artifact}`, input {manifest.input.height}x{manifest.input.width}), "
        f"{args.threads} runtime thread(s) each for the classifier and the explainer; a "
        f"{args.seconds:g} s video of {n} {SIZE}x{SIZE} frames at {args.fps:g} fps, classified "
        f"headless {args.rounds} times per setting, settings alternated; paced: read at the "
        "video's frame rate like a live camera; unpaced: as fast as possible. Machine "
        f"{body['machine']['device'].get('cpu_model')}, "
        f"{body['machine']['device'].get('cores_logical')} cores, 1-minute load median "
        f"{statistics.median(load):.2f}.",
        "",
        "| mode | explain every | classified fps, median [range] | dropped | model ms p50 / p99 "
        "| maps made | offers declined (busy) | ms per map |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ms = r["explain_ms_p50_median"]
        lines.append(
            f"| {r['mode']} | {r['explain_every'] or 'off'} | {r['fps_median']:.1f} "
            f"[{r['fps_min']:.1f}, {r['fps_max']:.1f}] | {100 * r['dropped_share_median']:.0f} % "
            f"| {r['model_ms_p50_median']:.2f} / {r['model_ms_p99_median']:.2f} | "
            f"{r['explained_median']:g} | {r['skipped_busy_median']:g} | "
            f"{'-' if ms is None else f'{ms:.1f}'} |"
        )
    write_text(args.out.with_suffix(".md"), "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
