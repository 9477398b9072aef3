"""Export progress lines: drawn on a terminal, silent elsewhere, the loop's items unchanged."""

from __future__ import annotations

import io

from export.progress import progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_on_a_terminal_and_clears_its_line(monkeypatch) -> None:
    term = _Terminal()
    monkeypatch.setattr("sys.stderr", term)
    assert list(progress(range(3), 3, "LiteRT batches", min_seconds=0.0)) == [0, 1, 2]
    out = term.getvalue()
    assert "LiteRT batches" in out and "/3" in out
    assert out.endswith("\r")  # the line is cleared: no progress left between log lines


def test_progress_waits_for_slow_loops(monkeypatch) -> None:
    term = _Terminal()
    monkeypatch.setattr("sys.stderr", term)
    assert list(progress(range(3), 3, "quick loop", min_seconds=60.0)) == [0, 1, 2]
    assert term.getvalue() == ""
