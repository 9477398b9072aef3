"""A tiny end-to-end ``edgetk run`` on synthetic data: every stage, the report, resume, --from."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.test_foundation_data import write_idx
from trainer.data.config import DataConfig, DataSource
from trainer.data.idx import IMAGES_MAGIC, LABELS_MAGIC
from trainer.pipeline.config import PipelineConfig
from trainer.training.config import Profile

# Every tiny stage: few latency runs, small batches, and no small-data floor (the quick presets'
# min_steps would triple these runs).
_EVERY = {"latency_runs": 5, "batch_size": 32, "min_steps": 0}
_BACKBONE = {"weights": "imagenet", "image_size": 32, "dense_units": [16]}
TINY = {
    "baseline": {
        "epochs": 8,
        "learning_rate": 0.005,
        "filters": [8, 16, 16],
        "dense_units": [16],
        **_EVERY,
    },
    "resnet": {
        "epochs": 8,
        "learning_rate": 0.005,
        "warmup_steps": 10,
        "filters": [8, 16],
        "blocks_per_stage": 1,
        "bn_momentum": 0.9,
        **_EVERY,
    },
    "transfer": {"epochs": 4, "learning_rate": 0.005, **_BACKBONE, **_EVERY},
    "finetune": {"epochs": 1, **_BACKBONE, **_EVERY},
}


STAGES = (
    "eda",
    "baseline",
    "resnet",
    "transfer",
    "finetune",
    "classical",
    "export",
    "select",
    "bundle",
    "bench",
    "report",
)


def learnable_idx(
    folder: Path, n_train: int = 480, n_test: int = 120, k: int = 4, seed: int = 0
) -> None:
    """Class = texture (horizontal bars, vertical bars, checkerboard, solid) at a random place:
    learnable through global average pooling, as the transfer head needs."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:14, 0:14]
    textures = [(yy // 2) % 2, (xx // 2) % 2, ((yy // 2) + (xx // 2)) % 2, np.ones((14, 14), int)]

    def make(n):
        y = np.arange(n) % k
        x = rng.integers(0, 30, (n, 28, 28), dtype=np.uint8)
        for i, c in enumerate(y):
            r, q = rng.integers(0, 14, 2)
            x[i, r : r + 14, q : q + 14] = np.maximum(
                x[i, r : r + 14, q : q + 14], 230 * textures[c]
            )
        return x, y

    folder.mkdir(parents=True)
    xtr, ytr = make(n_train)
    xte, yte = make(n_test)
    write_idx(folder / "train-images-idx3-ubyte.gz", xtr, IMAGES_MAGIC)
    write_idx(folder / "train-labels-idx1-ubyte.gz", ytr, LABELS_MAGIC)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", xte, IMAGES_MAGIC)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", yte, LABELS_MAGIC)


def tiny_config(data_dir: Path, **changes) -> PipelineConfig:
    base = {
        "profile": Profile.QUICK,
        "data": DataConfig(source=DataSource.IDX, path=str(data_dir), val_fraction=0.2),
        "formats": ("tflite_fp32", "tflite_int8", "onnx_fp32"),
        "allow_parity_failure": True,
        "bench_runs": 10,
        "bench_threads": (1,),
        "stage_overrides": TINY,
        "candidate_names": ("baseline", "resnet", "transfer", "finetune", "classical"),
        # the large-data path: one validation split (small data's cross-validation is run by
        # tests/test_report_pipeline.py)
        "crossval": "off",
    }
    return PipelineConfig(**{**base, **changes})


@pytest.fixture(scope="module")
def finished_run(
    tmp_path_factory: pytest.TempPathFactory, keras_home: Path
) -> tuple[Path, Path, list[str]]:
    """One real pipeline run (ImageNet MobileNetV2-0.35 weights from the Keras cache, 32 px)."""
    from trainer.pipeline.stages import run_pipeline

    base = tmp_path_factory.mktemp("e2e") / "a run dir"
    learnable_idx(base / "data")
    lines: list[str] = []
    run_pipeline(tiny_config(base / "data"), base / "run", echo=lines.append)
    return base / "run", base / "data", lines


@pytest.mark.slow
def test_every_stage_ran_and_report_has_every_section(finished_run) -> None:
    run, _, lines = finished_run
    state = json.loads((run / "pipeline.json").read_text())
    assert [k for k, v in state["stages"].items() if v["status"] == "done"] == list(STAGES)
    md = (run / "report" / "report.md").read_text()
    for heading in (
        "Summary",
        "Data and exploratory analysis",
        "Preprocessing",
        "return on complexity",
        "Learning curves",
        "Evaluation and error analysis",
        "Export and the parity gate",
        "Which model ships: selection on validation",
        "The classical anchor",
        "Size and latency per artifact",
        "Limitations",
        "What the numbers mean on a device",
        "Reproducibility",
    ):
        assert heading in md, heading
    assert any("done in" in line for line in lines)
    # the gate's explanation agreement, per artifact of the bundle, reaches the report
    assert "*Explanation agreement: each artifact's occlusion maps" in md
    assert "| model_int8.tflite | " in md.split("*Explanation agreement")[1].split("\n## ")[0]
    # and the shipped artifact's maps beside the float model's, drawn by the report stage
    assert (run / "explain" / "maps.png").is_file()
    assert "### Explanations: float model and shipped artifact" in md


@pytest.mark.slow
def test_report_numbers_equal_json(finished_run) -> None:
    run, _, _ = finished_run
    md = (run / "report" / "report.md").read_text()
    chosen = json.loads((run / "selection.json").read_text())["chosen"]["candidate"]
    metrics = json.loads((run / chosen / "metrics.json").read_text())
    assert f"test accuracy **{100 * metrics['accuracy']:.2f} %**" in md
    for c in metrics["per_class"]:
        assert (
            f"| {c['name']} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {c['support']} |"
            in md
        )
    manifest = json.loads((run / "bundle" / "manifest.json").read_text())
    for a in manifest["artifacts"]:
        assert a["file"] in md and a["sha256"] in md
    bench = json.loads((run / "bench" / "bench.json").read_text())
    row = next(r for r in bench["rows"] if r["status"] == "ok")
    assert f"{row['latency_ms']['p50']:.3f}" in md
    eda = json.loads((run / "eda" / "eda_summary.json").read_text())
    assert eda["dataset"]["fingerprint_sha256"] in md


@pytest.mark.slow
def test_html_is_self_contained_and_images_decode(finished_run) -> None:
    run, _, _ = finished_run
    html = (run / "report" / "report.html").read_text()
    assert not re.search(r"""(src|href)=["']?(https?:|//|file:)""", html)
    assert "<link" not in html and "<script" not in html
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) >= 8
    for data in images:
        with Image.open(io.BytesIO(base64.b64decode(data))) as im:
            im.load()
            assert im.size[0] > 50


