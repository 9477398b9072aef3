"""``create_app``: the FastAPI application for one bundle, ready to hand to uvicorn."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from edge_runtime.common.versions import edgetk_version
from edge_runtime.server.errors import install_error_handlers
from edge_runtime.server.hosts import HostCheckMiddleware
from edge_runtime.server.metrics import ServiceMetrics
from edge_runtime.server.middleware import BodyBudget, BodyLimitMiddleware, MetricsMiddleware
from edge_runtime.server.pool import InferencePool
from edge_runtime.server.routes import ServiceState, build_router
from edge_runtime.server.settings import ServeConfig

log = logging.getLogger(__name__)

DESCRIPTION = """\
Image classification with an edgetk device bundle (TFLite / ONNX Runtime, no TensorFlow).

* `POST /v1/predict`: multipart file parts, or one raw image with an `image/*` content type.
* `GET /v1/health`: liveness and readiness; always open, even with an API key.
* `GET /v1/metadata`: labels, input spec, model hash and versions from the manifest.
* `GET /metrics`: Prometheus text format.
* `GET /openapi.json`: this description (no interactive docs page: it would load scripts from
  the internet, which an offline device does not have).

Errors are JSON: `{"error": {"code": "...", "message": "..."}}`.
"""


def create_app(config: ServeConfig, pool: InferencePool | None = None) -> FastAPI:
    """Load the bundle (``ModelError`` if it cannot be) and build the app serving it.

    ``pool``: an already loaded worker pool, which the caller keeps and closes (tests share one);
    by default ``config.workers`` copies of the artifact are loaded here, before any socket is
    opened, and released when the app shuts down.
    """
    owns_pool = pool is None
    metrics = pool.metrics if pool is not None else ServiceMetrics()
    pool = pool if pool is not None else InferencePool.from_config(config, metrics)
    state = ServiceState(config=config, pool=pool, metrics=metrics)
    predictor = state.predictor
    metrics.model_info.labels(
        name=predictor.manifest.name,
        artifact=predictor.artifact.file,
        precision=predictor.artifact.precision,
        sha256=predictor.artifact.sha256,
        runtime=predictor.backend.runtime,
    ).set(1)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        # Readiness drops first, so a load balancer stops sending work while it drains.
        state.begin_shutdown()
        # A pool passed in belongs to the caller, who closes it.
        if owns_pool and pool.close(timeout_s=config.shutdown_timeout_s):
            log.info("inference workers stopped")

    app = FastAPI(
        title="edgetk serve",
        version=edgetk_version(),
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = state
    install_error_handlers(app)
    app.include_router(build_router(state))
    known = frozenset(getattr(r, "path", "") for r in app.routes)
    # Added last = outermost: metrics see every request, including those the body limits and
    # the host check refuse.
    budget = BodyBudget(config.max_buffered_bytes)
    app.add_middleware(BodyLimitMiddleware, limit=config.max_body_bytes, budget=budget)
    app.add_middleware(HostCheckMiddleware, allowed_hosts=config.served_hosts)
    app.add_middleware(MetricsMiddleware, metrics=metrics, known_paths=lambda: known)
    return app


__all__ = ["create_app"]
