"""A bounded pool of inference workers, each owning one loaded model, with dynamic batching.

An interpreter is not re-entrant, so each worker thread has its own ``Predictor`` (its own
interpreter and its own runtime threads). Requests wait in one bounded queue: at most
``workers + queue_size`` are admitted, the next is refused at once (503) instead of queueing
without bound, so an overloaded service sheds load instead of running out of memory or answering
minutes late.

Dynamic batching: when a worker frees up and several predict requests are waiting, it takes them
together (up to ``max_batch`` images), decodes them and runs one model call for all of them. Under
concurrency that saves a thread hand-off and a runtime call per request; a lone request is never
delayed waiting for company.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from edge_runtime.common.errors import ConfigError
from edge_runtime.errors import RuntimeCrashedError
from edge_runtime.predictor import Predictor
from edge_runtime.server.decode import Decoded
from edge_runtime.server.errors import ApiError
from edge_runtime.server.metrics import ServiceMetrics
from edge_runtime.server.settings import ServeConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timed:
    """A worker's result with the time it waited for a worker and the time it ran, in ms."""

    value: Any
    queue_ms: float
    run_ms: float


@dataclass(frozen=True)
class PredictJob:
    """Images of one request: ``decode(items)`` turns them into ``Decoded`` pictures in a worker
    (all or nothing: one bad upload refuses the request)."""

    items: Sequence[Any]
    decode: Callable[[Sequence[Any]], list[Decoded]]
    top_k: int
    polarity: str


@dataclass(frozen=True)
class PredictResult:
    predictions: list[Any]
    sizes: list[tuple[int, int]]  # (width, height) of each upload as sent
    decode_ms: float
    model_ms: float  # the whole batch's preprocessing + model call
    batch_images: int  # images in the model call this request shared


@dataclass
class _Item:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Timed]
    submitted_ns: int
    job: PredictJob | None = None
    fn: Callable[[Predictor], Any] | None = None
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.size = len(self.job.items) if self.job is not None else 1


# What a worker hands back to the event loop: the item and its Timed result or its exception.
_Outcome = tuple[_Item, "Timed | BaseException | None"]


class Saturated(ApiError):
    """Every worker and queue slot is taken."""

    def __init__(self, capacity: int) -> None:
        super().__init__(
            503,
            "overloaded",
            f"the service is at capacity ({capacity} requests running or queued); retry shortly",
            headers={"Retry-After": "1"},
        )


def _shutting_down() -> ApiError:
    return ApiError(503, "shutting_down", "the service is shutting down; retry elsewhere")


