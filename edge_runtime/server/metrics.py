"""Prometheus metrics in the text exposition format (0.0.4), without a client library.

Counters, gauges and histograms with labels, guarded by one lock (updates come from the event
loop and from inference threads). ``ServiceMetrics`` names what the service records; the ASGI
middleware at the bottom counts every HTTP request by route template and status.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Seconds. Inference on a small int8 model is a few ms; a slow upload can take seconds.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip

LabelValues = tuple[str, ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    pairs = [f'{n}="{_escape(v)}"' for n, v in zip(names, values)]
    if extra:
        pairs.append(extra)
    return "{" + ",".join(pairs) + "}" if pairs else ""


def _num(x: float) -> str:
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    return repr(float(x)) if not float(x).is_integer() else str(int(x))


class _Metric:
    kind = ""

    def __init__(self, name: str, help: str, labelnames: Sequence[str], lock: threading.Lock):
        self.name, self.help, self.labelnames = name, help, tuple(labelnames)
        self._lock = lock

    def _key(self, labels: dict[str, str]) -> LabelValues:
        return tuple(str(labels[n]) for n in self.labelnames)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]


class Counter(_Metric):
    kind = "counter"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._values: dict[LabelValues, float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def render(self) -> list[str]:
        lines = self.header()
        for key, v in sorted(self._values.items()):
            lines.append(f"{self.name}{_labels(self.labelnames, key)} {_num(v)}")
        return lines


class Gauge(Counter):
    kind = "gauge"

    def dec(self, amount: float = 1.0, **labels: str) -> None:
        self.inc(-amount, **labels)

    def set(self, value: float, **labels: str) -> None:
        with self._lock:
            self._values[self._key(labels)] = float(value)


class Histogram(_Metric):
    kind = "histogram"

    def __init__(self, *args: Any, buckets: Sequence[float] = LATENCY_BUCKETS) -> None:
        super().__init__(*args)
        self.buckets = tuple(sorted(buckets))
        self._counts: dict[LabelValues, list[int]] = {}
        self._sums: dict[LabelValues, float] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            counts = self._counts.setdefault(key, [0] * (len(self.buckets) + 1))
            for i, upper in enumerate(self.buckets):
                if value <= upper:
                    counts[i] += 1
                    break
            else:
                counts[-1] += 1
            self._sums[key] = self._sums.get(key, 0.0) + value

    def count(self, **labels: str) -> int:
        with self._lock:
            return sum(self._counts.get(self._key(labels), ()))

    def render(self) -> list[str]:
        lines = self.header()
        for key in sorted(self._counts):
            cumulative = 0
            for upper, n in zip((*self.buckets, math.inf), self._counts[key]):
                cumulative += n
                le = 'le="' + _num(upper) + '"'
                lines.append(f"{self.name}_bucket{_labels(self.labelnames, key, le)} {cumulative}")
            lines.append(f"{self.name}_sum{_labels(self.labelnames, key)} {self._sums[key]!r}")
            lines.append(f"{self.name}_count{_labels(self.labelnames, key)} {cumulative}")
        return lines


class ServiceMetrics:
    """The service's metrics, rendered by ``GET /metrics``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._metrics: list[_Metric] = []
        self.requests = self._add(
            Counter,
            "edgetk_http_requests_total",
            "HTTP requests by method, route template and status code.",
            ("method", "route", "status"),
        )
        self.request_seconds = self._add(
            Histogram,
            "edgetk_http_request_duration_seconds",
            "Time from the request's arrival to the end of its response, by route template.",
            ("route",),
        )
        self.in_flight = self._add(
            Gauge, "edgetk_http_requests_in_flight", "HTTP requests being handled now.", ()
        )
        self.inference_seconds = self._add(
            Histogram,
            "edgetk_inference_duration_seconds",
            "Decode + preprocess + model time of one predict request in a worker.",
            (),
        )
        self.queue_seconds = self._add(
            Histogram,
            "edgetk_inference_queue_seconds",
            "Time a predict request waited for a free inference worker.",
            (),
        )
        self.batch_images = self._add(
            Histogram,
            "edgetk_inference_batch_images",
            "Images per model call (dynamic batching joins waiting requests).",
            (),
            buckets=(1, 2, 4, 8, 16, 32, 64),
        )
        self.images = self._add(
            Counter, "edgetk_images_classified_total", "Images classified successfully.", ()
        )
        self.rejected = self._add(
            Counter,
            "edgetk_inference_rejected_total",
            "Predict requests refused with 503 because every worker and queue slot was busy.",
            (),
        )
        self.queue_depth = self._add(
            Gauge,
            "edgetk_inference_pending",
            "Predict requests admitted to the worker pool (running or waiting).",
            (),
        )
        self.model_info = self._add(
            Gauge,
            "edgetk_model_info",
            "The served model (value 1): bundle name, artifact file, precision, sha256, runtime.",
            ("name", "artifact", "precision", "sha256", "runtime"),
        )
        self.started = time.time()

    def _add(self, cls: type, name: str, help: str, labels: Iterable[str], **kw: Any) -> Any:
        metric = cls(name, help, tuple(labels), self._lock, **kw)
        self._metrics.append(metric)
        return metric

    def render(self) -> str:
        """All metrics in the Prometheus text format."""
        with self._lock:
            lines = []
            for m in self._metrics:
                lines.extend(m.render())
        lines.append("# HELP edgetk_process_start_time_seconds Unix time the service started.")
        lines.append("# TYPE edgetk_process_start_time_seconds gauge")
        lines.append(f"edgetk_process_start_time_seconds {self.started!r}")
        return "\n".join(lines) + "\n"


__all__ = ["CONTENT_TYPE", "LATENCY_BUCKETS", "Counter", "Gauge", "Histogram", "ServiceMetrics"]
