"""The edgetk command: help, version, eda, and clear errors with exit codes (real subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_foundation_data import make_idx_folder

ROOT = Path(__file__).resolve().parents[1]


def edgetk(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, "-m", "edgetk", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=env,
        timeout=300,
    )


def test_help_lists_commands_without_tensorflow() -> None:
    code = (
        "import sys; from edgetk.cli import main; rc = main(['--help']);"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'heavy import';"
        "sys.exit(rc)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    for cmd in ("eda", "train", "export", "predict", "camera", "bench", "serve"):
        assert cmd in r.stdout


def test_version() -> None:
    r = edgetk("--version")
    assert r.returncode == 0 and "edgetk" in r.stdout


def test_unknown_command_is_usage_error() -> None:
    r = edgetk("frobnicate")
    assert r.returncode == 2 and "No such command" in r.stderr


def test_eda_on_idx_folder_with_spaces(space_dir: Path) -> None:
    make_idx_folder(space_dir / "my data", n_train=100)
    run_dir = space_dir / "run out"
    r = edgetk(
        "eda",
        "--data-dir",
        str(space_dir / "my data"),
        "--run-dir",
        str(run_dir),
        "--samples-per-class",
        "2",
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads((run_dir / "eda" / "eda_summary.json").read_text())
    assert summary["dataset"]["train_count"] == 100
    assert json.loads((run_dir / "eda" / "config.json").read_text())["config"]["source"] == "idx"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "does not exist"),
        ("badmagic", "magic number"),
        ("emptyclass", "holds no images"),
        ("corrupt", "corrupt image"),
    ],
)
def test_eda_bad_input_clear_error(tmp_path: Path, setup: str, message: str) -> None:
    from tests.test_foundation_data import make_image_folder

    data = tmp_path / "data"
    if setup == "badmagic":
        make_idx_folder(data)
        (data / "t10k-images-idx3-ubyte.gz").write_bytes(
            (data / "t10k-labels-idx1-ubyte.gz").read_bytes()
        )
        args = ["--data-source", "idx"]
    elif setup == "emptyclass":
        make_image_folder(data)
        (data / "zebra").mkdir()
        args = []
    elif setup == "corrupt":
        make_image_folder(data)
        (data / "cat" / "bad.jpg").write_bytes(b"\xff\xd8\xff garbage")
        args = []
    else:
        args = ["--data-source", "image_folder"]
    r = edgetk("eda", "--data-dir", str(data), "--run-dir", str(tmp_path / "run"), *args)
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("error: ") and message in r.stderr
    assert "Traceback" not in r.stderr


def test_bad_option_value_is_usage_error(tmp_path: Path) -> None:
    r = edgetk("eda", "--val-fraction", "0.9", "--run-dir", str(tmp_path))
    assert r.returncode == 2 and "'--val-fraction': 0.9 is not in the range" in r.stderr
