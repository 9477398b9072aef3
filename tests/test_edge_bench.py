"""`edgetk bench`: percentile arithmetic, the JSON record's schema, error rows, comparison."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edge_runtime.bench import (
    SCHEMA,
    BenchConfig,
    format_comparison,
    format_table,
    load_record,
    run_bench,
)
from edge_runtime.common.errors import ConfigError, DataError
from edge_runtime.stats import LatencyStats
from edgetk.cli import main
from tests.fixtures.edge_helpers import BUNDLE, IMAGES, copy_bundle


def test_latency_percentiles_match_hand_computation() -> None:
    s = LatencyStats.from_ms([10.0, 20.0, 30.0, 40.0])
    assert s.p50 == 25.0  # rank 1.5: halfway between 20 and 30
    assert s.p90 == pytest.approx(37.0)  # rank 2.7
    assert s.min == 10.0 and s.max == 40.0
    with pytest.raises(ValueError, match="no latency samples"):
        LatencyStats.from_ms([])


def test_latency_stats_from_ns() -> None:
    s = LatencyStats.from_ns([1_000_000, 2_000_000, 3_000_000, 4_000_000])  # 1..4 ms
    assert s.n == 4 and s.mean == 2.5 and s.min == 1.0 and s.max == 4.0 and s.p50 == 2.5
    assert s.std == pytest.approx(np.std([1, 2, 3, 4]))
    assert s.p99 == pytest.approx(3.97)


ROW_KEYS = {
    "artifact", "format", "precision", "threads", "status", "error", "size_bytes", "sha256",
    "sha256_matches_manifest", "runtime", "batchable", "load_ms", "first_inference_ms",
    "latency_ms", "invoke_ms", "throughput", "accuracy", "memory",
}  # fmt: skip
STAT_KEYS = {"n", "mean", "std", "min", "p50", "p90", "p95", "p99", "max"}


@pytest.mark.onnx
def test_bench_record_schema_in_process(tmp_path: Path) -> None:
    cfg = BenchConfig(
        bundle=str(BUNDLE),
        threads=(1,),
        runs=20,
        warmup=2,
        batch=4,
        data=str(IMAGES),
        isolate=False,
    )
    record = run_bench(cfg)
    assert record["schema"] == SCHEMA
    assert {"cpu_model", "arch", "cores_logical", "os", "python"} <= set(record["device"])
    assert "numpy" in record["versions"]
    assert len(record["rows"]) == 3  # every artifact once
    for row in record["rows"]:
        assert set(row) == ROW_KEYS, set(row) ^ ROW_KEYS
        assert row["status"] == "ok" and row["sha256_matches_manifest"]
        assert set(row["latency_ms"]) == STAT_KEYS and row["latency_ms"]["n"] == 20
        lat = row["latency_ms"]
        assert lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p95"] <= lat["p99"] <= lat["max"]
        assert row["throughput"]["single_stream_ips"] > 0 and row["throughput"]["batch"] == 4
        assert row["accuracy"]["n"] == 24 and row["accuracy"]["accuracy"] == 1.0
        assert row["memory"]["peak_rss_mb"] > 10
    out = tmp_path / "bench.json"
    out.write_text(json.dumps(record))
    assert load_record(out)["rows"][0]["artifact"] == "model_int8.tflite"
    table = format_table(record)
    assert "model_fp32.onnx" in table and "p50 ms" in table


def test_failing_artifact_is_an_error_row_not_a_crash(space_dir: Path, capsys) -> None:
    bundle = copy_bundle(space_dir)
    (bundle / "model_fp32.tflite").write_bytes(b"broken" * 50)
    out = space_dir / "result one.json"
    rc = main(
        ["bench", str(bundle), "--thread-counts", "1", "--runs", "10", "--warmup", "1",
         "--out-file", str(out), "--artifacts", "tflite_int8,model_fp32.tflite", "--no-verify"]
    )  # fmt: skip
    assert rc == 0
    record = json.loads(out.read_text())
    by_file = {r["artifact"]: r for r in record["rows"]}
    assert by_file["model_int8.tflite"]["status"] == "ok"
    bad = by_file["model_fp32.tflite"]
    assert bad["status"] == "error" and "cannot be loaded as a TFLite model" in bad["error"]
    assert "ERROR" in capsys.readouterr().out


def test_compare_puts_records_side_by_side(tmp_path: Path, capsys) -> None:
    rec = run_bench(
        BenchConfig(
            bundle=str(BUNDLE),
            artifacts=("tflite:int8",),
            threads=(1,),
            runs=10,
            warmup=1,
            isolate=False,
        )
    )
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(rec))
    slower = json.loads(json.dumps(rec))
    slower["rows"][0]["latency_ms"]["p50"] = rec["rows"][0]["latency_ms"]["p50"] * 3
    slower["device"]["arch"] = "aarch64"
    b.write_text(json.dumps(slower))
    text = format_comparison([("a", load_record(a)), ("b", load_record(b))])
    assert "aarch64" in text and "3.00" in text
    assert main(["bench", "--compare", str(a), "--compare", str(b)]) == 0
    assert "model_int8.tflite" in capsys.readouterr().out
    bogus = tmp_path / "bogus.json"
    bogus.write_text("{}")
    with pytest.raises(DataError, match="not an edgetk benchmark record"):
        load_record(bogus)


def test_bench_config_validation() -> None:
    with pytest.raises(ConfigError, match="runs=2 is too few"):
        BenchConfig(bundle="x", runs=2)
    with pytest.raises(ConfigError, match="threads"):
        BenchConfig(bundle="x", threads=(0,))
    assert main(["bench", str(BUNDLE), "--thread-counts", "1,x"]) == 2
    assert main(["bench", str(BUNDLE), "--thread-counts", "0"]) == 2


def test_data_without_images_fails_before_measuring(space_dir: Path, capsys) -> None:
    empty = space_dir / "empty data"
    empty.mkdir()
    rc = main(
        ["bench", str(BUNDLE), "--thread-counts", "1", "--runs", "5", "--data-dir", str(empty)]
    )
    err = capsys.readouterr().err
    assert rc == 1, err
    assert str(empty) in err and "no image files" in err
    assert "x1: " not in err  # refused before any row was measured


def test_data_that_is_not_labelled_fails_before_measuring(space_dir: Path, capsys) -> None:
    flat = space_dir / "flat"
    flat.mkdir()
    (flat / "one.png").write_bytes((IMAGES / "box").glob("*.png").__next__().read_bytes())
    # The earlier spellings (--threads 1, --data) still work, each with one warning line.
    rc = main(["bench", str(BUNDLE), "--threads", "1", "--runs", "5", "--data", str(flat)])
    err = capsys.readouterr().err
    assert rc == 1 and "--data-dir" in err and "is not a labelled folder" in err, err
    assert "warning: --threads is deprecated; use --thread-counts" in err
    assert "warning: --data is deprecated; use --data-dir" in err


def test_every_row_failing_exits_1(space_dir: Path, capsys) -> None:
    bundle = copy_bundle(space_dir)
    (bundle / "model_fp32.tflite").write_bytes(b"broken" * 50)
    rc = main(
        ["bench", str(bundle), "--thread-counts", "1", "--runs", "5", "--warmup", "1",
         "--no-verify", "--artifacts", "model_fp32.tflite"]
    )  # fmt: skip
    assert rc == 1
    assert "every measurement failed" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("stdout", "shown"),
    [("", "nothing"), ("half a row {", "half a row {"), ('{"status": "ok"}\n[1, 2]', "[1, 2]")],
)
def test_a_workers_bad_output_becomes_an_error_row(stdout: str, shown: str) -> None:
    from edge_runtime.bench.run import _parse_worker_row

    row = _parse_worker_row(stdout, "some warning\nlast words")
    assert row["status"] == "error"
    assert repr(shown) in row["error"] and "last words" in row["error"]
