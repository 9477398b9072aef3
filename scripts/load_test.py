"""Load-test the REST service: the real ``edgetk serve`` process, driven over loopback.

    .venv/bin/python scripts/load_test.py runs/bundles/full [--levels 1,2,4,8] [--requests 3000]
        [--duration 20] [--workers 1] [--threads 2] [--out benchmarks/serve]

1. Measures the runtime's in-process single-stream throughput on the same bundle, the same PNG
   bytes and the same runtime threads: one image at a time, ``decode_image_bytes`` then
   ``Predictor.predict`` (the work the service does per request), warm-up excluded. The
   ``predict``-only rate (decoding excluded) is reported beside it.
2. Starts ``edgetk serve BUNDLE --port 0`` as a subprocess, reads its URL, waits for readiness.
3. At each concurrency level, that many threads with keep-alive connections POST one PNG each
   (raw body, ``image/png``), until the request cap or the duration cap is reached: the load stops
   by itself. Latency is per request, client side, ``perf_counter_ns``; warm-up requests excluded.
4. Measures the in-process baseline again after each level (the server idle meanwhile); each
   level is compared with the higher of the two in-process runs around it (the stricter choice;
   on a shared machine other work drifts over minutes, so neighbours are the fair comparison).
5. Writes ``<out>/<tag>.json`` and ``<out>/<tag>.md``: throughput, p50 / p90 / p99 latency, error
   counts, ratio to in-process, the machine and versions.

Images: the real Fashion-MNIST test set when the Keras cache is present (read with numpy, no
TensorFlow), else synthetic pictures of the bundle's input size. Uses only the standard library,
numpy, Pillow and ``edge_runtime``.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import http.client
import io
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge_runtime import Predictor  # noqa: E402
from edge_runtime.common.fileio import write_json, write_text  # noqa: E402


# -- images ---------------------------------------------------------------------------------------
def _fashion_mnist_test(limit: int) -> np.ndarray | None:
    home = os.environ.get("KERAS_HOME") or str(ROOT.parent / "shared" / "keras-home")
    path = Path(home) / "datasets" / "fashion-mnist" / "t10k-images-idx3-ubyte.gz"
    if not path.exists():
        return None
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    n = int.from_bytes(raw[4:8], "big")
    images = np.frombuffer(raw, np.uint8, offset=16).reshape(n, 28, 28)
    return images[:limit]


def sample_pngs(predictor: Predictor, count: int) -> tuple[list[bytes], str]:
    """``count`` PNG-encoded test pictures and where they came from."""
    images = _fashion_mnist_test(count)
    source = "Fashion-MNIST test set (first images)"
    spec = predictor.manifest.input
    if images is None or (spec.height, spec.width) != (28, 28):
        rng = np.random.default_rng(0)
        shape = (count, spec.height, spec.width) + (() if spec.channels == 1 else (3,))
        images = rng.integers(0, 256, size=shape, dtype=np.uint8)
        source = "synthetic noise pictures of the bundle's input size"
    out = []
    for img in images:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "PNG")
        out.append(buf.getvalue())
    return out, source


# -- statistics -----------------------------------------------------------------------------------
def percentiles(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {"p50_ms": float("nan"), "p90_ms": float("nan"), "p99_ms": float("nan")}
    a = np.asarray(ms)
    return {
        "p50_ms": round(float(np.percentile(a, 50)), 3),
        "p90_ms": round(float(np.percentile(a, 90)), 3),
        "p99_ms": round(float(np.percentile(a, 99)), 3),
        "mean_ms": round(float(a.mean()), 3),
        "max_ms": round(float(a.max()), 3),
    }


# -- in-process baseline --------------------------------------------------------------------------
def in_process(bundle: Path, artifact: str | None, threads: int | None, pngs: list[bytes],
               seconds: float, max_images: int, warmup: int) -> dict[str, Any]:  # fmt: skip
    """Single-stream in-process throughput on the same PNG bytes the server gets.

    Like for like with the service: each iteration decodes one PNG (``decode_image_bytes``) and
    classifies it (``Predictor.predict``). The model-side share alone (``predict`` without the
    decode) is reported too, as ``predict_only_images_per_s``.
    """
    from edge_runtime.preprocess import decode_image_bytes

    predictor = Predictor.from_bundle(bundle, artifact=artifact, threads=threads)
    for i in range(warmup):
        predictor.predict([decode_image_bytes(pngs[i % len(pngs)])])
    lat: list[float] = []
    predict_ns = 0
    cpu0 = time.process_time()
    t_start = time.perf_counter_ns()
    deadline = t_start + int(seconds * 1e9)
    i = 0
    while i < max_images and time.perf_counter_ns() < deadline:
        t0 = time.perf_counter_ns()
        image = decode_image_bytes(pngs[i % len(pngs)])
        t1 = time.perf_counter_ns()
        predictor.predict([image])
        t2 = time.perf_counter_ns()
        predict_ns += t2 - t1
        lat.append((t2 - t0) / 1e6)
        i += 1
    elapsed = (time.perf_counter_ns() - t_start) / 1e9
    cpu_ms = (time.process_time() - cpu0) * 1e3 / max(i, 1)
    predictor.close()
    return {"images": i, "seconds": round(elapsed, 3), "images_per_s": round(i / elapsed, 2),
            "predict_only_images_per_s": round(i / max(predict_ns / 1e9, 1e-9), 2),
            "cpu_ms_per_image": round(cpu_ms, 4), **percentiles(lat)}  # fmt: skip


# -- server process -------------------------------------------------------------------------------
@dataclass
class ServerProcess:
    proc: subprocess.Popen[str]
    host: str
    port: int
    log: list[str] = field(default_factory=list)


def start_server(bundle: Path, extra: list[str], timeout: float = 90.0) -> ServerProcess:
    """``edgetk serve BUNDLE --port 0``; parse the URL it prints; wait for ``/v1/health``."""
    cmd = [sys.executable, "-m", "edgetk", "serve", str(bundle), "--host", "127.0.0.1",
           "--port", "0", "--no-access-log", "--log-level", "warning", *extra]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1)  # fmt: skip
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    url = None
    assert proc.stdout is not None
    while url is None:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit(f"server exited before listening:\n{''.join(lines)}")
        lines.append(line)
        m = re.search(r"on http://([0-9.]+):(\d+)", line)
        if m:
            url = (m.group(1), int(m.group(2)))
        if time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("server did not print its URL in time:\n" + "".join(lines))
    server = ServerProcess(proc, url[0], url[1], lines)
    # Keep draining its output so a chatty server never blocks on a full pipe.
    threading.Thread(target=lambda: [lines.append(x) for x in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(server.host, server.port, timeout=2)
            conn.request("GET", "/v1/health")
            resp = conn.getresponse()
            ready = resp.status == 200 and json.loads(resp.read()).get("ready")
            conn.close()
            if ready:
                return server
        except OSError:
            pass
        time.sleep(0.1)
    stop_server(server)
    raise SystemExit("server never became ready:\n" + "".join(lines))


def stop_server(server: ServerProcess) -> int | None:
    server.proc.send_signal(signal.SIGTERM)
    try:
        return server.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        return server.proc.wait()


# -- a lean HTTP/1.1 client -------------------------------------------------------------------------
# The load generator shares the machine's two cores with the server, so it must cost little CPU:
# each request is pre-serialised once, and a response is parsed just enough to get its status and
# to read its body to the end (Content-Length), on one keep-alive socket per client thread.
def request_bytes(host: str, png: bytes) -> bytes:
    head = (
        f"POST /v1/predict?top_k=1 HTTP/1.1\r\nHost: {host}\r\nContent-Type: image/png\r\n"
        f"Content-Length: {len(png)}\r\n\r\n"
    )
    return head.encode("ascii") + png


def parse_head(head: bytes) -> tuple[int, int, bool]:
    """Status, Content-Length and whether the server will close, from a response head."""
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, close = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
    return status, length, close


class Connection:
    """One keep-alive connection; ``post`` sends a pre-built request and returns the status."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def post(self, raw: bytes) -> int:
        status, body = self.post_raw(raw)
        if status == 200 and b'"predictions"' not in body:
            raise ValueError("a 200 response without predictions")
        return status

    def post_raw(self, raw: bytes) -> tuple[int, bytes]:
        """Send one pre-built request; return the status and the body."""
        self.sock.sendall(raw)
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        status, length, close = parse_head(head)
        while len(rest) < length:
            rest += self._recv()
        body, self.buf = rest[:length], rest[length:]
        if close:
            self.close()
            raise ValueError(f"the server closed the connection after a {status}")
        return status, body

    def _recv(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection mid-response")
        return chunk

    def _fill(self) -> None:
        self.buf += self._recv()

    def close(self) -> None:
        self.sock.close()


# -- load -----------------------------------------------------------------------------------------
def drive(server: ServerProcess, pngs: list[bytes], concurrency: int, max_requests: int,
          seconds: float, warmup_per_conn: int) -> dict[str, Any]:  # fmt: skip
    """``concurrency`` keep-alive clients, until ``max_requests`` or ``seconds`` is reached."""
    lock = threading.Lock()
    issued = 0
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    clock = {"start": 0, "stop": 0}
    server_proc = psutil.Process(server.proc.pid)
    cpu = {"server": 0.0, "client": 0.0}

    def server_cpu() -> float:
        t = server_proc.cpu_times()
        return t.user + t.system

    def start_clock() -> None:  # runs once, before any client is released
        cpu["server"], cpu["client"] = server_cpu(), time.process_time()
        clock["start"] = time.perf_counter_ns()
        clock["stop"] = clock["start"] + int(seconds * 1e9)

    barrier = threading.Barrier(concurrency + 1, action=start_clock)

    requests = [request_bytes(server.host, body) for body in pngs]

    def client(k: int) -> None:
        nonlocal issued
        conn = Connection(server.host, server.port)
        for j in range(warmup_per_conn):
            conn.post(requests[(k + j) % len(requests)])
        barrier.wait()
        mine: list[float] = []
        i = k
        while True:
            with lock:
                if issued >= max_requests or time.perf_counter_ns() >= clock["stop"]:
                    break
                issued += 1
            raw = requests[i % len(requests)]
            i += concurrency
            t0 = time.perf_counter_ns()
            try:
                status = str(conn.post(raw))
            except (OSError, ValueError) as exc:
                status = type(exc).__name__
                conn.close()
                conn = Connection(server.host, server.port)
            ms = (time.perf_counter_ns() - t0) / 1e6
            with lock:
                statuses[status] += 1
            if status == "200":
                mine.append(ms)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    barrier.wait()
    for t in threads:
        t.join()
    elapsed = (time.perf_counter_ns() - clock["start"]) / 1e9
    n = max(sum(statuses.values()), 1)
    # CPU seconds per request, robust to other work on a shared machine (wall time is not).
    server_ms = (server_cpu() - cpu["server"]) * 1e3 / n
    client_ms = (time.process_time() - cpu["client"]) * 1e3 / n
    ok = statuses.get("200", 0)
    errors = {k: v for k, v in statuses.items() if k != "200"}
    return {
        "concurrency": concurrency,
        "requests": sum(statuses.values()),
        "ok": ok,
        "errors": sum(errors.values()),
        "errors_by_status": errors,
        "seconds": round(elapsed, 3),
        "throughput_rps": round(ok / elapsed, 2),
        "server_cpu_ms_per_request": round(server_ms, 4),
        "client_cpu_ms_per_request": round(client_ms, 4),
        **percentiles(latencies),
    }


def drive_async(server: ServerProcess, pngs: list[bytes], concurrency: int, max_requests: int,
                seconds: float, warmup_per_conn: int) -> dict[str, Any]:  # fmt: skip
    """Like ``drive``, from one event-loop thread: ``concurrency`` keep-alive connections.

    One client thread instead of ``concurrency`` means one wake-up for several responses: on a
    busy shared machine every thread wake-up waits for a CPU, and the client should cost the
    server as little of that as possible.
    """
    requests = [request_bytes(server.host, body) for body in pngs]
    server_proc = psutil.Process(server.proc.pid)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()

    def server_cpu() -> float:
        t = server_proc.cpu_times()
        return t.user + t.system

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return reader, writer

    async def post(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], raw: bytes) -> int:
        reader, writer = conn
        writer.write(raw)
        status, length, close = parse_head(await reader.readuntil(b"\r\n\r\n"))
        body = await reader.readexactly(length)
        if status == 200 and b'"predictions"' not in body:
            raise ValueError("a 200 response without predictions")
        if close:
            raise ValueError(f"the server closed the connection after a {status}")
        return status

    async def run() -> tuple[float, float, float]:
        conns = [await connect() for _ in range(concurrency)]
        for j in range(warmup_per_conn):
            await asyncio.gather(
                *(post(conns[k], requests[(k + j) % len(requests)]) for k in range(concurrency))
            )
        cpu_server, cpu_client = server_cpu(), time.process_time()
        start = time.perf_counter_ns()
        stop = start + int(seconds * 1e9)
        issued = 0

        async def client(k: int) -> None:
            nonlocal issued
            i = k
            while issued < max_requests and time.perf_counter_ns() < stop:
                issued += 1
                raw = requests[i % len(requests)]
                i += concurrency
                t0 = time.perf_counter_ns()
                try:
                    status = str(await post(conns[k], raw))
                except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
                    status = type(exc).__name__
                    conns[k][1].close()
                    conns[k] = await connect()
                statuses[status] += 1
                if status == "200":
                    latencies.append((time.perf_counter_ns() - t0) / 1e6)

        await asyncio.gather(*(client(k) for k in range(concurrency)))
        elapsed = (time.perf_counter_ns() - start) / 1e9
        for _, writer in conns:
            writer.close()
        return elapsed, server_cpu() - cpu_server, time.process_time() - cpu_client

    elapsed, server_s, client_s = asyncio.run(run())
    n = max(sum(statuses.values()), 1)
    ok = statuses.get("200", 0)
    errors = {k: v for k, v in statuses.items() if k != "200"}
    return {
        "concurrency": concurrency,
        "requests": sum(statuses.values()),
        "ok": ok,
        "errors": sum(errors.values()),
        "errors_by_status": errors,
        "seconds": round(elapsed, 3),
        "throughput_rps": round(ok / elapsed, 2),
        "server_cpu_ms_per_request": round(server_s * 1e3 / n, 4),
        "client_cpu_ms_per_request": round(client_s * 1e3 / n, 4),
        **percentiles(latencies),
    }


