"""The overlay window of ``edgetk camera``: whether one can open here, and what it draws.

A window needs a display and OpenCV's GUI build (``opencv-python``, the 'camera' extra); the
headless build (``opencv-python-headless``, 'camera-headless') has no window support at all. When
either is missing the camera says why, once, and prints JSON lines instead.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from edge_runtime.camera import FrameResult

# Frames narrower than this are scaled up (nearest neighbour) in the window, so the text fits.
OVERLAY_MIN_WIDTH = 320


def display_available() -> bool:
    """Whether an overlay window can be shown (a display on Linux, always elsewhere)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def opencv_has_gui(cv2: Any) -> bool:
    """Whether this OpenCV build can open windows (``opencv-python``, not the headless build)."""
    for line in cv2.getBuildInformation().splitlines():
        key, _, value = line.strip().partition(":")
        if key.strip() == "GUI":
            return value.strip().upper() not in ("", "NONE")
    return True  # an unknown layout: let namedWindow decide


def window_refusal(cv2: Any, headless: bool) -> str | None:
    """Why no overlay window is opened, or None when one can be: said once, before the run."""
    if headless:
        return "--headless"
    if not display_available():
        return "no display (neither DISPLAY nor WAYLAND_DISPLAY is set)"
    if not opencv_has_gui(cv2):
        return (
            "this OpenCV is the headless build, which cannot open windows; for the window install "
            "the 'camera' extra (pip install 'edgetk[camera]') in place of 'camera-headless'"
        )
    return None


# Where Linux distributions keep fonts; the Qt inside the opencv-python wheel ships none.
_SYSTEM_FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/truetype",
    "/usr/share/fonts",
)


def _point_qt_at_system_fonts() -> None:
    # Without this, the wheel's Qt prints a "Cannot find font directory" warning per widget on
    # stderr. Only a default: a user's own QT_QPA_FONTDIR is kept.
    if "QT_QPA_FONTDIR" in os.environ or not sys.platform.startswith("linux"):
        return
    for d in _SYSTEM_FONT_DIRS:
        if os.path.isdir(d):
            os.environ["QT_QPA_FONTDIR"] = d
            return


def overlay_lines(label: str, probability: float, fps: float, model_ms: float) -> list[str]:
    """The text drawn on each frame: what was seen, how sure, how fast."""
    return [f"{label} {probability:.0%}", f"{fps:.1f} FPS  model {model_ms:.1f} ms"]


def draw_overlay(cv2: Any, image: Any, lines: list[str]) -> Any:
    """``image`` scaled up to a readable size, with ``lines`` drawn white on black at the top left."""
    h, w = image.shape[:2]
    # Text 0.6 high needs ~320 px of width; a 28 px video would show nothing readable.
    scale = max(1, int(np.ceil(OVERLAY_MIN_WIDTH / max(w, 1))))
    if scale > 1:
        image = cv2.resize(image, (w * scale, h * scale), interpolation=cv2.INTER_NEAREST)
    for i, text in enumerate(lines):
        y = 26 + 26 * i
        cv2.putText(image, text, (8, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 4)
        cv2.putText(image, text, (8, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
    return image


class Overlay:
    """An OpenCV window showing each classified frame with label, probability, frame rate and
    model latency drawn on it; closes on q, Esc or the window's close button."""

    def __init__(self, cv2: Any, title: str, resize: str = "stretch") -> None:
        self.cv2 = cv2
        self.title = title
        self.resize = resize  # the manifest's, to lay an explanation map over the frame
        _point_qt_at_system_fonts()
        # GUI_NORMAL: the frame alone, without the Qt build's toolbar and status bar.
        cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)
        self._shown = False

    def show(self, image: Any, r: FrameResult, fps: float) -> bool:
        """Draws and shows one frame; False once the user asked to close the window."""
        cv2 = self.cv2
        p = r.prediction
        lines = overlay_lines(p.label, p.probability, fps, r.model_ms)
        m = r.shown_map
        if m is not None:  # the newest finished map (--explain-every), of a recent frame
            from edge_runtime.camera_explain import blend

            image = blend(image, m.saliency, self.resize)
            lines.append(f"map: frame {m.frame}, {m.label}, {m.ms:.0f} ms")
        cv2.imshow(self.title, draw_overlay(cv2, image, lines))
        # The first frame gives the GUI time to map and paint the new window: on a busy CPU a
        # 1 ms event slice per frame could leave it unpainted for the whole stream.
        key = cv2.waitKey(1 if self._shown else 100) & 0xFF
        self._shown = True
        # The window manager's close button: the window is gone, stop like q / Esc.
        gone = cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1
        return key not in (ord("q"), 27) and not gone

    def close(self) -> None:
        self.cv2.destroyWindow(self.title)
        self.cv2.waitKey(1)  # lets the GUI backend process the close


__all__ = [
    "OVERLAY_MIN_WIDTH",
    "Overlay",
    "display_available",
    "draw_overlay",
    "opencv_has_gui",
    "overlay_lines",
    "window_refusal",
]
