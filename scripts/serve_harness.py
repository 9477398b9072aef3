"""A real ``edgetk serve`` process for the serve benchmarks, and an asyncio HTTP/1.1 load driver.

Shared by ``scripts/load_test.py`` and ``scripts/abuse_benchmark.py`` (not part of edge_runtime).
The server's output goes to a file, never a pipe: a pipe nobody reads fills up and stalls the
server mid-benchmark. The driver keeps one keep-alive connection per client and sends prepared
request bytes, so the client's own cost per request stays small next to the server's.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
_URL = re.compile(r"on (http://[^\s]+)")


@dataclass
class Server:
    """A running ``edgetk serve`` subprocess; its output is in ``log_path``."""

    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path

    @property
    def host_port(self) -> tuple[str, int]:
        host, port = self.url.removeprefix("http://").rsplit(":", 1)
        return host, int(port)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> tuple[int, float]:
        """Send ``sig``; return (exit code, seconds until the process ended)."""
        t0 = time.perf_counter_ns()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        return rc, (time.perf_counter_ns() - t0) / 1e9


def start_server(
    bundle: Path, args: list[str], code_root: Path = ROOT, timeout: float = 90.0
) -> Server:
    """Start ``python -m edgetk serve BUNDLE --port 0 ARGS`` with ``code_root`` first on the path
    (another checkout measures another version of the code); return once it announced its URL."""
    fd, name = tempfile.mkstemp(prefix="edgetk-serve-", suffix=".log")
    os.close(fd)
    log_path = Path(name)
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    cmd = [sys.executable, "-m", "edgetk", "serve", str(bundle), "--port", "0", *args]
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=code_root, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _URL.search(log_path.read_text(errors="replace"))
        if found:
            return Server(proc, found.group(1), log_path)
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({proc.returncode}): {log_path.read_text()[-2000:]}")
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server did not start within {timeout:.0f} s: {log_path.read_text()[-2000:]}")


def request_bytes(
    method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    """One HTTP/1.1 request, ready to write on a keep-alive connection."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, server closes) of one response with a Content-Length body."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length, close = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and "close" in value.lower():
            close = True
    body = await reader.readexactly(length) if length else b""
    return status, body, close


@dataclass
class LoadResult:
    """Client-side outcome of one load level (warm-up requests excluded)."""

    concurrency: int
    seconds: float = 0.0
    latencies_ns: list[int] = field(default_factory=list)  # successful (2xx) requests
    statuses: Counter[str] = field(default_factory=Counter)  # HTTP status or exception name

    @property
    def ok(self) -> int:
        return len(self.latencies_ns)

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def summary(self) -> dict[str, object]:
        errors = {k: v for k, v in self.statuses.items() if not k.startswith("2")}
        return {
            "concurrency": self.concurrency,
            "requests": sum(self.statuses.values()),
            "ok": self.ok,
            "errors": sum(errors.values()),
            "errors_by_status": errors,
            "seconds": round(self.seconds, 3),
            "throughput_rps": round(self.rps, 2),
            **{f"{k}_ms": v for k, v in percentiles_ms(self.latencies_ns).items()},
        }


Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _exchange(conn: Conn, payload: bytes) -> str:
    reader, writer = conn
    writer.write(payload)
    status, _, close = await read_response(reader)
    if close:
        raise ConnectionError(f"the server closed the connection after a {status}")
    return str(status)


def drive(
    host: str,
    port: int,
    requests: list[bytes],
    concurrency: int,
    duration_s: float,
    max_requests: int = 10**9,
    warmup: int = 5,
) -> LoadResult:
    """``concurrency`` keep-alive clients in one event loop send ``requests`` (cycled) until
    ``duration_s`` seconds or ``max_requests`` requests; each client's first ``warmup`` requests
    come before the clock starts and are not counted."""
    result = LoadResult(concurrency)

    async def connect() -> Conn:
        return await asyncio.open_connection(host, port)

    async def run() -> None:
        conns = [await connect() for _ in range(concurrency)]
        for j in range(warmup):
            await asyncio.gather(*(_exchange(c, requests[(k + j) % len(requests)])
                                   for k, c in enumerate(conns)))  # fmt: skip
        issued = 0
        start = time.perf_counter_ns()
        stop = start + int(duration_s * 1e9)

        async def client(k: int) -> None:
            nonlocal issued
            i = k
            while issued < max_requests and time.perf_counter_ns() < stop:
                issued += 1
                payload = requests[i % len(requests)]
                i += concurrency
                t0 = time.perf_counter_ns()
                try:
                    status = await _exchange(conns[k], payload)
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    status = type(exc).__name__
                    conns[k][1].close()
                    conns[k] = await connect()
                result.statuses[status] += 1
                if status.startswith("2"):
                    result.latencies_ns.append(time.perf_counter_ns() - t0)

        await asyncio.gather(*(client(k) for k in range(concurrency)))
        result.seconds = (time.perf_counter_ns() - start) / 1e9
        for _, writer in conns:
            writer.close()

    asyncio.run(run())
    return result


def percentiles_ms(ns: list[int]) -> dict[str, float | None]:
    """p50 / p90 / p99 / mean / max in ms (the runtime's ``LatencyStats``); None if empty."""
    keys = ("p50", "p90", "p99", "mean", "max")
    if not ns:
        return dict.fromkeys(keys)
    from edge_runtime.stats import LatencyStats

    stats = LatencyStats.from_ns(ns).to_dict(digits=3)
    return {k: stats[k] for k in keys}


__all__ = [
    "LoadResult",
    "Server",
    "drive",
    "percentiles_ms",
    "read_response",
    "request_bytes",
    "start_server",
]
