"""Hardening, in-process: host check, formats, PNG padding, pixel budgets, decoding bounded to
the model, unread bodies, key validation, draining at shutdown (issue: resource exhaustion)."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from edge_runtime.common.errors import ConfigError
from edge_runtime.server import ApiError, InferencePool, ServeConfig, ServiceMetrics, create_app
from edge_runtime.server.decode import DecodeLimits, decode_uploads
from edge_runtime.server.uploads import Upload
from tests.test_serve_support import TINY_BUNDLE, _chunk, bar_png

PNG = bar_png("horizontal")
RAW = {"Content-Type": "image/png"}
LOCAL = "http://127.0.0.1"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    config = ServeConfig(
        bundle=TINY_BUNDLE, max_body_mb=4, max_pixels=9_000_000, max_request_pixels=12_000_000
    )
    with TestClient(create_app(config), base_url=LOCAL) as c:
        yield c


def encoded(fmt: str, size: tuple[int, int], mode: str = "L") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, 0).save(buf, fmt)
    return buf.getvalue()


def padded_png(chunks: int) -> bytes:
    """A valid 28x28 PNG with ``chunks`` empty ancillary chunks between IHDR and IDAT."""
    return PNG[:33] + _chunk(b"zzTx", b"") * chunks + PNG[33:]


def error_of(r) -> tuple[int, str, str]:
    assert r.headers["content-type"] == "application/json", r.text
    err = r.json()["error"]
    return r.status_code, err["code"], err["message"]


def test_foreign_host_header_is_refused_as_json(client: TestClient) -> None:
    r = client.get("/v1/health", headers={"Host": "attacker.example"})
    status, code, message = error_of(r)
    assert (status, code) == (400, "invalid_host") and "'attacker.example'" in message
    assert client.get("/v1/health", headers={"Host": "localhost:8000"}).status_code == 200


def test_allowed_hosts_are_served() -> None:
    config = ServeConfig(bundle=TINY_BUNDLE, allowed_hosts=("edge.local",))
    with TestClient(create_app(config), base_url="http://edge.local") as c:
        assert c.get("/v1/health").status_code == 200
        assert c.get("/v1/health", headers={"Host": "127.0.0.1"}).status_code == 400
    anywhere = ServeConfig(bundle=TINY_BUNDLE, host="0.0.0.0")
    assert anywhere.served_hosts == ("*",)


@pytest.mark.parametrize("fmt", ["PCX", "TGA", "ICO", "SGI"])
def test_formats_the_api_does_not_promise_are_refused(client: TestClient, fmt: str) -> None:
    r = client.post("/v1/predict", content=encoded(fmt, (28, 28)), headers=RAW)
    status, code, message = error_of(r)
    assert (status, code) == (400, "invalid_image")
    assert "not an image of a supported format (PNG, JPEG, BMP, GIF, WebP, TIFF)" in message


def test_eps_never_reaches_its_parser(client: TestClient, monkeypatch) -> None:
    from PIL import EpsImagePlugin

    def boom(*args: object) -> None:
        raise AssertionError("the EPS parser was called")

    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", boom)
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\nshowpage\n"
    status, code, _ = error_of(client.post("/v1/predict", content=eps, headers=RAW))
    assert (status, code) == (400, "invalid_image")


def test_png_padded_with_empty_chunks_is_refused_unparsed(client: TestClient, monkeypatch) -> None:
    from PIL import PngImagePlugin

    opened = []
    real = PngImagePlugin.PngImageFile._open
    monkeypatch.setattr(
        PngImagePlugin.PngImageFile, "_open", lambda self: opened.append(1) or real(self)
    )
    r = client.post("/v1/predict", content=padded_png(60_000), headers=RAW)
    status, code, message = error_of(r)
    assert (status, code) == (400, "invalid_image") and "28x28 PNG of" in message
    assert opened == []  # refused from its size alone: Pillow never walked the chunks
    # A little metadata is fine.
    assert client.post("/v1/predict", content=padded_png(100), headers=RAW).status_code == 200


def test_request_pixel_budget_counts_all_images(client: TestClient) -> None:
    big = encoded("PNG", (2500, 2000))  # 5 Mpx each, under the 9 Mpx per-image limit
    files = [("file", (f"{i}.png", big, "image/png")) for i in range(3)]
    status, code, message = error_of(client.post("/v1/predict", files=files))
    assert (status, code) == (413, "request_too_large") and "'2.png'" in message
    ok = client.post("/v1/predict", files=files[:2])
    assert ok.status_code == 200 and ok.json()["predictions"][1]["width"] == 2500


def test_decoding_holds_no_more_than_the_model_needs() -> None:
    limits = DecodeLimits(50_000_000, 20_000, 50_000_000, target=(28, 28))
    photo = encoded("JPEG", (4000, 3000), "RGB")
    png = encoded("PNG", (3000, 2000), "RGBA")
    [jpeg_out, png_out] = decode_uploads([Upload("a.jpg", photo), Upload("b.png", png)], limits)
    assert (jpeg_out.width, jpeg_out.height) == (4000, 3000)  # as sent
    assert jpeg_out.image.shape[0] * jpeg_out.image.shape[1] <= 500 * 375  # JPEG draft, 1/8
    assert png_out.image.shape[:2] == (-(-2000 // 17), -(-3000 // 17))  # box-reduced by 17
    assert min(png_out.image.shape[:2]) >= 4 * 28  # never below 4x the model's side


def test_reduced_decode_classifies_like_the_full_one(client: TestClient) -> None:
    big = np.kron(np.asarray(Image.open(io.BytesIO(PNG))), np.ones((40, 40), np.uint8))
    buf = io.BytesIO()
    Image.fromarray(big).save(buf, "PNG")  # 1120x1120: reduced by 10 before the model resize
    r = client.post("/v1/predict", content=buf.getvalue(), headers=RAW)
    assert r.status_code == 200 and r.json()["predictions"][0]["label"] == "horizontal"


def test_body_refused_before_it_is_read_closes_the_connection(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"x" * 1000

    r = client.post("/v1/predict", content=chunks(), headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and r.headers["connection"] == "close"
    # Bodyless refusals keep their connection.
    assert "connection" not in client.get("/nope").headers


def test_body_limit_refusal_is_counted_under_its_route(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(80):
            yield b"\0" * 65536  # 5 MiB, chunked: cut at the 4 MiB limit while reading

    r = client.post("/v1/predict", content=chunks(), headers=RAW)
    assert error_of(r)[:2] == (413, "body_too_large")
    text = client.get("/metrics").text
    assert 'route="/v1/predict",status="413"' in text
    assert 'route="unmatched",status="413"' not in text


def test_buffered_budget_holds_reads_until_room_is_given_back() -> None:
    from edge_runtime.server.middleware import BodyBudget, BodyLimitMiddleware

    budget = BodyBudget(1500)
    hold = asyncio.Event()

    async def app(scope, receive, send) -> None:  # reads its body, then holds it
        while (await receive()).get("more_body"):
            pass
        await hold.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    guarded = BodyLimitMiddleware(app, limit=1000, budget=budget)

    async def request(body: bytes) -> int:
        length = str(len(body)).encode()
        scope = {"type": "http", "method": "POST", "path": "/",
                 "headers": [(b"content-length", length)]}  # fmt: skip
        chunks = [{"type": "http.request", "body": body, "more_body": False}]
        sent: list = []

        async def receive():
            return chunks.pop(0) if chunks else {"type": "http.disconnect"}

        async def send(message) -> None:
            sent.append(message)

        await guarded(scope, receive, send)
        return sent[0]["status"]

    async def scenario() -> tuple[int, bool, list[int]]:
        first = asyncio.ensure_future(request(b"a" * 1000))
        await asyncio.sleep(0.05)
        second = asyncio.ensure_future(request(b"b" * 1000))  # 2000 > 1500: must wait
        await asyncio.sleep(0.05)
        held, waiting = budget.held, not second.done()
        hold.set()
        return held, waiting, list(await asyncio.gather(first, second))

    held, waiting, statuses = asyncio.run(scenario())
    assert held == 1000 and waiting  # the second body was not read while the first was held
    assert statuses == [200, 200]
    assert budget.held == 0  # every byte given back when its request was answered


def test_waiting_bodies_hold_nothing_so_they_cannot_starve_each_other() -> None:
    """Bodies counted chunk by chunk once deadlocked: each held part of the budget while waiting
    for room for its next chunk, and none could finish."""
    from edge_runtime.server.middleware import BodyBudget, BodyLimitMiddleware

    budget = BodyBudget(2500)
    snapshots: list[int] = []

    async def app(scope, receive, send) -> None:
        while (await receive()).get("more_body"):
            await asyncio.sleep(0.01)  # let the others run between chunks
        snapshots.append(budget.held)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    guarded = BodyLimitMiddleware(app, limit=1000, budget=budget)

    async def request() -> int:
        scope = {"type": "http", "method": "POST", "path": "/",
                 "headers": [(b"content-length", b"1000")]}  # fmt: skip
        chunks = [{"type": "http.request", "body": b"x" * 500, "more_body": more}
                  for more in (True, False)]  # fmt: skip
        sent: list = []

        async def receive():
            return chunks.pop(0)

        async def send(message) -> None:
            sent.append(message)

        await guarded(scope, receive, send)
        return sent[0]["status"]

    async def scenario() -> list[int]:
        return list(await asyncio.wait_for(asyncio.gather(*(request() for _ in range(6))), 30))

    assert asyncio.run(scenario()) == [200] * 6
    assert max(snapshots) <= 2000 and budget.held == 0  # two whole bodies at a time, at most


@pytest.mark.parametrize("key", ["clé-secrète", "tab\tkey", "ключ"])
def test_api_key_clients_cannot_send_is_refused_at_start(key: str) -> None:
    with pytest.raises(ConfigError, match="api_key must be printable ASCII"):
        ServeConfig(bundle=TINY_BUNDLE, api_key=key)


def test_shutdown_turns_health_503_and_answers_queued_requests_now() -> None:
    config = ServeConfig(bundle=TINY_BUNDLE, workers=1, queue_size=8)
    pool = InferencePool.from_config(config, ServiceMetrics())
    release, started = threading.Event(), threading.Event()
    try:
        app = create_app(config, pool=pool)
        with TestClient(app, base_url=LOCAL) as c:
            holder = threading.Thread(
                target=lambda: asyncio.run(pool.run(lambda p: started.set() or release.wait(30)))
            )
            holder.start()
            assert started.wait(30)
            answers: list = []
            waiter = threading.Thread(
                target=lambda: answers.append(c.post("/v1/predict", content=PNG, headers=RAW))
            )
            waiter.start()
            while pool.pending < 2:
                threading.Event().wait(0.02)
            app.state.service.begin_shutdown()
            waiter.join(30)
            assert not waiter.is_alive()  # answered while the worker is still busy
            status, code, _ = error_of(answers[0])
            assert (status, code) == (503, "shutting_down")
            health = c.get("/v1/health")
            assert health.status_code == 503 and health.json()["ready"] is False
            release.set()
            holder.join()
    finally:
        release.set()
        pool.close()


def test_close_does_not_wait_forever_for_a_busy_worker() -> None:
    config = ServeConfig(bundle=TINY_BUNDLE, workers=1)
    pool = InferencePool.from_config(config, ServiceMetrics())
    release, started = threading.Event(), threading.Event()
    holder = threading.Thread(
        target=lambda: asyncio.run(pool.run(lambda p: started.set() or release.wait(60)))
    )
    holder.start()
    assert started.wait(30)
    try:
        assert pool.close(timeout_s=0.2) is False  # returned, worker still busy
        with pytest.raises(ApiError, match="shutting down"):
            asyncio.run(pool.run(lambda p: None))
    finally:
        release.set()
        holder.join()
