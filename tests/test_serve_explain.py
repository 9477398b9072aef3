"""POST /v1/explain on a real ``edgetk serve`` process on loopback: off unless --explain-rate,
rate-bounded, bounded like predict, and its map's peak on the tiny fixture model's evidence."""

from __future__ import annotations

import base64
import io

import httpx
import numpy as np
import pytest
from PIL import Image

from edge_runtime.server.explain_route import RateWindow, pooled
from tests.test_serve_support import LABELS, TINY_BUNDLE, bar_png, start_server

RAW = {"Content-Type": "image/png"}


def _error(r: httpx.Response, status: int, code: str, match: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    err = r.json()["error"]
    assert err["code"] == code and match in err["message"], err
    return err


@pytest.fixture(scope="module")
def enabled():
    server = start_server(TINY_BUNDLE, "--explain-rate", "6", "--max-files", "4")
    try:
        yield server
    finally:
        server.stop()


def test_off_by_default_is_a_clear_json_404() -> None:
    server = start_server(TINY_BUNDLE)
    try:
        r = httpx.post(f"{server.url}/v1/explain", content=bar_png(), headers=RAW, timeout=30)
        _error(r, 404, "explain_disabled", "start it with --explain-rate N")
        # the rest of the service is unaffected
        r = httpx.post(f"{server.url}/v1/predict", content=bar_png(), headers=RAW, timeout=30)
        assert r.status_code == 200
        meta = httpx.get(f"{server.url}/v1/metadata", timeout=30).json()
        assert meta["service"]["limits"]["explain_per_minute"] == 0
    finally:
        server.stop()


def test_explain_peaks_on_the_evidence_then_the_rate_limit_answers_429(enabled) -> None:
    """Six images a minute: a two-image call and a one-image call with an overlay fit (3), a
    four-image call does not (7 > 6) and is refused whole, after which one more fits."""
    url = f"{enabled.url}/v1/explain"
    files = [("file", (f"{k}.png", bar_png(k), "image/png")) for k in ("horizontal", "vertical")]
    r = httpx.post(url, files=files, params={"grid": 28}, timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"]["artifact"] == "model_int8.tflite"
    size, lo, hi, mid = 28, 28 // 6, 28 - 28 // 6, 14
    for e, kind in zip(body["explanations"], ("horizontal", "vertical")):
        assert e["label"] == kind and e["file"] == f"{kind}.png" and e["signal"] > 0
        assert e["grid_rows"] == e["grid_cols"] == size and e["passes"] <= 257
        grid = np.array(e["grid"])
        assert grid.max() == pytest.approx(1.0) and grid.min() >= 0
        peak = e["peak"]
        assert (peak["height"], peak["width"]) == (size, size)
        along, across = (peak["col"], peak["row"]) if kind == "horizontal" else (
            peak["row"], peak["col"])  # fmt: skip
        # on the bar: within its three-pixel width (one pixel of slack), within its length
        assert mid - 2 <= across <= mid + 2 and lo <= along < hi, (kind, peak)
        assert np.unravel_index(np.argmax(grid), grid.shape) == (peak["row"], peak["col"])

    r = httpx.post(
        url, content=bar_png("vertical", 300), headers=RAW,
        params={"overlay": "true", "target": "horizontal"}, timeout=60,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    (e,) = r.json()["explanations"]
    assert e["label"] == "horizontal" and e["index"] == LABELS.index("horizontal")
    assert len(e["grid"]) == 16 and (e["width"], e["height"]) == (300, 300)
    png = Image.open(io.BytesIO(base64.b64decode(e["overlay_png"])))
    # over the decoded picture (the decoder may reduce it toward the model size), <= 256 px
    assert png.format == "PNG" and png.size[0] == png.size[1] <= 256 and png.mode == "RGB"

    many = [("file", (f"{i}.png", bar_png(), "image/png")) for i in range(4)]
    r = httpx.post(url, files=many, timeout=60)
    err = _error(r, 429, "explain_rate_limited", "6 images per minute")
    assert int(r.headers["Retry-After"]) >= 1, err
    r = httpx.post(url, content=bar_png(), headers=RAW, timeout=60)
    assert r.status_code == 200, r.text  # the refused request took nothing


def test_cost_limits_and_bad_parameters() -> None:
    """The limits predict has: files per request, pixels per image, body size."""
    server = start_server(
        TINY_BUNDLE, "--explain-rate", "1000", "--max-files", "2", "--max-pixels", "100000",
        "--max-body-mb", "0.05",
    )  # fmt: skip
    try:
        _limits_and_parameters(f"{server.url}/v1/explain")
    finally:
        server.stop()


def _limits_and_parameters(url: str) -> None:
    too_many = [("file", (f"{i}.png", bar_png(), "image/png")) for i in range(3)]
    _error(httpx.post(url, files=too_many, timeout=60), 422, "too_many_files", "more than 2")
    big = bar_png("horizontal", 400)  # 160,000 pixels
    _error(httpx.post(url, content=big, headers=RAW, timeout=60), 413, "image_too_large", "")
    _error(
        httpx.post(url, content=b"\0" * 60_000, headers=RAW, timeout=60),
        413, "body_too_large", "",
    )  # fmt: skip
    _error(
        httpx.post(url, content=bar_png(), headers=RAW, params={"target": "sideways"}, timeout=60),
        422, "invalid_parameter", "'sideways' is not a class",
    )  # fmt: skip
    _error(
        httpx.post(url, content=bar_png(), headers=RAW, params={"grid": 0}, timeout=60),
        422, "invalid_parameter", "grid",
    )  # fmt: skip
    _error(
        httpx.post(url, content=b"not a picture", headers=RAW, timeout=60),
        400, "invalid_image", "",
    )  # fmt: skip


def test_rate_window_is_a_sliding_minute() -> None:
    now = [0.0]
    w = RateWindow(3, clock=lambda: now[0])
    assert w.take(2) == 0.0 and w.wait(1) == 0.0 and w.take(1) == 0.0
    assert w.take(1) == pytest.approx(60.0)
    now[0] = 30.0
    assert w.take(1) == pytest.approx(30.0)  # the oldest leaves at 60 s
    now[0] = 60.0
    assert w.take(3) == 0.0 and w.wait(1) == pytest.approx(60.0)
    assert RateWindow(2).take(3) == 60.0  # more than a minute's worth: never at once


def test_pooled_grid_averages_blocks() -> None:
    sal = np.zeros((28, 28), np.float32)
    sal[:14, :14] = 1
    g = pooled(sal, 2)
    assert g.tolist() == [[1.0, 0.0], [0.0, 0.0]]
    assert pooled(sal, 64).shape == (28, 28)
