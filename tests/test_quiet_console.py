"""The console shows progress, results and real warnings, not the native libraries' start-up lines.

TensorFlow's C++ side prints ``E0000 ... failed call to cuInit`` on every machine without a GPU,
and ``I0000`` oneDNN / CUDA notices; LiteRT announces its XNNPACK delegate. They are kept at DEBUG
(``edgetk -v`` shows them); a line that is not known start-up chatter still reaches stderr.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from edge_runtime.common.native_stderr import is_startup_noise

ROOT = Path(__file__).resolve().parents[1]
NATIVE = re.compile(r"^[IWE]0000 ")

_TRAINER = r"""
import logging, os, sys
logging.basicConfig(level=logging.DEBUG if sys.argv[1] == "debug" else logging.INFO)
from trainer import env
env.prepare()
import tensorflow as tf
print(float(tf.reduce_sum(tf.ones((2, 2)))))
os.write(2, b"a real native warning\n")
"""


def _run(level: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _TRAINER, level], capture_output=True, text=True, timeout=300,
        cwd=ROOT,
    )  # fmt: skip


def test_tensorflow_start_up_lines_stay_out_of_the_console() -> None:
    proc = _run("info")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "4.0"
    assert not [ln for ln in proc.stderr.splitlines() if NATIVE.match(ln)], proc.stderr
    assert "absl::InitializeLog" not in proc.stderr
    assert "a real native warning" in proc.stderr


def test_the_start_up_lines_are_kept_at_debug() -> None:
    proc = _run("debug")
    assert proc.returncode == 0, proc.stderr
    kept = [ln for ln in proc.stderr.splitlines() if "edge_runtime.common.native_stderr" in ln]
    assert kept  # whatever this machine's TensorFlow said at start-up, -v shows it


def test_predict_does_not_print_the_delegate_line(tmp_path: Path) -> None:
    image = ROOT / "tests" / "fixtures" / "images" / "box" / "02.png"
    proc = subprocess.run(
        [sys.executable, "-m", "edgetk", "predict", str(ROOT / "tests" / "fixtures" / "tiny_bundle"),
         str(image)], capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "XNNPACK" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("classified 1 image(s)")


def test_what_counts_as_start_up_noise() -> None:
    assert is_startup_noise(
        "E0000 00:00:1796504644.132186   21435 cuda_platform.cc:52] failed call to cuInit: x"
    )
    assert is_startup_noise("I0000 00:00:1796504635.271738   21435 port.cc:153] oneDNN custom")
    assert is_startup_noise("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.")
    assert not is_startup_noise("error: the bundle is missing")
    assert not is_startup_noise("Epoch 1/4")


def test_converter_chatter_is_quiet_unless_verbose() -> None:
    import logging

    from edgetk.cli import CHATTY_LIBRARIES, main

    assert main(["predict", "--help"]) == 0
    assert all(logging.getLogger(n).level == logging.WARNING for n in CHATTY_LIBRARIES)
    assert main(["-v", "predict", "--help"]) == 0
    assert logging.getLogger().level == logging.DEBUG
    assert all(logging.getLogger(n).level == logging.NOTSET for n in CHATTY_LIBRARIES)
    assert is_startup_noise("fully_quantize: 0, inference_type: 6, input_inference_type: INT8")
