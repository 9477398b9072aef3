"""The REST API in-process (FastAPI's test client): every endpoint, every bad input, the key."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from edge_runtime.common.errors import ConfigError, ModelError
from edge_runtime.server import ApiError, InferencePool, ServeConfig, ServiceMetrics, create_app
from edge_runtime.server.schemas import HealthResponse, MetadataResponse, PredictResponse
from tests.test_serve_support import LABELS, TINY_BUNDLE, bar_png, bomb_png

PNG = bar_png("horizontal")
RAW = {"Content-Type": "image/png"}
LOCAL = "http://127.0.0.1"  # the service serves loopback Host names only, by default


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    config = ServeConfig(bundle=TINY_BUNDLE, max_files=3, max_body_mb=0.25, max_pixels=200_000)
    with TestClient(create_app(config), base_url=LOCAL) as c:
        yield c


def assert_good(client: TestClient) -> None:
    """The service still answers a good request correctly."""
    r = client.post("/v1/predict", content=PNG, headers=RAW)
    assert r.status_code == 200, r.text
    assert r.json()["predictions"][0]["label"] == "horizontal"


def assert_error(r, status: int, code: str, match: str) -> None:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code
    assert match.lower() in err["message"].lower(), err["message"]


# -- endpoints --------------------------------------------------------------------------------------
def test_predict_raw_body_classifies_and_reports_latency(client: TestClient) -> None:
    r = client.post("/v1/predict", content=bar_png("vertical"), headers=RAW)
    assert r.status_code == 200
    body = PredictResponse.model_validate(r.json())
    [pred] = body.predictions
    assert pred.label == "vertical" and pred.probability > 0.5
    assert pred.file is None and (pred.width, pred.height) == (28, 28)
    assert len(pred.top_k) == 3  # the default top_k, as in predict and camera
    assert [t.probability for t in pred.top_k] == sorted(
        (t.probability for t in pred.top_k), reverse=True
    )
    assert pred.latency_ms > 0 and body.timing.model_ms > 0
    assert body.timing.total_ms >= body.timing.model_ms
    assert body.model.artifact == "model_int8.tflite" and len(body.model.sha256) == 64


def test_predict_multipart_several_files_with_top_k(client: TestClient) -> None:
    files = [
        ("file", ("h.png", bar_png("horizontal"), "image/png")),
        ("file", ("v.png", bar_png("vertical"), "image/png")),
        ("other", ("big.png", bar_png("horizontal", 64), "application/octet-stream")),
    ]
    r = client.post("/v1/predict", files=files, params={"top_k": 2})
    assert r.status_code == 200, r.text
    preds = r.json()["predictions"]
    assert [p["file"] for p in preds] == ["h.png", "v.png", "big.png"]
    assert [p["label"] for p in preds] == ["horizontal", "vertical", "horizontal"]
    assert preds[2]["width"] == 64
    assert all(len(p["top_k"]) == 2 for p in preds)


@pytest.mark.parametrize(("fmt", "mode", "size"), [("JPEG", "RGB", (50, 30)), ("PNG", "RGBA", (20, 40)),
                                             ("BMP", "L", (1, 1)), ("GIF", "P", (300, 200))])  # fmt: skip
def test_any_size_and_colour_mode_is_classified(
    client: TestClient, fmt: str, mode: str, size: tuple[int, int]
) -> None:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, size).save(buf, fmt)
    r = client.post(
        "/v1/predict", content=buf.getvalue(), headers={"Content-Type": f"image/{fmt.lower()}"}
    )
    assert r.status_code == 200, r.text
    pred = r.json()["predictions"][0]
    assert (pred["width"], pred["height"]) == size and pred["label"] in LABELS


def test_health_is_ready(client: TestClient) -> None:
    r = client.get("/v1/health")
    assert r.status_code == 200
    body = HealthResponse.model_validate(r.json())
    assert body.ready and body.live and body.status == "ok"
    # Open even with an API key: it says nothing about what is served or how busy it is.
    assert set(r.json()) == {"status", "live", "ready"}


def test_metadata_comes_from_the_manifest(client: TestClient) -> None:
    r = client.get("/v1/metadata")
    assert r.status_code == 200
    meta = MetadataResponse.model_validate(r.json())
    assert tuple(meta.labels) == LABELS and meta.num_classes == 4
    assert meta.input["height"] == 28 and meta.input["color"] == "grey"
    assert meta.artifact["precision"] == "int8" and meta.artifact["input"]["dtype"] == "int8"
    assert meta.service["limits"]["max_files"] == 3
    assert meta.service["api_key_required"] is False
    assert "path" not in meta.source_model
    assert "platform" not in meta.versions  # the exporting machine's kernel string


def test_openapi_documents_the_api(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert {"/v1/predict", "/v1/health", "/v1/metadata", "/metrics"} <= set(doc["paths"])
    body = doc["paths"]["/v1/predict"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in body and "image/png" in body
    # No interactive docs page: it would load its scripts from the internet (offline devices).
    r = client.get("/docs")
    assert r.status_code == 404 and r.headers["content-type"] == "application/json"


# -- bad input, each followed by a good request ---------------------------------------------------
BAD_RAW = [
    (b"this is not an image at all", RAW, 400, "invalid_image", "not an image"),
    (PNG[: len(PNG) // 2], RAW, 400, "invalid_image", "truncated"),
    (b"", RAW, 400, "empty_body", "empty"),
    (
        PNG,
        {"Content-Type": "text/plain"},
        415,
        "unsupported_media_type",
        "'text/plain' is not accepted",
    ),
    (PNG, {"Content-Type": "application/json"}, 415, "unsupported_media_type", "not accepted"),
    (PNG, {}, 415, "unsupported_media_type", "no Content-Type"),
    (bomb_png(), RAW, 413, "image_too_large", "too large to decode safely"),
    (bomb_png(9000, 9000), RAW, 413, "image_too_large", "9000x9000"),
    (bar_png("horizontal", 600), RAW, 413, "image_too_large", "the limits are"),
    (b"\0" * 300_000, RAW, 413, "body_too_large", "larger than the limit"),
]


@pytest.mark.parametrize(("body", "headers", "status", "code", "match"), BAD_RAW)
def test_bad_raw_input_is_a_clear_4xx_then_service_still_works(
    client: TestClient, body: bytes, headers: dict, status: int, code: str, match: str
) -> None:
    r = client.post("/v1/predict", content=body, headers=headers)
    assert_error(r, status, code, match)
    assert_good(client)


def test_oversized_chunked_body_is_cut_off_while_streaming(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must be enforced while reading
        for _ in range(64):
            yield b"\0" * 65536

    r = client.post("/v1/predict", content=chunks(), headers=RAW)
    assert_error(r, 413, "body_too_large", "larger than the limit")
    assert_good(client)


BAD_MULTIPART = [
    ([("file", ("a.txt", b"hello", "text/plain"))], 415, "unsupported_media_type", "'a.txt'"),
    ([("file", ("e.png", b"", "image/png"))], 400, "empty_file", "'e.png' is empty"),
    ([("file", ("x.png", b"garbage bytes", "image/png"))], 400, "invalid_image", "'x.png'"),
    ([("file", ("t.png", PNG[: len(PNG) // 2], "image/png"))], 400, "invalid_image", "truncated"),
    ([("file", ("b.png", bomb_png(), "image/png"))], 413, "image_too_large", "'b.png'"),
    (
        [("file", (f"{i}.png", PNG, "image/png")) for i in range(4)],
        422,
        "too_many_files",
        "more than 3",
    ),
]


@pytest.mark.parametrize(("files", "status", "code", "match"), BAD_MULTIPART)
def test_bad_multipart_input_is_a_clear_4xx_then_service_still_works(
    client: TestClient, files: list, status: int, code: str, match: str
) -> None:
    r = client.post("/v1/predict", files=files)
    assert_error(r, status, code, match)
    assert_good(client)


def test_undocumented_decoder_failure_is_400_not_500(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import struct

    import edge_runtime.server.decode as decode

    def explode(*args: object) -> None:
        raise struct.error("unpack requires a buffer of 4 bytes")

    monkeypatch.setattr(decode, "decode_opened", explode)
    r = client.post("/v1/predict", content=PNG, headers=RAW)
    assert_error(r, 400, "invalid_image", "cannot be decoded (error)")
    monkeypatch.undo()
    assert_good(client)


def test_multipart_without_files_or_with_text_fields(client: TestClient) -> None:
    r = client.post(
        "/v1/predict", data={"note": "hi"}, files=[("file", ("a.png", PNG, "image/png"))]
    )
    assert_error(r, 400, "unexpected_field", "'note' is not a file")
    empty = b"--XyZ--\r\n"
    r = client.post(
        "/v1/predict", content=empty, headers={"Content-Type": "multipart/form-data; boundary=XyZ"}
    )
    assert_error(r, 400, "no_images", "no file parts")
    assert_good(client)


@pytest.mark.parametrize(
    ("query", "match"),
    [("top_k=0", "greater than or equal to 1"), ("top_k=5", "less than or equal to 4"),
     ("top_k=abc", "valid integer"), ("invert=upside", "'auto', 'never' or 'always'"),
     ("polarity=upside", "'auto', 'never', 'always', 'as-is' or 'invert'")],
)  # fmt: skip
def test_bad_parameters_are_422(client: TestClient, query: str, match: str) -> None:
    r = client.post(f"/v1/predict?{query}", content=PNG, headers=RAW)
    assert_error(r, 422, "invalid_parameter", match)
    assert_good(client)


@pytest.mark.parametrize(
    ("query", "inverted", "deprecated"),
    [("", False, False), ("invert=always", True, False), ("invert=never", False, False),
     ("polarity=invert", True, True), ("polarity=as-is", False, True),
     ("polarity=invert&invert=never", False, True)],
)  # fmt: skip
def test_invert_per_request_and_its_earlier_name(
    client: TestClient, query: str, inverted: bool, deprecated: bool
) -> None:
    r = client.post(f"/v1/predict?{query}", content=bar_png("vertical"), headers=RAW)
    assert r.status_code == 200, r.text
    assert r.json()["predictions"][0]["inverted"] is inverted
    assert ("deprecated; use invert" in r.headers.get("Warning", "")) is deprecated


def test_unknown_route_and_wrong_method_are_json(client: TestClient) -> None:
    assert_error(client.get("/v2/predict"), 404, "not_found", "no route '/v2/predict'")
    assert_error(client.get("/v1/predict"), 405, "method_not_allowed", "GET is not allowed")


# -- API key --------------------------------------------------------------------------------------
def test_api_key_is_enforced_except_on_health() -> None:
    config = ServeConfig(bundle=TINY_BUNDLE, api_key="s3cret-key")
    with TestClient(create_app(config), base_url=LOCAL) as c:
        assert_error(
            c.post("/v1/predict", content=PNG, headers=RAW), 401, "unauthorized", "X-API-Key"
        )
        wrong = {**RAW, "X-API-Key": "guess"}
        assert_error(
            c.post("/v1/predict", content=PNG, headers=wrong), 401, "unauthorized", "does not match"
        )
        assert_error(c.get("/v1/metadata"), 401, "unauthorized", "needs an API key")
        assert_error(c.get("/metrics"), 401, "unauthorized", "needs an API key")
        assert c.get("/v1/health").status_code == 200  # open, documented in docs/serving.md
        good = {**RAW, "X-API-Key": "s3cret-key"}
        r = c.post("/v1/predict", content=PNG, headers=good)
        assert r.status_code == 200 and r.json()["predictions"][0]["label"] == "horizontal"
        assert c.get("/v1/metadata", headers={"X-API-Key": "s3cret-key"}).json()["service"][
            "api_key_required"
        ]
        scheme = c.get("/openapi.json").json()["components"]["securitySchemes"]
        assert scheme["APIKeyHeader"]["name"] == "X-API-Key"


# -- metrics ----------------------------------------------------------------------------------------
def sample(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    prefix = f"{name}{{{want}}} " if labels else f"{name} "
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix) :])
    return 0.0


def test_metrics_count_what_happened() -> None:
    with TestClient(create_app(ServeConfig(bundle=TINY_BUNDLE)), base_url=LOCAL) as c:
        for _ in range(3):
            assert c.post("/v1/predict", content=PNG, headers=RAW).status_code == 200
        files = [("file", (f"{i}.png", PNG, "image/png")) for i in range(2)]
        assert c.post("/v1/predict", files=files).status_code == 200
        assert c.post("/v1/predict", content=b"nope", headers=RAW).status_code == 400
        assert c.get("/nowhere/1").status_code == 404
        assert c.get("/nowhere/2").status_code == 404
        r = c.get("/metrics")
        assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
        text = r.text
    route = {"method": "POST", "route": "/v1/predict"}
    assert sample(text, "edgetk_http_requests_total", **route, status="200") == 4
    assert sample(text, "edgetk_http_requests_total", **route, status="400") == 1
    assert (
        sample(text, "edgetk_http_requests_total", method="GET", route="unmatched", status="404")
        == 2
    )
    assert sample(text, "edgetk_images_classified_total") == 5
    assert sample(text, "edgetk_http_request_duration_seconds_count", route="/v1/predict") == 5
    assert sample(text, "edgetk_inference_duration_seconds_count") == 4
    # The /metrics request itself is in flight while it renders.
    assert sample(text, "edgetk_http_requests_in_flight") == 1
    assert 'edgetk_model_info{artifact="model_int8.tflite",name="tiny-patterns"' in text


# -- worker pool ------------------------------------------------------------------------------------
def test_pool_refuses_with_503_when_saturated_and_recovers() -> None:
    config = ServeConfig(bundle=TINY_BUNDLE, workers=1, queue_size=1)
    pool = InferencePool.from_config(config, ServiceMetrics())
    release = threading.Event()

    async def scenario() -> tuple[list[object], str]:
        blocked = [asyncio.ensure_future(pool.run(lambda p: release.wait(10))) for _ in range(2)]
        await asyncio.sleep(0.2)  # one running, one queued: at capacity
        with pytest.raises(ApiError, match="at capacity") as info:
            await pool.run(lambda p: None)
        release.set()
        done = [t.value for t in await asyncio.gather(*blocked)]
        after = await pool.run(
            lambda p: p.predict([__import__("numpy").zeros((28, 28, 1), "uint8")])
        )
        return done, f"{info.value.status}:{len(after.value)}"  # type: ignore[arg-type]

    try:
        done, tail = asyncio.run(scenario())
    finally:
        pool.close()
    assert done == [True, True]
    assert tail == "503:1"
    assert pool.metrics.value("edgetk_inference_rejected_total") == 1


def test_waiting_requests_are_batched_and_each_gets_its_own_answer() -> None:
    from edge_runtime.server.decode import DecodeLimits, decode_uploads
    from edge_runtime.server.pool import PredictJob
    from edge_runtime.server.uploads import Upload

    pool = InferencePool.from_config(ServeConfig(bundle=TINY_BUNDLE, workers=1), ServiceMetrics())
    release = threading.Event()
    h, v = bar_png("horizontal"), bar_png("vertical")

    def job(items: list[bytes], top_k: int = 2) -> PredictJob:
        limits = DecodeLimits(10**6, 10**4, 10**7, (28, 28))
        uploads = [Upload(None, b) for b in items]
        return PredictJob(uploads, lambda us: decode_uploads(us, limits), top_k, "auto")

    async def scenario() -> list:
        blocker = asyncio.ensure_future(pool.run(lambda p: release.wait(10)))
        await asyncio.sleep(0.2)  # the only worker is busy: the next jobs queue up together
        jobs = [job([v]), job([h, h]), job([b"not an image"]), job([v], top_k=3), job([h])]
        waiting = [asyncio.ensure_future(pool.predict(j)) for j in jobs]
        await asyncio.sleep(0.1)
        release.set()
        await blocker
        return await asyncio.gather(*waiting, return_exceptions=True)

    try:
        first, second, bad, other_k, last = asyncio.run(scenario())
    finally:
        pool.close()
    assert [p.label for p in first.value.predictions] == ["vertical"]
    assert [p.label for p in second.value.predictions] == ["horizontal", "horizontal"]
    assert [p.label for p in last.value.predictions] == ["horizontal"]
    assert isinstance(bad, Exception)  # the bad upload fails alone, the rest of its batch succeeds
    # One model call for the four good images that share top_k=2, another for top_k=3.
    assert first.value.batch_images == second.value.batch_images == last.value.batch_images == 4
    assert other_k.value.batch_images == 1 and len(other_k.value.predictions[0].top_k) == 3
    assert pool.metrics.value("edgetk_inference_batch_images_count") == 2
    assert pool.pending == 0


def test_saturated_service_answers_503_json() -> None:
    config = ServeConfig(bundle=TINY_BUNDLE, workers=1, queue_size=0)
    pool = InferencePool.from_config(config, ServiceMetrics())
    release = threading.Event()
    try:
        with TestClient(create_app(config, pool=pool), base_url=LOCAL) as c:
            holder = threading.Thread(
                target=lambda: asyncio.run(pool.run(lambda p: release.wait(10)))
            )
            holder.start()
            deadline = 50
            while pool.pending == 0 and deadline:
                threading.Event().wait(0.05)
                deadline -= 1
            r = c.post("/v1/predict", content=PNG, headers=RAW)
            assert_error(r, 503, "overloaded", "at capacity")
            assert r.headers["retry-after"] == "1"
            release.set()
            holder.join()
            assert_good(c)
    finally:
        pool.close()


# -- configuration --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"workers": 0}, "workers=0 is out of range"), ({"port": 70000}, "port=70000"),
     ({"max_body_mb": 0}, "max_body_mb=0"), ({"api_key": " "}, "api_key must be"),
     ({"polarity": "sideways"}, "polarity='sideways'"), ({"log_level": "loud"}, "log_level='loud'")],
)  # fmt: skip
def test_config_validation_names_the_bad_value(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ServeConfig(bundle=TINY_BUNDLE, **kwargs)


def test_api_key_is_not_in_the_config_repr() -> None:
    assert "s3cret" not in repr(ServeConfig(bundle=TINY_BUNDLE, api_key="s3cret"))


def test_missing_bundle_is_a_model_error(space_dir: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        create_app(ServeConfig(bundle=space_dir / "no bundle"))
