"""edge_runtime: TensorFlow-free inference on a device bundle (numpy, an image library, a runtime).

This package never imports tensorflow or keras, directly or lazily; a test proves it in a fresh
interpreter. It depends only on ``edgetk``'s small shared helpers. Public API::

    from edge_runtime import Predictor
    from edge_runtime.preprocess import decode_image_bytes

    predictor = Predictor.from_bundle("runs/bundles/full", artifact=None, threads=None)
    [pred] = predictor.predict([decode_image_bytes(data, max_pixels=4_000_000)])
    pred.label, pred.probability, pred.top_k, pred.latency_ms
"""

from edge_runtime.errors import CameraError, ImageDecodeError
from edge_runtime.manifest import Manifest, load_manifest
from edge_runtime.prediction import Prediction
from edge_runtime.predictor import Predictor

__all__ = [
    "CameraError",
    "ImageDecodeError",
    "Manifest",
    "Prediction",
    "Predictor",
    "load_manifest",
]
