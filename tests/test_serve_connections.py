"""Hardening over real sockets (uvicorn on loopback): head size, request deadline, connection
limit, forwarded addresses, shutdown under load. Waits are bounded only to stop a hang."""

from __future__ import annotations

import json
import signal
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from tests.test_serve_support import TINY_BUNDLE, LiveServer, bar_png, start_server

PNG = bar_png("horizontal")
RAW = {"Content-Type": "image/png"}


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    live = start_server(
        TINY_BUNDLE, "--request-timeout", "1.5", "--max-connections", "6", "--max-header-kb", "8"
    )
    yield live
    assert live.stop() == 0, live.text()


def address(server: LiveServer) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").split(":")
    return host, int(port)


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes the connection (30 s at most: only a hang guard)."""
    sock.settimeout(30)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def json_body(raw: bytes) -> dict:
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), raw[:300]
    return json.loads(body)


def test_oversized_header_gets_431_json(server: LiveServer) -> None:
    with socket.create_connection(address(server)) as sock:
        # Just over the 8 KiB limit and still unfinished: all of it is read before the answer, so
        # the close is clean (unread bytes would turn it into a reset that loses the answer).
        sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 9000)
        raw = read_all(sock)
    assert raw.startswith(b"HTTP/1.1 431"), raw[:200]
    assert json_body(raw)["error"]["code"] == "header_too_large"
    assert httpx.get(f"{server.url}/v1/health").status_code == 200


def test_malformed_request_gets_400_json(server: LiveServer) -> None:
    with socket.create_connection(address(server)) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        raw = read_all(sock)
    assert raw.startswith(b"HTTP/1.1 400") and json_body(raw)["error"]["code"] == "bad_request"


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
    assert raw.startswith(b"HTTP/1.1 408"), raw[:200]
    assert json_body(raw)["error"]["code"] == "request_timeout"
    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'status="5' not in metrics
    assert "Traceback" not in server.text()


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


def in_flight(url: str) -> float:
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith("edgetk_http_requests_in_flight"):
            return float(line.split()[-1])
    return 0.0


def test_shutdown_under_load_answers_every_client_in_json() -> None:
    live = start_server(TINY_BUNDLE, "--workers", "1", "--queue-size", "64")
    big = [("file", (f"{i}.png", bar_png("vertical", 2000), "image/png")) for i in range(6)]
    answers: list[httpx.Response | Exception] = []

    def client() -> None:
        try:
            answers.append(httpx.post(f"{live.url}/v1/predict", files=big, timeout=60))
        except httpx.HTTPError as exc:
            answers.append(exc)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for _ in range(600):  # until every client's request is in the server (or 60 s)
        if in_flight(live.url) >= 1 + len(threads) - len(answers):  # +1: this metrics request
            break
        threading.Event().wait(0.1)
    rc = live.stop(signal.SIGTERM, timeout=60)
    for t in threads:
        t.join(60)
    log = live.text()
    assert rc == 0, log
    assert "Traceback" not in log and "unhandled error" not in log, log
    assert len(answers) == len(threads)
    for a in answers:
        assert isinstance(a, httpx.Response), (repr(a), log[-3000:])
        assert a.headers["content-type"] == "application/json", a.text
        assert a.status_code in (200, 503), a.text
    assert any(a.status_code == 503 for a in answers)  # the queue was answered, not dropped


def test_shutdown_refuses_an_upload_still_arriving_in_json() -> None:
    live = start_server(TINY_BUNDLE, "--request-timeout", "60")
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
