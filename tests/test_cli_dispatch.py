"""The CLI shell: subcommands resolve from the arguments ``main`` gets (not the process's
``sys.argv``), and ``-v`` / ``-q`` set the log level (issue: CLI defects, verified fixed)."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from edgetk.cli import main
from tests.fixtures.edge_helpers import BUNDLE, IMAGES

IMAGE = IMAGES / "box" / "02.png"


def test_main_from_python_c_runs_the_real_subcommand() -> None:
    # sys.argv is ["-c"] here: a dispatcher reading it would hand back a stub without options.
    code = (
        "import sys; from edgetk.cli import main; "
        f"sys.exit(main(['predict', {str(BUNDLE)!r}, {str(IMAGE)!r}, '--format', 'jsonl']))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert '"label": "box"' in proc.stdout


def test_subcommand_help_is_the_commands_own(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--max-request-pixels" in out and "--no-verify" in out


@pytest.mark.parametrize(("flag", "level"), [("-v", logging.DEBUG), ("-q", logging.WARNING),
                                             (None, logging.INFO)])  # fmt: skip
def test_verbosity_flags_set_the_log_level(flag: str | None, level: int) -> None:
    args = ([flag] if flag else []) + ["predict", str(BUNDLE), str(IMAGE)]
    assert main(args) == 0
    assert logging.getLogger().level == level
