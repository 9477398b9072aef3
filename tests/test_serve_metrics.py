"""The Prometheus exposition written without a client library: format details that scrapers need."""

from __future__ import annotations

import threading

from edge_runtime.server.metrics import ServiceMetrics


def test_histogram_buckets_are_cumulative_with_inf_sum_and_count() -> None:
    m = ServiceMetrics()
    for seconds in (0.0005, 0.003, 0.003, 0.2, 30.0):
        m.request_seconds.observe(seconds, route="/v1/predict")
    lines = [ln for ln in m.render().splitlines() if ln.startswith("edgetk_http_request_duration")]
    buckets = {
        ln.split('le="')[1].split('"')[0]: int(ln.rsplit(" ", 1)[1])
        for ln in lines
        if "_bucket" in ln
    }
    assert buckets["0.001"] == 1
    assert buckets["0.005"] == 3
    assert buckets["0.25"] == 4
    assert buckets["10"] == 4
    assert buckets["+Inf"] == 5
    counts = list(buckets.values())
    assert counts == sorted(counts)  # cumulative, never decreasing
    assert 'edgetk_http_request_duration_seconds_count{route="/v1/predict"} 5' in lines
    total = next(ln for ln in lines if "_sum" in ln)
    assert abs(float(total.rsplit(" ", 1)[1]) - 30.2065) < 1e-9


def test_label_values_are_escaped_and_types_declared() -> None:
    m = ServiceMetrics()
    m.model_info.set(1, name='a "quoted"\\name\n', artifact="m.tflite", precision="int8",
                     sha256="0" * 64, runtime="rt 1")  # fmt: skip
    text = m.render()
    assert 'name="a \\"quoted\\"\\\\name\\n"' in text
    assert "# TYPE edgetk_http_requests_total counter" in text
    assert "# TYPE edgetk_http_request_duration_seconds histogram" in text
    assert "# TYPE edgetk_http_requests_in_flight gauge" in text
    assert text.endswith("\n")


def test_counters_are_exact_under_concurrent_updates() -> None:
    m = ServiceMetrics()

    def hammer() -> None:
        for _ in range(5000):
            m.requests.inc(method="POST", route="/v1/predict", status="200")
            m.in_flight.inc()
            m.in_flight.dec()

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert m.requests.value(method="POST", route="/v1/predict", status="200") == 20000
    assert m.in_flight.value() == 0
