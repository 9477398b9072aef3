"""The REST service: ``edgetk serve BUNDLE`` (FastAPI on uvicorn; the ``serve`` extra).

Uses ``edge_runtime`` only, never TensorFlow. Library use::

    from edge_runtime.server import ServeConfig, create_app, serve

    app = create_app(ServeConfig(bundle="runs/bundles/full"))   # hand to any ASGI server
    serve(ServeConfig(bundle="runs/bundles/full", port=0))      # or run it: binds, prints the URL
"""

from edge_runtime.server.app import create_app
from edge_runtime.server.errors import ApiError
from edge_runtime.server.metrics import ServiceMetrics
from edge_runtime.server.pool import InferencePool
from edge_runtime.server.runner import serve
from edge_runtime.server.settings import ServeConfig

__all__ = ["ApiError", "InferencePool", "ServeConfig", "ServiceMetrics", "create_app", "serve"]
