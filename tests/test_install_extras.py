"""Installs by need: what each extra brings, and what a command says when its extra is missing.

The fast tests hide a package from a fresh interpreter; the slow ones install the smallest extra
into a brand-new venv from the package index and run the device commands there, as a user would.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.edge_helpers import BUNDLE, IMAGES
from tests.fixtures.fresh_env import ROOT, build_wheel, installed, make_env

IMAGE = IMAGES / "box" / "02.png"

# Hides the named top-level modules, as if their distributions were not installed.
_HIDE = r"""
import importlib.abc, sys
HIDDEN = set(sys.argv[1].split(","))
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Hide())
from edgetk.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _edgetk_without(hidden: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _HIDE, hidden, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def _one_line_error(proc: subprocess.CompletedProcess[str], hint: str) -> str:
    """The command failed with exit 1 and exactly one stderr line naming ``hint``."""
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    assert hint in lines[0]
    return lines[0]


def test_camera_without_opencv_names_the_camera_extra_in_one_line(tmp_path: Path) -> None:
    proc = _edgetk_without(
        "cv2", "camera", str(BUNDLE), "--source", str(tmp_path / "any.avi"), "--headless"
    )
    line = _one_line_error(proc, "pip install 'edgetk[camera]'")
    assert "OpenCV" in line and "camera-headless" in line


def test_onnx_artifact_without_onnxruntime_names_the_onnx_extra_in_one_line() -> None:
    proc = _edgetk_without(
        "onnxruntime", "predict", str(BUNDLE), str(IMAGE), "--artifact", "model_fp32.onnx"
    )
    line = _one_line_error(proc, "pip install 'edgetk[onnx]'")
    assert "model_fp32.onnx" in line


def test_tflite_predict_needs_neither_opencv_nor_onnxruntime() -> None:
    proc = _edgetk_without("cv2,onnxruntime", "predict", str(BUNDLE), str(IMAGE))
    assert proc.returncode == 0, proc.stderr
    assert "box" in proc.stdout


def _extras() -> dict[str, list[str]]:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["optional-dependencies"]


def _closure(extra: str) -> set[str]:
    """Distribution names (lower case) an extra installs, as scripts/extra_deps.py finds them."""
    spec = importlib.util.spec_from_file_location("extra_deps", ROOT / "scripts" / "extra_deps.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {name.lower() for name in module.closure(_extras(), extra)}


def test_extras_split_by_need() -> None:
    edge = _closure("edge")
    assert {"ai-edge-litert", "numpy", "pillow", "click"} <= edge
    assert not edge & {"onnxruntime", "opencv-python", "opencv-python-headless"}
    assert _closure("onnx") - edge == {"onnxruntime"}
    assert _closure("camera") - edge == {"opencv-python"}
    assert _closure("camera-headless") - edge == {"opencv-python-headless"}
    for extra in ("serve", "train"):  # as before the split: both run ONNX artifacts
        assert {"onnxruntime"} | edge <= _closure(extra)
    for extra in _extras():  # the two OpenCV builds share the cv2 module: never both
        assert not {"opencv-python", "opencv-python-headless"} <= _closure(extra), extra


def test_command_table_names_the_extra_each_device_command_needs() -> None:
    from edgetk.cli import COMMANDS

    assert {n: COMMANDS[n].extra for n in ("predict", "bench", "camera", "serve")} == {
        "predict": "edge",
        "bench": "edge",
        "camera": "camera",
        "serve": "serve",
    }
    assert set(_extras()) >= {COMMANDS[n].extra for n in COMMANDS}


# ---- slow: a fresh venv with the smallest extra, packages from the index ----


@pytest.fixture(scope="module")
def edge_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("fresh edge env")  # a path with a space
    return make_env(work / "venv", "edge", build_wheel(work))


def _run(bin_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "edgetk"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=bin_dir.parent,  # not the checkout: the installed package, not the sources
    )


@pytest.mark.slow
def test_smallest_install_has_no_opencv_or_onnxruntime(edge_env: Path) -> None:
    pkgs = installed(edge_env)
    assert {"ai-edge-litert", "numpy", "pillow", "click", "edgetk"} <= set(pkgs)
    assert not set(pkgs) & {"onnxruntime", "opencv-python", "opencv-python-headless"}
    assert not set(pkgs) & {"tensorflow", "keras", "fastapi"}


@pytest.mark.slow
def test_smallest_install_predicts_a_tflite_bundle(edge_env: Path) -> None:
    proc = _run(edge_env, "predict", str(BUNDLE), str(IMAGES / "box"), "--format", "jsonl")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    files = [r for r in rows if "label" in r]
    assert len(files) == len(list((IMAGES / "box").glob("*.png"))) > 0
    assert all(r["label"] == "box" for r in files)


@pytest.mark.slow
def test_smallest_install_benches_the_tflite_artifacts(edge_env: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = _run(
        edge_env,
        "bench",
        str(BUNDLE),
        "--artifacts",
        "model_int8.tflite,model_fp32.tflite",
        "--thread-counts",
        "1",
        "--runs",
        "5",
        "--warmup",
        "1",
        "--out-file",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(out.read_text())["rows"]
    assert sorted(r["artifact"] for r in rows) == ["model_fp32.tflite", "model_int8.tflite"]
    assert all(r["status"] == "ok" for r in rows), rows


@pytest.mark.slow
def test_smallest_install_camera_and_onnx_say_which_extra(edge_env: Path, tmp_path: Path) -> None:
    cam = _run(edge_env, "camera", str(BUNDLE), "--source", str(tmp_path / "a.avi"), "--headless")
    _one_line_error(cam, "pip install 'edgetk[camera]'")
    onnx = _run(edge_env, "predict", str(BUNDLE), str(IMAGE), "--artifact", "model_fp32.onnx")
    _one_line_error(onnx, "pip install 'edgetk[onnx]'")


def test_serve_without_its_packages_names_the_serve_extra_in_one_line() -> None:
    proc = _edgetk_without("fastapi,uvicorn,starlette", "serve", str(BUNDLE), "--port", "0")
    _one_line_error(proc, "pip install 'edgetk[serve]'")
