"""A report is a list of blocks, rendered to Markdown and to self-contained HTML.

Building the content once and rendering it twice keeps the two formats equal; HTML embeds every
image as a data URI so the file can be mailed or archived on its own.
"""

from __future__ import annotations

import base64
import html
import re
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


@dataclass
class Report:
    title: str
    blocks: list = field(default_factory=list)

    def add(self, *blocks) -> None:
        self.blocks.extend(b for b in blocks if b is not None)


def _md_inline(text: str) -> str:
    return text.replace("\n", " ")


def render_markdown(report: Report, out_dir: Path, run_dir: Path) -> str:
    """Markdown with figures linked relative to ``out_dir`` (the report folder)."""
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
        elif isinstance(b, Figure):
            target = b.path if b.path.is_absolute() else run_dir / b.path
            rel = os.path.relpath(target, out_dir)
            lines += [f"![{b.caption}]({rel})", "", f"*{b.caption}*", ""]
    return "\n".join(lines).rstrip() + "\n"


_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")


def _html_inline(text: str) -> str:
    out = html.escape(text)
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    return _CODE.sub(r"<code>\1</code>", out)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;line-height:1.5;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.2rem;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}th{background:#f3f3f3}
figure{margin:1rem 0}figcaption{font-size:.85rem;color:#555}img{max-width:100%}
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


def render_html(report: Report, run_dir: Path) -> str:
    """One self-contained HTML file: inline CSS, images as base64 data URIs, no external links."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(report.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(report.title)}</h1>",
    ]
    for b in report.blocks:
        if isinstance(b, Heading):
            parts.append(f"<h{b.level}>{html.escape(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            parts.append(f"<p>{_html_inline(b.text)}</p>")
        elif isinstance(b, Bullets):
            parts.append("<ul>" + "".join(f"<li>{_html_inline(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Table):
            cap = f"<caption>{_html_inline(b.caption)}</caption>" if b.caption else ""
            head = "".join(f"<th>{html.escape(str(h))}</th>" for h in b.header)
            body = "".join(
                "<tr>" + "".join(f"<td>{_html_inline(str(c))}</td>" for c in row) + "</tr>"
                for row in b.rows
            )
            parts.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif isinstance(b, Figure):
            target = b.path if b.path.is_absolute() else run_dir / b.path
            data = base64.b64encode(_compact_png(target, b.width)).decode("ascii")
            parts.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(b.caption)}" '
                f'style="max-width:{b.width}px"><figcaption>{_html_inline(b.caption)}</figcaption></figure>'
            )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
