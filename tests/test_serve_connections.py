"""Hardening over real sockets (uvicorn on loopback): head size, request deadline, connection
limit, forwarded addresses, shutdown under load, each with both HTTP/1.1 parsers (httptools, the
default, and h11, the fallback). Waits are bounded only to stop a hang."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.test_serve_support import TINY_BUNDLE, LiveServer, bar_png, start_server

PNG = bar_png("horizontal")
RAW = {"Content-Type": "image/png"}
DEADLINE_S = 1.5
HEAD_LIMIT = 8 * 1024
PARSERS = [
    pytest.param(
        "httptools",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("httptools") is None, reason="httptools is not installed"
        ),
    ),
    "h11",
]


@pytest.fixture(scope="module", params=PARSERS)
def parser(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def server(parser: str) -> Iterator[LiveServer]:
    live = start_server(
        TINY_BUNDLE,
        "--http", parser,
        "--request-timeout", str(DEADLINE_S),
        "--max-connections", "6",
        "--max-header-kb", str(HEAD_LIMIT // 1024),
    )  # fmt: skip
    assert f"HTTP/1.1 parser: {parser}" in live.text()
    yield live
    assert live.stop() == 0, live.text()


def address(server: LiveServer) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").split(":")
    return host, int(port)


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes the connection (30 s at most: only a hang guard).

    A reset ends it too: a server that refuses a request before reading all of it closes with
    unread bytes, which the kernel turns into a reset after the answer."""
    sock.settimeout(30)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    """One response from a connection that stays open: its status and body."""
    sock.settimeout(30)
    data = b""
    while not (found := responses(data, partial=True)):
        chunk = sock.recv(65536)
        assert chunk, f"closed before a whole response: {data[:300]!r}"
        data += chunk
    return found[0]


def send_all(sock: socket.socket, data: bytes) -> None:
    """``sendall``, except that a server which has answered and closed early stops it quietly."""
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def json_body(raw: bytes) -> dict:
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), raw[:300]
    return json.loads(body)


def assert_json_refusal(raw: bytes, status: int, code: str) -> None:
    """``raw`` is one HTTP/1.1 ``status`` answer whose JSON error code is ``code``."""
    assert raw.startswith(b"HTTP/1.1 %d" % status), raw[:200]
    assert json_body(raw)["error"]["code"] == code


def responses(raw: bytes, partial: bool = False) -> list[tuple[int, bytes]]:
    """The status and body of each whole response in ``raw`` (all of ours have a Content-Length);
    an unfinished one at the end is an error unless ``partial``."""
    found = []
    while raw:
        head, sep, rest = raw.partition(b"\r\n\r\n")
        length = re.search(rb"(?im)^content-length: *(\d+)", head)
        if partial and not (sep and length and len(rest) >= int(length[1])):
            break
        assert sep and length, raw[:300]
        found.append((int(head[9:12]), rest[: int(length[1])]))
        raw = rest[int(length[1]) :]
    return found


def head_of(size: int, *, last: bytes = b"\r\n\r\n") -> bytes:
    """A health request whose head (request line + headers, final blank line included) is
    ``size`` bytes when ``last`` ends it."""
    start = b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Pad: "
    return start + b"a" * (size - len(start) - 4) + last


def test_oversized_header_gets_431_json(server: LiveServer) -> None:
    with socket.create_connection(address(server)) as sock:
        # Just over the 8 KiB limit and still unfinished: all of it is read before the answer, so
        # the close is clean (unread bytes would turn it into a reset that loses the answer).
        sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 9000)
        raw = read_all(sock)
    assert_json_refusal(raw, 431, "header_too_large")
    assert httpx.get(f"{server.url}/v1/health").status_code == 200


def test_malformed_request_gets_400_json(server: LiveServer) -> None:
    with socket.create_connection(address(server)) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        raw = read_all(sock)
    assert raw.startswith(b"HTTP/1.1 400") and json_body(raw)["error"]["code"] == "bad_request"


