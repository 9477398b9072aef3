"""The technical report of a run: Markdown and self-contained HTML, every number from run files."""

from trainer.report.build import build_report, write_report

__all__ = ["build_report", "write_report"]
