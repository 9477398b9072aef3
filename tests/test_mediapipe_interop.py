"""MediaPipe Tasks' ImageClassifier, a real client, on edgetk artifacts (slow tier: it builds
MediaPipe's own venv from the package index and skips when the index cannot be reached).

Runs scripts/mediapipe_interop.py end to end on 500 Fashion-MNIST test images: the grey artifacts
are refused for their one channel (and int8 input), the RGB-front ``tflite_uint8`` loads and names
the same class as ``edgetk predict`` wherever the two are not reading a tie of its 8-bit scores,
and the RGB-front fp32 loads once MediaPipe's writer has added the TFLite Metadata schema."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.fixtures.fresh_env import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.realdata]


def test_mediapipe_image_classifier_agrees_with_edgetk(keras_home, tmp_path) -> None:
    out = tmp_path / "record" / "mediapipe"
    cmd = [sys.executable, str(ROOT / "scripts" / "mediapipe_interop.py"), "--images", "500",
           "--train-size", "4000", "--epochs", "1", "--work", str(tmp_path / "work"),
           "--out", str(out)]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=1500)
    if r.returncode == 2 and "package index" in r.stderr:
        pytest.skip(r.stderr.strip().splitlines()[-1])
    assert r.returncode == 0, r.stderr[-2000:]
    rec = json.loads(out.with_suffix(".json").read_text())
    assert rec["mediapipe_version"]
    rows = {row["artifact"]: row for row in rec["rows"]}
    assert "depth = 3 or 4" in rows["bundle/model_fp32.tflite"]["mediapipe"]
    assert "got INT8" in rows["bundle/model_int8.tflite"]["mediapipe"]
    assert "NormalizationOptions" in rows["interop/model_fp32.tflite"]["mediapipe"]
    u8 = rows["interop/model_uint8.tflite"]
    assert u8["mediapipe"] == "loaded" and u8["images"] == 500
    assert u8["quantization"] == {"scale": 1.0, "zero_point": 0}  # MediaPipe's bytes are ours
    assert u8["gate"] == "pass" and u8["edgetk_accuracy"] > 0.6
    assert u8["agreement"] >= 0.97
    assert u8["disagreements_at_tied_scores"] == u8["disagreements"]
    # With the TFLite Metadata schema added by MediaPipe's writer, the float artifact loads too,
    # and edgetk, reading the same copies as bare files, answers exactly as without it.
    fp32 = rows["interop_tflite_metadata/model_fp32.tflite"]
    assert fp32["mediapipe"] == "loaded" and fp32["agreement"] >= 0.99
    assert fp32["disagreements_at_tied_scores"] == fp32["disagreements"]
    assert all(
        r["edgetk_same_as_without_metadata"]
        for k, r in rows.items()
        if k.startswith("interop_tflite_metadata/")
    )
    md = out.with_suffix(".md").read_text()
    assert "interop/model_uint8.tflite" in md and rec["mediapipe_version"] in md