@pytest.mark.slow
def test_bench_stage_profiles_the_shipped_artifacts_operators(finished_run) -> None:
    run, _, _ = finished_run
    bench = json.loads((run / "bench" / "bench.json").read_text())
    default = json.loads((run / "bundle" / "manifest.json").read_text())["default_artifact"]
    ops = bench["shipped_ops"]
    assert ops["artifact"] == default and ops["threads"] == 1 and not ops.get("error")
    assert ops["ops"] and ops["sum_ms"] > 0
    md = (run / "report" / "report.md").read_text()
    assert "### Where the shipped artifact's time goes, per device" in md
    top = ops["ops"][0]
    assert f"| {top['type']} | {top['total_ms']:.4f} | {100 * top['share']:.1f} % |" in md
    assert (run / "bench" / "figures" / "device0_ops.png").is_file()


@pytest.mark.slow
def test_resume_skips_and_from_redoes(finished_run) -> None:
    from trainer.pipeline.stages import run_pipeline

    run, data, _ = finished_run
    before = json.loads((run / "pipeline.json").read_text())["stages"]
    lines: list[str] = []
    run_pipeline(tiny_config(data), run, echo=lines.append)
    assert sum("skipped" in line for line in lines) == len(STAGES)
    lines.clear()
    run_pipeline(tiny_config(data), run, from_stage="bench", echo=lines.append)
    after = json.loads((run / "pipeline.json").read_text())["stages"]
    assert sum("skipped" in line for line in lines) == len(STAGES) - 2
    assert after["export"]["started_utc"] == before["export"]["started_utc"]
    assert after["bench"]["started_utc"] >= before["bench"]["started_utc"]


@pytest.mark.slow
def test_failing_stage_keeps_earlier_outputs(finished_run, tmp_path: Path) -> None:
    import shutil

    from trainer.pipeline.runner import StageFailed
    from trainer.pipeline.stages import run_pipeline

    run, data, _ = finished_run
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    keep = (copy / "finetune" / "metrics.json").read_bytes()
    # a format the exporter does not know: the export stage fails, training outputs stay
    with pytest.raises(StageFailed, match="stage 'export' failed"):
        run_pipeline(tiny_config(data, formats=("tflite_nonsense",)), copy, echo=lambda s: None)
    assert (copy / "finetune" / "metrics.json").read_bytes() == keep
    state = json.loads((copy / "pipeline.json").read_text())["stages"]
    assert state["export"]["status"] == "failed" and state["finetune"]["status"] == "done"


