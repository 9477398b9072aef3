"""The endpoints: predict, explain (edge_runtime/server/explain_route.py), health, metadata,
metrics."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from edge_runtime.common.versions import edgetk_version
from edge_runtime.polarity import LEGACY_INVERT_CHOICES, check_invert_choice
from edge_runtime.predictor import Predictor
from edge_runtime.server.auth import api_key_checker
from edge_runtime.server.decode import DecodeLimits, decode_uploads
from edge_runtime.server.explain_route import add_explain_route
from edge_runtime.server.metrics import CONTENT_TYPE, ServiceMetrics
from edge_runtime.server.pool import InferencePool, PredictJob, PredictResult
from edge_runtime.server.schemas import (
    HealthResponse,
    MetadataResponse,
    PredictResponse,
    error_responses,
)
from edge_runtime.server.settings import ServeConfig
from edge_runtime.server.uploads import read_uploads

log = logging.getLogger(__name__)
_IMAGE_TYPES = ("image/png", "image/jpeg", "image/bmp", "image/gif", "image/webp", "image/tiff")
_BINARY = {"schema": {"type": "string", "format": "binary", "minLength": 1}}


def predict_body(max_files: int) -> dict[str, Any]:
    """The OpenAPI request body of ``POST /v1/predict`` (FastAPI cannot infer it: the route
    reads the body itself, so that the size limit and error codes stay under its control)."""
    files = {"type": "array", "items": _BINARY["schema"], "minItems": 1, "maxItems": max_files}
    return {
        "requestBody": {
            "required": True,
            "description": "Images as multipart file parts (any field name, e.g. `file`), or one "
            "image as the raw body with its image content type.",
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": files},
                        "required": ["file"],
                    }
                },
                **{t: _BINARY for t in _IMAGE_TYPES},
            },
        }
    }


@dataclass
class ServiceState:
    """What the routes share: the config, the worker pool, the metrics, readiness."""

    config: ServeConfig
    pool: InferencePool
    metrics: ServiceMetrics
    ready: bool = True
    started_ns: int = field(default_factory=time.perf_counter_ns)

    @property
    def predictor(self) -> Predictor:
        return self.pool.primary

    def begin_shutdown(self) -> None:
        """Not ready any more (health says 503) and queued requests are answered 503 now."""
        self.ready = False
        self.pool.drain()


def build_router(state: ServiceState) -> APIRouter:
    """The API's routes for ``state``; the API key, when configured, guards all but health."""
    config = state.config
    manifest = state.predictor.manifest
    artifact = state.predictor.artifact
    guarded = [Depends(api_key_checker(config.api_key))] if config.api_key else []
    router = APIRouter()
    model_ref = {
        "name": manifest.name,
        "artifact": artifact.file,
        "precision": artifact.precision,
        "sha256": artifact.sha256,
    }
    num_classes = len(manifest.labels)
    default_invert = check_invert_choice(config.polarity, "polarity=")  # as-is -> never
    spec = manifest.input
    limits = DecodeLimits(
        max_pixels=config.max_pixels,
        max_side=config.max_side,
        max_request_pixels=config.max_request_pixels,
        target=(spec.width, spec.height),
    )

    @router.post(
        "/v1/predict",
        summary="Classify one or more images",
        response_model=PredictResponse,
        responses=error_responses(400, 401, 413, 415, 422, 503),
        openapi_extra=predict_body(config.max_files),
        dependencies=guarded,
        tags=["inference"],
    )
    async def predict(
        request: Request,
        top_k: int = Query(
            min(config.top_k, num_classes),
            ge=1,
            le=num_classes,
            description="How many of the most probable labels to return per image.",
        ),
        invert: Literal["auto", "never", "always"] = Query(
            default_invert,
            description="Invert a picture whose polarity differs from the training images': "
            "auto (by the border), never, or always.",
        ),
        polarity: Literal["auto", "never", "always", "as-is", "invert"] | None = Query(
            None,
            deprecated=True,
            description="The earlier name of `invert` (as-is: never, invert: always); "
            "`invert` wins when both are given.",
        ),
    ) -> JSONResponse:
        t0 = time.perf_counter_ns()
        uploads = await read_uploads(request, config)
        headers = {}
        if polarity is not None:
            if "invert" not in request.query_params:
                invert = LEGACY_INVERT_CHOICES.get(polarity, polarity)  # type: ignore[assignment]
            headers["Warning"] = '299 - "polarity is deprecated; use invert"'

        job = PredictJob(
            items=uploads,
            decode=lambda items: decode_uploads(items, limits),
            top_k=top_k,
            polarity=invert,
        )
        timed = await state.pool.predict(job)
        result: PredictResult = timed.value
        preds = result.predictions
        state.metrics.images.inc(len(preds))
        body = {
            "predictions": [
                {"file": u.name, "width": w, "height": h, **p.to_dict()}
                for u, p, (w, h) in zip(uploads, preds, result.sizes)
            ],
            "model": model_ref,
            "timing": {
                "queue_ms": round(timed.queue_ms, 4),
                "decode_ms": round(result.decode_ms, 4),
                "model_ms": round(result.model_ms, 4),
                "batch_images": result.batch_images,
                "total_ms": round((time.perf_counter_ns() - t0) / 1e6, 4),
            },
        }
        return JSONResponse(body, headers=headers)

    @router.get(
        "/v1/health",
        summary="Liveness and readiness (open even when an API key is set; says nothing else)",
        response_model=HealthResponse,
        responses=error_responses(503),
        tags=["operations"],
    )
    async def health() -> JSONResponse:
        # Open to anyone: what is served and how busy it is belong behind the key (metadata,
        # metrics), not here.
        body = {
            "status": "ok" if state.ready else "unavailable",
            "live": True,
            "ready": state.ready,
        }
        return JSONResponse(body, status_code=200 if state.ready else 503)

    add_explain_route(router, state, limits, guarded, model_ref, default_invert)

    metadata = _metadata(state)

    @router.get(
        "/v1/metadata",
        summary="The served model: labels, input spec, hashes, versions, limits",
        response_model=MetadataResponse,
        responses=error_responses(401),
        dependencies=guarded,
        tags=["operations"],
    )
    async def get_metadata() -> JSONResponse:
        return JSONResponse(metadata)

    @router.get(
        "/metrics",
        summary="Prometheus metrics (text exposition format 0.0.4)",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE.split(";")[0]: {}}}, **error_responses(401)},
        dependencies=guarded,
        tags=["operations"],
    )
    async def metrics() -> Response:
        return Response(state.metrics.render(), media_type=CONTENT_TYPE)

    return router


