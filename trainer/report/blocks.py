"""A report is a list of blocks, rendered to Markdown and to self-contained HTML.

The content is built once as blocks and written as Markdown; the HTML is that Markdown rendered
by markdown-it-py (a kept CommonMark renderer, not ours), with every image embedded as a data URI
so the file can be mailed or archived on its own.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    text: str  # may hold **bold** and `code`


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""


@dataclass(frozen=True)
class Figure:
    path: Path  # absolute, or relative to the run directory
    caption: str
    width: int = 720


@dataclass(frozen=True)
class FileLinks:
    """Bullets that link files of the run (paths absolute, or relative to the run directory):
    each item is its text and its ``(label, path)`` links, rendered relative to the report."""

    items: tuple[tuple[str, tuple[tuple[str, Path], ...]], ...]


@dataclass
class Report:
    title: str
    blocks: list = field(default_factory=list)

    def add(self, *blocks) -> None:
        self.blocks.extend(b for b in blocks if b is not None)


def _md_inline(text: str) -> str:
    return text.replace("\n", " ")


def render_markdown(
    report: Report,
    out_dir: Path,
    run_dir: Path,
    image_src: Callable[[Figure, Path], str] | None = None,
) -> str:
    """Markdown with figures linked relative to ``out_dir`` (the report folder); ``image_src``
    (figure, its absolute path) -> the image reference, to embed images instead."""
    import os

    lines = [f"# {report.title}", ""]
    for b in report.blocks:
        if isinstance(b, Heading):
            lines += ["#" * b.level + " " + b.text, ""]
        elif isinstance(b, Para):
            lines += [_md_inline(b.text), ""]
        elif isinstance(b, Bullets):
            lines += [f"- {_md_inline(i)}" for i in b.items] + [""]
        elif isinstance(b, Table):
            if b.caption:
                lines += [f"*{b.caption}*", ""]
            lines.append("| " + " | ".join(b.header) + " |")
            lines.append("|" + "|".join("---" for _ in b.header) + "|")
            lines += [
                "| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in b.rows
            ]
            lines.append("")
        elif isinstance(b, FileLinks):
            for text, links in b.items:
                refs = ", ".join(
                    f"[{label}]({os.path.relpath(p if p.is_absolute() else run_dir / p, out_dir)})"
                    for label, p in links
                )
                lines.append(f"- {_md_inline(text)}" + (f": {refs}" if refs else ""))
            lines.append("")
        elif isinstance(b, Figure):
            target = b.path if b.path.is_absolute() else run_dir / b.path
            src = image_src(b, target) if image_src else os.path.relpath(target, out_dir)
            lines += [f"![{b.caption}]({src})", "", f"*{b.caption}*", ""]
    return "\n".join(lines).rstrip() + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;line-height:1.5;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.2rem;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}th{background:#f3f3f3}
img{max-width:100%}
code{background:#f3f3f3;padding:0 .2rem}
"""


def _compact_png(path: Path, max_width: int) -> bytes:
    """The figure re-encoded with an adaptive 64-colour palette (matplotlib figures and grey
    samples keep their look) so the self-contained HTML stays small; only figures wider than 3x
    their display width are scaled down (resampling adds colours and costs more than it saves)."""
    import io

    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        if im.width > 3 * max_width:
            w = 3 * max_width
            im = im.resize((w, round(im.height * w / im.width)), Image.Resampling.LANCZOS)
        im = im.quantize(colors=64, method=Image.Quantize.MEDIANCUT)
        buf = io.BytesIO()
        im.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def render_html(report: Report, run_dir: Path, out_dir: Path | None = None) -> str:
    """One self-contained HTML file: the Markdown rendered by markdown-it-py (CommonMark + tables,
    raw HTML escaped), inline CSS, every image a base64 data URI, no external links. Links to
    other run files (``FileLinks``) are relative to ``out_dir``, where the HTML is written
    (default: the run directory)."""
    from markdown_it import MarkdownIt

    def embedded(fig: Figure, path: Path) -> str:
        data = base64.b64encode(_compact_png(path, fig.width)).decode("ascii")
        return f"data:image/png;base64,{data}"

    text = render_markdown(report, out_dir or run_dir, run_dir, image_src=embedded)
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(text)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f"<title>{html.escape(report.title)}</title><style>{_CSS}</style></head><body>\n"
        f"{body}</body></html>\n"
    )
