"""`edgetk camera --explain-every N`: occlusion maps of live frames, off the display path.

The maps come from a background thread with its own interpreter; the frame loop hands it every
N-th classified frame and never waits: while a map is running the offer is declined and counted.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from edge_runtime import Predictor  # noqa: E402
from edge_runtime.camera import CameraConfig, run_camera  # noqa: E402
from edge_runtime.camera_explain import FrameExplainer, blend  # noqa: E402
from edge_runtime.explain import to_image  # noqa: E402
from edgetk.cli import main  # noqa: E402
from tests.fixtures.edge_helpers import BUNDLE  # noqa: E402
from tests.test_edge_camera import write_video  # noqa: E402


def test_headless_run_explains_every_nth_frame_and_the_map_is_on_the_bar(tmp_path: Path) -> None:
    video = write_video(tmp_path / "bars.avi", ["horizontal"] * 40, fps=50.0)
    seen: list = []
    cfg = CameraConfig(bundle=str(BUNDLE), source=str(video), headless=True, explain_every=3)
    stats = run_camera(cfg, seen.append)
    ex = stats.explanations
    assert ex is not None and ex["every"] == 3
    assert ex["offered"] == stats.frames_classified // 3
    # every offer was explained or declined as busy: none lost, none queued
    assert ex["explained"] + ex["skipped_busy"] + ex["failed"] == ex["offered"]
    assert ex["explained"] >= 1 and ex["failed"] == 0 and ex["ms_p50"] > 0
    maps = [r.explanation for r in seen if r.explanation is not None]
    assert maps, "no frame line carried a finished map"
    explained_seqs = [r.seq for i, r in enumerate(seen) if (i + 1) % 3 == 0]
    for r in seen:
        e = r.explanation
        if e is None:
            continue
        assert e.frame in explained_seqs and e.frame <= r.seq  # a map of an earlier frame
        assert e.label == "horizontal" and e.signal > 0
        row, col = np.unravel_index(np.argmax(e.saliency), e.saliency.shape)
        assert 11 <= row <= 17, (row, col)  # on the bar across the middle (28 px input)
        d = r.to_dict()["explanation"]
        assert d["frame"] == e.frame and d["peak"] == {"row": int(row), "col": int(col)}
    assert json.dumps(stats.to_dict())  # the summary carries the stats as JSON


def test_cli_option_and_off_by_default(tmp_path: Path, capsys) -> None:
    video = write_video(tmp_path / "v.avi", ["vertical"] * 12)
    args = ["camera", str(BUNDLE), "--source", str(video), "--headless"]  # paced: 50 fps
    assert main([*args, "--explain-every", "1"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    assert lines[-1]["summary"]["explanations"]["every"] == 1
    assert any("explanation" in line for line in lines[:-1])
    assert main(args) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    assert lines[-1]["summary"]["explanations"] is None
    assert not any("explanation" in line for line in lines[:-1])


class _Blocking:
    """A predictor whose explain waits until released: a map that takes as long as we like."""

    def __init__(self, inner: Predictor) -> None:
        self.inner = inner
        self.release = threading.Event()
        self.started = threading.Event()
        self.closed = False

    def explain(self, image, **kw):
        self.started.set()
        assert self.release.wait(30)
        return self.inner.explain(image, **kw)

    def close(self) -> None:
        self.closed = True


def test_offers_while_a_map_runs_are_declined_without_waiting() -> None:
    inner = Predictor.from_bundle(BUNDLE)
    slow = _Blocking(inner)
    ex = FrameExplainer(slow, every=1)  # type: ignore[arg-type]
    frame = np.zeros((64, 64, 3), np.uint8)
    frame[30:34, 10:54] = 230
    try:
        assert ex.offer(1, frame)
        assert slow.started.wait(30)
        # the map is blocked: offers return at once (a waiting offer would hang this test)
        assert not ex.offer(2, frame) and not ex.offer(3, frame)
        assert ex.skipped == 2 and ex.latest is None
        slow.release.set()
        for _ in range(300):
            if ex.latest is not None:
                break
            threading.Event().wait(0.01)
        assert ex.latest is not None and ex.latest.frame == 1
        assert ex.offer(4, frame)  # free again
    finally:
        slow.release.set()
        ex.close()
        inner.close()
    assert slow.closed and ex.stats()["offered"] == 4


def test_map_is_laid_over_the_frame_as_the_manifest_fitted_it() -> None:
    # A 20x40 frame padded into a 28x28 input fills rows 7..20; the map's hot content area must
    # cover the whole frame, and the padding rows must not appear in it.
    sal = np.zeros((28, 28), np.float32)
    sal[7:21, :] = 1.0
    assert to_image(sal, 20, 40, "pad").min() > 0.99
    assert to_image(sal, 20, 40, "stretch").min() < 0.01  # stretched, the padding would show
    crop = np.ones((28, 28), np.float32)
    assert to_image(crop, 28, 56, "center_crop")[:, :4].max() < 0.01  # cut-off sides: 0
    frame = np.zeros((20, 40, 3), np.uint8)
    out = blend(frame, sal, "pad")
    assert out.shape == (20, 40, 3) and out.dtype == np.uint8 and out.sum() > 0
    with pytest.raises(ValueError, match="every"):
        FrameExplainer(None, every=0)  # type: ignore[arg-type]
