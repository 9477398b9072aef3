"""Build three image-folder datasets that are not Fashion-MNIST, for tests and benchmarks.

    .venv/bin/python scripts/make_own_datasets.py OUT_DIR [--scale 1.0] [--seed 0]

Writes OUT_DIR/glyphs_grey, OUT_DIR/shapes_rgb_mixed and OUT_DIR/signs_small (one subfolder per
class). Everything is drawn procedurally with position, scale, rotation, stroke and contrast
jitter plus noise and clutter, so the classes are learnable but not trivial:

- glyphs_grey: 40x40 grey PNGs (native size not 28), 6 classes of dark glyphs on light paper,
  including arrows pointing left and right (a horizontal flip turns one class into another).
- shapes_rgb_mixed: RGB photos-like crops of 5 shape classes on textured, coloured backgrounds,
  sizes 40..160 px per side with aspect ratios 0.55..1.8, saved as PNG, JPEG, BMP and WebP.
- signs_small: 48x32 (non-square) grey signs, 4 classes with 45 images each (< 60 per class).

Datasets are never committed; this script is the recipe. ``--scale`` multiplies image counts.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def _jitter(rng: np.random.Generator, w: int, h: int, scale: tuple[float, float], turn: float = 20):
    """A random centre, radius and rotation (up to +-``turn`` degrees) in a w x h picture."""
    r = rng.uniform(*scale) * min(w, h) / 2
    cx = rng.uniform(r * 0.9, w - r * 0.9)
    cy = rng.uniform(r * 0.9, h - r * 0.9)
    return cx, cy, r, rng.uniform(-turn, turn)


def _rot(points, cx, cy, deg):
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return [(cx + (x - cx) * c - (y - cy) * s, cy + (x - cx) * s + (y - cy) * c) for x, y in points]


def _glyph(draw: ImageDraw.ImageDraw, kind: str, cx, cy, r, deg, ink, width: int) -> None:
    if kind == "ring":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=ink, width=width)
    elif kind == "square":
        pts = _rot(
            [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)], cx, cy, deg
        )
        draw.polygon(pts, outline=ink, width=width)
    elif kind == "triangle":
        pts = _rot([(cx, cy - r), (cx + r, cy + r * 0.8), (cx - r, cy + r * 0.8)], cx, cy, deg)
        draw.polygon(pts, outline=ink, width=width)
    elif kind == "cross":
        for pts in ([(cx - r, cy), (cx + r, cy)], [(cx, cy - r), (cx, cy + r)]):
            draw.line(_rot(pts, cx, cy, deg), fill=ink, width=width)
    elif kind in ("arrow_left", "arrow_right"):
        d = -1 if kind == "arrow_left" else 1
        shaft = [(cx - d * r, cy), (cx + d * r, cy)]
        head1 = [(cx + d * r, cy), (cx + d * r * 0.3, cy - r * 0.6)]
        head2 = [(cx + d * r, cy), (cx + d * r * 0.3, cy + r * 0.6)]
        for pts in (shaft, head1, head2):
            draw.line(_rot(pts, cx, cy, deg), fill=ink, width=width)
    elif kind == "bar_t":  # a T
        for pts in ([(cx - r, cy - r), (cx + r, cy - r)], [(cx, cy - r), (cx, cy + r)]):
            draw.line(_rot(pts, cx, cy, deg), fill=ink, width=width)
    elif kind == "bar_l":  # an L
        for pts in (
            [(cx - r * 0.6, cy - r), (cx - r * 0.6, cy + r)],
            [(cx - r * 0.6, cy + r), (cx + r, cy + r)],
        ):
            draw.line(_rot(pts, cx, cy, deg), fill=ink, width=width)
    elif kind == "disc":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=ink)
    elif kind == "diamond":
        pts = _rot([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], cx, cy, deg)
        draw.polygon(pts, fill=ink)
    elif kind == "bars":
        for k in (-1, 0, 1):
            pts = [(cx - r, cy + k * r * 0.6), (cx + r, cy + k * r * 0.6)]
            draw.line(_rot(pts, cx, cy, deg), fill=ink, width=width)
    else:
        raise ValueError(kind)


def _grey_picture(
    rng,
    kind: str,
    w: int,
    h: int,
    noise: float,
    stroke: tuple[int, int] = (2, 4),
    clutter: int = 3,
    scale: tuple[float, float] = (0.45, 0.8),
    turn: float = 20,
) -> Image.Image:
    paper = int(rng.integers(170, 250))
    img = Image.new("L", (w, h), paper)
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(0, clutter))):  # clutter: faint random strokes
        x0, y0, x1, y1 = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0, h)
        draw.line([(x0, y0), (x1, y1)], fill=int(paper - rng.integers(30, 70)), width=1)
    cx, cy, r, deg = _jitter(rng, w, h, scale, turn)
    ink = int(rng.integers(10, max(11, paper - 90)))
    _glyph(draw, kind, cx, cy, r, deg, ink, int(rng.integers(*stroke)))
    a = np.asarray(img.filter(ImageFilter.GaussianBlur(rng.uniform(0, 0.8))), np.float32)
    a += rng.normal(0, noise, a.shape)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def _rgb_picture(rng, kind: str, w: int, h: int) -> Image.Image:
    base = rng.integers(60, 230, 3)
    a = np.empty((h, w, 3), np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    fx, fy = rng.uniform(0.02, 0.15, 2)
    texture = 25 * np.sin(xx * fx + rng.uniform(0, 6)) * np.cos(yy * fy + rng.uniform(0, 6))
    a[...] = base + texture[..., None]
    img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    cx, cy, r, deg = _jitter(rng, w, h, (0.4, 0.8))
    # Ink contrasts with the background but its hue is random: shape, not colour, is the class.
    ink = tuple(int(v) for v in np.clip(255 - base + rng.integers(-40, 40, 3), 0, 255))
    _glyph(draw, kind, cx, cy, r, deg, ink, max(2, int(min(w, h) / 18)))
    out = np.asarray(img, np.float32) + rng.normal(0, 10, (h, w, 3))
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))


def make_glyphs_grey(out: Path, rng, per_class: int) -> None:
    for kind in ("arrow_left", "arrow_right", "cross", "ring", "square", "triangle"):
        d = out / kind
        d.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            _grey_picture(rng, kind, 40, 40, noise=14).save(d / f"{kind}_{i:04d}.png")


def make_shapes_rgb_mixed(out: Path, rng, per_class: int) -> None:
    formats = (("png", {}), ("jpg", {"quality": 90}), ("bmp", {}), ("webp", {"quality": 90}))
    for kind in ("bars", "diamond", "disc", "ring", "triangle"):
        d = out / kind
        d.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            side = int(rng.integers(40, 120))
            aspect = float(rng.uniform(0.55, 1.8))  # width / height
            w, h = int(round(side * math.sqrt(aspect))), int(round(side / math.sqrt(aspect)))
            ext, kw = formats[i % len(formats)]
            _rgb_picture(rng, kind, w, h).save(d / f"{kind}_{i:04d}.{ext}", **kw)


def make_signs_small(out: Path, rng, per_class: int) -> None:
    for kind in ("bar_l", "bar_t", "cross", "ring"):
        d = out / kind
        d.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            _grey_picture(
                rng, kind, 32, 48, noise=10, stroke=(3, 5), clutter=2, scale=(0.6, 0.85), turn=10
            ).save(d / f"{kind}_{i:03d}.png")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply the image counts")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    n = lambda k: max(3, int(round(k * args.scale)))  # noqa: E731
    make_glyphs_grey(args.out / "glyphs_grey", rng, n(120))
    make_shapes_rgb_mixed(args.out / "shapes_rgb_mixed", rng, n(110))
    make_signs_small(args.out / "signs_small", rng, min(59, n(45)))
    print(f"wrote 3 datasets under {args.out}")


if __name__ == "__main__":
    main()
