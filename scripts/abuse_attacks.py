"""The attacks of the hardening issue, as functions of a live server: each returns its outcome.

An outcome is a list of what each attacking request got: an HTTP status as a string ("400"), or
"closed" when the server closed the connection without an answer, with the seconds it took.
Payloads are built here from the issue's descriptions; nothing is read from disk.
"""

from __future__ import annotations

import io
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable
from functools import cache

import numpy as np
from PIL import Image

Outcome = list[tuple[str, float]]  # (status or "closed", seconds until it happened)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def small_png(size: int = 28) -> bytes:
    img = np.zeros((size, size), np.uint8)
    img[size // 2 - 1 : size // 2 + 2, size // 6 : size - size // 6] = 230
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG")
    return buf.getvalue()


@cache
def chunk_padded_png(chunks: int = 800_000) -> bytes:
    """A 28x28 PNG with ``chunks`` empty ancillary chunks before its pixels (9.6 MB at 800k)."""
    png = small_png()
    return png[:33] + _chunk(b"zzTx", b"") * chunks + png[33:]


@cache
def rgba16_png(side: int) -> bytes:
    """A ``side`` x ``side`` 16-bit RGBA PNG of constant colour (194 KB at 5000)."""
    ihdr = struct.pack(">IIBBBBB", side, side, 16, 6, 0, 0, 0)
    row = b"\0" + b"\x12\x34" * 4 * side
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def multipart(files: list[tuple[str, bytes]], boundary: str = "edgetkabuse") -> tuple[bytes, str]:
    parts = []
    for name, data in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"'
            f"\r\nContent-Type: image/png\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _exchange(addr: tuple[str, int], payload: bytes, timeout: float = 60.0) -> tuple[str, float]:
    """Send ``payload`` (stopping early if the server closes), then read the answer's status."""
    t0 = time.perf_counter_ns()
    with socket.create_connection(addr, timeout=timeout) as sock:
        try:
            view = memoryview(payload)
            for at in range(0, len(view), 1 << 20):
                sock.sendall(view[at : at + (1 << 20)])
        except (BrokenPipeError, ConnectionResetError):
            pass
        return _status(sock, t0)


def _status(sock: socket.socket, t0: int) -> tuple[str, float]:
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    seconds = (time.perf_counter_ns() - t0) / 1e9
    if data.startswith(b"HTTP/1.1 "):
        return data.split()[1].decode(), seconds
    return "closed", seconds


def _post(path: str, body: bytes, content_type: str, extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def _parallel(n: int, fn: Callable[[], tuple[str, float]]) -> Outcome:
    out: Outcome = []
    lock = threading.Lock()

    def one() -> None:
        result = fn()
        with lock:
            out.append(result)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def png_chunk_flood(addr: tuple[str, int]) -> Outcome:
    """Issue item 1: two concurrent 9.6 MB 28x28 PNGs with 800,000 empty chunks."""
    payload = _post("/v1/predict", chunk_padded_png(), "image/png")
    return _parallel(2, lambda: _exchange(addr, payload))


def rgba16_bomb(addr: tuple[str, int]) -> Outcome:
    """Issue item 2: one 5000x5000 16-bit RGBA PNG (25 Mpx, 194 KB)."""
    return [_exchange(addr, _post("/v1/predict", rgba16_png(5000), "image/png"))]


def rgba16_bomb_x16(addr: tuple[str, int]) -> Outcome:
    """Issue item 2: sixteen of them in one multipart request (3.1 MB)."""
    body, ctype = multipart([(f"{i}.png", rgba16_png(5000)) for i in range(16)])
    return [_exchange(addr, _post("/v1/predict", body, ctype))]


def largest_allowed(addr: tuple[str, int]) -> Outcome:
    """Not an attack: the largest request the defaults accept (2 x 16 Mpx 16-bit RGBA, 32 Mpx),
    to show what a legitimate request may cost."""
    body, ctype = multipart([(f"{i}.png", rgba16_png(4000)) for i in range(2)])
    return [_exchange(addr, _post("/v1/predict", body, ctype))]


def huge_header(addr: tuple[str, int]) -> Outcome:
    """Issue item 3: a 211 MB request header (sent until the server answers or closes)."""
    head = b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: "
    t0 = time.perf_counter_ns()
    with socket.create_connection(addr, timeout=60) as sock:
        sock.sendall(head)
        block = b"a" * (1 << 20)
        try:
            for _ in range(211):
                sock.sendall(block)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return [_status(sock, t0)]


def unfinished_bodies(addr: tuple[str, int], n: int = 40) -> Outcome:
    """Issue item 3: 40 connections each send 9.5 of a declared 10 MB body, then stall."""
    head = (
        "POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
        f"Content-Length: {10_000_000}\r\n\r\n"
    ).encode()
    part = b"\0" * 9_500_000

    def one() -> tuple[str, float]:
        t0 = time.perf_counter_ns()
        with socket.create_connection(addr, timeout=120) as sock:
            try:
                sock.sendall(head)
                sock.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return _status(sock, t0)

    return _parallel(n, one)


def idle_sockets(addr: tuple[str, int], n: int = 300) -> Outcome:
    """Issue item 3: 300 connections that never send a byte."""
    t0 = time.perf_counter_ns()
    socks = []
    for _ in range(n):
        try:
            socks.append(socket.create_connection(addr, timeout=120))
        except OSError:
            break
    out: Outcome = []
    for s in socks:
        with s:
            out.append(_status(s, t0))
    return out


def slowloris(addr: tuple[str, int], n: int = 20, every_s: float = 1.0) -> Outcome:
    """Issue item 3: connections sending their request head one byte per second."""

    def one() -> tuple[str, float]:
        t0 = time.perf_counter_ns()
        with socket.create_connection(addr, timeout=every_s) as sock:
            sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            for _ in range(120):
                try:
                    sock.sendall(b"X")
                    if sock.recv(1) == b"":
                        break
                except TimeoutError:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    break
            else:
                return "open", (time.perf_counter_ns() - t0) / 1e9
            return "closed", (time.perf_counter_ns() - t0) / 1e9

    return _parallel(n, one)


def eps_upload(addr: tuple[str, int]) -> Outcome:
    """Issue item 5: an EPS file (Pillow would hand it to Ghostscript)."""
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\nshowpage\n"
    return [_exchange(addr, _post("/v1/predict", eps, "image/png"))]


def rebinding_host(addr: tuple[str, int]) -> Outcome:
    """Issue item 6: DNS rebinding, a request for another host name."""
    req = b"GET /v1/metadata HTTP/1.1\r\nHost: attacker.example\r\n\r\n"
    return [_exchange(addr, req)]


def chunked_wrong_type(addr: tuple[str, int]) -> Outcome:
    """Issue item 6: a 200 MB chunked body with a refused content type."""
    head = (
        b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    block = b"\0" * (1 << 20)
    framed = f"{len(block):x}\r\n".encode() + block + b"\r\n"
    t0 = time.perf_counter_ns()
    with socket.create_connection(addr, timeout=60) as sock:
        try:
            sock.sendall(head)
            for _ in range(200):
                sock.sendall(framed)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return [_status(sock, t0)]


ATTACKS: dict[str, Callable[[tuple[str, int]], Outcome]] = {
    "png_chunk_flood": png_chunk_flood,
    "rgba16_5000px": rgba16_bomb,
    "rgba16_5000px_x16": rgba16_bomb_x16,
    "huge_header_211MB": huge_header,
    "unfinished_bodies_x40": unfinished_bodies,
    "idle_sockets_x300": idle_sockets,
    "slowloris_x20": slowloris,
    "eps_upload": eps_upload,
    "rebinding_host": rebinding_host,
    "chunked_200MB_wrong_type": chunked_wrong_type,
    "largest_allowed_request": largest_allowed,
}
NOT_ATTACKS = frozenset({"largest_allowed_request"})


def prepare_payloads() -> None:
    """Build the costly payloads before anything is measured (they are cached)."""
    chunk_padded_png()
    rgba16_png(5000)
    rgba16_png(4000)


__all__ = ["ATTACKS", "NOT_ATTACKS", "Outcome", "prepare_payloads"]