def test_unparsable_target_gets_a_json_client_error(server: LiveServer) -> None:
    with socket.create_connection(address(server)) as sock:
        # llhttp takes it and uvicorn then fails to parse it (400); h11 serves it as a path (404).
        sock.sendall(b"GET http://[ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        [(status, body)] = responses(read_all(sock))
    assert (status, json.loads(body)["error"]["code"]) in ((400, "bad_request"), (404, "not_found"))
    assert "Traceback" not in server.text()


def test_idle_connection_is_closed_at_the_request_deadline(server: LiveServer) -> None:
    with socket.create_connection(address(server)) as sock:
        assert read_all(sock) == b""  # closed by the server, nothing sent either way


def test_slowloris_head_is_closed_although_bytes_keep_coming(server: LiveServer) -> None:
    closed = False
    with socket.create_connection(address(server)) as sock:
        sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sock.settimeout(0.25)
        for _ in range(120):  # one header byte every 0.25 s, for up to 30 s
            try:
                sock.sendall(b"X")
                closed = sock.recv(1) == b""
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed = True
            if closed:
                break
    assert closed


def test_slow_body_gets_408_json_and_is_not_a_server_error(server: LiveServer) -> None:
    with socket.create_connection(address(server)) as sock:
        sock.sendall(
            b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
            b"Content-Length: 1000\r\n\r\n" + b"\0" * 10
        )
        raw = read_all(sock)
    assert_json_refusal(raw, 408, "request_timeout")
    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'status="5' not in metrics
    assert "Traceback" not in server.text()


def test_64k_head_gets_431_json(server: LiveServer) -> None:
    with socket.create_connection(address(server)) as sock:
        # No end in sight: the server must stop reading it into memory at the 8 KiB limit.
        send_all(sock, head_of(64 * 1024 + 100, last=b""))
        raw = read_all(sock)
    assert_json_refusal(raw, 431, "header_too_large")
    assert httpx.get(f"{server.url}/v1/health").status_code == 200


def test_head_of_exactly_the_limit_is_served(server: LiveServer) -> None:
    with socket.create_connection(address(server)) as sock:
        sock.sendall(head_of(HEAD_LIMIT))
        assert responses(read_all(sock)) == [(200, b'{"status":"ok","live":true,"ready":true}')]


def test_complete_head_one_byte_over_the_limit_is_refused(server: LiveServer, parser: str) -> None:
    if parser == "h11":
        pytest.skip("h11 measures only a head still unfinished after a read (its buffer)")
    with socket.create_connection(address(server)) as sock:
        sock.sendall(head_of(HEAD_LIMIT + 1))
        raw = read_all(sock)
    assert raw.startswith(b"HTTP/1.1 431"), raw[:200]


def test_body_arriving_with_its_head_does_not_count_as_head(server: LiveServer) -> None:
    body = noise_png(128)
    assert len(body) > 2 * HEAD_LIMIT
    with socket.create_connection(address(server)) as sock:
        sock.sendall(
            b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        )  # one write: the server is likely to read head and body together
        [(status, answer)] = responses(read_all(sock))
    assert status == 200, answer


def test_half_a_head_then_silence_is_cut_at_the_deadline(server: LiveServer) -> None:
    with socket.create_connection(address(server)) as sock:
        sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0")
        start = time.monotonic()
        assert read_all(sock) == b""  # no request to answer yet: just closed
        waited = time.monotonic() - start
    assert DEADLINE_S / 2 < waited < DEADLINE_S + 10, waited


def test_chunked_body_that_never_ends_gets_408_json(server: LiveServer) -> None:
    with socket.create_connection(address(server)) as sock:
        sock.sendall(
            b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n10\r\n" + b"\0" * 16 + b"\r\n"
        )
        raw = read_all(sock)
    assert_json_refusal(raw, 408, "request_timeout")
    assert 'status="5' not in httpx.get(f"{server.url}/metrics").text


def test_endless_trailers_get_431_json(server: LiveServer) -> None:
    with socket.create_connection(address(server)) as sock:
        sock.sendall(
            b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n10\r\n" + b"\0" * 16 + b"\r\n0\r\nX-Trailer: "
        )
        time.sleep(0.2)  # the body's end is read on its own; then a trailer that never ends
        for _ in range(16):  # 144 KiB at most, well under the deadline
            send_all(sock, b"b" * 9000)
            time.sleep(0.02)
        raw = read_all(sock)
    assert_json_refusal(raw, 431, "header_too_large")


def test_pipelined_requests_are_answered_in_order(server: LiveServer) -> None:
    request = b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n"
    with socket.create_connection(address(server)) as sock:
        sock.sendall(
            request % (b"/v1/health", b"")
            + request % (b"/nowhere", b"")
            + request % (b"/v1/health", b"Connection: close\r\n")
        )  # fmt: skip
        found = responses(read_all(sock))
    assert [status for status, _ in found] == [200, 404, 200]


def test_each_request_on_a_keep_alive_connection_gets_its_own_deadline(
    server: LiveServer,
) -> None:
    health = b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with socket.create_connection(address(server)) as sock:
        for _ in range(2):  # together longer than one deadline, each well within one
            time.sleep(DEADLINE_S * 0.6)
            sock.sendall(health)
            assert read_response(sock)[0] == 200
        sock.sendall(health[:20])  # then half a head, and silence
        start = time.monotonic()
        assert read_all(sock) == b""
        waited = time.monotonic() - start
    assert DEADLINE_S / 2 < waited < DEADLINE_S + 10, waited


def test_connections_over_the_limit_get_503_json(server: LiveServer) -> None:
    idle = [socket.create_connection(address(server)) for _ in range(6)]
    try:
        with socket.create_connection(address(server)) as sock:
            sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            raw = read_all(sock)
        assert raw.startswith(b"HTTP/1.1 503"), raw[:200]
        assert json_body(raw)["error"]["code"] == "too_many_connections"
    finally:
        for s in idle:
            s.close()


def test_forwarded_for_from_loopback_is_not_trusted(server: LiveServer) -> None:
    r = httpx.get(f"{server.url}/v1/health", headers={"X-Forwarded-For": "203.0.113.9"})
    assert r.status_code == 200
    log = server.text()
    assert "203.0.113.9" not in log and "127.0.0.1:" in log


def gauge(url: str, name: str) -> float:
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def in_flight(url: str) -> float:
    return gauge(url, "edgetk_http_requests_in_flight")


def noise_png(side: int) -> bytes:
    """A PNG of random grey pixels: about ``side`` squared bytes, as it does not compress."""
    pixels = np.random.default_rng(0).integers(0, 256, (side, side), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _runtime_children(pid: int) -> list[int]:
    """The isolated runtime processes under ``pid``: the fork server's children."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            cmd = Path(f"/proc/{p}/cmdline").read_bytes()
        except OSError:
            continue
        kids = _children(p)
        if b"forkserver" in cmd:
            found += kids
        else:
            todo += kids
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find the worker")
@pytest.mark.parametrize("http", PARSERS)
def test_shutdown_under_load_answers_every_client_in_json(http: str) -> None:
    # One worker, one request (6 images) per model call. The worker's runtime process is frozen
    # (SIGSTOP) so that all eight requests are admitted, one in the worker and seven queued,
    # before SIGTERM: the drain then has a known queue to answer on any machine, at any load.
    live = start_server(
        TINY_BUNDLE, "--http", http, "--workers", "1", "--queue-size", "64", "--batch-size", "6"
    )
    six = [("file", (f"{i}.png", bar_png("vertical", 200), "image/png")) for i in range(6)]
    answers: list[httpx.Response | Exception] = []

    def client() -> None:
        try:
            answers.append(httpx.post(f"{live.url}/v1/predict", files=six, timeout=60))
        except httpx.HTTPError as exc:
            answers.append(exc)

    runtimes = _runtime_children(live.proc.pid)
    assert len(runtimes) == 1, runtimes
    os.kill(runtimes[0], signal.SIGSTOP)
    threads = [threading.Thread(target=client) for _ in range(8)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while gauge(live.url, "edgetk_inference_pending") < len(threads):
            assert time.monotonic() < deadline, "the requests never reached the worker pool"
            time.sleep(0.05)
        live.proc.send_signal(signal.SIGTERM)
        while "refused 7 queued request(s)" not in "".join(live.output):
            assert time.monotonic() < deadline, live.text()
            time.sleep(0.05)
    finally:
        os.kill(runtimes[0], signal.SIGCONT)
    rc = live.proc.wait(timeout=60)
    for t in threads:
        t.join(60)
    log = live.text()
    assert rc == 0, log
    assert "Traceback" not in log and "unhandled error" not in log, log
    assert len(answers) == len(threads)
    for a in answers:
        assert isinstance(a, httpx.Response), (repr(a), log[-3000:])
        assert a.headers["content-type"] == "application/json", a.text
    codes = sorted(a.status_code for a in answers if isinstance(a, httpx.Response))
    # The request in the worker finishes; the queued ones are answered at once, not dropped.
    assert codes == [200] + [503] * 7, (codes, log[-3000:])
    refused = [a.json() for a in answers if isinstance(a, httpx.Response) and a.status_code == 503]
    assert {r["error"]["code"] for r in refused} == {"shutting_down"}


@pytest.mark.parametrize("http", PARSERS)
def test_shutdown_refuses_an_upload_still_arriving_in_json(http: str) -> None:
    live = start_server(TINY_BUNDLE, "--http", http, "--request-timeout", "60")
    host, port = live.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
            b"Content-Length: 100000\r\n\r\n" + b"\0" * 100
        )
        for _ in range(300):  # until the server has the request (or 30 s)
            if in_flight(live.url) >= 2:
                break
            threading.Event().wait(0.1)
        live.proc.send_signal(signal.SIGTERM)
        raw = read_all(sock)
    assert live.stop(timeout=60) == 0
    assert raw.startswith(b"HTTP/1.1 503"), raw[:200]
    assert json_body(raw)["error"]["code"] == "shutting_down"
    log = live.text()
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log
