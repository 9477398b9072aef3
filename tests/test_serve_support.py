"""Helpers shared by the serving tests (no tests here): pictures, crafted bad inputs, a live server."""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
TINY_BUNDLE = ROOT / "tests" / "fixtures" / "tiny_bundle"
LABELS = ("horizontal", "vertical", "box", "cross")


def bar_png(kind: str = "horizontal", size: int = 28) -> bytes:
    """A light-on-dark bar, the kind of picture the tiny fixture model learnt."""
    img = np.zeros((size, size), np.uint8)
    mid, lo, hi = size // 2, size // 6, size - size // 6
    if kind == "horizontal":
        img[mid - 1 : mid + 2, lo:hi] = 230
    else:
        img[lo:hi, mid - 1 : mid + 2] = 230
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG")
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A few hundred bytes claiming ``width`` x ``height`` grey pixels (a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    # A few compressed rows of zeros: enough for a decoder to start expanding.
    idat = zlib.compress(b"\0" * (width + 1) * 4, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def copy_bundle(dest: Path) -> Path:
    """The tiny fixture bundle copied into ``dest`` (e.g. a folder with spaces in its path)."""
    target = dest / "tiny bundle"
    shutil.copytree(TINY_BUNDLE, target)
    return target


@dataclass
class LiveServer:
    """An ``edgetk serve`` subprocess on a free loopback port."""

    proc: subprocess.Popen[str]
    url: str
    output: list[str] = field(default_factory=list)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def text(self) -> str:
        time.sleep(0.2)  # let the reader thread collect the last lines
        return "".join(self.output)


def start_server(bundle: Path, *args: str, env: dict[str, str] | None = None) -> LiveServer:
    """Start ``edgetk serve BUNDLE --port 0 ...``, read its URL, wait until health says ready."""
    cmd = [sys.executable, "-m", "edgetk", "serve", str(bundle), "--port", "0", *args]
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=full_env
    )
    out: list[str] = []
    url = None
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while url is None and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        out.append(line)
        m = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
        url = m.group(1) if m else None
    if url is None:
        proc.kill()
        raise RuntimeError("edgetk serve did not start:\n" + "".join(out))
    threading.Thread(target=lambda: out.extend(proc.stdout), daemon=True).start()  # type: ignore[arg-type]
    server = LiveServer(proc, url, out)
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/v1/health", timeout=2).json().get("ready"):
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop(signal.SIGKILL)
    raise RuntimeError("edgetk serve never became ready:\n" + "".join(out))
