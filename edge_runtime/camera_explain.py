"""Explanations beside the live camera (``edgetk camera --explain-every N``), off the display path.

One occlusion map is up to 257 forward passes (``edge_runtime.explain``), tens of milliseconds
even for a small int8 model: done inline it would stall the frame loop for that long every N
frames. So a background thread owns a second ``Predictor`` (its own interpreter: the runtime is not
re-entrant, and sharing the first one's lock would block classification while a map runs) and
explains one frame at a time. The frame loop hands it every N-th classified frame with
``offer``; while a map is still being computed the offer is declined and counted (``skipped``),
never queued, so the loop never waits and maps are at most one computation old. The window draws
the newest finished map over the live frames until the next one arrives; headless runs add it to
the JSON line of the frame after it finished.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge_runtime.predictor import Predictor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FrameExplanation:
    """The map of one frame, finished by the background thread."""

    frame: int  # the frame's sequence number
    label: str
    probability: float
    saliency: np.ndarray  # (H, W) in [0, 1], at the model's input size
    signal: float
    passes: int
    ms: float  # the explanation's own wall time
    done_ns: int  # perf_counter_ns when it finished

    def to_dict(self) -> dict[str, Any]:
        r, c = np.unravel_index(int(np.argmax(self.saliency)), self.saliency.shape)
        return {
            "frame": self.frame,
            "label": self.label,
            "probability": round(self.probability, 6),
            "signal": round(self.signal, 6),
            "peak": {"row": int(r), "col": int(c)},
            "passes": self.passes,
            "ms": round(self.ms, 3),
        }


class FrameExplainer:
    """Explains at most one frame at a time on its own thread, with its own predictor."""

    def __init__(self, predictor: Predictor, every: int) -> None:
        if every < 1:
            raise ValueError(f"every={every}; explain every N >= 1 frames")
        self.predictor = predictor
        self.every = every
        self.offered = 0
        self.skipped = 0  # offers declined because a map was still being computed
        self.done = 0
        self.failed = 0
        self.ms: list[float] = []
        self._cond = threading.Condition()
        self._job: tuple[int, np.ndarray] | None = None
        self._busy = False
        self._closed = False
        self._latest: FrameExplanation | None = None
        self._thread = threading.Thread(target=self._run, name="frame-explainer", daemon=True)
        self._thread.start()

    def due(self, classified: int) -> bool:
        """Whether the ``classified``-th frame (1-based) is one to explain."""
        return classified % self.every == 0

    def offer(self, seq: int, image: np.ndarray) -> bool:
        """Hand over frame ``seq`` (a BGR camera frame; copied) unless a map is running."""
        with self._cond:
            self.offered += 1
            if self._busy or self._closed:
                self.skipped += 1
                return False
            self._job = (seq, np.array(image, copy=True))
            self._busy = True
            self._cond.notify()
            return True

    @property
    def latest(self) -> FrameExplanation | None:
        """The newest finished map, or None before the first."""
        return self._latest

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._job is None and not self._closed:
                    self._cond.wait()
                if self._job is None:  # closed, nothing handed over: done
                    return
                seq, image = self._job  # type: ignore[misc]
                self._job = None
            try:
                e = self.predictor.explain(image, bgr=True)
                self._latest = FrameExplanation(
                    seq,
                    e.label,
                    e.probability,
                    e.saliency,
                    e.signal,
                    e.passes,
                    e.ms,
                    time.perf_counter_ns(),
                )
                self.ms.append(e.ms)
                self.done += 1
            except Exception:  # a failed map must not end the camera
                self.failed += 1
                log.exception("explaining frame %d failed", seq)
            finally:
                with self._cond:
                    self._busy = False

    def stats(self) -> dict[str, Any]:
        ms = np.asarray(self.ms)
        return {
            "every": self.every,
            "offered": self.offered,
            "explained": self.done,
            "skipped_busy": self.skipped,
            "failed": self.failed,
            "ms_p50": round(float(np.percentile(ms, 50)), 3) if len(ms) else None,
            "ms_p90": round(float(np.percentile(ms, 90)), 3) if len(ms) else None,
        }

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the thread (after the map in progress) and release its predictor."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.warning("the explanation thread is still busy; leaving its runtime to exit")
            return
        self.predictor.close()


def blend(frame: np.ndarray, saliency: np.ndarray, resize: str, alpha: float = 0.55) -> np.ndarray:
    """The BGR ``frame`` with the map laid over it (the manifest's ``resize`` inverted)."""
    from edge_runtime.explain import overlay

    return overlay(frame, saliency, alpha=alpha, resize=resize, bgr=True)


__all__ = ["FrameExplainer", "FrameExplanation", "blend"]
