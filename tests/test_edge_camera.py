"""`edgetk camera` on a video file written with OpenCV: the real capture path, frame accounting,
latest-frame semantics (a stale frame is never classified twice), and clean failures."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from edge_runtime import Predictor  # noqa: E402
from edge_runtime.camera import CameraConfig, run_camera  # noqa: E402
from edge_runtime.errors import CameraError  # noqa: E402
from edge_runtime.latest_frame import Frame, LatestFrame  # noqa: E402
from edgetk.cli import main  # noqa: E402
from tests.fixtures.edge_helpers import BUNDLE, pattern  # noqa: E402


def write_video(path: Path, kinds: list[str], fps: float = 50.0, size: int = 64) -> Path:
    """An MJPG .avi whose frames show ``kinds`` in order (light on dark, as the model expects)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (size, size))
    assert writer.isOpened()
    for k in kinds:
        writer.write(cv2.cvtColor(pattern(k, size), cv2.COLOR_GRAY2BGR))
    writer.release()
    return path


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.from_bundle(BUNDLE, threads=1)


def test_latest_frame_keeps_only_the_newest_and_never_returns_one_twice() -> None:
    slot = LatestFrame()
    img = np.zeros((2, 2, 3), np.uint8)
    slot.put(Frame(1, img, 0))
    slot.put(Frame(2, img, 0))
    assert slot.dropped == 1
    assert slot.take(timeout=0.01).seq == 2
    assert slot.take(timeout=0.01) is None  # already taken: not handed out again
    slot.put(Frame(3, img, 0))
    slot.close()
    assert slot.take().seq == 3
    assert slot.take() is None and slot.closed
    assert slot.put_count == 3 and slot.taken_count == 2 and slot.dropped == 1


def test_video_file_every_frame_read_and_accounted(space_dir: Path, predictor: Predictor) -> None:
    kinds = ["horizontal"] * 10 + ["cross"] * 10 + ["box"] * 10
    video = write_video(space_dir / "clip one.avi", kinds)
    seen: list = []
    stats = run_camera(
        CameraConfig(bundle=str(BUNDLE), source=str(video), headless=True), seen.append, predictor
    )
    assert stats.frames_read == 30
    assert stats.frames_classified + stats.frames_dropped == stats.frames_read
    assert stats.frames_classified == len(seen) > 0
    seqs = [r.seq for r in seen]
    assert seqs == sorted(set(seqs))  # strictly increasing: no frame classified twice
    for r in seen:  # each classified frame shows what was drawn into that frame
        assert r.prediction.label == kinds[r.seq - 1]
        assert r.capture_to_result_ms >= r.model_ms > 0
    assert stats.end_reason == "end of stream"
    assert stats.model_ms.n == stats.frames_classified


class _SlowPredictor:
    """Wraps a predictor, sleeping per call so that the grabber outruns it."""

    def __init__(self, inner: Predictor, delay: float) -> None:
        self.inner, self.delay = inner, delay
        self.manifest = inner.manifest
        self.frames: list[np.ndarray] = []  # kept alive, so their ids stay distinct
        self._lock = threading.Lock()

    def predict(self, images, **kw):
        with self._lock:
            self.frames.append(images[0])
        time.sleep(self.delay)
        return self.inner.predict(images, **kw)


def test_slow_model_drops_frames_and_never_classifies_a_stale_frame_twice(
    tmp_path: Path, predictor: Predictor
) -> None:
    video = write_video(tmp_path / "v.avi", ["vertical"] * 40, fps=100.0)
    slow = _SlowPredictor(predictor, delay=0.05)
    seen: list = []
    stats = run_camera(
        CameraConfig(bundle=str(BUNDLE), source=str(video), headless=True), seen.append, slow
    )
    assert stats.frames_read == 40
    assert stats.frames_dropped > 0
    assert stats.frames_classified + stats.frames_dropped == 40
    ids = [id(f) for f in slow.frames]
    assert len(ids) == len(set(ids)) == stats.frames_classified  # each frame object at most once
    seqs = [r.seq for r in seen]
    assert all(b > a for a, b in zip(seqs, seqs[1:]))


def test_max_frames_and_cli_headless_json_lines(tmp_path: Path, capsys) -> None:
    video = write_video(tmp_path / "v.avi", ["box"] * 20)
    rc = main(["camera", str(BUNDLE), "--source", str(video), "--headless", "--max-frames", "5"])
    assert rc == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    frames, summary = lines[:-1], lines[-1]["summary"]
    assert len(frames) == 5 and all(f["label"] == "box" for f in frames)
    assert summary["frames_classified"] == 5 and summary["end_reason"] == "max frames"
    assert set(summary["model_ms"]) >= {"p50", "p90", "p99", "mean"}


