"""The camera's overlay window, seen working: OpenCV's GUI build (the 'camera' extra) in a fresh
venv, a real X server (Xvfb), ``edgetk camera`` without --headless, and a screenshot read from the
X server's own frame buffer, where the label line drawn on the frame must be found pixel for pixel.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import struct
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from tests.fixtures.edge_helpers import BUNDLE, pattern
from tests.fixtures.fresh_env import build_wheel, installed, make_env

cv2 = pytest.importorskip("cv2")  # writes the test video and renders the expected text

from edge_runtime.camera_window import draw_overlay  # noqa: E402

pytestmark = pytest.mark.slow

FRAMES, FPS, SIZE = 300, 30.0, 64  # a 10 s video: the window stays up long enough to look at


def _apt_install(*packages: str) -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-qq", *packages]
    if subprocess.run(cmd, env=env, capture_output=True, timeout=900).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=900)
        subprocess.run(cmd, env=env, capture_output=True, timeout=900)


def _xvfb() -> str:
    if not shutil.which("Xvfb"):
        _apt_install("xvfb")
    exe = shutil.which("Xvfb")
    if exe is None:
        pytest.skip("Xvfb is not installed and apt-get could not install it (package xvfb)")
    return exe


@pytest.fixture(scope="module")
def display(tmp_path_factory: pytest.TempPathFactory, gui_env: Path):
    """``(DISPLAY, frame-buffer file)`` of a private Xvfb; the display number is Xvfb's choice.
    Started once the GUI environment is built (it may take minutes), with no screen saver."""
    with private_xvfb(tmp_path_factory.mktemp("xvfb")) as shown:
        yield shown


@contextlib.contextmanager
def private_xvfb(fbdir: Path):
    """Start an Xvfb writing its screen into ``fbdir``; yield ``(DISPLAY, frame-buffer file)``."""
    fbdir.mkdir(parents=True, exist_ok=True)
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [_xvfb(), "-displayfd", str(write_fd), "-screen", "0", "640x480x24", "-fbdir", str(fbdir)]
        + ["-nolisten", "tcp", "-s", "0"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as f:
            number = f.readline().strip()  # written once the server accepts clients
        if not number:
            pytest.fail(f"Xvfb exited ({proc.poll()}) without announcing a display")
        yield f":{number}", fbdir / "Xvfb_screen0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def gui_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("camera env")
    bin_dir = make_env(work / "venv", "camera", build_wheel(work))
    pkgs = installed(bin_dir)
    assert "opencv-python" in pkgs and "opencv-python-headless" not in pkgs
    probe = [str(bin_dir / "python"), "-c", "import cv2"]
    if subprocess.run(probe, capture_output=True).returncode != 0:
        _apt_install("libgl1", "libglib2.0-0")  # the GUI wheel's system libraries
        err = subprocess.run(probe, capture_output=True, text=True).stderr.strip()
        if err:
            pytest.skip(f"OpenCV's GUI build cannot load here: {err.splitlines()[-1]}")
    return bin_dir


def read_xwd(path: Path) -> np.ndarray:
    """An X window dump (what ``Xvfb -fbdir`` keeps up to date) as an RGB ``uint8`` array."""
    data = path.read_bytes()
    h = struct.unpack(">25I", data[:100])
    header_size, width, height, byte_order = h[0], h[4], h[5], h[7]
    bpp, bytes_per_line, masks, ncolors = h[11], h[12], h[14:17], h[19]
    assert bpp == 32, f"expected a 32-bit frame buffer, got {bpp}"
    dtype = np.dtype("<u4" if byte_order == 0 else ">u4")
    start = header_size + 12 * ncolors
    px = np.frombuffer(data, dtype, height * bytes_per_line // 4, start)
    px = px.reshape(height, bytes_per_line // 4)[:, :width]
    shifts = [(int(m) & -int(m)).bit_length() - 1 for m in masks]  # lowest set bit of each mask
    channels = [(px & m) >> s for m, s in zip(masks, shifts)]
    return np.stack(channels, axis=-1).astype(np.uint8)


def _write_video(path: Path) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (SIZE, SIZE))
    frame = cv2.cvtColor(pattern("box", SIZE), cv2.COLOR_GRAY2BGR)
    for _ in range(FRAMES):
        writer.write(frame)
    writer.release()
    return path


def _label_line_template(label: str, probability: float) -> np.ndarray:
    """The first overlay line exactly as the camera draws it, cropped to its white pixels."""
    canvas = draw_overlay(cv2, np.zeros((SIZE, SIZE, 3), np.uint8), [f"{label} {probability:.0%}"])
    grey = cv2.cvtColor(canvas, cv2.COLOR_BGR2GRAY)
    ys, xs = np.nonzero(grey > 128)
    return grey[ys.min() - 3 : ys.max() + 4, xs.min() - 3 : xs.max() + 4]


def _watch_window(
    edgetk: str, video: Path, env: dict[str, str], fb: Path, template: np.ndarray
) -> tuple[float, np.ndarray | None, str, str, int]:
    """Run the windowed camera on ``video``, grabbing the screen every 0.5 s until the label
    line is on it; (best match, last screen, stdout, stderr, exit code)."""
    proc = subprocess.Popen(
        [edgetk, "camera", str(BUNDLE), "--source", str(video)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    best, screen = 0.0, None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            screen = read_xwd(fb)
            grey = cv2.cvtColor(screen, cv2.COLOR_RGB2GRAY)
            best = float(cv2.matchTemplate(grey, template, cv2.TM_CCOEFF_NORMED).max())
            if best > 0.95:
                break
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return best, screen, out, err, proc.returncode


def test_overlay_window_shows_label_probability_fps_and_latency(
    display, gui_env: Path, tmp_path: Path
) -> None:
    disp, fb = display
    video = _write_video(tmp_path / "box clip.avi")
    env = dict(os.environ, DISPLAY=disp)
    env.pop("WAYLAND_DISPLAY", None)
    edgetk = str(gui_env / "edgetk")
    # What the model says about this video, from a headless run of the same install.
    first = subprocess.run(
        [edgetk, "camera", str(BUNDLE), "--source", str(video), "--headless", "--max-frames", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert first.returncode == 0, first.stderr
    frame = json.loads(first.stdout.splitlines()[0])
    template = _label_line_template(frame["label"], frame["probability"])

    # On a loaded machine (the suite's other worker training beside it) the window has now and
    # then stayed black for a whole run; a second run tells a flaky screen from a broken window.
    attempts = []
    for _ in range(2):
        best, screen, out, err, code = _watch_window(edgetk, video, env, fb, template)
        attempts.append(f"best match {best:.2f}")
        if best > 0.95:
            break
    assert screen is not None
    cv2.imwrite(str(tmp_path / "screenshot.png"), cv2.cvtColor(screen, cv2.COLOR_RGB2BGR))
    if os.environ.get("EDGETK_SCREENSHOT_OUT"):  # keep a copy for a person to look at
        shutil.copy(tmp_path / "screenshot.png", os.environ["EDGETK_SCREENSHOT_OUT"])
    assert best > 0.95, (
        f"label line not on screen ({', '.join(attempts)}); see {tmp_path}; stderr: {err[-800:]}"
    )
    # The second line (frame rate and model latency) sits one text row below the first.
    grey = cv2.cvtColor(screen, cv2.COLOR_RGB2GRAY)
    scores = cv2.matchTemplate(grey, template, cv2.TM_CCOEFF_NORMED)
    y, x = np.unravel_index(scores.argmax(), scores.shape)
    second = grey[y + template.shape[0] : y + template.shape[0] + 24, x : x + 320]
    assert (second > 200).sum() > 100, "no frame-rate / latency line under the label"
    # The frames went to the window: no JSON lines, no "no overlay window" warning.
    assert code == 0, err
    assert not [x for x in out.splitlines() if x.startswith("{")]
    assert "no overlay window" not in err and "end of stream" in err


def _watch_map(
    cmd: list[str], env: dict[str, str], fb: Path
) -> tuple[int, int, np.ndarray | None, str, int]:
    """Run the windowed camera with ``--explain-every 2``, grabbing the screen every 0.5 s until
    the map's colour is on it; (coloured pixels, painted pixels, last screen, stderr, exit code)."""
    proc = subprocess.Popen([*cmd, "--explain-every", "2"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    coloured, painted, screen = 0, 0, None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            screen = read_xwd(fb).astype(int)
            painted = max(painted, int((screen.max(axis=2) > 40).sum()))
            # the video and the text are grey, black or white: colour comes from the map
            coloured = int(((screen.max(axis=2) - screen.min(axis=2)) > 80).sum())
            if coloured > 2000:
                break
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return coloured, painted, screen, err, proc.returncode


def test_explanation_map_is_drawn_over_the_live_frames(
    display, gui_env: Path, tmp_path: Path
) -> None:
    """``--explain-every 2``: the newest occlusion map is laid over the grey video in colour.
    (Horizontal bars: on the box the int8 fixture model is so sure that no occlusion moves its
    output, and the map is empty.)"""
    disp, fb = display
    video = tmp_path / "bar clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (SIZE, SIZE))
    for _ in range(FRAMES):
        writer.write(cv2.cvtColor(pattern("horizontal", SIZE), cv2.COLOR_GRAY2BGR))
    writer.release()
    env = dict(os.environ, DISPLAY=disp)
    env.pop("WAYLAND_DISPLAY", None)
    cmd = [str(gui_env / "edgetk"), "camera", str(BUNDLE), "--source", str(video)]
    # Now and then the window stays black for a whole run on this Xvfb (the overlay test above
    # retries for the same reason): a black screen is retried, a painted one without a map fails.
    # A whole run with a black screen has also come three times in a row on one Xvfb under CI
    # load: after the first attempt, each retry gets a fresh Xvfb of its own.
    attempts: list[str] = []
    with contextlib.ExitStack() as servers:
        for attempt in range(3):
            if attempt:
                disp, fb = servers.enter_context(private_xvfb(tmp_path / f"xvfb{attempt}"))
                env["DISPLAY"] = disp
            coloured, painted, screen, err, code = _watch_map(cmd, env, fb)
            attempts.append(f"{coloured} coloured of {painted} painted pixels")
            if coloured > 2000 or painted > 0:
                break
    if screen is not None:
        cv2.imwrite(str(tmp_path / "map screenshot.png"), cv2.cvtColor(
            screen.astype(np.uint8), cv2.COLOR_RGB2BGR))  # fmt: skip
    assert coloured > 2000, (
        f"no map on screen ({'; '.join(attempts)}); see {tmp_path}: {err[-3000:]}"
    )
    assert code == 0 and "no overlay window" not in err, err
