"""A native crash of the runtime never takes a command down silently.

The crash is real: tests/fixtures/crash_site/sitecustomize.py makes the TFLite runtime read
address 0 (SIGSEGV) when a chosen artifact runs a batch of N or more images, as ai-edge-litert
1.2.0 did with a dynamic-range model whose batch grew. ``edgetk serve`` runs each worker's
runtime in a child process: the requests in flight get a JSON 503 and the service goes on.
``edgetk predict`` says in one line which artifact crashed the runtime.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from edge_runtime.errors import ModelError
from edge_runtime.predictor import Predictor
from tests.test_serve_support import ROOT, TINY_BUNDLE, bar_png, copy_bundle, start_server

CRASH_SITE = ROOT / "tests" / "fixtures" / "crash_site"


def crash_env(spec: str) -> dict[str, str]:
    """Environment of a process whose runtime segfaults as ``spec`` (FILE:N) says."""
    path = os.pathsep.join([str(CRASH_SITE), str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {"PYTHONPATH": path, "EDGETK_TEST_CRASH": spec}


def post(url: str, n: int) -> httpx.Response:
    files = [("file", (f"{i}.png", bar_png("horizontal"), "image/png")) for i in range(n)]
    return httpx.post(f"{url}/v1/predict", files=files, timeout=30)


def test_a_crashing_runtime_costs_the_requests_in_flight_not_the_service(tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path)
    live = start_server(bundle, env=crash_env("model_int8.tflite:8"))
    try:
        expected = {1: 200, 8: 503, 16: 503, 2: 200}
        for n in (1, 8, 16, 2, 16, 1):
            r = post(live.url, n)
            assert r.status_code == expected[n], r.text
            if r.status_code == 503:
                body = r.json()["error"]
                assert body["code"] == "runtime_crashed"
                assert "model_int8.tflite" in body["message"] and "SIGSEGV" in body["message"]
                assert r.headers["Retry-After"] == "1"
                t0 = time.monotonic()
                health = httpx.get(f"{live.url}/v1/health", timeout=1.0)
                assert health.status_code == 200 and time.monotonic() - t0 < 1.0
            else:
                preds = r.json()["predictions"]
                assert len(preds) == n and {p["label"] for p in preds} == {"horizontal"}
        metrics = httpx.get(f"{live.url}/metrics").text
        assert "edgetk_runtime_crashes_total 3.0" in metrics
        assert httpx.get(f"{live.url}/v1/metadata").json()["service"]["isolated_runtime"] is True
    finally:
        code = live.stop()
    assert code == 0, live.text()
    assert live.text().count("crashed (SIGSEGV) while running model_int8.tflite") == 3


def test_in_process_serving_is_still_available(tmp_path: Path) -> None:
    live = start_server(copy_bundle(tmp_path), "--in-process")
    try:
        assert post(live.url, 3).status_code == 200
        meta = httpx.get(f"{live.url}/v1/metadata").json()
        assert meta["service"]["isolated_runtime"] is False
    finally:
        assert live.stop() == 0


def _predict(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edgetk", "predict", *args],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, **(env or {})}, timeout=120,
    )  # fmt: skip


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "twenty images"
    d.mkdir()
    for i in range(20):
        (d / f"{i}.png").write_bytes(bar_png("vertical" if i % 2 else "horizontal"))
    return d


def test_predict_names_the_artifact_that_crashed_the_runtime(folder: Path) -> None:
    proc = _predict(str(TINY_BUNDLE), str(folder), env=crash_env("model_int8.tflite:8"))
    assert proc.returncode == 1
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr
    assert "crashed (SIGSEGV)" in errors[0] and "model_int8.tflite" in errors[0]
    assert "--artifact" in errors[0]
    # The same folder with another artifact of the bundle, as the line advises.
    proc = _predict(
        str(TINY_BUNDLE), str(folder), "--artifact", "model_fp32.tflite",
        env=crash_env("model_int8.tflite:8"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "classified 20 image(s) with model_fp32.tflite" in proc.stderr


def test_the_guard_keeps_exit_codes_and_output(folder: Path, tmp_path: Path) -> None:
    proc = _predict(str(TINY_BUNDLE), str(folder), "--format", "csv")
    assert proc.returncode == 0 and len(proc.stdout.strip().splitlines()) == 21
    proc = _predict(str(TINY_BUNDLE), str(tmp_path / "missing"))
    assert proc.returncode == 1 and "does not exist" in proc.stderr
    proc = _predict(str(TINY_BUNDLE), str(folder), "--threads", "0")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_an_isolated_predictor_answers_like_the_in_process_one() -> None:
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (28, 28, 1), dtype=np.uint8) for _ in range(5)]
    plain = Predictor.from_bundle(TINY_BUNDLE)
    iso = Predictor.from_bundle(TINY_BUNDLE, isolate=True)
    try:
        pid = iso.backend.pid  # type: ignore[attr-defined]
        assert pid is not None and pid != os.getpid()
        assert iso.runtime == plain.runtime
        for n in (1, 5, 2):
            a = np.stack([p.probabilities for p in plain.predict(images[:n])])
            b = np.stack([p.probabilities for p in iso.predict(images[:n])])
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(
            plain.predict_batch(np.zeros((3, 28, 28, 1))),
            iso.predict_batch(np.zeros((3, 28, 28, 1))),
        )
    finally:
        iso.close()
        plain.close()
    assert not iso.backend._proc.is_alive()  # type: ignore[attr-defined]


RESTART_SCRIPT = """
import numpy as np, pytest
from edge_runtime.errors import RuntimeCrashedError
from edge_runtime.predictor import Predictor
pred = Predictor.from_bundle(BUNDLE, isolate=True)
img = np.zeros((28, 28, 1), np.uint8)
assert len(pred.predict([img] * 2)) == 2
first = pred.backend.pid
with pytest.raises(RuntimeCrashedError, match=r"SIGSEGV.*model_int8[.]tflite"):
    pred.predict([img] * 4)
assert len(pred.predict([img] * 3)) == 3
assert pred.backend.pid != first and pred.backend.restarts == 1
pred.close()
print("restarted")
"""


def test_an_isolated_predictor_restarts_after_a_crash() -> None:
    # In its own interpreter: the fork server must start with the crash site in its environment.
    script = RESTART_SCRIPT.replace("BUNDLE", repr(str(TINY_BUNDLE)))
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
        env={**os.environ, **crash_env("model_int8.tflite:4")},
    )  # fmt: skip
    assert proc.returncode == 0 and "restarted" in proc.stdout, proc.stderr


def test_an_isolated_artifact_that_cannot_load_is_a_model_error(tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path)
    (bundle / "model_int8.tflite").write_bytes(b"not a model at all" * 10)
    with pytest.raises(ModelError, match="model_int8.tflite"):
        Predictor.from_bundle(bundle, isolate=True, verify_hashes=False)


def test_a_runtime_too_old_for_the_model_says_what_to_install(monkeypatch) -> None:
    # tflite-runtime 2.14 cannot load a dynamic-range model (benchmarks/edge/runtime_resize.md).
    import edge_runtime.backends.tflite as tflite

    class OldInterpreter:
        def __init__(self, **_kw) -> None:
            raise ValueError(
                "Didn't find op for builtin opcode 'FULLY_CONNECTED' version '12'. An older "
                "version of this builtin might be supported."
            )

    monkeypatch.setattr(tflite, "interpreter_class", lambda: (OldInterpreter, "tflite-runtime"))
    with pytest.raises(ModelError, match=r"tflite-runtime .*edgetk\[edge\].*--artifact"):
        Predictor.from_bundle(TINY_BUNDLE)
