"""Where a backbone's weights come from: ImageNet (through the Keras cache), none, or a file."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from edge_runtime.common.errors import ModelError
from trainer.models.backbones import BackboneSpec

log = logging.getLogger(__name__)

IMAGENET = "imagenet"
NO_WEIGHTS = "none"


def _how_to_provide(spec: BackboneSpec, alpha: float | None, cache: Path) -> str:
    return (
        f"run once with internet access so Keras downloads {spec.weight_file(alpha)} into "
        f"{cache}, or set KERAS_HOME to a folder whose models/ holds that file, or pass a "
        "weights file with --weights /path/to/file.h5 (or --weights none to train from scratch, "
        "which is not transfer learning)"
    )


def build_backbone_with_weights(spec: BackboneSpec, alpha: float | None, weights: str) -> Any:
    """Build the backbone and load ``weights`` into it, or raise ModelError saying how to fix it.

    Never falls back to a random backbone: a "transfer" model without pretrained weights would be
    mislabelled.
    """
    from trainer import env

    env.prepare()
    cache = env.keras_home() / "models"
    if weights == NO_WEIGHTS:
        return spec.builder(alpha, None)
    if weights == IMAGENET:
        try:
            return spec.builder(alpha, IMAGENET)
        except Exception as exc:  # keras raises plain Exception for failed downloads
            raise ModelError(
                f"cannot load ImageNet weights for {spec.name}"
                f"{f' alpha={alpha}' if alpha is not None else ''} "
                f"({exc.__class__.__name__}: {str(exc)[:200]}); {_how_to_provide(spec, alpha, cache)}"
            ) from None
    path = Path(weights)
    if not path.is_file():
        raise ModelError(
            f"weights file {path} does not exist; pass an existing .h5 / .weights.h5 file, "
            f"'imagenet' or 'none'"
        )
    backbone = spec.builder(alpha, None)
    try:
        backbone.load_weights(str(path))
    except Exception as exc:  # h5py / keras raise many kinds for a wrong file
        raise ModelError(
            f"weights file {path} does not fit {spec.name}"
            f"{f' alpha={alpha}' if alpha is not None else ''} "
            f"({exc.__class__.__name__}: {str(exc)[:200]}); pass the no-top weights of the same "
            "backbone and alpha"
        ) from None
    log.info("loaded backbone weights from %s", path)
    return backbone
