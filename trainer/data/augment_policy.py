"""Which augmentations the data allows: a stage's AugmentConfig limited to the data's set."""

from __future__ import annotations

from collections.abc import Iterable

from trainer.models.augment import AugmentConfig

# DataConfig's names for AugmentConfig's fields (its strengths stay the stage's).
_FIELDS = {"flip": "flip", "rotate": "rotation", "translate": "translation", "zoom": "zoom"}


def restrict_augment(aug: AugmentConfig, allowed: Iterable[str]) -> AugmentConfig:
    """``aug`` with every transform the data does not allow switched off (nothing switched on)."""
    allowed = set(allowed)
    changes = {
        field: (False if field == "flip" else 0.0)
        for name, field in _FIELDS.items()
        if name not in allowed
    }
    return aug.replace(**changes) if changes else aug


def describe_augment(aug: AugmentConfig) -> str:
    """Human words for what a stage really applied ("horizontal flips, rotation +-11 deg", ...)."""
    parts = []
    if aug.flip:
        parts.append("random horizontal flips")
    if aug.rotation > 0:
        parts.append(f"rotations up to {aug.rotation * 360:.0f} degrees")
    if aug.translation > 0:
        parts.append(f"shifts up to {aug.translation * 100:.0f} % of the size")
    if aug.zoom > 0:
        parts.append(f"zoom up to {aug.zoom * 100:.0f} %")
    return ", ".join(parts) if parts else "none"


__all__ = ["describe_augment", "restrict_augment"]
