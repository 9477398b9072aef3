"""edge_runtime never imports TensorFlow or Keras: proven in a fresh interpreter and statically."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "tests" / "fixtures" / "tiny_bundle"
FORBIDDEN = ("tensorflow", "keras", "tf2onnx", "tf_keras", "trainer", "calibration", "export")

_PROBE = r"""
import importlib.abc, json, sys
BLOCK = ("tensorflow", "keras", "tf_keras", "tf2onnx")
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCK:
            raise ImportError(f"blocked import of {name} inside edge_runtime")
        return None
sys.meta_path.insert(0, Block())
import pkgutil, importlib
import edge_runtime
# every module of the package, except the REST server which has its own extra
for m in pkgutil.walk_packages(edge_runtime.__path__, "edge_runtime."):
    if not m.name.startswith("edge_runtime.server"):
        importlib.import_module(m.name)
from edge_runtime import Predictor
from edge_runtime.preprocess import load_image
img = load_image(sys.argv[2])
out = {}
for art in ("model_int8.tflite", "model_fp32.tflite", "model_fp32.onnx"):
    p = Predictor.from_bundle(sys.argv[1], art, threads=1)
    out[art] = p.predict([img])[0].label
loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCK)
print(json.dumps({"labels": out, "loaded": loaded}))
"""


@pytest.mark.onnx
def test_prediction_in_fresh_interpreter_never_imports_tensorflow() -> None:
    image = ROOT / "tests" / "fixtures" / "images" / "box" / "02.png"
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, str(BUNDLE), str(image)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["loaded"] == []
    assert set(result["labels"].values()) == {"box"}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", "") == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            roots.add(str(node.args[0].value).split(".")[0])
    return roots


def test_static_imports_of_edge_runtime_are_tensorflow_free() -> None:
    files = [p for p in (ROOT / "edge_runtime").rglob("*.py")]
    assert len(files) > 5
    offenders = {
        str(p.relative_to(ROOT)): sorted(_imported_roots(p) & set(FORBIDDEN)) for p in files
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert offenders == {}


def test_predict_command_imports_no_heavy_libraries() -> None:
    """`edgetk predict` loads only what it needs: no OpenCV, scipy, sklearn, pandas, matplotlib."""
    code = (
        "import sys, json\n"
        "from edgetk.cli import main\n"
        # the lazy command table looks at sys.argv, as it would in the real `edgetk` process
        f"sys.argv = ['edgetk', 'predict', {str(BUNDLE)!r}, {str(ROOT / 'tests/fixtures/images/box/02.png')!r}]\n"
        "rc = main(sys.argv[1:])\n"
        "heavy = ('cv2','scipy','sklearn','pandas','matplotlib','tensorflow','keras','onnxruntime')\n"
        "print(json.dumps({'rc': rc, 'heavy': sorted({m.split('.')[0] for m in sys.modules} & set(heavy))}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"rc": 0, "heavy": []}


def test_missing_runtimes_give_an_install_hint() -> None:
    """Without ai-edge-litert and tflite-runtime, loading a .tflite says what to install."""
    code = (
        "import importlib.abc, sys\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('ai_edge_litert', 'tflite_runtime', 'onnxruntime'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from edge_runtime import Predictor\n"
        "from edge_runtime.errors import BackendUnavailableError\n"
        "for art in ('model_int8.tflite', 'model_fp32.onnx'):\n"
        "    try:\n"
        f"        Predictor.from_bundle({str(BUNDLE)!r}, art)\n"
        "    except BackendUnavailableError as exc:\n"
        "        print(exc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2
    assert "no TFLite runtime is installed" in lines[0] and "edgetk[edge]" in lines[0]
    assert "onnxruntime is not installed" in lines[1] and "edgetk[onnx]" in lines[1]


_PREDICT_MODULES = r"""
import json, sys
from edgetk.cli import main
rc = main(["predict", *sys.argv[1:]])
print(json.dumps({"rc": rc, "modules": sorted(sys.modules)}))
"""

# What classifying one image must not load: the SSH device loop, the benchmark machinery, the
# REST service and its web stack, OpenCV, the process-isolation backend, the training side.
NOT_FOR_PREDICT = (
    "edge_runtime.remote", "edge_runtime.bench", "edge_runtime.server",
    "edge_runtime.backends.isolated", "edge_runtime.backends.onnx", "edge_runtime.camera",
    "cv2", "fastapi", "uvicorn", "starlette", "psutil", "onnxruntime", "multiprocessing",
    *FORBIDDEN,
)  # fmt: skip


def test_predict_imports_only_what_it_runs() -> None:
    image = ROOT / "tests" / "fixtures" / "images" / "box" / "02.png"
    proc = subprocess.run(
        [sys.executable, "-c", _PREDICT_MODULES, str(BUNDLE), str(image)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["rc"] == 0
    loaded = [m for m in result["modules"] if m.startswith(NOT_FOR_PREDICT)]
    assert loaded == []
    assert "edge_runtime.backends.tflite" in result["modules"]  # it did classify


def test_predict_explain_imports_no_tensorflow(tmp_path) -> None:  # noqa: ANN001
    """Saliency comes from the artifact's own runtime: --explain loads no TensorFlow either."""
    image = ROOT / "tests" / "fixtures" / "images" / "box" / "02.png"
    out = tmp_path / "maps"
    proc = subprocess.run(
        [sys.executable, "-c", _PREDICT_MODULES, str(BUNDLE), str(image), "--explain", str(out)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["rc"] == 0 and (out / "02.png").is_file()
    assert [m for m in result["modules"] if m.startswith(NOT_FOR_PREDICT)] == []
    assert "edge_runtime.explain" in result["modules"]
