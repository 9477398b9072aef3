"""--budget-bench: the latency budget judged on p95 from edgetk bench records made on the target."""

from __future__ import annotations

import json

import pytest

from edge_runtime.common.errors import ConfigError
from trainer.pipeline.budget import Budget
from trainer.pipeline.device_latency import apply_device_latency, load_device_latency
from trainer.pipeline.select import NothingFitsError, Point, choose


def _point(candidate: str, artifact: str, acc: float, p95: float) -> Point:
    return Point(candidate, artifact, "tflite", "int8", acc, 600, 200.0, p95, 30.0)


def _record(path, rows, label="pi5", p95=True):
    stats = lambda v: {"p50": v / 2, "p90": v * 0.9, "p99": v * 1.5, **({"p95": v} if p95 else {})}  # noqa: E731
    path.write_text(
        json.dumps(
            {
                "label": label,
                "device": {"arch": "aarch64"},
                "rows": [
                    {"sha256": sha, "threads": t, "status": "ok", "latency_ms": stats(v)}
                    for sha, t, v in rows
                ]
                + [{"sha256": "x", "threads": 1, "status": "error", "latency_ms": None}],
            }
        )
    )
    return str(path)


def test_device_p95_decides_the_budget_not_this_machine(tmp_path) -> None:
    # Here the big model is fast enough; on the board it is not.
    points = [
        _point("resnet", "model_int8.tflite", 0.93, 0.4),
        _point("baseline", "m.tflite", 0.90, 0.2),
    ]
    hashes = {"resnet/model_int8.tflite": "aa", "baseline/m.tflite": "bb"}
    rec = _record(tmp_path / "b.json", [("aa", 1, 9.0), ("aa", 4, 3.0), ("bb", 1, 2.5)])
    latency, devices = load_device_latency((rec,))
    assert latency == {"aa": 9.0, "bb": 2.5}  # the fewest threads measured
    assert devices == ["pi5 (aarch64)"]
    on_device = apply_device_latency(points, hashes, latency)
    assert choose(points, Budget(max_ms=5)).winner.candidate == "resnet"
    assert choose(on_device, Budget(max_ms=5)).winner.candidate == "baseline"


def test_an_artifact_the_device_did_not_measure_cannot_meet_a_latency_budget(tmp_path) -> None:
    points = [_point("resnet", "model_int8.tflite", 0.93, 0.4)]
    latency, _ = load_device_latency((_record(tmp_path / "b.json", [("zz", 1, 1.0)]),))
    on_device = apply_device_latency(points, {"resnet/model_int8.tflite": "aa"}, latency)
    assert on_device[0].p95_ms is None
    with pytest.raises(NothingFitsError, match="--budget-ms"):
        choose(on_device, Budget(max_ms=5))


def test_old_records_without_p95_use_p99_and_say_so(tmp_path) -> None:
    latency, devices = load_device_latency(
        (_record(tmp_path / "b.json", [("aa", 1, 2.0)], p95=False),)
    )
    assert latency == {"aa": 3.0} and "p99 used" in devices[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such file"), ("{not json", "not a bench JSON"), ('{"rows": 3}', "no 'rows'")],
)
def test_bad_bench_files_name_the_flag_and_the_path(tmp_path, content, message) -> None:
    path = tmp_path / "bench file.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=f"--budget-bench .*bench file.json: {message}"):
        load_device_latency((str(path),))
