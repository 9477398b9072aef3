"""scripts/bench_cold_start.py: a child that writes a lot to stderr must not hang the benchmark."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import sys
sys.path.insert(0, {scripts!r})
from bench_cold_start import run_once
noisy = [sys.executable, "-c", "import sys; sys.stderr.write('w' * 400_000)"]
wall, rss = run_once(noisy)
print("done", wall > 0, rss > 0)
"""


def test_run_once_survives_a_child_filling_its_stderr_pipe() -> None:
    # 400 kB of stderr is several times a pipe's buffer: the old run_once waited for the child
    # while the child waited for someone to read the pipe. The timeout only stops a hang.
    code = PROBE.format(scripts=str(ROOT / "scripts"))
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
        )
    except subprocess.TimeoutExpired:
        raise AssertionError("run_once deadlocked on a child's full stderr pipe") from None
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "done True True"
