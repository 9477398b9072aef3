"""Run every artifact of edgetk bundles at batch sizes that grow, shrink and grow again.

Each artifact runs in its own child process, so a native crash of the runtime (SIGSEGV, abort)
is reported as that artifact's result instead of ending the check. Both device paths are used:
``Predictor.predict`` (decoded images, the path of ``edgetk predict`` / ``serve`` / ``camera``)
and ``Predictor.predict_batch`` (float batches, the path of the pipeline's selection), and every
batch's outputs are compared with the same images run one at a time. Needs only the device side
(numpy and a runtime); no TensorFlow.

    python scripts/resize_check.py BUNDLE [BUNDLE ...] [--sizes 1,8,16,2,16,64,3,128,1] [--json OUT]

Exit status: 0 when every artifact ran every batch and agreed with its one-at-a-time outputs,
1 otherwise. The JSON (stdout, or ``--json``) names the runtime versions it ran with.
"""

from __future__ import annotations

import argparse
import json
import platform
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SIZES = (1, 8, 16, 2, 16, 64, 3, 128, 1)
TOLERANCE = 1e-4  # probabilities; batch composition must not change an image's output


def run_one(bundle: Path, artifact: str, sizes: tuple[int, ...]) -> dict[str, Any]:
    """In the child: every batch size in turn through both paths; the largest difference."""
    import numpy as np

    from edge_runtime.predictor import Predictor

    pred = Predictor.from_bundle(bundle, artifact=artifact, threads=1)
    spec = pred.manifest.input
    rng = np.random.default_rng(0)
    pool = rng.integers(0, 256, size=(max(sizes), spec.height, spec.width, spec.channels))
    pool = pool.astype(np.uint8)
    single = np.stack([pred.predict([img], polarity="as-is")[0].probabilities for img in pool])
    floats = np.stack([pred.preprocess(img, polarity="as-is") for img in pool])
    worst = 0.0
    for n in sizes:
        got = np.stack([p.probabilities for p in pred.predict(list(pool[:n]), polarity="as-is")])
        worst = max(worst, float(np.abs(got - single[:n]).max()))
        got = pred.predict_batch(floats[:n])
        worst = max(worst, float(np.abs(got - single[:n]).max()))
    return {"max_abs_diff": worst, "runtime": pred.backend.runtime}


def check_artifact(bundle: Path, artifact: str, sizes: tuple[int, ...]) -> dict[str, Any]:
    """Run ``artifact`` in a child process; its result, or how the child died."""
    cmd = [sys.executable, __file__, "--one", str(bundle), artifact,
           "--sizes", ",".join(map(str, sizes))]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    row: dict[str, Any] = {"bundle": bundle.name, "artifact": artifact}
    if proc.returncode < 0:
        row["status"] = f"crashed ({signal.Signals(-proc.returncode).name})"
    elif proc.returncode != 0:
        row["status"] = "error"
        row["error"] = (proc.stderr.strip().splitlines() or ["?"])[-1]
    else:
        row.update(json.loads(proc.stdout.strip().splitlines()[-1]))
        row["status"] = "ok" if row["max_abs_diff"] <= TOLERANCE else "outputs differ"
    return row


def versions() -> dict[str, str]:
    from edge_runtime.common.versions import installed_versions

    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        **installed_versions(("ai-edge-litert", "tflite-runtime", "onnxruntime", "numpy")),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundles", nargs="+", type=Path)
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)), help="batch sizes, in order")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--json", type=Path, default=None, help="write the result here too")
    a = ap.parse_args()
    sizes = tuple(int(s) for s in a.sizes.split(","))
    if a.one:  # the child: BUNDLE ARTIFACT
        bundle, artifact = a.bundles[0], str(a.bundles[1])
        print(json.dumps(run_one(bundle, artifact, sizes)))
        return 0
    from edge_runtime.manifest import load_manifest

    rows = []
    for bundle in a.bundles:
        for art in load_manifest(bundle).artifacts:
            rows.append({**check_artifact(bundle, art.file, sizes), "precision": art.precision,
                         "format": art.format})  # fmt: skip
    result = {"sizes": list(sizes), "versions": versions(), "rows": rows,
              "ok": all(r["status"] == "ok" for r in rows)}  # fmt: skip
    text = json.dumps(result, indent=2)
    if a.json:
        a.json.write_text(text + "\n")
    print(text)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
