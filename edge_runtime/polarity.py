"""Polarity: is the picture light-on-dark (Fashion-MNIST) or dark-on-light (a photo of a garment)?

Two words, kept apart on purpose (docs/cli.md): the *image polarity* (``IMAGE_POLARITIES``) says
what the training pictures look like and is recorded in the manifest; the *invert* choice
(``INVERT_CHOICES``) says what the device does about a picture of the other polarity.

A model trained on light garments on a black background sees a photo of a dark shirt on a white
table as its negative. ``auto`` looks at the picture: when the border (the background, usually) is
brighter than the centre (the object, usually) the picture is dark-on-light. It is inverted when that
disagrees with the polarity the manifest says the model was trained on. ``never`` and ``always``
do not look.
"""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np

from edge_runtime.common.configbase import check_choice

# What the training pictures look like (``--image-polarity``, the manifest's ``input.polarity``).
IMAGE_POLARITIES: tuple[str, ...] = ("light_on_dark", "dark_on_light", "natural")

# What the device does about inversion (``--invert``, ``?invert=``).
InvertChoice = Literal["auto", "never", "always"]
INVERT_CHOICES: tuple[str, ...] = ("auto", "never", "always")
# The earlier spellings (``--polarity auto|as-is|invert``), still accepted for now.
LEGACY_INVERT_CHOICES: dict[str, str] = {"as-is": "never", "invert": "always"}
# What a caller may pass: a choice, or an earlier spelling of one.
PolarityChoice = Literal["auto", "never", "always", "as-is", "invert"]

# Sample at most this many pixels per side when judging polarity: a 1080p frame needs no more.
_MAX_SAMPLE_SIDE = 64


def check_invert_choice(choice: str, label: str = "invert=") -> InvertChoice:
    """``choice`` as one of auto / never / always (an earlier spelling, as-is or invert, is
    translated), else raise ConfigError naming the allowed ones (``label`` leads the message)."""
    choice = LEGACY_INVERT_CHOICES.get(choice, choice)
    check_choice(label, choice, INVERT_CHOICES)
    return choice  # type: ignore[return-value]


@functools.lru_cache(maxsize=32)
def _sample_index(h: int, w: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Flat indices of the outer ring (1/8 of each side) then of the central half of an HxW
    picture, the start of each group, and the group sizes."""
    bh, bw = max(1, h // 8), max(1, w // 8)
    ring = np.ones((h, w), bool)
    if h > 2 * bh and w > 2 * bw:
        ring[bh : h - bh, bw : w - bw] = False
    centre = np.zeros((h, w), bool)
    centre[h // 4 : h - h // 4 or h, w // 4 : w - w // 4 or w] = True
    index = np.concatenate([np.flatnonzero(ring), np.flatnonzero(centre)])
    starts = np.array([0, int(ring.sum())], dtype=np.intp)
    index.setflags(write=False)
    starts.setflags(write=False)
    return index, starts, int(ring.sum()), int(centre.sum())


def _sums(grey: np.ndarray) -> tuple[int, int, int, int]:
    h, w = grey.shape[:2]
    step = max(1, max(h, w) // _MAX_SAMPLE_SIDE)
    g = grey[::step, ::step] if step > 1 else grey
    index, starts, ring_n, centre_n = _sample_index(*g.shape[:2])
    # Integer sums: exact, so every platform makes the same decision.
    ring_sum, centre_sum = np.add.reduceat(g.reshape(-1).take(index), starts, dtype=np.int64)
    return int(ring_sum), ring_n, int(centre_sum), centre_n


def border_and_centre_means(grey: np.ndarray) -> tuple[float, float]:
    """Mean brightness of the outer ring (1/8 of each side) and of the central half of ``grey``."""
    ring_sum, ring_n, centre_sum, centre_n = _sums(grey)
    return ring_sum / ring_n, centre_sum / centre_n


def looks_dark_on_light(grey: np.ndarray) -> bool:
    """True when the border of ``grey`` (HxW uint8) is brighter than its centre."""
    ring_sum, ring_n, centre_sum, centre_n = _sums(grey)
    return ring_sum * centre_n > centre_sum * ring_n  # integers: no float ties between platforms


def should_invert(grey: np.ndarray, trained: str, choice: PolarityChoice) -> bool:
    """Whether to invert the picture for a model trained on ``trained`` polarity (manifest)."""
    choice = LEGACY_INVERT_CHOICES.get(choice, choice)  # type: ignore[assignment]
    if choice == "always":
        return True
    if choice == "never" or trained == "natural":
        return False
    dark_on_light = looks_dark_on_light(grey)
    return dark_on_light if trained == "light_on_dark" else not dark_on_light


__all__ = [
    "IMAGE_POLARITIES",
    "INVERT_CHOICES",
    "LEGACY_INVERT_CHOICES",
    "InvertChoice",
    "PolarityChoice",
    "border_and_centre_means",
    "check_invert_choice",
    "looks_dark_on_light",
    "should_invert",
]
