"""The preprocessing contract of a dataset: one input spec for training, the gate and the device.

Size, colour, polarity, resize mode and value range are chosen once per dataset (from the training
images, or by the user) and written as an ``InputSpec`` dict into the run's dataset description
and every registered model's metadata. The exporter copies it into the manifest, so the runtime
turns a file into exactly the array the model was trained and gated on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from edge_runtime.manifest import InputSpec
from edge_runtime.polarity import IMAGE_POLARITIES

log = logging.getLogger(__name__)

RESIZE_MODES: tuple[str, ...] = ("pad", "stretch", "center_crop")
# Pad keeps the whole object and its proportions (nothing cut off, nothing squashed), and the
# runtime already pads camera frames and photos this way; see docs/training.md.
DEFAULT_RESIZE = "pad"
POLARITIES: tuple[str, ...] = IMAGE_POLARITIES  # what the training pictures look like
# A dataset gets a definite polarity only when nearly all of its training pictures share it;
# otherwise inverting on the device would be a guess, so it is "natural" (never invert).
POLARITY_AGREEMENT = 0.95


def detect_polarity(dark_on_light: Iterable[bool]) -> tuple[str, dict[str, float | int]]:
    """The polarity of a set of training pictures, from whether each looks dark-on-light.

    Each flag comes from the runtime's own border-versus-centre test
    (``edge_runtime.polarity.looks_dark_on_light``) on the decoded original, once per picture;
    the dataset gets ``dark_on_light`` or ``light_on_dark`` when at least 95 % agree, otherwise
    ``natural`` (the device never inverts).
    """
    flags = [bool(f) for f in dark_on_light]
    n = len(flags)
    if n == 0:
        return "natural", {"images": 0, "dark_on_light_share": 0.0}
    share = sum(flags) / n
    if share >= POLARITY_AGREEMENT:
        polarity = "dark_on_light"
    elif share <= 1 - POLARITY_AGREEMENT:
        polarity = "light_on_dark"
    else:
        polarity = "natural"
    return polarity, {"images": n, "dark_on_light_share": round(share, 4)}


def make_input_spec(
    height: int, width: int, channels: int, polarity: str, resize: str = DEFAULT_RESIZE
) -> dict:
    """The validated contract as a plain dict (InputSpec's JSON form, raw 0..255 pixels)."""
    spec = InputSpec(
        height=int(height),
        width=int(width),
        channels=int(channels),
        color="grey" if channels == 1 else "rgb",
        value_range=(0.0, 255.0),
        polarity=polarity,  # type: ignore[arg-type]
        resize=resize,  # type: ignore[arg-type]
    )
    return spec.to_dict()


__all__ = [
    "DEFAULT_RESIZE",
    "POLARITIES",
    "POLARITY_AGREEMENT",
    "RESIZE_MODES",
    "detect_polarity",
    "make_input_spec",
]