def test_unopenable_sources_give_clear_errors(tmp_path: Path, capsys) -> None:
    with pytest.raises(CameraError, match="video file .*missing.mp4 does not exist"):
        run_camera(
            CameraConfig(bundle=str(BUNDLE), source=str(tmp_path / "missing.mp4"), headless=True)
        )
    with pytest.raises(CameraError, match="cannot open camera 9"):
        run_camera(CameraConfig(bundle=str(BUNDLE), source="9", headless=True))
    junk = tmp_path / "junk.avi"
    junk.write_bytes(b"this is not a video" * 100)
    with pytest.raises(CameraError, match="junk.avi"):
        run_camera(CameraConfig(bundle=str(BUNDLE), source=str(junk), headless=True))
    rc = main(["camera", str(BUNDLE), "--source", str(tmp_path / "missing.mp4"), "--headless"])
    assert rc == 1
    assert "error: video file" in capsys.readouterr().err


def _json_lines(out: str) -> list[dict]:
    return [json.loads(x) for x in out.strip().splitlines() if x.startswith("{")]


def test_no_display_without_headless_flag_still_prints_json_lines(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    """No --headless and no display: the reason is logged once and every frame is a JSON line."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    video = write_video(tmp_path / "v.avi", ["cross"] * 12)
    rc = main(["camera", str(BUNDLE), "--source", str(video), "--max-frames", "4"])
    assert rc == 0
    captured = capsys.readouterr()
    lines = _json_lines(captured.out)
    assert [x["frame"] for x in lines[:-1]] == sorted({x["frame"] for x in lines[:-1]})
    assert len(lines) == 5 and all(x["label"] == "cross" for x in lines[:-1])
    assert lines[-1]["summary"]["window"] is False
    warnings = [x for x in captured.err.splitlines() if x.startswith("WARNING")]
    assert len(warnings) == 1 and "no display" in warnings[0] and "JSON line" in warnings[0]


def test_headless_opencv_build_with_a_display_says_why_and_prints_json_lines(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    from edge_runtime.camera_window import opencv_has_gui

    if opencv_has_gui(cv2):
        pytest.skip(
            "this environment has OpenCV's GUI build; tests/test_camera_window.py covers it"
        )
    monkeypatch.setenv("DISPLAY", ":4242")  # never contacted: the headless build is refused first
    video = write_video(tmp_path / "v.avi", ["box"] * 6)
    rc = main(["camera", str(BUNDLE), "--source", str(video), "--max-frames", "2"])
    assert rc == 0
    captured = capsys.readouterr()
    assert len(_json_lines(captured.out)) == 3
    assert "headless build" in captured.err and "pip install 'edgetk[camera]'" in captured.err


class _StuckCapture:
    """A live source that delivers ``frames`` frames, then blocks inside read() until ``unblock``
    is set (a dead RTSP stream or an unplugged USB camera): release() records whether a read was
    still in progress, and from which thread."""

    def __init__(self, frames: int) -> None:
        self.frames = frames
        self.reads = 0
        self.in_read = 0
        self.unblock = threading.Event()
        self.releases: list[tuple[int, str]] = []
        self._lock = threading.Lock()

    def isOpened(self) -> bool:  # noqa: N802 (OpenCV's name)
        return True

    def get(self, _prop: int) -> float:
        return 0.0

    def read(self):
        with self._lock:
            self.in_read += 1
            self.reads += 1
            n = self.reads
        try:
            if n > self.frames:
                self.unblock.wait(30)
                return False, None
            return True, cv2.cvtColor(pattern("box", 64), cv2.COLOR_GRAY2BGR)
        finally:
            with self._lock:
                self.in_read -= 1

    def release(self) -> None:
        with self._lock:
            self.releases.append((self.in_read, threading.current_thread().name))


def test_capture_is_never_released_while_the_grabber_is_inside_read(
    monkeypatch, predictor: Predictor
) -> None:
    import edge_runtime.camera as camera_mod

    cap = _StuckCapture(frames=3)
    monkeypatch.setattr(camera_mod, "open_source", lambda _source: (cap, False))
    monkeypatch.setattr(camera_mod, "GRABBER_JOIN_S", 0.3, raising=False)
    stats = run_camera(
        CameraConfig(bundle=str(BUNDLE), source="0", headless=True, duration=1.0), None, predictor
    )
    assert stats.frames_read == 3
    # The run ended while the grabber was blocked in read(): nobody may release under it.
    assert cap.releases == []
    cap.unblock.set()
    deadline = time.monotonic() + 10
    while not cap.releases and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cap.releases == [(0, "frame-grabber")]