def _metadata(state: ServiceState) -> dict[str, Any]:
    predictor, config = state.predictor, state.config
    manifest, artifact = predictor.manifest, predictor.artifact
    return {
        "name": manifest.name,
        "labels": list(manifest.labels),
        "num_classes": len(manifest.labels),
        "input": manifest.input.to_dict(),
        "output": manifest.output.to_dict(),
        "artifact": {
            "file": artifact.file,
            "format": artifact.format,
            "precision": artifact.precision,
            "sha256": artifact.sha256,
            "size_bytes": artifact.size_bytes,
            "input": artifact.input.to_dict(),
            "output": artifact.output.to_dict(),
            "parity_passed": artifact.parity_passed,
        },
        # The exporting machine's paths say nothing useful to a client.
        "source_model": {k: v for k, v in manifest.source_model.items() if k != "path"},
        # The exporting machine's platform string (kernel, distribution) tells a client nothing
        # it needs and an attacker something; library versions stay.
        "versions": {k: v for k, v in manifest.versions.items() if k != "platform"},
        "created_utc": manifest.created_utc,
        "schema_version": manifest.schema_version,
        "service": {
            "edgetk_version": edgetk_version(),
            "runtime": predictor.backend.runtime,
            "workers": config.workers,
            "isolated_runtime": config.isolate,
            "threads": config.threads,
            "limits": {
                "max_body_bytes": config.max_body_bytes,
                "max_files": config.max_files,
                "max_pixels": config.max_pixels,
                "max_request_pixels": config.max_request_pixels,
                "max_side": config.max_side,
                "queue_size": config.queue_size,
                "max_batch": config.max_batch,
                "explain_per_minute": config.explain_rate,
            },
            "api_key_required": config.api_key is not None,
        },
    }


__all__ = ["ServiceState", "build_router", "predict_body"]