@pytest.mark.slow
def test_tune_stage_joins_the_pipeline_and_the_report(finished_run, tmp_path: Path) -> None:
    import shutil

    from trainer.pipeline.stages import run_pipeline

    run, data, _ = finished_run
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    lines: list[str] = []
    tiny_search = {"max_trials": 3, "max_epochs": 2, "recycle_every": None}
    run_pipeline(tiny_config(data, tune=True, tune_overrides=tiny_search), copy, echo=lines.append)
    state = json.loads((copy / "pipeline.json").read_text())["stages"]
    assert state["tune"]["status"] == "done" and state["tune"]["summary"]["trials"] >= 1
    assert sum("skipped" in line for line in lines) == 6  # eda + the five candidates
    md = (copy / "report" / "report.md").read_text()
    assert "## Hyperparameter search" in md
    assert (copy / "tune" / "best_hyperparameters.json").is_file()


@pytest.mark.slow
def test_selection_json_and_a_budget_only_small_candidates_meet(
    finished_run, tmp_path: Path
) -> None:
    import shutil

    from trainer.pipeline.budget import Budget
    from trainer.pipeline.stages import run_pipeline

    run, data, _ = finished_run
    sel = json.loads((run / "selection.json").read_text())
    assert sel["status"] == "chosen" and sel["points"]
    assert set(sel["validation"]) == {"baseline", "resnet", "transfer", "finetune", "classical"}
    best = max(p["val_accuracy"] for p in sel["points"])
    # picked on validation: the most accurate, or the smallest of those statistically tied with it
    tied = [p for p in sel["points"] if p["key"] in sel["tied_with_leader"]]
    assert sel["chosen"]["key"] in sel["tied_with_leader"]
    assert any(p["val_accuracy"] == best for p in tied)
    assert sel["chosen"]["size_kb"] == min(p["size_kb"] for p in tied)
    manifest = json.loads((run / "bundle" / "manifest.json").read_text())
    assert manifest["default_artifact"] == sel["chosen"]["artifact"]
    assert "classical" in sel["anchor_comparison"]

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    small = min(p["size_kb"] for p in sel["points"])
    big = [p for p in sel["points"] if p["candidate"] in ("transfer", "finetune")]
    assert big and min(p["size_kb"] for p in big) > 2 * small
    budget = Budget(max_kb=2 * small)  # only the small native candidates fit
    run_pipeline(tiny_config(data, budget=budget), copy, from_stage="select", echo=lambda s: None)
    sel2 = json.loads((copy / "selection.json").read_text())
    assert sel2["chosen"]["candidate"] in ("baseline", "resnet")
    assert sel2["chosen"]["size_kb"] <= 2 * small
    manifest = json.loads((copy / "bundle" / "manifest.json").read_text())
    assert manifest["default_artifact"] == sel2["chosen"]["artifact"]
    assert manifest["name"].endswith(sel2["chosen"]["candidate"])
    md = (copy / "report" / "report.md").read_text()
    assert "select/pareto.png" in md and "over budget" in md


@pytest.mark.slow
def test_impossible_budget_exits_1_naming_the_closest(finished_run, tmp_path: Path) -> None:
    import shutil

    from trainer.pipeline.budget import Budget
    from trainer.pipeline.runner import StageFailed
    from trainer.pipeline.stages import run_pipeline

    run, data, _ = finished_run
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    with pytest.raises(StageFailed, match=r"no artifact fits the budget.*closest is") as e:
        run_pipeline(
            tiny_config(data, budget=Budget(max_kb=0.5)),
            copy,
            from_stage="select",
            echo=lambda s: None,
        )
    assert e.value.exit_code == 1
    sel = json.loads((copy / "selection.json").read_text())
    assert sel["status"] == "nothing fits" and "closest is" in sel["error"]


@pytest.mark.slow
def test_bundle_stage_reexports_the_choice_with_test_time_views(
    finished_run, tmp_path: Path
) -> None:
    import shutil

    from trainer.pipeline.stages import run_pipeline

    run, data, _ = finished_run
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    lines: list[str] = []
    cfg = tiny_config(data, test_time_views="auto")
    run_pipeline(cfg, copy, from_stage="bundle", echo=lines.append)
    sel = json.loads((copy / "selection.json").read_text())
    manifest = json.loads((copy / "bundle" / "manifest.json").read_text())
    # the chosen artifact alone, re-exported behind the gate, its views chosen on validation
    assert [a["file"] for a in manifest["artifacts"]] == [sel["chosen"]["artifact"]]
    views = manifest["source_model"]["test_time_views"]
    assert views["chosen"] in ("none", "flip", "shift", "flip_shift") and views["reason"]
    assert views["count"] == {"none": 1, "flip": 2, "shift": 3, "flip_shift": 6}[views["chosen"]]
    # every row of the choice rests on the same validation images, and none on the test split
    assert len({r["images"] for r in views["validation"]}) <= 1
    assert "Test-time views" in (copy / "bundle" / "parity.md").read_text()
    assert any("bundle" in line for line in lines)
