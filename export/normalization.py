"""Input normalization: how a model wants its pixels, stated or read from the model, never guessed.

Models trained by edgetk take raw 0..255 pixels (their scaling is a layer of the graph). A model
brought from outside may want 0..1, -1..1 or per-channel mean/std values instead: the user says so
with ``--input-normalization``, or the model shows it (a leading ``Rescaling`` or adapted
``Normalization`` layer means it takes raw pixels), or the export stops and asks. The choice is
part of the input contract (``InputSpec.value_range`` / ``mean`` / ``std``): the manifest, the
metadata embedded in every artifact, the gate's arrays and the device's pixel table all read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edge_runtime.common.errors import ConfigError
from edge_runtime.manifest import InputSpec

OPTION = "--input-normalization"
# The spellings of the option, and what each means for the input contract.
RANGES: dict[str, tuple[float, float]] = {
    "0..255": (0.0, 255.0),
    "0..1": (0.0, 1.0),
    "-1..1": (-1.0, 1.0),
}
RECORDED = "recorded by the training run"
SPELLINGS = "0..255, 0..1, -1..1 or mean=M[,M,M]/std=S[,S,S] (pixel units 0..255)"

# Layers that pass pixel values through unchanged (geometry, augmentation that is off at
# inference): the inspection looks past them for the first layer that changes values.
_PASSTHROUGH = {
    "InputLayer",
    "Resizing",
    "Reshape",
    "ZeroPadding2D",
    "CenterCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "RandomCrop",
    "RandomContrast",
    "RandomBrightness",
    "Identity",
    "Concatenate",  # grey-to-RGB as [x, x, x]
    "Cropping2D",
    "Permute",
    "Flatten",
    "Activation",  # a linear activation is the only one that leads a model in practice
}


@dataclass(frozen=True)
class Normalization:
    """What the model takes: a value range, or per-channel mean/std in pixel units."""

    value_range: tuple[float, float] = (0.0, 255.0)
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    origin: str = ""  # where the choice came from, for the export's summary line

    @classmethod
    def parse(cls, text: str, origin: str = OPTION) -> Normalization:
        """``0..255`` / ``0..1`` / ``-1..1`` / ``mean=M,M,M/std=S,S,S``; ConfigError otherwise."""
        t = text.strip().replace(" ", "")
        if t in RANGES:
            return cls(RANGES[t], origin=origin)
        parts = dict(p.split("=", 1) for p in t.split("/") if "=" in p)
        if set(parts) == {"mean", "std"} and t.count("/") == 1:
            try:
                mean = tuple(float(v) for v in parts["mean"].split(","))
                std = tuple(float(v) for v in parts["std"].split(","))
            except ValueError:
                mean = std = ()
            if mean and std and len(mean) == len(std) and all(s > 0 for s in std):
                return cls(mean=mean, std=std, origin=origin)
        raise ConfigError(f"{OPTION} {text!r} is not one of {SPELLINGS}")

    def apply(self, spec: InputSpec) -> InputSpec:
        """``spec`` with this normalization (a one-value mean/std is repeated per channel)."""
        if not self.mean:
            return spec.replace(value_range=self.value_range, mean=(), std=())
        c = spec.channels
        mean = self.mean * c if len(self.mean) == 1 else self.mean
        std = self.std * c if len(self.std) == 1 else self.std
        if len(mean) != c or len(std) != c:
            raise ConfigError(
                f"{OPTION} gives {len(self.mean)} mean/std values but the model takes {c} "
                "channel(s); give one value, or one per channel"
            )
        lo = min((0.0 - m) / s for m, s in zip(mean, std))
        hi = max((255.0 - m) / s for m, s in zip(mean, std))
        return spec.replace(value_range=(lo, hi), mean=tuple(mean), std=tuple(std))

    def describe(self) -> str:
        if self.mean:
            return f"mean={','.join(f'{m:g}' for m in self.mean)}/std={','.join(f'{s:g}' for s in self.std)}"
        lo, hi = self.value_range
        return f"{lo:g}..{hi:g}"


def is_identity(spec: InputSpec) -> bool:
    """True when the model takes raw 0..255 pixels (no array needs converting)."""
    return not spec.mean and tuple(spec.value_range) == (0.0, 255.0)


def normalize_pixels(x: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Raw pixels (0..255, NHWC or NCHW as ``spec.layout``) -> the values the model takes, the
    same arithmetic as the device's pixel table (``edge_runtime.preprocess.pixel_values``)."""
    if is_identity(spec):
        return x
    mean, std = (np.asarray(v, np.float32) for v in spec.normalization())
    if spec.layout == "NCHW":
        mean, std = mean[:, None, None], std[:, None, None]
    if not spec.mean:
        lo, hi = spec.value_range
        return np.asarray(x, np.float32) * np.float32((hi - lo) / 255.0) + np.float32(lo)
    return (np.asarray(x, np.float32) - mean) / std


def _leading_layer(model: Any) -> Any | None:
    """The first layer of ``model`` that changes pixel values (looking into nested models)."""
    for layer in getattr(model, "layers", []):
        kind = type(layer).__name__
        if kind in _PASSTHROUGH:
            if kind == "Activation" and getattr(layer, "activation", None).__name__ != "linear":
                return layer
            continue
        if hasattr(layer, "layers") and getattr(layer, "layers", None):
            return _leading_layer(layer)
        return layer
    return None


def infer_normalization(model: Any) -> Normalization | None:
    """What the Keras ``model`` shows about its input scale, or None when it cannot tell.

    A leading ``Rescaling`` layer scales raw pixels itself (1/255, 1/127.5 - 1, a backbone's
    ``preprocess_input``): the model takes 0..255. A leading ``Normalization`` layer adapted on
    raw pixels (means above 1.5) does too. Anything else (a convolution first, a Normalization
    adapted on values of 0..1) is undecidable: the caller must ask the user."""
    layer = _leading_layer(model)
    kind = type(layer).__name__ if layer is not None else ""
    if kind == "Rescaling":
        return Normalization(origin=f"the model's leading Rescaling layer {layer.name!r}")
    if kind == "Normalization":
        try:
            mean = np.asarray(layer.mean, np.float64)
        except Exception:  # not adapted / no statistics: nothing to read
            return None
        if mean.size and float(np.max(mean)) > 1.5:
            return Normalization(
                origin=f"the model's leading Normalization layer {layer.name!r} (adapted on 0..255)"
            )
    return None


def resolve_normalization(
    option: str | None, recorded: dict[str, Any] | None, model_loader: Any
) -> Normalization:
    """The normalization of an export: ``--input-normalization``, else the training run's
    recorded contract, else what the model shows; ConfigError naming the option otherwise.

    ``model_loader`` is called (once, only when needed) to get the Keras model to inspect."""
    if option is not None:
        return Normalization.parse(option)
    if recorded is not None:
        if recorded.get("mean"):
            return Normalization(
                mean=tuple(recorded["mean"]), std=tuple(recorded["std"]), origin=RECORDED
            )
        return Normalization(tuple(recorded.get("value_range") or (0.0, 255.0)), origin=RECORDED)
    found = infer_normalization(model_loader())
    if found is None:
        raise ConfigError(
            "cannot tell what pixel values the model takes (no leading Rescaling or "
            f"Normalization layer); state it with {OPTION} {SPELLINGS}"
        )
    return found


__all__ = [
    "OPTION",
    "RANGES",
    "RECORDED",
    "SPELLINGS",
    "Normalization",
    "infer_normalization",
    "is_identity",
    "normalize_pixels",
    "resolve_normalization",
]
