"""Live classification of a camera, video file or stream, always on the latest frame.

A grabber thread reads frames as fast as the source delivers them into a one-slot ``LatestFrame``;
the classifier takes whatever is newest, so frames never pile up and a slow model means dropped
frames (counted), not growing lag. Video files are read at their own frame rate by default, as if
they were live (``pace=False`` reads them as fast as possible).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_runtime.camera_explain import FrameExplainer, FrameExplanation
from edge_runtime.camera_window import Overlay, window_refusal
from edge_runtime.common.configbase import JsonConfig
from edge_runtime.common.errors import ConfigError
from edge_runtime.errors import CameraError
from edge_runtime.latest_frame import Frame, LatestFrame
from edge_runtime.polarity import check_invert_choice
from edge_runtime.prediction import DEFAULT_TOP_K, Prediction
from edge_runtime.predictor import Predictor
from edge_runtime.stats import LatencyStats

log = logging.getLogger(__name__)

# A live source that delivers nothing for this long is treated as ended.
STALL_TIMEOUT_S = 10.0
# How long the end of a run waits for the grabber thread to leave a blocking read.
GRABBER_JOIN_S = 5.0


@dataclass(frozen=True)
class CameraConfig(JsonConfig):
    """What ``edgetk camera`` runs."""

    bundle: str
    source: str = "0"  # camera index, video file, or stream URL (rtsp://, http://)
    artifact: str | None = None
    threads: int | None = None
    polarity: str = "auto"  # invert: auto, never or always (edge_runtime.polarity)
    headless: bool = False
    max_frames: int | None = None  # stop after classifying this many frames
    duration: float | None = None  # stop after this many seconds
    pace: bool = True  # read video files at their frame rate, like a live source
    top_k: int = DEFAULT_TOP_K
    verify: bool = True  # check the artifact's sha256 against the manifest before loading it
    # Explain every N-th classified frame on a background thread (edge_runtime/camera_explain.py);
    # 0: no explanations.
    explain_every: int = 0

    def validate(self) -> None:
        check_invert_choice(self.polarity, "polarity=")
        if self.max_frames is not None and self.max_frames < 1:
            raise ConfigError(f"max_frames={self.max_frames} must be at least 1")
        if self.duration is not None and self.duration <= 0:
            raise ConfigError(f"duration={self.duration} must be positive (seconds)")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads={self.threads} must be at least 1")
        if self.top_k < 1:
            raise ConfigError(f"top_k={self.top_k} must be at least 1")
        if self.explain_every < 0:
            raise ConfigError(
                f"explain_every={self.explain_every}; give N >= 1 to explain every N-th frame, "
                "or 0 for none"
            )


@dataclass(frozen=True)
class FrameResult:
    """One classified frame."""

    seq: int
    prediction: Prediction
    model_ms: float  # the predictor call (preprocessing + inference)
    capture_to_result_ms: float  # from the grabber receiving the frame to the result
    dropped_so_far: int
    windowed: bool = False  # shown in the overlay window (not part of the JSON line)
    # A map finished since the previous frame (--explain-every), of an earlier frame.
    explanation: FrameExplanation | None = None
    shown_map: FrameExplanation | None = None  # the newest map, drawn in the window

    def to_dict(self) -> dict[str, Any]:
        d = {"frame": self.seq, **self.prediction.to_dict()}
        d.pop("latency_ms", None)
        d.update(
            model_ms=round(self.model_ms, 3),
            capture_to_result_ms=round(self.capture_to_result_ms, 3),
            dropped_so_far=self.dropped_so_far,
        )
        if self.explanation is not None:
            d["explanation"] = self.explanation.to_dict()
        return d


@dataclass(frozen=True)
class CameraStats:
    """Frame accounting and latency at the end of a run: read = classified + dropped."""

    source: str
    frames_read: int
    frames_classified: int
    frames_dropped: int
    duration_s: float
    end_reason: str
    model_ms: LatencyStats | None
    capture_to_result_ms: LatencyStats | None
    windowed: bool = False  # the frames were shown in the overlay window
    explanations: dict[str, Any] | None = None  # FrameExplainer.stats() with --explain-every

    @property
    def fps(self) -> float:
        """Classified frames per second."""
        return self.frames_classified / self.duration_s if self.duration_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "frames_read": self.frames_read,
            "frames_classified": self.frames_classified,
            "frames_dropped": self.frames_dropped,
            "duration_s": round(self.duration_s, 3),
            "fps": round(self.fps, 2),
            "read_fps": round(self.frames_read / self.duration_s, 2) if self.duration_s else 0.0,
            "end_reason": self.end_reason,
            "window": self.windowed,
            "explanations": self.explanations,
            "model_ms": self.model_ms.to_dict() if self.model_ms else None,
            "capture_to_result_ms": (
                self.capture_to_result_ms.to_dict() if self.capture_to_result_ms else None
            ),
        }


# One line, exit 1: which extra brings OpenCV, for a desktop and for a board or server.
MISSING_OPENCV = (
    "'edgetk camera' needs OpenCV, which is not installed; install the 'camera' extra: "
    "pip install 'edgetk[camera]' (or 'edgetk[camera-headless]' where there is no display)"
)


def _cv2() -> Any:
    try:
        import cv2
    except ImportError:
        raise CameraError(MISSING_OPENCV) from None
    return cv2


def open_source(source: str) -> tuple[Any, bool]:
    """Open ``source`` with OpenCV; returns ``(capture, is_file)`` or raises ``CameraError``."""
    cv2 = _cv2()
    if source.isdigit():
        cap = cv2.VideoCapture(int(source))
        if not cap.isOpened():
            raise CameraError(
                f"cannot open camera {source}: no such device, or it is busy or not permitted; "
                "list cameras with `ls /dev/video*`, or pass a video file or stream URL to --source"
            )
        return cap, False
    is_url = "://" in source
    if not is_url and not Path(source).is_file():
        raise CameraError(f"video file {source} does not exist; pass a camera index, file or URL")
    cap = cv2.VideoCapture(source)
    if not cap.isOpened():
        what = "stream" if is_url else "video file"
        raise CameraError(
            f"cannot open {what} {source}: OpenCV could not read it (unsupported codec, "
            "unreachable stream, or not a video)"
        )
    return cap, not is_url


def _grabber(cap: Any, slot: LatestFrame, stop: threading.Event, pace_s: float | None) -> None:
    seq = 0
    next_t = time.perf_counter()
    try:
        while not stop.is_set():
            ok, image = cap.read()
            if not ok or image is None:
                break
            seq += 1
            slot.put(Frame(seq, image, time.perf_counter_ns()))
            if pace_s:
                next_t += pace_s
                delay = next_t - time.perf_counter()
                if delay > 0:
                    stop.wait(delay)
    finally:
        # The capture is released by the one thread that reads it: releasing it from another
        # thread while this one is still blocked inside cap.read() is undefined in OpenCV's
        # backends (V4L2, FFmpeg), and a stuck read on a dead stream may outlive any join timeout.
        cap.release()
        slot.close()


def _open_overlay(cv2: Any, config: CameraConfig, name: str, resize: str) -> Overlay | None:
    refusal = window_refusal(cv2, config.headless)
    if refusal is None:
        try:
            return Overlay(cv2, f"edgetk - {name}", resize)
        except cv2.error as exc:
            refusal = f"OpenCV could not open a window: {str(exc).strip().splitlines()[-1]}"
    if not config.headless:
        log.warning("no overlay window: %s; printing one JSON line per frame instead", refusal)
    return None


def run_camera(
    config: CameraConfig,
    on_frame: Callable[[FrameResult], None] | None = None,
    predictor: Predictor | None = None,
) -> CameraStats:
    """Classify ``config.source`` until a limit, the end of the stream, q/Esc or Ctrl-C."""
    cv2 = _cv2()  # before the model loads: a missing extra is said first, in one line
    if predictor is None:
        predictor = Predictor.from_bundle(
            config.bundle,
            config.artifact,
            config.threads,
            polarity=config.polarity,
            verify_hashes=config.verify,
        )
    cap, is_file = open_source(config.source)
    try:
        pace_s = None
        if is_file and config.pace:
            fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
            pace_s = 1.0 / fps if fps > 0 else None
        overlay = _open_overlay(
            cv2, config, predictor.manifest.name, predictor.manifest.input.resize
        )
    except BaseException:
        cap.release()  # the grabber, which releases it otherwise, has not started
        raise

    explainer = None
    if config.explain_every:
        try:  # its own interpreter: explaining must not hold the classifier's lock
            explainer = FrameExplainer(
                Predictor.from_bundle(
                    config.bundle,
                    predictor.artifact.file,
                    config.threads,
                    polarity=config.polarity,
                    verify_hashes=config.verify,
                ),
                config.explain_every,
            )
        except BaseException:
            cap.release()
            if overlay is not None:
                overlay.close()
            raise
    reported: FrameExplanation | None = None

    slot = LatestFrame()
    stop = threading.Event()
    grabber = threading.Thread(
        target=_grabber, args=(cap, slot, stop, pace_s), name="frame-grabber", daemon=True
    )
    model_ns: list[int] = []
    e2e_ns: list[int] = []
    last_seq = 0
    reason = "end of stream"
    start = time.perf_counter()
    last_frame_t = start
    grabber.start()
    try:
        while True:
            if config.max_frames is not None and len(model_ns) >= config.max_frames:
                reason = "max frames"
                break
            if config.duration is not None and time.perf_counter() - start >= config.duration:
                reason = "duration"
                break
            frame = slot.take(timeout=0.2)
            if frame is None:
                if slot.closed:
                    reason = "end of stream" if is_file else "source stopped delivering frames"
                    break
                if time.perf_counter() - last_frame_t > STALL_TIMEOUT_S:
                    reason = f"no frame for {STALL_TIMEOUT_S:.0f} s"
                    break
                continue
            last_frame_t = time.perf_counter()
            if frame.seq <= last_seq:  # cannot happen with LatestFrame; guards future edits
                raise RuntimeError(f"frame {frame.seq} taken after frame {last_seq}")
            last_seq = frame.seq
            t0 = time.perf_counter_ns()
            pred = predictor.predict([frame.image], bgr=True, top_k=config.top_k)[0]
            t1 = time.perf_counter_ns()
            model_ns.append(t1 - t0)
            e2e_ns.append(t1 - frame.captured_ns)
            fresh = latest = None
            if explainer is not None:
                if explainer.due(len(model_ns)):
                    explainer.offer(frame.seq, frame.image)  # declined while one is running
                latest = explainer.latest
                fresh = latest if latest is not reported else None
                reported = latest
            result = FrameResult(
                frame.seq,
                pred,
                (t1 - t0) / 1e6,
                (t1 - frame.captured_ns) / 1e6,
                slot.dropped,
                windowed=overlay is not None,
                explanation=fresh,
                shown_map=latest,
            )
            if on_frame:
                on_frame(result)
            if overlay is not None:
                elapsed = time.perf_counter() - start
                if not overlay.show(frame.image, result, len(model_ns) / max(elapsed, 1e-9)):
                    reason = "closed by user"
                    break
    except KeyboardInterrupt:
        reason = "interrupted"
    finally:
        stop.set()
        grabber.join(timeout=GRABBER_JOIN_S)
        if grabber.is_alive():
            # Still blocked in cap.read(): it releases the capture itself when the read returns.
            log.warning(
                "%s did not return from a read within %.0f s; leaving it to release the capture",
                config.source,
                GRABBER_JOIN_S,
            )
        if overlay is not None:
            overlay.close()
        if explainer is not None:
            explainer.close()
    slot.discard()
    duration = time.perf_counter() - start
    if slot.put_count == 0 and reason not in ("interrupted", "closed by user"):
        raise CameraError(
            f"{config.source} opened but delivered no frames: not a video OpenCV can decode, "
            "or the camera produced nothing"
        )
    return CameraStats(
        source=config.source,
        frames_read=slot.put_count,
        frames_classified=len(model_ns),
        frames_dropped=slot.dropped,
        duration_s=duration,
        end_reason=reason,
        model_ms=LatencyStats.from_ns(model_ns) if model_ns else None,
        capture_to_result_ms=LatencyStats.from_ns(e2e_ns) if e2e_ns else None,
        windowed=overlay is not None,
        explanations=explainer.stats() if explainer is not None else None,
    )


__all__ = [
    "CameraConfig",
    "CameraStats",
    "FrameResult",
    "MISSING_OPENCV",
    "open_source",
    "run_camera",
]