# -- report ---------------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    from edge_runtime.bench.device import cpu_model

    cpu = cpu_model()
    mem_gib = None
    try:
        import psutil

        mem_gib = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem_gib,
            "platform": platform.platform(), "python": platform.python_version(),
            "note": "shared 2-core x86_64 VM; the load generator runs on the same cores"}  # fmt: skip


def versions() -> dict[str, str]:
    from edge_runtime.common.versions import installed_versions

    return installed_versions(
        ("edgetk", "fastapi", "uvicorn", "starlette", "ai-edge-litert", "onnxruntime", "numpy")
    )


def markdown(result: dict[str, Any]) -> str:
    base = result["in_process"]
    m = result["machine"]
    lines = [
        f"# Serving load test: {result['bundle']['name']} / {result['bundle']['artifact']}",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB ({m['note']}).",
        f"Server: `edgetk serve` with {' '.join(result['server_args']) or 'defaults'}; "
        f"client: {result['client']}.",
        f"Images: {result['images']}. Bundle: `{result['bundle']['path']}` "
        f"(sha256 {result['bundle']['sha256'][:12]}...).",
        "",
        "In-process single-stream: one PNG at a time, `decode_image_bytes` + `Predictor.predict` "
        "(the service's work per request), in this script's process, warm-up excluded; measured "
        "before the first level and after each level (server idle); each level is compared with "
        "the higher of the two runs around it. Runs (images/s): "
        + ", ".join(str(r["images_per_s"]) for r in result["in_process_runs"])
        + "; `predict` alone (decode excluded): "
        + ", ".join(str(r["predict_only_images_per_s"]) for r in result["in_process_runs"])
        + f". In-process p50 {base['p50_ms']} ms, p99 {base['p99_ms']} ms (last pair's best).",
        f"In-process CPU per image: {base['cpu_ms_per_image']} ms (CPU time, unlike wall time, "
        "does not depend on other work on the machine; compare with the server's CPU per request "
        "below).",
        f"1-minute load average: {result['load_average_1m']['before']} before, "
        f"{result['load_average_1m']['after']} after (other work on the shared machine).",
        "",
        "| run | concurrency | requests | errors | throughput (req/s) | in-process (images/s) "
        "| ratio | ratio to predict-only | p50 ms | p90 ms | p99 ms | max ms | server CPU ms/req | client CPU ms/req |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for lv in result["levels"]:
        lines.append(
            f"| {lv['repeat']} | {lv['concurrency']} | {lv['requests']} | {lv['errors']} "
            f"| {lv['throughput_rps']} "
            f"| {lv['in_process_images_per_s']} | {lv['ratio_to_in_process']:.2f} "
            f"| {lv['ratio_to_predict_only']:.2f} | {lv['p50_ms']} "
            f"| {lv['p90_ms']} | {lv['p99_ms']} | {lv['max_ms']} "
            f"| {lv['server_cpu_ms_per_request']} | {lv['client_cpu_ms_per_request']} |"
        )
    acc = result["acceptance"]
    lines += [
        "",
        f"Acceptance: zero errors: **{acc['zero_errors']}**; throughput at concurrency "
        f"{acc['concurrency']} = {acc['ratio']:.2f} x in-process decode + predict (median of "
        f"{acc['repeats']} run(s): {', '.join(f'{r:.2f}' for r in acc['ratios'])}; needs >= 0.5): "
        f"**{acc['throughput_ok']}** ({acc['ratio_to_predict_only']:.2f} x `predict` alone); "
        f"p99 at concurrency {acc['concurrency']}: {acc['p99_ms']} ms (median).",
        "",
        f"Request caps: {result['caps']['requests']} requests or {result['caps']['seconds']} s per "
        f"level, whichever comes first; {result['caps']['warmup_per_connection']} warm-up requests "
        "per connection excluded. Latency is client-side, one PNG per request, keep-alive.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", type=Path)
    ap.add_argument("--artifact", default=None)
    ap.add_argument("--levels", default="1,2,4,8")
    ap.add_argument("--requests", type=int, default=3000, help="request cap per level")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds cap per level")
    ap.add_argument("--warmup", type=int, default=5, help="warm-up requests per connection")
    ap.add_argument("--workers", type=int, default=None, help="server --workers")
    ap.add_argument("--max-batch", type=int, default=None, help="server --max-batch")
    ap.add_argument("--client", choices=("threads", "asyncio"), default="threads",
                    help="a thread per connection (default; used less server CPU per request "
                         "here), or one event-loop thread for all")  # fmt: skip
    ap.add_argument(
        "--threads", type=int, default=None, help="runtime threads (server and baseline)"
    )
    ap.add_argument("--baseline-seconds", type=float, default=10.0)
    ap.add_argument("--images", type=int, default=500, help="distinct test pictures to cycle")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "serve")
    ap.add_argument("--tag", default=None, help="output file stem (default: load_test_<bundle>)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run the levels this many times (acceptance uses the median)")  # fmt: skip
    args = ap.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",")]
    if any(c < 1 for c in levels) or args.requests < 1 or args.duration <= 0 or args.repeat < 1:
        ap.error("levels, --requests, --duration and --repeat must be positive")

    probe = Predictor.from_bundle(args.bundle, artifact=args.artifact)
    pngs, source = sample_pngs(probe, args.images)
    art = probe.artifact
    bundle_info = {"path": str(args.bundle), "name": probe.manifest.name, "artifact": art.file,
                   "precision": art.precision, "sha256": art.sha256,
                   "runtime": probe.backend.runtime}  # fmt: skip
    probe.close()
    server_args = []
    if args.workers is not None:
        server_args += ["--workers", str(args.workers)]
    if args.threads is not None:
        server_args += ["--threads", str(args.threads)]
    if args.max_batch is not None:
        server_args += ["--max-batch", str(args.max_batch)]
    if args.artifact:
        server_args += ["--artifact", args.artifact]

    base_kw = dict(bundle=args.bundle, artifact=args.artifact, threads=args.threads, pngs=pngs,
                   seconds=args.baseline_seconds, max_images=20 * args.requests, warmup=50)  # fmt: skip
    print(f"in-process baseline on {args.bundle} ({art.file}) ...", flush=True)
    load_before = os.getloadavg()
    runs = [in_process(**base_kw)]  # type: ignore[arg-type]
    print(f"  {runs[0]['images_per_s']} images/s", flush=True)

    # Each level is bracketed by in-process runs (the server idle meanwhile) and compared with the
    # higher of the two: other work on a shared machine drifts over minutes, not within seconds.
    server = start_server(args.bundle, server_args)
    print(f"server ready on http://{server.host}:{server.port}", flush=True)
    results = []
    try:
        for rep, c in ((r, c) for r in range(args.repeat) for c in levels):
            driver = drive_async if args.client == "asyncio" else drive
            lv = {"repeat": rep + 1, **driver(server, pngs, c, args.requests, args.duration,
                                              args.warmup)}  # fmt: skip
            runs.append(in_process(**base_kw))  # type: ignore[arg-type]
            adjacent = max(runs[-2]["images_per_s"], runs[-1]["images_per_s"])
            lv["in_process_images_per_s"] = adjacent
            lv["ratio_to_in_process"] = round(lv["throughput_rps"] / adjacent, 3)
            predict_only = max(r["predict_only_images_per_s"] for r in runs[-2:])
            lv["ratio_to_predict_only"] = round(lv["throughput_rps"] / predict_only, 3)
            results.append(lv)
            print(f"  c={c}: {lv['throughput_rps']} req/s ({lv['ratio_to_in_process']:.2f} x "
                  f"in-process {adjacent}), p50 {lv['p50_ms']} ms, p99 {lv['p99_ms']} ms, "
                  f"errors {lv['errors']}", flush=True)  # fmt: skip
    finally:
        rc = stop_server(server)
    load_after = os.getloadavg()
    print(f"server stopped (exit code {rc})", flush=True)
    base = max(runs[-2:], key=lambda r: r["images_per_s"])
    top_c = max(levels)
    tops = [lv for lv in results if lv["concurrency"] == top_c]

    def median(key: str) -> float:
        return round(float(np.median([lv[key] for lv in tops])), 3)

    result = {
        "what": "edgetk serve load test",
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "versions": versions(),
        "bundle": bundle_info,
        "server_args": server_args,
        "server_exit_code": rc,
        "client": (
            "one asyncio thread, one keep-alive connection per concurrent client"
            if args.client == "asyncio"
            else "python threads, one keep-alive socket each"
        )
        + " (lean HTTP/1.1 client, pre-built requests), POST image/png",
        "images": f"{len(pngs)} PNGs, {source}",
        "caps": {
            "requests": args.requests,
            "seconds": args.duration,
            "warmup_per_connection": args.warmup,
        },  # fmt: skip
        "in_process": base,
        "in_process_runs": runs,
        "load_average_1m": {"before": round(load_before[0], 2), "after": round(load_after[0], 2)},
        "levels": results,
        "acceptance": {
            "concurrency": top_c,
            "repeats": len(tops),
            "zero_errors": all(lv["errors"] == 0 for lv in results),
            "ratio": median("ratio_to_in_process"),
            "ratios": [lv["ratio_to_in_process"] for lv in tops],
            "ratio_to_predict_only": median("ratio_to_predict_only"),
            "throughput_ok": median("ratio_to_in_process") >= 0.5,
            "p99_ms": median("p99_ms"),
        },
    }
    tag = args.tag or f"load_test_{re.sub(r'[^A-Za-z0-9_.-]+', '_', args.bundle.name)}"
    write_json(args.out / f"{tag}.json", result)
    write_text(args.out / f"{tag}.md", markdown(result))
    print(markdown(result))
    ok = result["acceptance"]["zero_errors"] and result["acceptance"]["throughput_ok"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
