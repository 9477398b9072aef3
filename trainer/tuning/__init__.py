"""Hyperparameter search with KerasTuner over cached backbone features.

Public API (the heavy modules load on first use, so importing this package imports no TensorFlow)::

    from trainer.tuning import TuneConfig, run_search
    result = run_search(TuneConfig.quick(), "runs/fashion_mnist")
    result.best            # HeadHyperparameters
    result.paths.best      # best_hyperparameters.json: stage-config overrides for `edgetk train`
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trainer.tuning.budget import Budget
from trainer.tuning.config import Algorithm, TuneConfig
from trainer.tuning.features import BackboneConfig, FeatureSet
from trainer.tuning.hyperparameters import (
    HeadHyperparameters,
    apply_overrides,
    load_overrides,
    save_best,
)
from trainer.tuning.metric import OBJECTIVE, macro_f1, macro_f1_callback
from trainer.tuning.paths import TunePaths
from trainer.tuning.space import SearchSpace

if TYPE_CHECKING:
    from trainer.tuning.search import TuneResult, prepare_features, run_search

_LAZY = {
    "run_search": "trainer.tuning.search",
    "prepare_features": "trainer.tuning.search",
    "TuneResult": "trainer.tuning.search",
    "compare_best_with_default": "trainer.tuning.compare",
    "cached_features": "trainer.tuning.features",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'trainer.tuning' has no attribute {name!r}")


__all__ = [
    "OBJECTIVE",
    "Algorithm",
    "BackboneConfig",
    "Budget",
    "FeatureSet",
    "HeadHyperparameters",
    "SearchSpace",
    "TuneConfig",
    "TunePaths",
    "TuneResult",
    "apply_overrides",
    "cached_features",
    "compare_best_with_default",
    "load_overrides",
    "macro_f1",
    "macro_f1_callback",
    "prepare_features",
    "run_search",
    "save_best",
]
