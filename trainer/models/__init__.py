"""Model builders: the baseline CNN and transfer models with a nested, freezable backbone."""

from trainer.models.augment import AugmentConfig, build_augmentation, find_augmentation
from trainer.models.backbones import BACKBONES, BackboneSpec, get_backbone_spec
from trainer.models.baseline import build_baseline
from trainer.models.freezing import freeze_all_batchnorm, unfreeze_top
from trainer.models.resnet import build_resnet, resnet_params
from trainer.models.transfer import BACKBONE_LAYER, build_transfer, find_backbone
from trainer.models.weights import IMAGENET, NO_WEIGHTS

__all__ = [
    "BACKBONES",
    "BACKBONE_LAYER",
    "IMAGENET",
    "NO_WEIGHTS",
    "AugmentConfig",
    "BackboneSpec",
    "build_augmentation",
    "build_baseline",
    "build_resnet",
    "build_transfer",
    "find_augmentation",
    "find_backbone",
    "freeze_all_batchnorm",
    "get_backbone_spec",
    "resnet_params",
    "unfreeze_top",
]
