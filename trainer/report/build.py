"""``edgetk report RUN_DIR``: report.md and a self-contained report.html from a run's files."""

from __future__ import annotations

from pathlib import Path

from edge_runtime.common.errors import ConfigError
from edge_runtime.common.fileio import write_text
from trainer.report.blocks import Report, render_html, render_markdown
from trainer.report.run_files import RunFiles
from trainer.report.sections import SECTIONS


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


def _linked_copy(run: Path, path: Path) -> bytes:
    """A linked file's bytes for a published report (a PNG compacted like the figures)."""
    from trainer.report.blocks import _compact_png

    src = path if path.is_absolute() else run / path
    return _compact_png(src, 720) if src.suffix.lower() == ".png" else src.read_bytes()


def write_report(
    run_dir: str | Path, out_dir: str | Path | None = None, *, copy_figures: bool = False, **kwargs
) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` (atomically) into ``out_dir`` (default RUN_DIR/report).

    ``copy_figures``: put compact copies of the figures, and of the other candidates' linked
    evaluation files, in ``out_dir/figures/`` and point the Markdown and the HTML at those, so the
    folder stands on its own (to publish or archive a report).
    """
    import dataclasses

    from edge_runtime.common.fileio import write_bytes
    from trainer.report.blocks import Figure, FileLinks, _compact_png

    run = Path(run_dir)
    out = Path(out_dir) if out_dir else run / "report"
    out.mkdir(parents=True, exist_ok=True)
    report = build_report(run, **kwargs)

    def copied(src: Path, data: bytes) -> Path:
        src = src if src.is_absolute() else run / src
        rel = (
            src.resolve().relative_to(run.resolve())
            if src.resolve().is_relative_to(run.resolve())
            else Path(src.name)
        )
        return write_bytes(out / "figures" / "_".join(rel.parts), data).resolve()

    if copy_figures:
        for i, b in enumerate(report.blocks):
            if isinstance(b, Figure):
                src = b.path if b.path.is_absolute() else run / b.path
                report.blocks[i] = dataclasses.replace(
                    b, path=copied(b.path, _compact_png(src, b.width))
                )
            elif isinstance(b, FileLinks):  # the other candidates' figures travel too
                items = tuple(
                    (text, tuple((label, copied(p, _linked_copy(run, p))) for label, p in links))
                    for text, links in b.items
                )
                report.blocks[i] = FileLinks(items)
    # after the copies: with copy_figures, the HTML's links point into the report folder too
    html = write_text(out / "report.html", render_html(report, run, out))
    md = write_text(out / "report.md", render_markdown(report, out, run))
    return md, html
