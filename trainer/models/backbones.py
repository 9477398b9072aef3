"""The pretrained backbones the transfer stage can use, as one table.

Each entry says how to build the Keras application, which ``alpha`` values exist, and how raw
pixels (0..255) become what that backbone was trained on: the backbone's own ``preprocess_input``,
expressed as a built-in ``Rescaling`` layer so the graph exports to TFLite / ONNX without custom ops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edge_runtime.common.errors import ConfigError


@dataclass(frozen=True)
class BackboneSpec:
    """How to build one backbone family and feed it raw pixels."""

    name: str
    alphas: tuple[float, ...]  # () when the family has no width multiplier
    default_alpha: float | None
    # (scale, offset) of ``preprocess_input`` on 0..255 input; None: the application rescales
    # internally (EfficientNet, MobileNetV3 with include_preprocessing=True).
    rescale: tuple[float, float] | None
    builder: Callable[..., Any]
    weight_file: Callable[[float | None], str]  # file name Keras looks for in $KERAS_HOME/models


def _application(
    cls_name: str, width: bool = True, **extra: Any
) -> Callable[[float | None, str | None], Any]:
    """A builder ``(alpha, weights) -> model`` of ``keras.applications.<cls_name>`` named
    "backbone", without its top and open to any input size; ``width``: the family takes ``alpha``."""

    def build(alpha: float | None, weights: str | None) -> Any:
        import keras

        kwargs = {"alpha": alpha} if width else {}
        return getattr(keras.applications, cls_name)(
            input_shape=(None, None, 3),
            include_top=False,
            weights=weights,
            **kwargs,
            **extra,
            name="backbone",
        )

    return build


_mobilenet_v2 = _application("MobileNetV2")
_efficientnet_b0 = _application("EfficientNetB0", width=False)
_mobilenet_v3_small = _application("MobileNetV3Small", include_preprocessing=True)


BACKBONES: dict[str, BackboneSpec] = {
    "mobilenet_v2": BackboneSpec(
        name="mobilenet_v2",
        alphas=(0.35, 0.5, 0.75, 1.0, 1.3, 1.4),
        default_alpha=0.35,
        rescale=(1.0 / 127.5, -1.0),  # keras.applications.mobilenet_v2.preprocess_input
        builder=_mobilenet_v2,
        # Built with an open spatial size, Keras asks for the 224 file (see shared/README.md).
        weight_file=lambda a: (
            f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(a)}_224_no_top.h5"
        ),
    ),
    "efficientnet_b0": BackboneSpec(
        name="efficientnet_b0",
        alphas=(),
        default_alpha=None,
        rescale=None,  # EfficientNet's preprocess_input is the identity; it rescales inside
        builder=_efficientnet_b0,
        weight_file=lambda a: "efficientnetb0_notop.h5",
    ),
    "mobilenet_v3_small": BackboneSpec(
        name="mobilenet_v3_small",
        alphas=(0.75, 1.0),
        default_alpha=1.0,
        rescale=None,  # include_preprocessing=True: the Rescaling layer is inside the backbone
        builder=_mobilenet_v3_small,
        weight_file=lambda a: f"weights_mobilenet_v3_small_224_{a}_float_no_top_v2.h5",
    ),
}


def get_backbone_spec(name: str) -> BackboneSpec:
    """The table entry for ``name``, or a ConfigError listing the known backbones."""
    try:
        return BACKBONES[name]
    except KeyError:
        raise ConfigError(
            f"backbone={name!r} is not known; choose one of {sorted(BACKBONES)}"
        ) from None


def check_alpha(spec: BackboneSpec, alpha: float | None) -> float | None:
    """Validate ``alpha`` for ``spec`` (None: the family's default)."""
    if alpha is None:
        return spec.default_alpha
    if not spec.alphas:
        raise ConfigError(f"backbone {spec.name!r} has no alpha (width multiplier); leave it unset")
    if alpha not in spec.alphas:
        raise ConfigError(
            f"alpha={alpha!r} is not available for {spec.name}; choose one of {list(spec.alphas)}"
        )
    return alpha
