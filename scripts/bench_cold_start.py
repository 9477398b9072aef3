"""Acceptance: cold start of ``edgetk predict BUNDLE one.png`` as a whole process vs a minimal script.

    .venv/bin/python scripts/bench_cold_start.py [--bundle DIR] [--runs 15]

The minimal script imports ai-edge-litert, numpy and Pillow, loads the same model, decodes the same
image, resizes it to the model's input and classifies it (no manifest, checks or output formatting). Both
run as fresh processes, alternated, ``--runs`` times each; wall time by ``perf_counter_ns`` around
the process, peak memory as the child's ``ru_maxrss`` from ``os.wait4``. Targets (ratio of medians):
wall <= 1.2x, peak memory <= 1.5x. edgetk's own modules are byte-compiled first, as an install
leaves them. Also saves ``python -X importtime`` of the predict command.
The predict command also runs with ``EDGETK_CRASH_GUARD=0`` (no fork of the crash guard,
edge_runtime/crash_guard.py), alternated with the others, so the guard's own cost is a ratio of
the same run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_common import (
    ROOT,
    add_model_args,
    int8_artifact,
    machine,
    median,
    pick_bundle,
    provenance,
)

from edge_runtime.common.fileio import write_json, write_text

# edgetk's own packages on the device path, byte-compiled before the runs (see main).
COMPILED = ("edgetk", "edge_runtime")

MINIMAL = """
import sys
import numpy as np
from PIL import Image
from ai_edge_litert.interpreter import Interpreter
it = Interpreter(model_path=sys.argv[1])
it.allocate_tensors()
d = it.get_input_details()[0]
_, h, w, c = d["shape"]
img = Image.open(sys.argv[2]).convert("L" if c == 1 else "RGB").resize((w, h))
x = np.asarray(img, dtype=np.float32).reshape(d["shape"]).astype(d["dtype"])
it.set_tensor(d["index"], x)
it.invoke()
print(it.get_tensor(it.get_output_details()[0]["index"]).argmax())
"""


def run_once(
    cmd: list[str], cwd: Path = ROOT, env_extra: dict[str, str] | None = None
) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one fresh process."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", **(env_extra or {}))
    # stderr goes to a file, not a pipe: os.wait4 does not read a pipe, so a child that wrote
    # more than the pipe buffer (64 KiB of warnings) would block forever and so would we.
    with tempfile.TemporaryFile() as err_file:
        t0 = time.perf_counter_ns()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err_file, env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = (time.perf_counter_ns() - t0) / 1e9
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err_file.seek(0)
            err = err_file.read().decode(errors="replace")
            raise SystemExit(f"{cmd} failed ({proc.returncode}): {err[-500:]}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_args(ap)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "edge" / "cold_start.json"))
    args = ap.parse_args()
    bundle = pick_bundle(args.bundle)
    artifact = args.artifact or int8_artifact(bundle)
    predict_cmd = [
        sys.executable,
        "-m",
        "edgetk",
        "predict",
        str(bundle),
        args.image,
        "--artifact",
        artifact,
    ]
    minimal_cmd = [sys.executable, "-c", MINIMAL, str(bundle / artifact), args.image]

    # A wheel install byte-compiles edgetk at install time and an editable one writes the .pyc
    # files on its first run; the runs below forbid writing them (PYTHONDONTWRITEBYTECODE=1), so
    # compile them here, or every run would compile edgetk's modules from source.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *(str(ROOT / p) for p in COMPILED)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    load_start = [round(v, 2) for v in os.getloadavg()]
    for cmd in (predict_cmd, minimal_cmd):  # warm the page cache; not counted
        run_once(cmd)
    samples: dict[str, list[tuple[float, float]]] = {
        "predict": [],
        "minimal": [],
        "predict_unguarded": [],
    }
    for _ in range(args.runs):
        samples["predict"].append(run_once(predict_cmd))
        samples["minimal"].append(run_once(minimal_cmd))
        samples["predict_unguarded"].append(
            run_once(predict_cmd, env_extra={"EDGETK_CRASH_GUARD": "0"})
        )

    def summary(name: str) -> dict[str, float]:
        walls = [w for w, _ in samples[name]]
        mems = [m for _, m in samples[name]]
        return {
            "wall_s_median": round(median(walls), 4),
            "wall_s_min": round(min(walls), 4),
            "wall_s_max": round(max(walls), 4),
            "peak_rss_mb_median": round(median(mems), 1),
        }

    p, m, u = summary("predict"), summary("minimal"), summary("predict_unguarded")
    wall_ratio = p["wall_s_median"] / m["wall_s_median"]
    mem_ratio = p["peak_rss_mb_median"] / m["peak_rss_mb_median"]

    imports = subprocess.run(
        [sys.executable, "-X", "importtime", *predict_cmd[1:]],
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stderr
    rows = [ln for ln in imports.splitlines() if ln.startswith("import time:") and "|" in ln]
    parsed = []
    for ln in rows[1:]:
        self_us, cum_us, name = (s.strip() for s in ln.replace("import time:", "").split("|"))
        parsed.append((int(cum_us), int(self_us), name))
    top = sorted(parsed, reverse=True)[:25]
    heavy = sorted(
        {n.strip().split(".")[0] for _, _, n in parsed}
        & {"scipy", "sklearn", "pandas", "matplotlib", "cv2", "tensorflow", "keras", "onnxruntime"}
    )
    write_text(
        ROOT / "benchmarks" / "edge" / "importtime_predict.txt",
        "python -X importtime -m edgetk predict BUNDLE one.png: top 25 by cumulative time (us)\n"
        + "\n".join(f"{c:>9} {s:>9}  {n}" for c, s, n in top)
        + f"\nheavy packages imported: {heavy or 'none'}\n",
    )
    record = {
        **provenance(__file__),
        "what": "whole-process cold start: `edgetk predict BUNDLE one.png` vs minimal ai-edge-litert script",
        "bundle": str(bundle.relative_to(ROOT) if bundle.is_relative_to(ROOT) else bundle),
        "artifact": artifact,
        "runs_each": args.runs,
        "predict_command": "python -m edgetk predict BUNDLE IMAGE --artifact " + artifact,
        "minimal_script": MINIMAL.strip(),
        "bytecode": (
            "edgetk's packages (" + ", ".join(COMPILED) + ") byte-compiled before the runs, as a "
            "wheel install does; every run with PYTHONDONTWRITEBYTECODE=1"
        ),
        "predict": p,
        "minimal": m,
        "predict_unguarded": u,
        "crash_guard_wall_ratio": round(p["wall_s_median"] / u["wall_s_median"], 3),
        "wall_ratio": round(wall_ratio, 3),
        "peak_memory_ratio": round(mem_ratio, 3),
        "targets": {"wall_ratio": "<= 1.2", "peak_memory_ratio": "<= 1.5"},
        "passed": wall_ratio <= 1.2 and mem_ratio <= 1.5,
        "heavy_imports_in_predict": heavy,
        # The machine is shared: what else ran shows in the load, and the ratio (alternated
        # runs) is the figure to compare, not the seconds.
        "load_average_start": load_start,
        "load_average_end": [round(v, 2) for v in os.getloadavg()],
        "samples": {k: [[round(w, 4), round(mm, 1)] for w, mm in v] for k, v in samples.items()},
        **machine(),
    }
    write_json(args.out, record)
    print(
        f"| {record['bundle']} `{artifact}` | {args.runs} | {p['wall_s_median']:.3f} | "
        f"{m['wall_s_median']:.3f} | {wall_ratio:.2f} | {p['peak_rss_mb_median']:.0f} | "
        f"{m['peak_rss_mb_median']:.0f} | {mem_ratio:.2f} |"
    )
    print(
        f"crash guard: predict {p['wall_s_median']:.3f} s vs {u['wall_s_median']:.3f} s without "
        f"(ratio {record['crash_guard_wall_ratio']:.3f})"
    )


if __name__ == "__main__":
    main()
