"""The Python API: ``edgetk.load(bundle)`` -> ``predict`` / ``evaluate``, TensorFlow-free."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import edgetk
from edge_runtime.common.errors import DataError, ModelError
from edge_runtime.preprocess import load_image

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "tests" / "fixtures" / "tiny_bundle"
IMAGES = ROOT / "tests" / "fixtures" / "images"


@pytest.fixture(scope="module")
def bundle():
    with edgetk.load(BUNDLE) as b:
        yield b


def test_one_path_one_array_and_batches_agree(bundle) -> None:
    path = IMAGES / "box" / "02.png"
    by_path = bundle.predict(path)
    assert by_path.label == "box" and by_path.score == by_path.probability
    assert by_path.top_k[0] == ("box", by_path.score) and len(by_path.top_k) == 3
    img = load_image(path)
    assert bundle.predict(img).label == "box"
    assert bundle.predict(img[..., 0]).label == "box"  # H x W grey
    files = sorted(IMAGES.glob("*/*.png"))
    listed = bundle.predict([str(f) for f in files])
    assert [p.label for p in listed] == [f.parent.name for f in files]
    stacked = np.stack([load_image(f) for f in files])
    assert [p.label for p in bundle.predict(stacked)] == [p.label for p in listed]
    assert len(bundle.predict([img], top_k=2)[0].top_k) == 2


def test_evaluate_a_labelled_folder(bundle) -> None:
    ev = bundle.evaluate(IMAGES)
    assert ev.n == len(list(IMAGES.glob("*/*.png"))) and ev.accuracy == 1.0
    assert [c.label for c in ev.per_class] == list(bundle.labels)


def test_mistakes_are_clear_errors(bundle, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"uint8.*float32"):
        bundle.predict(np.zeros((28, 28), np.float32))
    with pytest.raises(DataError, match=r"shape \(28, 28, 7\)"):
        bundle.predict(np.zeros((28, 28, 7), np.uint8))
    with pytest.raises(DataError, match="got int"):
        bundle.predict([3])
    with pytest.raises(DataError, match="does not exist"):
        bundle.predict(tmp_path / "missing.png")
    (tmp_path / "loose.png").write_bytes((IMAGES / "box" / "02.png").read_bytes())
    with pytest.raises(DataError, match="not a labelled folder"):
        bundle.evaluate(tmp_path)
    with pytest.raises(ModelError):
        edgetk.load(tmp_path)


def test_other_artifact_and_repr() -> None:
    with edgetk.load(BUNDLE, "model_fp32.tflite", threads=1) as b:
        assert b.artifact.file == "model_fp32.tflite" and "ai-edge-litert" in b.runtime
        assert "model_fp32.tflite" in repr(b)


_PROBE = r"""
import json, sys
import edgetk
b = edgetk.load(sys.argv[1])
p = b.predict(sys.argv[2])
print(json.dumps({"label": p.label, "tf": [m for m in sys.modules if m.split(".")[0] in
                  ("tensorflow", "keras", "trainer", "export", "calibration")]}))
"""


def test_the_api_never_imports_tensorflow() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, str(BUNDLE), str(IMAGES / "cross" / "03.png")],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"label": "cross", "tf": []}


def readme_python_example() -> str:
    """The README's Python example: the first ```python block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"```python\n(.*?)```", text, re.S)
    assert m, "README.md has no ```python example"
    return m.group(1)


def test_the_readme_python_example_runs_as_written(tmp_path: Path) -> None:
    # The files the example names, where a user who ran the quick profile would have them.
    shutil.copytree(BUNDLE, tmp_path / "runs" / "quick" / "bundle")
    shutil.copy(IMAGES / "box" / "02.png", tmp_path / "photo.png")
    shutil.copytree(IMAGES, tmp_path / "labelled")
    proc = subprocess.run(
        [sys.executable, "-c", readme_python_example()],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "box" in proc.stdout
