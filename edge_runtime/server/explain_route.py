"""``POST /v1/explain``: occlusion saliency (``edge_runtime.explain``) over REST, off by default.

One explanation costs up to ``max_passes + 1`` forward passes (145 on a 28x28 model: about 35 ms
with an int8 artifact here, 80 ms in float), a hundred times a prediction, so the route is
opt-in (``--explain-rate N``: at most N explained images per minute, all clients together) and
bounded like predict (body size, file count, pixels per image and per request, the worker queue).
A disabled service answers 404 ``explain_disabled``; over the rate, 429 ``explain_rate_limited``
with ``Retry-After``; both in the service's JSON error shape.

The answer is the map as a small grid (the map at the model's input size, averaged down to at most
``grid`` x ``grid`` cells), its peak in model-input pixels, the class explained and the cost; with
``overlay=true`` also a PNG of the map over the upload (at most 256 px on its longer side), base64.
"""

from __future__ import annotations

import base64
import io
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from edge_runtime.server.decode import DecodeLimits, decode_uploads
from edge_runtime.server.errors import ApiError
from edge_runtime.server.schemas import ModelRef, error_responses
from edge_runtime.server.uploads import read_uploads

WINDOW_S = 60.0
OVERLAY_SIDE = 256


class RateWindow:
    """At most ``per_minute`` units in any 60-second window (a sliding log: exact, and small,
    since ``per_minute`` bounds its length)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._log: deque[float] = deque()
        self._lock = threading.Lock()

    def _wait(self, n: int, now: float) -> float:
        while self._log and now - self._log[0] >= WINDOW_S:
            self._log.popleft()
        free = self.per_minute - len(self._log)
        if n <= free:
            return 0.0
        if n > self.per_minute:
            return WINDOW_S
        # the (n - free)-th oldest entry must leave the window first
        return max(0.001, self._log[n - free - 1] + WINDOW_S - now)

    def wait(self, n: int = 1) -> float:
        """Seconds until ``n`` units would be granted (0.0: now); reserves nothing."""
        with self._lock:
            return self._wait(n, self._clock())

    def take(self, n: int) -> float:
        """Reserve ``n`` units now: 0.0 when granted, else the seconds until they would be."""
        with self._lock:
            now = self._clock()
            wait = self._wait(n, now)
            if wait == 0.0:
                self._log.extend([now] * n)
            return wait


class ImageExplanation(BaseModel):
    file: str | None = Field(description="The part's file name; null for a raw-body upload.")
    width: int
    height: int
    label: str = Field(description="The class explained (the prediction unless ?target=).")
    index: int
    probability: float = Field(description="That class's probability on the whole image.")
    signal: float = Field(
        description="The largest probability drop one occlusion caused; 0: the map is empty."
    )
    grid: list[list[float]] = Field(
        description="The map (0..1, 1: where hiding the image hurts the answer most), averaged "
        "down to grid_rows x grid_cols cells over the model's input."
    )
    grid_rows: int
    grid_cols: int
    peak: dict[str, int] = Field(
        description="The map's maximum, in model-input pixels: {row, col, height, width}."
    )
    passes: int = Field(description="Forward passes this explanation took.")
    patch: int
    stride: int
    ms: float = Field(description="Wall time of this explanation.")
    overlay_png: str | None = Field(
        None, description="With ?overlay=true: the map over the image, PNG, base64."
    )


class ExplainResponse(BaseModel):
    explanations: list[ImageExplanation]
    model: ModelRef
    timing: dict[str, float]


def pooled(saliency: np.ndarray, grid: int) -> np.ndarray:
    """``saliency`` averaged over at most ``grid`` x ``grid`` cells (near-equal blocks)."""
    h, w = saliency.shape
    rows = np.array_split(np.arange(h), min(grid, h))
    cols = np.array_split(np.arange(w), min(grid, w))
    return np.array([[float(saliency[np.ix_(r, c)].mean()) for c in cols] for r in rows])


def _overlay_png(image: np.ndarray, saliency: np.ndarray, resize: str) -> str:
    from PIL import Image

    from edge_runtime.explain import overlay

    pic = Image.fromarray(image if image.ndim == 2 or image.shape[2] > 1 else image[..., 0])
    scale = OVERLAY_SIDE / max(pic.size)
    if scale < 1:
        size = (max(1, round(pic.width * scale)), max(1, round(pic.height * scale)))
        pic = pic.resize(size, Image.BILINEAR)
    buf = io.BytesIO()
    Image.fromarray(overlay(np.asarray(pic), saliency, resize=resize)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def add_explain_route(
    router: APIRouter,
    state: Any,  # routes.ServiceState
    limits: DecodeLimits,
    guarded: list[Any],
    model_ref: dict[str, Any],
    default_invert: str,
) -> None:
    """Register ``POST /v1/explain`` on ``router`` (answering 404 unless the config enables it)."""
    from edge_runtime.server.routes import predict_body

    config = state.config
    labels = state.predictor.labels
    resize = state.predictor.manifest.input.resize
    window = RateWindow(config.explain_rate) if config.explain_rate > 0 else None

    @router.post(
        "/v1/explain",
        summary="Which pixels an answer rests on (occlusion saliency; off unless --explain-rate)",
        response_model=ExplainResponse,
        responses=error_responses(400, 401, 404, 413, 415, 422, 429, 503),
        openapi_extra=predict_body(config.max_files),
        dependencies=guarded,
        tags=["inference"],
    )
    async def explain(
        request: Request,
        target: str | None = Query(
            None,
            description="The class to explain, a label or an index; default: the prediction.",
        ),
        grid: int = Query(16, ge=1, le=64, description="Cells per side of the returned map."),
        overlay: bool = Query(False, description="Also return a PNG overlay per image."),
        invert: Literal["auto", "never", "always"] = Query(
            default_invert,
            description="Invert a picture whose polarity differs from the training images'.",
        ),
    ) -> JSONResponse:
        t0 = time.perf_counter_ns()
        if window is None:
            raise ApiError(
                404,
                "explain_disabled",
                "explanations are off on this service; start it with --explain-rate N "
                "(explained images per minute) to enable POST /v1/explain",
            )
        index = _target_index(target, labels)
        if (wait := window.wait(1)) > 0:  # full already: refuse before reading the body
            raise _limited(window, 1, wait)
        uploads = await read_uploads(request, config)
        wait = window.take(len(uploads))
        if wait > 0:
            raise _limited(window, len(uploads), wait)

        def work(predictor: Any) -> tuple[list[dict[str, Any]], float]:
            d0 = time.perf_counter_ns()
            decoded = decode_uploads(uploads, limits)
            decode_ms = (time.perf_counter_ns() - d0) / 1e6
            out = []
            for u, d in zip(uploads, decoded):
                e = predictor.explain(d.image, target=index, polarity=invert)
                r, c = np.unravel_index(int(np.argmax(e.saliency)), e.saliency.shape)
                cells = np.round(pooled(e.saliency, grid), 4)
                item = {
                    "file": u.name,
                    "width": d.width,
                    "height": d.height,
                    "label": e.label,
                    "index": e.index,
                    "probability": round(e.probability, 6),
                    "signal": round(e.signal, 6),
                    "grid": cells.tolist(),
                    "grid_rows": int(cells.shape[0]),
                    "grid_cols": int(cells.shape[1]),
                    "peak": {
                        "row": int(r),
                        "col": int(c),
                        "height": int(e.saliency.shape[0]),
                        "width": int(e.saliency.shape[1]),
                    },
                    "passes": e.passes,
                    "patch": e.patch,
                    "stride": e.stride,
                    "ms": round(e.ms, 3),
                }
                if overlay:
                    item["overlay_png"] = _overlay_png(d.image, e.saliency, resize)
                out.append(item)
            return out, decode_ms

        timed = await state.pool.run(work)
        items, decode_ms = timed.value
        state.metrics.images.inc(len(items))
        body = {
            "explanations": items,
            "model": model_ref,
            "timing": {
                "queue_ms": round(timed.queue_ms, 4),
                "decode_ms": round(decode_ms, 4),
                "run_ms": round(timed.run_ms, 4),
                "total_ms": round((time.perf_counter_ns() - t0) / 1e6, 4),
            },
        }
        return JSONResponse(body)


def _target_index(target: str | None, labels: tuple[str, ...]) -> int | None:
    if target is None:
        return None
    if target in labels:
        return labels.index(target)
    if target.isdigit() and int(target) < len(labels):
        return int(target)
    raise ApiError(
        422,
        "invalid_parameter",
        f"target: {target!r} is not a class of this model; use one of {list(labels)} "
        f"or an index 0..{len(labels) - 1}",
    )


def _limited(window: RateWindow, n: int, wait: float) -> ApiError:
    per = window.per_minute
    if n > per:
        message = (
            f"{n} images in one request, but this service explains at most {per} per minute; "
            f"send at most {per} per request"
        )
    else:
        message = (
            f"explanation rate limit reached ({per} images per minute, all clients together); "
            f"retry in {wait:.0f} s"
        )
    return ApiError(
        429, "explain_rate_limited", message, headers={"Retry-After": str(max(1, round(wait)))}
    )


__all__ = ["ExplainResponse", "ImageExplanation", "RateWindow", "add_explain_route", "pooled"]
