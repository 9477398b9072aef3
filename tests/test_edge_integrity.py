"""Artifact integrity: a file changed after export is refused by every command that loads it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from edge_runtime.common.errors import ModelError
from edge_runtime.common.fileio import sha256_file
from edge_runtime.integrity import IntegrityError, check_inside_bundle
from edge_runtime.manifest import load_manifest
from edge_runtime.predictor import Predictor
from edgetk.cli import main
from tests.fixtures.edge_helpers import IMAGES, copy_bundle

ONNX = "model_fp32.onnx"
# What a command needs beyond the `edge` extra (the smallest install skips those commands here).
NEEDS = {"camera": "cv2", "serve": "fastapi"}


def tamper(bundle: Path, file: str = ONNX) -> tuple[str, str]:
    """Flip 64 bytes in the middle of ``file``; return (manifest sha256, new sha256)."""
    path = bundle / file
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = bytes(b ^ 0xFF for b in data[mid : mid + 64])
    before = sha256_file(path)
    path.write_bytes(bytes(data))
    return before, sha256_file(path)


@pytest.fixture
def tampered(space_dir: Path) -> tuple[Path, str, str]:
    bundle = copy_bundle(space_dir)
    before, after = tamper(bundle)
    return bundle, before, after


def _one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_predictor_refuses_a_changed_artifact(tampered: tuple[Path, str, str]) -> None:
    bundle, before, after = tampered
    with pytest.raises(IntegrityError, match=f"{ONNX}: sha256 {after} differs.*{before}"):
        Predictor.from_bundle(bundle, ONNX)
    # The untouched artifacts of the same bundle still load.
    Predictor.from_bundle(bundle, "model_int8.tflite").close()


@pytest.mark.onnx
def test_no_verify_runs_it_with_a_warning(tampered, caplog: pytest.LogCaptureFixture) -> None:
    bundle, _, _ = tampered
    with caplog.at_level(logging.WARNING, logger="edge_runtime.integrity"):
        p = Predictor.from_bundle(bundle, ONNX, verify_hashes=False)
    p.close()
    assert "not checking model_fp32.onnx" in caplog.text and "--no-verify" in caplog.text


@pytest.mark.parametrize(
    "command",
    [
        ["predict", "{bundle}", str(IMAGES), "--artifact", ONNX],
        ["camera", "{bundle}", "--artifact", ONNX, "--headless", "--max-frames", "1"],
        ["bench", "{bundle}", "--artifacts", ONNX, "--runs", "5", "--thread-counts", "1"],
        ["serve", "{bundle}", "--artifact", ONNX, "--port", "0"],
    ],
    ids=["predict", "camera", "bench", "serve"],
)
def test_every_command_refuses_with_one_line_and_exit_1(
    tampered: tuple[Path, str, str], command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    if command[0] in NEEDS:
        pytest.importorskip(NEEDS[command[0]], reason=f"{command[0]} needs its extra")
    bundle, before, after = tampered
    rc = main([c.format(bundle=bundle) for c in command])
    captured = capsys.readouterr()
    assert rc == 1, captured
    line = _one_error_line(captured.err)
    assert ONNX in line and before in line and after in line
    assert captured.out == ""  # nothing was classified, measured or served


@pytest.mark.onnx
def test_predict_no_verify_runs_the_changed_file(tampered, capsys) -> None:
    bundle, _, _ = tampered
    rc = main(["predict", str(bundle), str(IMAGES), "--artifact", ONNX, "--no-verify"])
    assert rc == 0
    assert "classified" in capsys.readouterr().err


@pytest.mark.parametrize(
    "bad", ["../model_fp32.onnx", "/etc/passwd", "sub/../../x.onnx", "C:\\m.onnx"]
)
def test_manifest_file_outside_the_bundle_is_refused(space_dir: Path, bad: str) -> None:
    bundle = copy_bundle(space_dir)
    data = json.loads((bundle / "manifest.json").read_text())
    data["artifacts"][0]["file"] = bad
    (bundle / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(
        ModelError, match="artifact file .* (leaves the bundle|not a relative path)"
    ):
        load_manifest(bundle)


def test_inside_paths_are_accepted() -> None:
    for ok in ("model.tflite", "int8/model.tflite", "a..b.onnx"):
        check_inside_bundle(ok)
