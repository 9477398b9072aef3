"""The service's Prometheus metrics, kept by ``prometheus_client`` in one registry per service.

A registry per ``ServiceMetrics`` (not the library's global one) lets several services, or
tests, live in one process without their numbers mixing. ``prometheus_client`` is thread-safe:
updates come from the event loop and from inference threads alike.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

# generate_latest writes the classic text format; say so (scrapers pick the parser by it).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

# Seconds. Inference on a small int8 model is a few ms; a slow upload can take seconds.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip


class ServiceMetrics:
    """What the service records; ``render()`` is the body of ``GET /metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry

        def latency(name: str, doc: str, labels: tuple[str, ...] = ()) -> Histogram:
            """A histogram of seconds on the service's latency buckets."""
            return Histogram(name, doc, labels, buckets=LATENCY_BUCKETS, registry=r)

        self.requests = Counter(
            "edgetk_http_requests",
            "HTTP requests by method, route template and status code.",
            ("method", "route", "status"),
            registry=r,
        )
        self.request_seconds = latency(
            "edgetk_http_request_duration_seconds",
            "Time from the request's arrival to the end of its response, by route template.",
            ("route",),
        )
        self.in_flight = Gauge(
            "edgetk_http_requests_in_flight", "HTTP requests being handled now.", registry=r
        )
        self.inference_seconds = latency(
            "edgetk_inference_duration_seconds",
            "Decode + preprocess + model time of one predict request in a worker.",
        )
        self.queue_seconds = latency(
            "edgetk_inference_queue_seconds",
            "Time a predict request waited for a free inference worker.",
        )
        self.batch_images = Histogram(
            "edgetk_inference_batch_images",
            "Images per model call (dynamic batching joins waiting requests).",
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=r,
        )
        self.images = Counter(
            "edgetk_images_classified", "Images classified successfully.", registry=r
        )
        self.rejected = Counter(
            "edgetk_inference_rejected",
            "Predict requests refused with 503 because every worker and queue slot was busy.",
            registry=r,
        )
        self.runtime_crashes = Counter(
            "edgetk_runtime_crashes",
            "Native crashes of a worker's runtime (each answered 503 and restarted).",
            registry=r,
        )
        self.queue_depth = Gauge(
            "edgetk_inference_pending",
            "Predict requests admitted to the worker pool (running or waiting).",
            registry=r,
        )
        self.model_info = Gauge(
            "edgetk_model_info",
            "The served model (value 1): bundle name, artifact file, precision, sha256, runtime.",
            ("name", "artifact", "precision", "sha256", "runtime"),
            registry=r,
        )
        Gauge(
            "edgetk_process_start_time_seconds", "Unix time the service started.", registry=r
        ).set(time.time())

    def value(self, name: str, **labels: str) -> float:
        """One sample's current value (0 when it has never been recorded), e.g.
        ``value("edgetk_http_requests_total", method="GET", route="/v1/health", status="200")``."""
        found = self.registry.get_sample_value(name, labels)
        return 0.0 if found is None else found

    def render(self) -> str:
        """All metrics in the Prometheus text format (0.0.4)."""
        return generate_latest(self.registry).decode()


__all__ = ["CONTENT_TYPE", "LATENCY_BUCKETS", "ServiceMetrics"]
