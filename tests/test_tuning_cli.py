"""`edgetk tune` as a user runs it: clear usage errors, and (slow) a real search end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def edgetk(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, "-m", "edgetk", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=timeout,
    )


def test_usage_errors_exit_2_with_a_message(space_dir: Path) -> None:
    r = edgetk("tune", "--run-dir", str(space_dir), "--max-trials", "0", timeout=120)
    assert r.returncode == 2, r.stderr
    assert "error: max_trials=0; use at least 1" in r.stderr
    assert "Traceback" not in r.stderr
    r = edgetk("tune", "--algorithm", "grid", timeout=120)
    assert r.returncode == 2
    assert "'grid' is not one of 'hyperband', 'bayesian', 'random'" in r.stderr


@pytest.mark.slow
def test_quick_search_on_real_fashion_mnist(keras_home: Path, space_dir: Path) -> None:
    run = space_dir / "run"
    args = ["tune", "--run-dir", str(run), "--preset", "quick", "--train-size", "300"]
    args += ["--test-size", "100", "--max-trials", "3", "--max-epochs", "2", "--recycle-every", "0"]
    r = edgetk(*args)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "hyperband: 3 trials (3 this run)" in r.stdout
    best = json.loads((run / "tune" / "best_hyperparameters.json").read_text())
    assert set(best) == {"learning_rate", "dropout", "dense_units", "label_smoothing"}
    cmp = json.loads((run / "tune" / "comparison.json").read_text())
    assert cmp["default"]["test"]["accuracy"] > 0.3  # 10 classes: real features learn
    # Running it again resumes: nothing left to do, no trial re-run.
    again = edgetk(*args, "--no-compare")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "3 trials (0 this run)" in again.stdout