class InferencePool:
    """Run predict jobs (batched) and arbitrary functions of a ``Predictor`` on worker threads."""

    def __init__(
        self,
        predictors: list[Predictor],
        queue_size: int,
        metrics: ServiceMetrics | None = None,
        max_batch: int = 16,
    ) -> None:
        if not predictors:
            raise ConfigError("InferencePool needs at least one predictor (workers >= 1)")
        if max_batch < 1:
            raise ConfigError(f"max_batch={max_batch} must be at least 1")
        self.predictors = list(predictors)
        self.capacity = len(predictors) + queue_size
        self.max_batch = max_batch
        self.metrics = metrics or ServiceMetrics()
        self._cond = threading.Condition()
        self._queue: deque[_Item] = deque()
        self._pending = 0
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, args=(p,), name=f"edgetk-infer-{i}", daemon=True)
            for i, p in enumerate(self.predictors)
        ]
        for t in self._threads:
            t.start()

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
                verify_hashes=config.verify,
                isolate=config.isolate,
            )
            for _ in range(config.workers)
        ]
        return cls(predictors, config.queue_size, metrics, max_batch=config.max_batch)

    @property
    def primary(self) -> Predictor:
        """One of the predictors (they are identical), for the manifest and labels."""
        return self.predictors[0]

    @property
    def pending(self) -> int:
        return self._pending

    # -- submission (event loop side) ------------------------------------------------------------
    async def predict(self, job: PredictJob) -> Timed:
        """Decode and classify ``job``'s images, batched with other waiting requests."""
        return await self._submit(job=job)

    async def run(self, fn: Callable[[Predictor], Any]) -> Timed:
        """Run ``fn(predictor)`` alone on a free worker; raise ``Saturated`` (503) when full."""
        return await self._submit(fn=fn)

    async def _submit(self, **work: Any) -> Timed:
        loop = asyncio.get_running_loop()
        item = _Item(loop, loop.create_future(), time.perf_counter_ns(), **work)
        with self._cond:
            if self._closed:
                raise _shutting_down()
            if self._pending >= self.capacity:
                self.metrics.rejected.inc()
                raise Saturated(self.capacity)
            self._pending += 1
            self.metrics.queue_depth.set(self._pending)
            self._queue.append(item)
            self._cond.notify()
        # The slot is released when a worker is done with the item, not when the awaiting request
        # goes away: a client that disconnects does not stop a running job.
        timed = await item.future
        self.metrics.queue_seconds.observe(timed.queue_ms / 1e3)
        self.metrics.inference_seconds.observe(timed.run_ms / 1e3)
        return timed

    @staticmethod
    def _deliver(outcomes: list[_Outcome]) -> None:
        """On the event loop: resolve the futures of a finished batch (one wake-up per batch)."""
        for item, outcome in outcomes:
            if item.future.done() or outcome is None:  # cancelled: its client went away
                continue
            if isinstance(outcome, BaseException):
                item.future.set_exception(outcome)
            else:
                item.future.set_result(outcome)

    def _finish(self, outcomes: list[_Outcome]) -> None:
        """From a worker: free the items' slots and hand their outcomes to their event loops."""
        with self._cond:
            self._pending -= len(outcomes)
            self.metrics.queue_depth.set(self._pending)
        by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
        for outcome in outcomes:
            by_loop.setdefault(outcome[0].loop, []).append(outcome)
        for loop, group in by_loop.items():
            try:
                loop.call_soon_threadsafe(self._deliver, group)
            except RuntimeError:  # that loop has closed; nobody is waiting any more
                log.debug("dropped %d results for a closed event loop", len(group))

    # -- workers ---------------------------------------------------------------------------------
    def _take(self) -> list[_Item] | None:
        """The next item, plus the predict jobs queued right behind it that fit one batch."""
        with self._cond:
            while not self._queue and not self._closed:
                self._cond.wait()
            if not self._queue:
                return None  # closed and drained
            batch = [self._queue.popleft()]
            if batch[0].job is not None:
                images = batch[0].size
                while self._queue and self._queue[0].job is not None:
                    if images + self._queue[0].size > self.max_batch:
                        break
                    images += self._queue[0].size
                    batch.append(self._queue.popleft())
            return batch

    def _work(self, predictor: Predictor) -> None:
        while (batch := self._take()) is not None:
            try:
                outcomes = self._process(predictor, batch)
            except BaseException as exc:  # a bug: fail the batch rather than leave it hanging
                log.exception("inference worker failed on a batch of %d requests", len(batch))
                outcomes = [(item, exc) for item in batch]
            self._finish(outcomes)

    def _process(self, predictor: Predictor, batch: list[_Item]) -> list[_Outcome]:
        outcomes: list[_Outcome] = []
        live: list[_Item] = []
        for item in batch:
            # A request whose client went away while it waited is skipped; its slot is freed.
            if item.future.cancelled():
                outcomes.append((item, None))
            else:
                live.append(item)
        started = time.perf_counter_ns()
        if live and live[0].fn is not None:
            outcomes.append((live[0], self._call(predictor, live[0], started)))
        elif live:
            outcomes.extend(self._predict_batch(predictor, live, started))
        return outcomes

    @staticmethod
    def _call(predictor: Predictor, item: _Item, started: int) -> Timed | BaseException:
        try:
            return _timed(item.fn(predictor), item, started)  # type: ignore[misc]
        except BaseException as exc:
            return exc

    def _predict_batch(
        self, predictor: Predictor, batch: list[_Item], started: int
    ) -> list[_Outcome]:
        outcomes: list[_Outcome] = []
        ready: dict[tuple[int, str], list[tuple[_Item, list[Decoded], float]]] = {}
        for item in batch:
            job = item.job
            if job is None:  # never: _take batches predict jobs only
                continue
            t0 = time.perf_counter_ns()
            try:
                decoded = job.decode(job.items)
            except BaseException as exc:  # a bad upload fails its own request only
                outcomes.append((item, exc))
                continue
            decode_ms = (time.perf_counter_ns() - t0) / 1e6
            ready.setdefault((job.top_k, job.polarity), []).append((item, decoded, decode_ms))
        for (top_k, polarity), members in ready.items():
            images = [d.image for _, ds, _ in members for d in ds]
            t0 = time.perf_counter_ns()
            try:
                preds = predictor.predict(images, top_k=top_k, polarity=polarity)  # type: ignore[arg-type]
            except RuntimeCrashedError as exc:
                # Only this batch's requests are lost; the worker's runtime is already restarting.
                self.metrics.runtime_crashes.inc()
                crashed = ApiError(
                    503, "runtime_crashed", f"{exc}; retry", headers={"Retry-After": "1"}
                )
                outcomes.extend((item, crashed) for item, _, _ in members)
                continue
            except BaseException as exc:
                outcomes.extend((item, exc) for item, _, _ in members)
                continue
            model_ms = (time.perf_counter_ns() - t0) / 1e6
            self.metrics.batch_images.observe(len(images))
            at = 0
            for item, ds, decode_ms in members:
                sizes = [(d.width, d.height) for d in ds]
                result = PredictResult(
                    preds[at : at + len(ds)], sizes, decode_ms, model_ms, len(images)
                )
                at += len(ds)
                outcomes.append((item, _timed(result, item, started)))
        return outcomes

    def drain(self) -> int:
        """Stop taking work: refuse new requests and the queued ones (503, JSON) at once.

        Requests already in a worker finish. Called when shutdown begins, so that waiting clients
        get an answer now instead of being cut off when the grace period ends.
        """
        with self._cond:
            self._closed = True
            dropped = list(self._queue)
            self._queue.clear()
            self._cond.notify_all()
        if dropped:
            log.info("shutting down: refused %d queued request(s)", len(dropped))
            self._finish([(item, _shutting_down()) for item in dropped])
        return len(dropped)

    def close(self, timeout_s: float | None = None) -> bool:
        """Drain, wait up to ``timeout_s`` (None: no limit) for the workers, release interpreters.

        Returns False when a worker was still busy at the deadline: its interpreter is then left
        alone (releasing it under a running call would crash the process), and the daemon thread
        ends with the process.
        """
        self.drain()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        stopped = True
        for t, p in zip(self._threads, self.predictors):
            t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if t.is_alive():
                stopped = False
                log.warning(
                    "inference worker %s still busy at shutdown; not waiting for it", t.name
                )
                continue
            p.close()
        return stopped


def _timed(value: Any, item: _Item, started: int) -> Timed:
    done = time.perf_counter_ns()
    return Timed(value, (started - item.submitted_ns) / 1e6, (done - started) / 1e6)


__all__ = ["InferencePool", "PredictJob", "PredictResult", "Saturated", "Timed"]
