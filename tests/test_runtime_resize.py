"""Every artifact kind edgetk writes survives batch sizes that grow, shrink and grow again.

Each artifact runs in its own child process (scripts/resize_check.py), so a runtime that crashes
(ai-edge-litert 1.2.0 segfaults when a dynamic-range interpreter, once invoked, is resized to a
larger batch) is a failing test here rather than a dead test run. The batch outputs must equal the
same images run one at a time. scripts/runtime_resize_matrix.py repeats this check for each
runtime version the extras allow, each in its own fresh virtual environment.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edge_runtime.manifest import load_manifest
from tests.fixtures.every_artifact import build_every_artifact

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.onnx  # the bundles hold ONNX artifacts too


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict[str, Path]:
    return build_every_artifact(tmp_path_factory.mktemp("every artifact"))


def test_the_bundles_hold_every_artifact_kind(bundles) -> None:
    kinds = set()
    for name, bundle in bundles.items():
        m = load_manifest(bundle)
        views = (m.source_model or {}).get("test_time_views") or {}
        for a in m.artifacts:
            kinds.add((a.format, a.precision, name == "views"))
        if name == "views":
            assert views.get("chosen") == "flip_shift"
    want = {("tflite", p, False) for p in ("fp32", "fp16", "dynamic", "int8", "int8_mixed")}
    want |= {("onnx", p, False) for p in ("fp32", "int8")}
    want |= {("tflite", p, True) for p in ("fp32", "fp16", "dynamic", "int8")}
    want |= {("onnx", p, True) for p in ("fp32", "int8")}
    assert want <= kinds


def test_every_artifact_runs_growing_and_shrinking_batches(bundles, tmp_path) -> None:
    out = tmp_path / "resize.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "resize_check.py"), *map(str, bundles.values()),
         "--sizes", "1,8,16,2,16,64,3,128,1", "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    result = json.loads(out.read_text())
    bad = [f"{r['bundle']}/{r['artifact']}: {r['status']} {r.get('error', '')}"
           for r in result["rows"] if r["status"] != "ok"]  # fmt: skip
    assert not bad, f"{result['versions']}: " + "; ".join(bad)
    assert proc.returncode == 0
    assert len(result["rows"]) >= 14


def test_the_service_answers_growing_and_shrinking_requests_on_every_artifact(bundles) -> None:
    import httpx

    from tests.test_serve_support import bar_png, start_server

    png = bar_png("horizontal", size=16)
    for bundle in bundles.values():
        for art in load_manifest(bundle).artifacts:
            live = start_server(bundle, "--artifact", art.file)
            try:
                for n in (1, 8, 16, 2, 16):
                    files = [("file", (f"{i}.png", png, "image/png")) for i in range(n)]
                    r = httpx.post(f"{live.url}/v1/predict", files=files, timeout=60)
                    assert r.status_code == 200, f"{bundle.name}/{art.file} at {n}: {r.text}"
                    assert len(r.json()["predictions"]) == n
            finally:
                assert live.stop() == 0, live.text()
