"""edge_runtime: TensorFlow-free inference on a device bundle (numpy, an image library, a runtime).

This package never imports tensorflow or keras, directly or lazily; a test proves it in a fresh
interpreter. It depends only on ``edgetk``'s small shared helpers.
"""

from edge_runtime.manifest import Manifest, load_manifest

__all__ = ["Manifest", "load_manifest"]
