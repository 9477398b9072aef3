"""The report's per-device "where the time goes" part (issue 30): the shipped artifact's top
operators as a table and a bar chart, and its thread-scaling curve, read from real bench records:
the pipeline's bench stage run on the real tiny bundle (its shipped-artifact profile at one
thread) and an ``edgetk bench --ops`` record at 1 and 2 threads given as a second device."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from edge_runtime.common.fileio import read_json, write_json
from tests.fixtures.edge_helpers import BUNDLE
from tests.fixtures.report_run import Spec, make_run
from trainer.report import write_report

SMALL = Spec("my_small_net", "baseline", 0.85, 0.84, 240_000, 60.0, 0.8)
RESNET = Spec("edge_resnet", "resnet", 0.88, 0.90, 180_000, 300.0, 1.5)
ANCHOR = Spec("pixel_logreg", "classical", 0.80, 0.79, 7_000, 5.0, 0.05)
BOARD = "board under test"
HEADING = "### Where the shipped artifact's time goes, per device"


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    """The bench stage's record (1 thread) and a second device's ``--ops`` record (1, 2 threads),
    both measured on the real tiny bundle (whose artifacts the report fixture's manifest names)."""
    from edge_runtime.bench.config import BenchConfig
    from edge_runtime.bench.run import run_bench
    from trainer.pipeline.config import PipelineConfig
    from trainer.pipeline.runner import Context
    from trainer.pipeline.stages import BUNDLE_DIR
    from trainer.pipeline.stages import run_bench as bench_stage

    base = tmp_path_factory.mktemp("device ops")
    shutil.copytree(BUNDLE, base / "run" / BUNDLE_DIR)
    cfg = PipelineConfig(bench_runs=10, bench_threads=(1,))
    out = bench_stage(Context(base / "run", {"config": cfg}))
    stage = read_json(Path(out["bench"]))
    board = run_bench(
        BenchConfig(
            bundle=str(base / "run" / BUNDLE_DIR),
            threads=(1, 2),
            runs=10,
            warmup=2,
            ops=True,
            label=BOARD,
        )
    )
    return stage, board


def _part(md: str, start: str, end: str | None) -> str:
    i = md.index(start)
    j = md.index(end, i + len(start)) if end else md.index("\n## ", i)
    return md[i:j]


def _png(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        im.load()
        return im.size


def _op_rows(profile: dict) -> list[str]:
    return [
        f"| {k} | `{o['name'] if len(o['name']) <= 60 else '…' + o['name'][-59:]}` | {o['type']} "
        f"| {o['total_ms']:.4f} | {100 * o['share']:.1f} % | {100 * o['cumulative_share']:.1f} % |"
        for k, o in enumerate(profile["ops"][:10], 1)
    ]


def test_bench_stage_profiles_the_shipped_artifact_at_one_thread(records) -> None:
    stage, _ = records
    ops = stage["shipped_ops"]
    assert ops["artifact"] == stage["bundle"]["default_artifact"] == "model_int8.tflite"
    assert ops["threads"] == 1 and not ops.get("error")
    assert ops["ops"] and ops["sum_ms"] > 0 and ops["whole_ms"] > 0
    assert 0 < ops["seconds"] < 60
    # only the default artifact is profiled; the ordinary rows stay as they were
    assert not any("ops" in r for r in stage["rows"])


def test_report_shows_top_operators_and_thread_scaling_per_device(space_dir, records) -> None:
    stage, board = records
    run = make_run(space_dir, [SMALL, RESNET, ANCHOR], shipped="edge_resnet")
    write_json(run / "bench" / "bench.json", stage)
    board_file = write_json(space_dir / "board bench.json", board)
    md = write_report(run, extra_bench=(board_file,))[0].read_text()

    part = _part(md, HEADING, None)
    here = _part(part, "#### ", f"#### {BOARD}")
    there = part[part.index(f"#### {BOARD}") :]

    # this machine: the bench stage's profile, its top ten in order, and one thread only
    assert _op_rows(stage["shipped_ops"]) == [
        line for line in here.splitlines() if line.startswith("| ") and "`" in line
    ]
    assert "only 1 thread(s) measured" in here
    w, h = _png(run / "bench" / "figures" / "device0_ops.png")
    assert w > 400 and h > 100
    assert not (run / "bench" / "figures" / "device0_threads.png").exists()

    # the board: its 1-thread profile of the shipped artifact, and a curve over 1 and 2 threads
    prof = next(
        r["ops"]
        for r in board["rows"]
        if r["artifact"] == "model_int8.tflite" and r["threads"] == 1
    )
    for line in _op_rows(prof):
        assert line in there, line
    curve = board["thread_scaling"]["model_int8.tflite"]
    assert [p["threads"] for p in curve] == [1, 2]
    for p in curve:
        assert (
            f"| {p['threads']} | {p['latency_p50_ms']:.3f} | {p['invoke_p50_ms']:.3f} | "
            f"{p['speedup']:.2f} | {p['efficiency']:.2f} |"
        ) in there
    assert (
        f"from 1 to 2 threads the bare invoke() median goes from {curve[0]['invoke_p50_ms']:.3f}"
    ) in there
    assert _png(run / "bench" / "figures" / "device1_threads.png")[0] > 400
    assert "device1_ops.png" in there and "device1_threads.png" in there
    # the HTML carries the figures inline
    html = (run / "report" / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= md.count("![")


def test_a_run_without_operator_data_has_no_such_section(space_dir) -> None:
    run = make_run(space_dir, [SMALL, RESNET, ANCHOR], shipped="edge_resnet")
    md = write_report(run)[0].read_text()
    assert "Where the shipped artifact's time goes" not in md
    assert "## Size and latency per artifact" in md
    assert not (run / "bench" / "figures").exists()


def test_a_failed_profile_is_one_sentence(space_dir, records) -> None:
    stage, _ = records
    run = make_run(space_dir, [SMALL, RESNET, ANCHOR], shipped="edge_resnet")
    failed = json.loads(json.dumps(stage))
    failed["shipped_ops"] = {
        "artifact": "model_int8.tflite",
        "threads": 1,
        "runs": 20,
        "seconds": 0.1,
        "error": "RuntimeError: made-up profiler failure",
    }
    write_json(run / "bench" / "bench.json", failed)
    md = write_report(run)[0].read_text()
    part = _part(md, HEADING, None)
    assert "failed on" in part and "made-up profiler failure" in part
    assert not (run / "bench" / "figures" / "device0_ops.png").exists()
