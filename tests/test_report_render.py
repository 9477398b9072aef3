"""Report rendering on a small hand-made run directory (fast): sections, numbers, self-contained HTML."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edge_runtime.common.errors import ConfigError
from trainer.data import Dataset
from trainer.eda import run_eda
from trainer.report import build_report, write_report


@pytest.fixture
def run_dir(space_dir: Path) -> Path:
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    x = rng.integers(0, 256, (60, 12, 12, 1), dtype=np.uint8)
    run = space_dir / "run"
    run_eda(
        Dataset(x, y, x[:9], y[:9], ("a", "b", "c"), "tiny", "test"),
        run / "eda",
        samples_per_class=2,
    )
    per_class = [
        {"name": n, "precision": p, "recall": r, "f1": f, "support": 3}
        for n, p, r, f in (("a", 1.0, 0.6667, 0.8), ("b", 0.75, 1.0, 0.8571), ("c", 1.0, 1.0, 1.0))
    ]
    metrics = {
        "accuracy": 0.8888889,
        "macro_f1": 0.8857,
        "weighted_f1": 0.8857,
        "n_samples": 9,
        "per_class": per_class,
        "collapse": {"detected": False},
        "most_confused": [
            {"true_name": "a", "predicted_name": "b", "count": 1, "share_of_true": 1 / 3}
        ],
    }
    (run / "baseline").mkdir()
    (run / "baseline" / "metrics.json").write_text(json.dumps(metrics))
    Image.fromarray(np.zeros((80, 120, 3), np.uint8)).save(
        run / "baseline" / "confusion_matrix_normalized.png"
    )
    return run


def test_sections_and_numbers(run_dir: Path) -> None:
    md_path, html_path = write_report(run_dir)
    md = md_path.read_text()
    assert "test accuracy **88.89 %**" in md
    assert "| a | 1.000 | 0.667 | 0.800 | 3 |" in md
    assert "a read as b (1 images, 33.3 % of that class)" in md
    eda = json.loads((run_dir / "eda" / "eda_summary.json").read_text())
    assert eda["dataset"]["fingerprint_sha256"] in md
    assert "No bundle at" in md and "No benchmark in this run" in md  # missing stages say so
    html = html_path.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:|//|file:)""", html)
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 5  # four EDA figures + the confusion matrix
    for data in images:
        Image.open(io.BytesIO(base64.b64decode(data))).verify()


def test_markdown_image_links_resolve(run_dir: Path) -> None:
    md_path, _ = write_report(run_dir)
    for rel in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md_path.read_text()):
        assert (md_path.parent / rel).is_file(), rel


def test_missing_run_dir_is_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        build_report(tmp_path / "nope")


def test_copy_figures_makes_a_standalone_folder(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "published report"
    md_path, _ = write_report(run_dir, out, copy_figures=True)
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md_path.read_text())
    assert links and all(link.startswith("figures/") for link in links)
    for link in links:
        Image.open(out / link).verify()


def test_tuning_section_reads_the_search_files(run_dir: Path) -> None:
    tune = run_dir / "tune"
    tune.mkdir()
    (tune / "summary.json").write_text(
        json.dumps(
            {
                "algorithm": "hyperband",
                "trials_completed": 30,
                "search_seconds": 444.0,
                "stop_reason": "max_trials=30 reached",
                "best_trial": "0012",
                "best_val_macro_f1": 0.8885,
            }
        )
    )
    side = {
        "hyperparameters": {"dropout": 0.3},
        "val": {"macro_f1": 0.8933},
        "test": {"accuracy": 0.8908, "macro_f1": 0.8908},
    }
    best = {
        "hyperparameters": {"dropout": 0.05},
        "val": {"macro_f1": 0.8868},
        "test": {"accuracy": 0.8829, "macro_f1": 0.8823},
    }
    (tune / "comparison.json").write_text(json.dumps({"default": side, "best": best}))
    md = write_report(run_dir)[0].read_text()
    assert "30 trials completed in 7.4 min" in md and "best trial 0012 reached 0.8885" in md
    assert "| best | dropout=0.05 | 0.8868 | 88.29 % | 0.8823 |" in md
    assert "-0.85 macro-F1 points worse than the defaults" in md


def test_selection_figure_renders_from_a_relative_run_dir(tmp_path, monkeypatch) -> None:
    """`edgetk run` defaults to the relative run dir runs/quick: the Pareto figure must resolve."""
    from types import SimpleNamespace

    from PIL import Image

    from trainer.pipeline.selection_record import SelectionRecord
    from trainer.report.blocks import Report, render_html, render_markdown
    from trainer.report.selection_sections import selection_section

    monkeypatch.chdir(tmp_path)
    run = Path("runs") / "quick"
    (run / "select").mkdir(parents=True)
    Image.new("RGB", (40, 30), (10, 120, 200)).save(run / "select" / "pareto.png")
    sel = SelectionRecord.from_dict(
        {
            "rule": "r",
            "budget": {"max_ms": None, "max_kb": None, "max_ram_mb": None},
            "validation": {},
            "points": [],
            "figure": "select/pareto.png",
            "status": "nothing fits",
            "error": "no artifact fits the budget",
        }
    )
    report = Report("t")
    selection_section(report, SimpleNamespace(selection=sel, run=run))
    html = render_html(report, run)
    assert html.count('src="data:image/png;base64,') == 1
    md = render_markdown(report, run / "report", run)
    assert "](../select/pareto.png)" in md
