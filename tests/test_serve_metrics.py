"""The service's metrics through prometheus_client: names, types, labels, one registry each."""

from __future__ import annotations

import threading

from edge_runtime.server.metrics import ServiceMetrics


def test_histogram_buckets_and_sum_are_exposed_per_route() -> None:
    m = ServiceMetrics()
    for seconds in (0.0005, 0.003, 0.003, 0.2, 30.0):
        m.request_seconds.labels(route="/v1/predict").observe(seconds)
    name = "edgetk_http_request_duration_seconds"
    route = {"route": "/v1/predict"}
    assert m.value(f"{name}_bucket", **route, le="0.001") == 1
    assert m.value(f"{name}_bucket", **route, le="0.005") == 3
    assert m.value(f"{name}_bucket", **route, le="10.0") == 4
    assert m.value(f"{name}_bucket", **route, le="+Inf") == 5
    assert m.value(f"{name}_count", **route) == 5
    assert abs(m.value(f"{name}_sum", **route) - 30.2065) < 1e-9
    assert f'{name}_count{{route="/v1/predict"}} 5.0' in m.render()


def test_names_types_and_escaped_labels_in_the_text_format() -> None:
    m = ServiceMetrics()
    m.model_info.labels(name='a "quoted"\\name\n', artifact="m.tflite", precision="int8",
                        sha256="0" * 64, runtime="rt 1").set(1)  # fmt: skip
    text = m.render()
    assert 'name="a \\"quoted\\"\\\\name\\n"' in text
    for name, kind in [
        ("edgetk_http_requests_total", "counter"),
        ("edgetk_http_request_duration_seconds", "histogram"),
        ("edgetk_http_requests_in_flight", "gauge"),
        ("edgetk_inference_pending", "gauge"),
        ("edgetk_process_start_time_seconds", "gauge"),
    ]:
        assert f"# TYPE {name} {kind}" in text
    assert text.endswith("\n")


def test_each_service_has_its_own_registry() -> None:
    a, b = ServiceMetrics(), ServiceMetrics()
    a.images.inc(3)
    assert a.value("edgetk_images_classified_total") == 3
    assert b.value("edgetk_images_classified_total") == 0


def test_counters_are_exact_under_concurrent_updates() -> None:
    m = ServiceMetrics()

    def hammer() -> None:
        for _ in range(5000):
            m.requests.labels(method="POST", route="/v1/predict", status="200").inc()
            m.in_flight.inc()
            m.in_flight.dec()

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    labels = {"method": "POST", "route": "/v1/predict", "status": "200"}
    assert m.value("edgetk_http_requests_total", **labels) == 20000
    assert m.value("edgetk_http_requests_in_flight") == 0
