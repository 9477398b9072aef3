"""The classical-anchor line of the report, read from the typed selection record and manifest
(moved from tests/test_export_views.py when the report stopped reading raw dicts)."""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace

from edge_runtime.common.fileio import read_json
from edge_runtime.manifest import Manifest
from tests.fixtures.edge_helpers import BUNDLE
from trainer.pipeline.budget import Budget
from trainer.pipeline.selection_record import AnchorComparison, CandidateTest, SelectionRecord
from trainer.report.blocks import Report, render_markdown
from trainer.report.selection_sections import anchor_section

SELECTION = SelectionRecord(
    rule="r",
    status="nothing fits",  # the anchor line reads only the comparison and the anchor's record
    budget=Budget(),
    points=(),
    anchor_comparison={"classical": AnchorComparison(0.8329, 0.9337, True)},
    test_after_choice={"classical": CandidateTest("classical", 0.8329, 0.83, train_count=10000)},
)


def _manifest(views: dict) -> Manifest:
    data = copy.deepcopy(read_json(BUNDLE / "manifest.json"))
    for a in data["artifacts"]:
        if a["file"] == data["default_artifact"]:
            a["parity"] = {"accuracy": 0.9361}
    data["source_model"] = {"test_time_views": views}
    return Manifest.from_dict(data)


def _text(manifest: Manifest | None, tmp_path: Path) -> str:
    r = Report("t")
    anchor_section(r, SimpleNamespace(selection=SELECTION, manifest=manifest))
    return render_markdown(r, tmp_path, tmp_path)


def test_report_anchor_line_names_the_shipped_views_accuracy(tmp_path: Path) -> None:
    views = _text(_manifest({"chosen": "flip_shift", "count": 6}), tmp_path)
    assert "`classical` (scikit-learn on raw pixels, 10,000 training images)" in views
    assert (
        "the shipped artifact 93.61 % (with test-time views; plain, as selected: 93.37 %)" in views
    )
    assert "+10.32 points" in views
    plain = _text(_manifest({"chosen": "none", "count": 1}), tmp_path)
    assert "the shipped artifact 93.37 %, +10.08 points" in plain
    assert "the shipped artifact 93.37 %, +10.08 points" in _text(None, tmp_path)


def test_an_anchor_the_shipped_artifact_does_not_beat_is_said_plainly(tmp_path: Path) -> None:
    import dataclasses

    beaten = dataclasses.replace(
        SELECTION, anchor_comparison={"classical": AnchorComparison(0.95, 0.9337, False)}
    )
    r = Report("t")
    anchor_section(r, SimpleNamespace(selection=beaten, manifest=None))
    text = render_markdown(r, tmp_path, tmp_path)
    assert "does NOT beat the classical anchor" in text and "-1.63 points" in text
