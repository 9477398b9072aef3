"""``edgetk report RUN_DIR``: report.md and a self-contained report.html from a run's files."""

from __future__ import annotations

from pathlib import Path

from edgetk.errors import ConfigError
from edgetk.fileio import write_text
from trainer.report.blocks import Report, render_html, render_markdown
from trainer.report.sections import SECTIONS, RunFiles


def build_report(
    run_dir: str | Path,
    bundle_dir: str | Path | None = None,
    extra_bench: tuple[str | Path, ...] = (),
    title: str | None = None,
) -> Report:
    run = Path(run_dir)
    if not run.is_dir():
        raise ConfigError(f"run directory {run} does not exist; pass the folder `edgetk run` wrote")
    for p in extra_bench:
        if not Path(p).is_file():
            raise ConfigError(f"benchmark file {p} does not exist")
    files = RunFiles(
        run, Path(bundle_dir) if bundle_dir else None, tuple(Path(p) for p in extra_bench)
    )
    name = (files.eda or {}).get("dataset", {}).get("name", run.name)
    report = Report(title or f"edgetk technical report: {name}")
    for section in SECTIONS:
        section(report, files)
    return report


def write_report(
    run_dir: str | Path, out_dir: str | Path | None = None, **kwargs
) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` (atomically) into ``out_dir`` (default RUN_DIR/report)."""
    run = Path(run_dir)
    out = Path(out_dir) if out_dir else run / "report"
    out.mkdir(parents=True, exist_ok=True)
    report = build_report(run, **kwargs)
    md = write_text(out / "report.md", render_markdown(report, out, run))
    html = write_text(out / "report.html", render_html(report, run))
    return md, html
