"""edge_runtime: TensorFlow-free inference on a device bundle (numpy, an image library, a runtime).

This package never imports tensorflow or keras, directly or lazily; a test proves it in a fresh
interpreter. It is the bottom layer: ``edge_runtime.common`` holds the foundation every other
layer imports (errors, atomic writes, configs, versions). Public API (resolved lazily, so that
importing the foundation does not pay for numpy and the predictor)::

    from edge_runtime import Predictor
    from edge_runtime.preprocess import decode_image_bytes

    predictor = Predictor.from_bundle("runs/bundles/full", artifact=None, threads=None)
    [pred] = predictor.predict([decode_image_bytes(data, max_pixels=4_000_000)])
    pred.label, pred.probability, pred.top_k, pred.latency_ms
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "CameraError": "edge_runtime.errors",
    "ImageDecodeError": "edge_runtime.errors",
    "Manifest": "edge_runtime.manifest",
    "load_manifest": "edge_runtime.manifest",
    "Prediction": "edge_runtime.prediction",
    "Predictor": "edge_runtime.predictor",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'edge_runtime' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
