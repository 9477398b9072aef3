"""Polarity: is the picture light-on-dark (Fashion-MNIST) or dark-on-light (a photo of a garment)?

A model trained on light garments on a black background sees a photo of a dark shirt on a white
table as its negative. ``auto`` looks at the picture: when the border (the background, usually) is
brighter than the centre (the object, usually) the picture is dark-on-light. It is inverted when that
disagrees with the polarity the manifest says the model was trained on.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from edgetk.errors import ConfigError

PolarityChoice = Literal["auto", "as-is", "invert"]
POLARITY_CHOICES: tuple[str, ...] = ("auto", "as-is", "invert")

# Sample at most this many pixels per side when judging polarity: a 1080p frame needs no more.
_MAX_SAMPLE_SIDE = 64


def check_polarity_choice(choice: str) -> PolarityChoice:
    """Return ``choice`` if it is one of auto / as-is / invert, else raise ConfigError."""
    if choice not in POLARITY_CHOICES:
        raise ConfigError(
            f"polarity={choice!r} is not allowed; choose one of {list(POLARITY_CHOICES)}"
        )
    return choice  # type: ignore[return-value]


def border_and_centre_means(grey: np.ndarray) -> tuple[float, float]:
    """Mean brightness of the outer ring (1/8 of each side) and of the central half of ``grey``."""
    h, w = grey.shape[:2]
    step = max(1, max(h, w) // _MAX_SAMPLE_SIDE)
    g = grey[::step, ::step] if step > 1 else grey
    h, w = g.shape[:2]
    bh, bw = max(1, h // 8), max(1, w // 8)
    # Integer sums (ring = whole - inside) keep this cheap on every camera frame.
    total = int(g.sum(dtype=np.int64))
    inside = g[bh : h - bh, bw : w - bw]
    ring_n = h * w - inside.size
    ring = (total - int(inside.sum(dtype=np.int64))) / ring_n if ring_n else total / (h * w)
    centre = g[h // 4 : h - h // 4 or h, w // 4 : w - w // 4 or w]
    return float(ring), float(centre.sum(dtype=np.int64)) / centre.size


def looks_dark_on_light(grey: np.ndarray) -> bool:
    """True when the border of ``grey`` (HxW uint8) is brighter than its centre."""
    border, centre = border_and_centre_means(grey)
    return border > centre


def should_invert(grey: np.ndarray, trained: str, choice: PolarityChoice) -> bool:
    """Whether to invert the picture for a model trained on ``trained`` polarity (manifest)."""
    if choice == "invert":
        return True
    if choice == "as-is" or trained == "natural":
        return False
    dark_on_light = looks_dark_on_light(grey)
    return dark_on_light if trained == "light_on_dark" else not dark_on_light


__all__ = [
    "POLARITY_CHOICES",
    "PolarityChoice",
    "border_and_centre_means",
    "check_polarity_choice",
    "looks_dark_on_light",
    "should_invert",
]
