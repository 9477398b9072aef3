"""Response bodies, as pydantic models: they document the API in the OpenAPI schema.

Routes build plain dicts and return them as JSON directly (no per-request model validation on the
hot path); tests check that real responses match these schemas.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from edge_runtime.server.errors import ErrorBody


class LabelProbability(BaseModel):
    label: str
    probability: float


class ImagePrediction(BaseModel):
    file: str | None = Field(description="The part's file name; null for a raw-body upload.")
    width: int
    height: int
    label: str = Field(description="The most probable class.")
    index: int = Field(description="Its index in the manifest's labels.")
    probability: float
    top_k: list[LabelProbability]
    latency_ms: float = Field(
        description="This image's preprocessing plus its share of the batched model call."
    )
    inverted: bool = Field(description="Polarity handling inverted the picture.")


class ModelRef(BaseModel):
    name: str
    artifact: str
    precision: str
    sha256: str


class Timing(BaseModel):
    queue_ms: float = Field(description="Waiting for a free inference worker.")
    decode_ms: float = Field(description="Decoding the uploaded bytes to pixels.")
    model_ms: float = Field(
        description="Preprocessing and the model call of the batch this request ran in."
    )
    batch_images: int = Field(
        description="Images in that model call (waiting requests are batched together)."
    )
    total_ms: float = Field(description="From the start of handling to the response.")


class PredictResponse(BaseModel):
    predictions: list[ImagePrediction]
    model: ModelRef
    timing: Timing


class HealthResponse(BaseModel):
    status: str = Field(description="'ok' when ready, else 'unavailable'.")
    live: bool
    ready: bool = Field(description="The model is loaded and the service accepts predictions.")


class MetadataResponse(BaseModel):
    name: str
    labels: list[str]
    num_classes: int
    input: dict[str, Any]
    output: dict[str, Any]
    artifact: dict[str, Any]
    source_model: dict[str, Any]
    versions: dict[str, Any]
    created_utc: str
    schema_version: int
    service: dict[str, Any]


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error statuses."""
    return {s: {"model": ErrorBody} for s in statuses}


__all__ = [
    "HealthResponse",
    "ImagePrediction",
    "LabelProbability",
    "MetadataResponse",
    "ModelRef",
    "PredictResponse",
    "Timing",
    "error_responses",
]
