"""A real ``edgetk run`` whose candidates file names no default candidate: the report it writes
names the candidate that ships in its summary, evaluation and reproducibility sections
(slow: it trains two tiny CNNs, exports them and benchmarks the bundle)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_pipeline_e2e import learnable_idx
from trainer.data.config import DataConfig, DataSource
from trainer.pipeline.config import PipelineConfig
from trainer.training.config import Profile

_TINY = {"epochs": 8, "learning_rate": 0.005, "latency_runs": 5, "batch_size": 32, "min_steps": 0}
CANDIDATES = {
    "schema": 1,
    "profiles": {"quick": ["my_small_net", "edge_resnet", "pixel_logreg"]},
    "candidates": [
        {"name": "my_small_net", "kind": "baseline", "config": {"filters": [8, 16, 16]}},
        {"name": "edge_resnet", "kind": "resnet", "config": {"filters": [8, 16]}},
        {"name": "pixel_logreg", "kind": "classical", "classical": {"train_subset": 200}},
    ],
}


@pytest.mark.slow
def test_a_run_of_other_names_reports_what_ships(tmp_path: Path) -> None:
    from trainer.pipeline.stages import run_pipeline

    base = tmp_path / "a run"
    learnable_idx(base / "data", n_train=240, n_test=80)
    (base / "candidates.json").write_text(json.dumps(CANDIDATES))
    cfg = PipelineConfig(
        profile=Profile.QUICK,
        data=DataConfig(source=DataSource.IDX, path=str(base / "data"), val_fraction=0.2),
        formats=("tflite_fp32", "tflite_int8"),
        allow_parity_failure=True,
        bench_runs=10,
        bench_threads=(1,),
        candidates_file=str(base / "candidates.json"),
        stage_overrides={"my_small_net": _TINY, "edge_resnet": {**_TINY, "blocks_per_stage": 1}},
        test_time_views="none",
    )
    run = base / "run"
    run_pipeline(cfg, run, echo=lambda s: None)

    shipped = json.loads((run / "selection.json").read_text())["chosen"]["candidate"]
    assert shipped in ("my_small_net", "edge_resnet")
    metrics = json.loads((run / shipped / "metrics.json").read_text())
    # small data: what ships is the chosen candidate retrained on every training image (below)
    refit_metrics = json.loads((run / "refit" / shipped / "metrics.json").read_text())
    md = (run / "report" / "report.md").read_text()
    assert f"Final model: **{shipped}**" in md
    assert f"test accuracy **{100 * refit_metrics['accuracy']:.2f} %**" in md
    assert f"test accuracy {100 * metrics['accuracy']:.2f} %." in md
    assert f"## Evaluation and error analysis: {shipped}, the model that ships" in md
    assert f"| model that ships | {shipped} (" in md
    table = md.split("return on complexity", 1)[1].split("\n## ", 1)[0]
    for name in ("my_small_net", "edge_resnet", "pixel_logreg"):
        assert f"| {name} " in table or f"| **{name}** (ships) |" in table

    # 48 validation images cannot separate candidates (the smallest lead they can call real is
    # 10 points): the choice rests on k-fold cross-validation over all 240 training images.
    sel = json.loads((run / "selection.json").read_text())
    ev = sel["evidence"]
    assert ev["kind"] == "cross-validation" and ev["folds"] == 5 and ev["images"] == 240
    assert set(ev["scores"]) == {"my_small_net", "edge_resnet", "pixel_logreg"}
    for score in ev["scores"].values():
        assert len(score["fold_accuracy"]) == 5 and 0 <= score["accuracy"] <= 1
    assert ev["leader"] in ("my_small_net", "edge_resnet") and ev["leader"] in ev["in_race"]
    assert shipped in ev["in_race"] and "pixel_logreg" not in ev["in_race"]
    assert {p["candidate"] for p in sel["points"]} == set(ev["in_race"])
    assert "**Small data.** The validation split holds 48 images" in md
    assert "5-fold stratified cross-validation on the training split" in md

    # What cross-validation scored ships: the chosen candidate retrained on all 240 training
    # images (no validation split to stop on), exported at the chosen precision behind the gate.
    refit = json.loads((run / "refit.json").read_text())
    assert refit["candidate"] == shipped and refit["images"] == 240
    assert refit["main_run_images"] == {"train": 192, "validation": 48}
    assert (run / refit["model"] / "model.keras").is_file()
    manifest = json.loads((run / "bundle" / "manifest.json").read_text())
    assert manifest["default_artifact"] == sel["chosen"]["artifact"]
    assert Path(manifest["source_model"]["path"]).as_posix().endswith(refit["model"])
    assert refit["model"].startswith("refit/models/" + shipped)
    refit_summary = json.loads((run / "refit" / shipped / "summary.json").read_text())
    assert refit_summary["train_count"] == 240 and refit_summary["val_count"] == 0
    assert "**Retrained before shipping.**" in md
    kind = {"my_small_net": "baseline", "edge_resnet": "resnet"}[shipped]
    assert f"Final model: **{shipped}** ({kind}) retrained on all 240 training images" in md
    assert "the chosen candidate is retrained on all 240 training images" in ev["then"]
    state = json.loads((run / "pipeline.json").read_text())
    assert state["stages"]["refit"]["status"] == "done"
