"""Cold start of ``edgetk predict BUNDLE one.png`` in this tree vs an earlier release of it.

    .venv/bin/python scripts/bench_cold_start_vs_release.py --release 261a343 [--runs 5]

The release is checked out with ``git archive`` into a temporary folder; both trees run with the
same interpreter and virtual environment (each on its own ``PYTHONPATH``), the same bundle, image
and artifact, as fresh processes alternated release / this tree, ``--runs`` times each after one
untimed warm-up of each. Wall time by ``perf_counter_ns`` around the process, peak memory as the
child's ``ru_maxrss``. Reported: the ratio of the medians and the median of the pair-by-pair
ratios. Target: wall ratio <= 1.05. Writes benchmarks/edge/cold_start_vs_release.json and .md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

from bench_cold_start import run_once
from bench_common import (
    ROOT,
    add_model_args,
    int8_artifact,
    machine,
    median,
    pick_bundle,
    provenance,
    shown_path,
)

from edge_runtime.common.fileio import write_json, write_text


def _git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True).stdout


def _extract(rev: str, dest: Path) -> None:
    with tarfile.open(fileobj=BytesIO(_git("archive", rev)), mode="r:") as tar:
        tar.extractall(dest, filter="data")


def _summary(samples: list[tuple[float, float]]) -> dict[str, float]:
    walls, mems = [w for w, _ in samples], [m for _, m in samples]
    return {
        "wall_s_median": round(median(walls), 4),
        "wall_s_min": round(min(walls), 4),
        "wall_s_max": round(max(walls), 4),
        "peak_rss_mb_median": round(median(mems), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--release", required=True, help="git revision of the earlier release")
    add_model_args(ap)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "edge" / "cold_start_vs_release"))
    args = ap.parse_args()
    bundle = pick_bundle(args.bundle).resolve()
    artifact = args.artifact or int8_artifact(bundle)
    release = _git("rev-parse", "--short", args.release).decode().strip()
    head = _git("rev-parse", "--short", "HEAD").decode().strip()
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no").strip())
    cmd = [sys.executable, "-m", "edgetk", "predict", str(bundle), str(Path(args.image).resolve())]
    cmd += ["--artifact", artifact]
    samples: dict[str, list[tuple[float, float]]] = {"release": [], "this_tree": []}
    with tempfile.TemporaryDirectory(prefix="edgetk-release-") as tmp:
        old = Path(tmp)
        _extract(release, old)
        trees = {"release": old, "this_tree": ROOT}
        for tree in trees.values():  # warm the page cache; not counted
            run_once(cmd, cwd=tree, env_extra={"PYTHONPATH": str(tree)})
        for _ in range(args.runs):
            for name, tree in trees.items():
                samples[name].append(run_once(cmd, cwd=tree, env_extra={"PYTHONPATH": str(tree)}))
    rel, cur = _summary(samples["release"]), _summary(samples["this_tree"])
    pair_ratios = [c[0] / r[0] for r, c in zip(samples["release"], samples["this_tree"])]
    wall_ratio = cur["wall_s_median"] / rel["wall_s_median"]
    record = {
        **provenance(__file__),
        "what": "whole-process cold start of `edgetk predict BUNDLE one.png`: this tree vs a release",
        "release": release,
        "this_tree": head + (" + uncommitted changes" if dirty else ""),
        "bundle": shown_path(bundle),
        "artifact": artifact,
        "runs_each": args.runs,
        "order": "alternated: release, this tree, release, ... after one untimed run of each",
        "release_stats": rel,
        "this_tree_stats": cur,
        "wall_ratio_of_medians": round(wall_ratio, 4),
        "wall_ratio_pairwise_median": round(median(pair_ratios), 4),
        "peak_memory_ratio": round(cur["peak_rss_mb_median"] / rel["peak_rss_mb_median"], 4),
        "target": "wall_ratio_of_medians <= 1.05",
        "passed": wall_ratio <= 1.05,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "samples": {k: [[round(w, 4), round(m, 1)] for w, m in v] for k, v in samples.items()},
        **machine(),
    }
    out = Path(args.out)
    write_json(out.with_suffix(".json"), record)
    dev = record["device"]
    table = "\n".join(
        [
            f"# Cold start of `edgetk predict`: {record['this_tree']} vs release {release}",
            "",
            f"{dev['cpu_model']}, {dev['cores_usable']} usable cores, load average at the end "
            f"{record['load_average_at_end']}; bundle `{record['bundle']}`, `{artifact}`; {args.runs} runs each, "
            f"alternated; written by `{record['command']}`.",
            "",
            "| tree | wall median s (min-max) | peak RSS median MB |",
            "|---|---|---|",
            f"| release {release} | {rel['wall_s_median']:.3f} ({rel['wall_s_min']:.3f}-"
            f"{rel['wall_s_max']:.3f}) | {rel['peak_rss_mb_median']:.0f} |",
            f"| {record['this_tree']} | {cur['wall_s_median']:.3f} ({cur['wall_s_min']:.3f}-"
            f"{cur['wall_s_max']:.3f}) | {cur['peak_rss_mb_median']:.0f} |",
            "",
            f"Wall ratio (this tree / release): {wall_ratio:.3f} of medians, "
            f"{record['wall_ratio_pairwise_median']:.3f} median of pairs; target <= 1.05: "
            f"{'met' if record['passed'] else 'NOT met'}.",
            "",
        ]
    )
    write_text(out.with_suffix(".md"), table)
    print(table)


if __name__ == "__main__":
    main()
