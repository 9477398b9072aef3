"""The real service: ``edgetk serve`` as a subprocess with uvicorn on a free loopback port."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.test_serve_support import (
    LABELS,
    ROOT,
    TINY_BUNDLE,
    LiveServer,
    bar_png,
    bomb_png,
    copy_bundle,
    start_server,
)

PNG = bar_png("horizontal")
RAW = {"Content-Type": "image/png"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # A bundle path with spaces, and small limits so the oversized cases stay cheap.
    bundle = copy_bundle(tmp_path_factory.mktemp("serve") / "with spaces")
    live = start_server(bundle, "--max-body-mb", "0.5", "--max-files", "4", "--workers", "2")
    yield live
    assert live.stop() == 0, live.text()


def good(url: str) -> None:
    r = httpx.post(f"{url}/v1/predict", content=PNG, headers=RAW)
    assert r.status_code == 200, r.text
    assert r.json()["predictions"][0]["label"] == "horizontal"


def test_listens_on_loopback_by_default(server: LiveServer) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    assert "API: " in server.text()


def test_the_default_parser_is_httptools(server: LiveServer) -> None:
    pytest.importorskip("httptools")
    assert "HTTP/1.1 parser: httptools" in server.text()


def test_endpoints_over_http(server: LiveServer) -> None:
    health = httpx.get(f"{server.url}/v1/health").json()
    assert health["ready"] is True
    meta = httpx.get(f"{server.url}/v1/metadata").json()
    assert meta["service"]["workers"] == 2
    assert tuple(meta["labels"]) == LABELS and meta["artifact"]["file"] == "model_int8.tflite"
    files = [("file", (f"{k}.png", bar_png(k), "image/png")) for k in ("vertical", "horizontal")]
    r = httpx.post(f"{server.url}/v1/predict", files=files, params={"top_k": 3})
    assert r.status_code == 200
    assert [p["label"] for p in r.json()["predictions"]] == ["vertical", "horizontal"]
    assert len(r.json()["predictions"][0]["top_k"]) == 3
    assert "/v1/predict" in httpx.get(f"{server.url}/openapi.json").json()["paths"]
    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'edgetk_http_requests_total{method="POST",route="/v1/predict",status="200"}' in metrics


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b"GIF89a but not really", RAW, 400, "invalid_image"),
        (PNG[: len(PNG) // 2], RAW, 400, "invalid_image"),
        (b"", RAW, 400, "empty_body"),
        (PNG, {"Content-Type": "text/csv"}, 415, "unsupported_media_type"),
        (bomb_png(), RAW, 413, "image_too_large"),
        (b"\0" * 700_000, RAW, 413, "body_too_large"),
    ],
)
def test_bad_input_over_http_then_good(
    server: LiveServer, body: bytes, headers: dict, status: int, code: str
) -> None:
    r = httpx.post(f"{server.url}/v1/predict", content=body, headers=headers)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code and r.json()["error"]["message"]
    good(server.url)


def test_too_many_files_over_http_then_good(server: LiveServer) -> None:
    files = [("file", (f"{i}.png", PNG, "image/png")) for i in range(5)]
    r = httpx.post(f"{server.url}/v1/predict", files=files)
    assert r.status_code == 422 and r.json()["error"]["code"] == "too_many_files"
    good(server.url)


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_huge_declared_body_is_refused_before_it_is_sent(server: LiveServer) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
            b"Content-Length: 50000000000\r\n\r\n"
        )
        head = _read_response(sock)  # answered without a single body byte sent
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    good(server.url)


def test_endless_chunked_body_is_cut_off_at_the_limit(server: LiveServer) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    chunk = b"\0" * 65536
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent = 0
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        try:
            for _ in range(2000):  # up to 128 MiB if the server never stopped reading
                sock.sendall(framed)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(10)
        try:
            head = _read_response(sock)
        except ConnectionResetError:
            head = b""
    # The server stopped reading near the 0.5 MiB limit (plus socket buffers), far below 128 MiB.
    assert sent < 32 * 2**20, sent
    assert head == b"" or head.startswith(b"HTTP/1.1 413"), head[:200]
    good(server.url)


def test_client_that_disconnects_mid_upload_is_not_a_server_error(server: LiveServer) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    for content_type in (b"image/png", b"multipart/form-data; boundary=XX"):
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(
                b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + content_type
                + b"\r\nContent-Length: 100000\r\n\r\n" + b"\0" * 1000
            )  # fmt: skip
    good(server.url)
    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'route="/v1/predict",status="5' not in metrics
    assert "Traceback" not in server.text()


def test_api_key_from_environment_is_enforced(tmp_path: Path) -> None:
    live = start_server(TINY_BUNDLE, env={"EDGETK_API_KEY": "env-key-123"})
    try:
        r = httpx.post(f"{live.url}/v1/predict", content=PNG, headers=RAW)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        assert httpx.get(f"{live.url}/v1/health").status_code == 200
        r = httpx.post(
            f"{live.url}/v1/predict", content=PNG, headers={**RAW, "X-API-Key": "env-key-123"}
        )
        assert r.status_code == 200
        assert "X-API-Key required" in live.text()
    finally:
        assert live.stop(signal.SIGINT) == 0
    out = live.text()
    assert "stopped (SIGINT)" in out and "Traceback" not in out


def test_sigterm_stops_cleanly() -> None:
    live = start_server(TINY_BUNDLE, "--access-log")
    good(live.url)
    assert live.stop(signal.SIGTERM) == 0
    out = live.text()
    assert "stopped (SIGTERM)" in out and "Traceback" not in out
    assert '"POST /v1/predict HTTP/1.1" 200' in out  # the access log was on


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edgetk", "serve", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_errors_have_exit_codes_and_no_traceback(space_dir: Path) -> None:
    missing = _serve(str(space_dir / "nothing here"))
    assert missing.returncode == 1
    assert "error: bundle" in missing.stderr and "does not exist" in missing.stderr
    bad = _serve(str(TINY_BUNDLE), "--workers", "0")
    assert bad.returncode == 2 and "workers=0 is out of range" in bad.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        taken = _serve(str(TINY_BUNDLE), "--port", str(port))
    assert taken.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in taken.stderr
    for r in (missing, bad, taken):
        assert "Traceback" not in r.stderr


def test_serve_never_imports_tensorflow() -> None:
    code = (
        "import sys, edge_runtime.server, edge_runtime.server.cli, edge_runtime.server.runner;"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras', 'tf2onnx', 'trainer', 'calibration', 'export')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
