"""Test-time views pay their way: a real ``edgetk run`` whose "auto" views are measured beside the
plain artifact (``<run>/views.json``), kept without a budget or within one, dropped for the plain
artifact when they do not fit, and shown in the report with the numbers of the record
(slow: it trains one tiny CNN, exports it and benchmarks the bundle)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.test_foundation_data import write_idx
from trainer.data.config import DataConfig, DataSource
from trainer.data.idx import IMAGES_MAGIC, LABELS_MAGIC
from trainer.pipeline.budget import Budget
from trainer.pipeline.config import PipelineConfig
from trainer.training.config import Profile

NAME = "tta_net"  # a name the defaults do not use
CANDIDATES = {
    "schema": 1,
    "profiles": {"quick": [NAME]},
    "candidates": [{"name": NAME, "kind": "baseline", "config": {"filters": [8, 16, 16]}}],
}
_TINY = {
    "epochs": 4,
    "learning_rate": 0.005,
    "latency_runs": 5,
    "batch_size": 32,
    "min_steps": 0,
    "dense_units": [16],
}


def noisy_textures(folder: Path, n_train: int = 1000, n_test: int = 160, noise: int = 150) -> None:
    """Four textures (horizontal / vertical bars, checkerboard, solid) at a random place under
    heavy pixel noise: a small CNN reaches about two thirds on validation, and averaging its
    mirrored and shifted views recovers a few points (its errors on the copies differ)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:14, 0:14]
    textures = [(yy // 2) % 2, (xx // 2) % 2, ((yy // 2) + (xx // 2)) % 2, np.ones((14, 14), int)]

    def make(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.arange(n) % 4
        x = rng.integers(0, noise, (n, 28, 28)).astype(np.int32)
        for i, c in enumerate(y):
            r, q = rng.integers(0, 14, 2)
            x[i, r : r + 14, q : q + 14] += 120 * textures[c]
        return np.clip(x, 0, 255).astype(np.uint8), y

    folder.mkdir(parents=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        x, y = make(n)
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", x, IMAGES_MAGIC)
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", y, LABELS_MAGIC)


def _config(base: Path, **changes) -> PipelineConfig:
    settings = {
        "profile": Profile.QUICK,
        "data": DataConfig(source=DataSource.IDX, path=str(base / "data"), val_fraction=0.4),
        "formats": ("tflite_fp32",),
        "allow_parity_failure": True,
        "bench_runs": 10,
        "bench_threads": (1,),
        "candidates_file": str(base / "candidates.json"),
        "crossval": "off",
        "test_time_views": "auto",
        "stage_overrides": {NAME: _TINY},
    }
    return PipelineConfig(**{**settings, **changes})


@pytest.fixture(scope="module")
def views_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real run with "auto" views and no budget; its choice must be views, or nothing here
    tests anything."""
    from trainer.pipeline.stages import run_pipeline

    base = tmp_path_factory.mktemp("views") / "a run"
    noisy_textures(base / "data")
    (base / "candidates.json").write_text(json.dumps(CANDIDATES))
    run_pipeline(_config(base), base / "run", echo=lambda s: None)
    views = _manifest(base / "run")["source_model"].get("test_time_views") or {}
    assert views.get("count", 1) > 1, f"validation chose no views: {views.get('validation')}"
    return base


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def _manifest(run: Path) -> dict:
    return _json(run / "bundle" / "manifest.json")


def _rerun(views_run: Path, tmp_path: Path, from_stage: str = "select", **changes) -> Path:
    """A copy of the run, re-run from ``from_stage`` with ``changes`` (same data and candidates
    file, so the trained model and its exports are the run's own)."""
    from trainer.pipeline.stages import run_pipeline

    run = tmp_path / "run"
    shutil.copytree(views_run / "run", run)
    run_pipeline(_config(views_run, **changes), run, from_stage=from_stage, echo=lambda s: None)
    return run


def _device_record(run: Path, p95: float) -> Path:
    """An ``edgetk bench`` record as a board writes it, for the plain artifacts of the export."""
    m = _json(run / "exports" / NAME / "manifest.json")
    rows = [
        {
            "sha256": a["sha256"],
            "threads": 1,
            "status": "ok",
            "latency_ms": {"n": 50, "p50": 0.8 * p95, "p95": p95, "p99": 1.2 * p95},
        }
        for a in m["artifacts"]
    ]
    path = run.parent / "board bench.json"  # beside the run, a path with a space
    path.write_text(
        json.dumps({"label": "test board", "device": {"arch": "aarch64"}, "rows": rows})
    )
    return path


def _table_rows(md: str) -> list[str]:
    caption = "*Test-time views: what they buy and what they cost."
    assert caption in md
    block = md.split(caption, 1)[1]
    return [line for line in block.splitlines() if line.startswith("| `")][:2]


def _assert_table_equals_record(md: str, rec: dict) -> None:
    plain_row, views_row = _table_rows(md)
    for row, side in ((plain_row, rec["plain"]), (views_row, rec["views"])):
        assert (
            f"{100 * side['val_accuracy']:.2f} % ({side['val_correct']} / {side['val_images']})"
            in row
        )
        assert f"{100 * side['test_accuracy']:.2f} % of {side['test_images']}" in row
        assert f"{side['p95_ms']:.3f} ms" in row
    assert f"{rec['gain_val_points']:+.2f} points" in md
    assert f"({rec['gain_val_images']:+d} images)" in md
    assert f"{rec['p95_ratio']:.1f}x the plain artifact's p95" in md


@pytest.mark.slow
def test_without_a_budget_the_views_ship_measured_beside_the_plain_artifact(views_run) -> None:
    run = views_run / "run"
    rec = _json(run / "views.json")
    sel = _json(run / "selection.json")
    manifest = _manifest(run)
    assert rec["verdict"] == "kept" and rec["reason"].startswith("no budget given")
    assert rec["candidate"] == NAME and rec["artifact"] == sel["chosen"]["artifact"]
    # plain: selection's point and its export's gate; views: measured on the same 400 images
    assert rec["plain"]["val_accuracy"] == sel["chosen"]["val_accuracy"]
    assert rec["plain"]["p95_ms"] == sel["chosen"]["p95_ms"]
    assert rec["plain"]["test_accuracy"] == sel["chosen"]["test"]["accuracy"]
    assert rec["views"]["val_images"] == rec["plain"]["val_images"] == 400
    assert rec["views"]["count"] == manifest["source_model"]["test_time_views"]["count"]
    shipped = next(a for a in manifest["artifacts"] if a["file"] == manifest["default_artifact"])
    assert rec["views"]["test_accuracy"] == shipped["parity"]["accuracy"]
    assert rec["views"]["p95_ms"] > 0 and not rec["p95_estimated"]
    assert rec["gain_val_images"] == rec["views"]["val_correct"] - rec["plain"]["val_correct"]
    bundle = _json(run / "pipeline.json")["stages"]["bundle"]["summary"]["views_cost"]
    assert bundle["verdict"] == "kept" and bundle["views_p95_ms"] == rec["views"]["p95_ms"]

    md = (run / "report" / "report.md").read_text()
    _assert_table_equals_record(md, rec)
    assert "times the compute" not in md
    p = rec["plain"]
    assert (
        f"without them the plain `{rec['artifact']}` would have cost {p['p95_ms']:.3f} ms p95 and "
        f"scored {100 * p['test_accuracy']:.2f} % on the {p['test_images']}-image test split"
    ) in md


@pytest.mark.slow
def test_views_over_a_device_budget_the_plain_artifact_meets_ship_plain(
    views_run, tmp_path: Path
) -> None:
    board = _device_record(views_run / "run", p95=1.0)
    # the plain artifact's 1.0 ms fits 2 ms; its views at 2-6 runs per image cannot
    run = _rerun(views_run, tmp_path, budget=Budget(max_ms=2.0), budget_bench=(str(board),))
    sel = _json(run / "selection.json")
    rec = _json(run / "views.json")
    assert rec["verdict"] == "dropped" and rec["p95_estimated"]
    assert rec["views"]["p95_ms"] == pytest.approx(1.0 * rec["views"]["count"])
    assert "--budget-ms 2 ms" in rec["reason"] and "(estimate)" in rec["reason"]
    assert "the plain artifact ships" in rec["reason"] and "estimate" in rec["latency"]
    manifest = _manifest(run)
    assert manifest["default_artifact"] == sel["chosen"]["artifact"]
    assert (manifest["source_model"].get("test_time_views") or {}).get("count", 1) == 1
    result = _json(run / "pipeline.json")["stages"]["bundle"]["summary"]
    assert result["test_time_views"] == "none" and result["views_cost"]["verdict"] == "dropped"
    # the views artifact that was weighed stays for inspection
    staged = _json(run / "views" / "export" / "manifest.json")
    assert staged["source_model"]["test_time_views"]["count"] == rec["views"]["count"]

    md = (run / "report" / "report.md").read_text()
    _assert_table_equals_record(md, rec)
    plain_row, views_row = _table_rows(md)
    assert plain_row.endswith("**ships** |") and views_row.endswith("not shipped |")
    assert "(estimate)" in views_row and "**They do not ship**" in md


@pytest.mark.slow
def test_measured_views_within_a_generous_budget_ship(views_run, tmp_path: Path) -> None:
    run = _rerun(views_run, tmp_path, budget=Budget(max_ms=1000.0))
    rec = _json(run / "views.json")
    assert rec["verdict"] == "kept" and not rec["p95_estimated"]
    assert rec["latency"].startswith("measured") and rec["reason"].startswith(
        f"{rec['views']['views']} views"
    )
    assert 0 < rec["views"]["p95_ms"] < 1000
    assert _manifest(run)["source_model"]["test_time_views"]["count"] > 1
    _assert_table_equals_record((run / "report" / "report.md").read_text(), rec)


@pytest.mark.slow
def test_measured_views_over_a_size_budget_ship_plain_and_named_views_ship_as_asked(
    views_run, tmp_path: Path
) -> None:
    first = _json(views_run / "run" / "views.json")
    # the views add their gathers to the graph: a limit between the two sizes
    limit = round((first["plain"]["size_kb"] + first["views"]["size_kb"]) / 2, 1)
    assert first["plain"]["size_kb"] < limit < first["views"]["size_kb"]
    run = _rerun(views_run, tmp_path / "auto", budget=Budget(max_kb=limit))
    rec = _json(run / "views.json")
    assert rec["verdict"] == "dropped" and f"--budget-kb {limit:g} KB" in rec["reason"]
    assert (_manifest(run)["source_model"].get("test_time_views") or {}).get("count", 1) == 1

    # a view set the user names ships as asked, as before; the record says it is over budget
    named = first["views"]["views"]
    run = _rerun(views_run, tmp_path / "named", budget=Budget(max_kb=limit), test_time_views=named)
    rec = _json(run / "views.json")
    assert rec["verdict"] == "kept" and "named explicitly" in rec["reason"]
    assert "over --budget-kb" in rec["reason"]
    assert _manifest(run)["source_model"]["test_time_views"]["chosen"] == named


def test_anchor_line_gives_the_measured_p95_ratio_of_the_views(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from tests.test_report_anchor import SELECTION, _manifest
    from trainer.pipeline.views_cost import Side, Verdict, ViewsCost
    from trainer.report.blocks import Report, render_markdown
    from trainer.report.selection_sections import anchor_section

    def side(views: str, count: int, correct: int, p95: float) -> Side:
        return Side(views, count, correct / 6000, correct, 6000, 0.93, 10000, p95, 390.0, 60.0)

    cost = ViewsCost(
        NAME,
        "model_dynamic.tflite",
        "auto",
        side("none", 1, 5605, 0.133),
        side("flip", 2, 5625, 0.211),
        "measured",
        False,
        Budget(),
        Verdict.KEPT,
        "no budget",
    )
    cost.save(tmp_path)
    assert ViewsCost.load(tmp_path) == cost  # the record reads back as written
    r = Report("t")
    f = SimpleNamespace(selection=SELECTION, manifest=_manifest({"chosen": "flip", "count": 2}))
    anchor_section(r, SimpleNamespace(**vars(f), run=tmp_path))
    md = render_markdown(r, tmp_path, tmp_path)
    assert "(with test-time views, 1.6x the plain artifact's p95 (measured); plain, as" in md
    (tmp_path / "views.json").unlink()
    r = Report("t")
    anchor_section(r, SimpleNamespace(**vars(f), run=tmp_path))
    assert "(with test-time views; plain, as" in render_markdown(r, tmp_path, tmp_path)
