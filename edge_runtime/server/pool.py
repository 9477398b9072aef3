"""A bounded pool of inference workers, each owning one loaded model.

An interpreter is not re-entrant, so each worker thread has its own ``Predictor`` (its own
interpreter and its own runtime threads). At most ``workers`` requests run at once and at most
``queue_size`` more wait; the next one is refused at once (503) instead of queueing without bound,
so an overloaded service sheds load instead of running out of memory or answering minutes late.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from edge_runtime.predictor import Predictor
from edge_runtime.server.errors import ApiError
from edge_runtime.server.metrics import ServiceMetrics
from edge_runtime.server.settings import ServeConfig
from edgetk.errors import ConfigError

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Timed:
    """A worker's result with the time it waited for a worker and the time it ran, in ms."""

    value: object
    queue_ms: float
    run_ms: float


class Saturated(ApiError):
    """Every worker and queue slot is taken."""

    def __init__(self, capacity: int) -> None:
        super().__init__(
            503,
            "overloaded",
            f"the service is at capacity ({capacity} requests running or queued); retry shortly",
            headers={"Retry-After": "1"},
        )


class InferencePool:
    """Run functions of a ``Predictor`` on a bounded set of worker threads."""

    def __init__(
        self,
        predictors: list[Predictor],
        queue_size: int,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        if not predictors:
            raise ConfigError("InferencePool needs at least one predictor (workers >= 1)")
        self.predictors = list(predictors)
        self.capacity = len(predictors) + queue_size
        self.metrics = metrics or ServiceMetrics()
        self._idle: queue.SimpleQueue[Predictor] = queue.SimpleQueue()
        for p in self.predictors:
            self._idle.put(p)
        self._executor = ThreadPoolExecutor(
            max_workers=len(predictors), thread_name_prefix="edgetk-infer"
        )
        self._lock = threading.Lock()
        self._pending = 0
        self._closed = False

    @classmethod
    def from_config(cls, config: ServeConfig, metrics: ServiceMetrics) -> InferencePool:
        """Load ``config.workers`` copies of the bundle's artifact (ModelError if it cannot)."""
        predictors = [
            Predictor.from_bundle(
                config.bundle,
                artifact=config.artifact,
                threads=config.threads,
                polarity=config.polarity,
                top_k=config.top_k,
            )
            for _ in range(config.workers)
        ]
        return cls(predictors, config.queue_size, metrics)

    @property
    def primary(self) -> Predictor:
        """One of the predictors (they are identical), for the manifest and labels."""
        return self.predictors[0]

    @property
    def pending(self) -> int:
        return self._pending

    def _admit(self) -> None:
        with self._lock:
            if self._closed:
                raise ApiError(
                    503, "shutting_down", "the service is shutting down; retry elsewhere"
                )
            if self._pending >= self.capacity:
                self.metrics.rejected.inc()
                raise Saturated(self.capacity)
            self._pending += 1
            self.metrics.queue_depth.set(self._pending)

    def _release(self) -> None:
        with self._lock:
            self._pending -= 1
            self.metrics.queue_depth.set(self._pending)

    async def run(self, fn: Callable[[Predictor], T]) -> Timed:
        """Run ``fn(predictor)`` on a free worker; raise ``Saturated`` (503) when full."""
        self._admit()
        submitted = time.perf_counter_ns()

        def job() -> Timed:
            started = time.perf_counter_ns()
            predictor = self._idle.get()
            try:
                value = fn(predictor)
            finally:
                self._idle.put(predictor)
            done = time.perf_counter_ns()
            return Timed(value, (started - submitted) / 1e6, (done - started) / 1e6)

        try:
            future = self._executor.submit(job)
        except RuntimeError:  # the executor was shut down between admission and submission
            self._release()
            raise ApiError(
                503, "shutting_down", "the service is shutting down; retry elsewhere"
            ) from None
        # Released when the job finishes or is cancelled, not when the awaiting request goes away:
        # a client that disconnects does not stop its job, so its slot stays taken until then.
        future.add_done_callback(lambda _: self._release())
        timed = await asyncio.wrap_future(future)
        self.metrics.queue_seconds.observe(timed.queue_ms / 1e3)
        self.metrics.inference_seconds.observe(timed.run_ms / 1e3)
        return timed

    def close(self) -> None:
        """Finish running work, then release every interpreter."""
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)
        for p in self.predictors:
            p.close()


__all__ = ["InferencePool", "Saturated", "Timed"]
