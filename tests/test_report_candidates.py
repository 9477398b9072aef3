"""The report follows the candidates that ran, whatever their names: the summary, evaluation and
reproducibility sections name the candidate that ships, and the return-on-complexity table has
a row for every candidate (issue 25: the full profile shipped ``resnet_fast`` and the report
called the baseline final)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from edge_runtime.common.errors import DataError
from tests.fixtures.report_run import Spec, make_run
from trainer.pipeline.selection_record import SelectionRecord
from trainer.report import build_report, write_report
from trainer.report.run_candidates import ran_candidates

SMALL = Spec("my_small_net", "baseline", 0.85, 0.84, 240_000, 60.0, 0.8)
RESNET = Spec("edge_resnet", "resnet", 0.88, 0.90, 180_000, 300.0, 1.5)
FROZEN = Spec("frozen_mnv2", "transfer", 0.89, 0.87, 580_000, 400.0, 6.0)
TUNED = Spec("tuned_mnv2", "finetune", 0.90, 0.91, 580_000, 600.0, 6.1)
ANCHOR = Spec("pixel_logreg", "classical", 0.80, 0.79, 7_000, 5.0, 0.05)


@pytest.fixture
def resnet_ships(space_dir: Path) -> Path:
    """Names outside the defaults, a candidates file that lists them; ``edge_resnet`` ships."""
    return make_run(space_dir, [SMALL, RESNET, FROZEN, ANCHOR], shipped="edge_resnet")


@pytest.fixture
def finetune_ships(space_dir: Path) -> Path:
    """The whole flow under other names; the fine-tuned ``tuned_mnv2`` ships."""
    return make_run(space_dir, [SMALL, RESNET, FROZEN, TUNED, ANCHOR], shipped="tuned_mnv2")


def _md(run: Path) -> str:
    return write_report(run)[0].read_text()


def _section(md: str, heading: str) -> str:
    """The text of the level-2 section whose heading starts with ``heading``."""
    start = md.index(f"\n## {heading}")
    end = md.find("\n## ", start + 1)
    return md[start : end if end > 0 else None]


def _table(text: str) -> list[list[str]]:
    """The first Markdown table of ``text``: its body rows as cells."""
    lines = [ln for ln in text.splitlines() if ln.startswith("|")]
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:]]


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def test_summary_evaluation_and_reproducibility_name_the_shipped_candidate(
    resnet_ships: Path,
) -> None:
    run = resnet_ships
    md = _md(run)
    m = _json(run / "edge_resnet" / "metrics.json")
    summary = _section(md, "Summary")
    assert (
        f"Final model: **edge_resnet** (resnet), the candidate that ships as `model_int8.tflite`; "
        f"its Keras model's test accuracy **{100 * m['accuracy']:.2f} %**" in summary
    )
    assert summary.count("Final model") == 1
    assert "`my_small_net` (baseline), `edge_resnet` (resnet), `frozen_mnv2` (transfer)" in summary

    evaluation = _section(md, "Evaluation and error analysis")
    assert evaluation.startswith("\n## Evaluation and error analysis: edge_resnet, the model that")
    assert f"`edge_resnet`: accuracy {100 * m['accuracy']:.2f} %" in evaluation
    c = m["per_class"][0]
    assert (
        f"| {c['name']} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} |" in evaluation
    )
    assert "Per-class metrics of edge_resnet" in evaluation
    assert "Per-class metrics of my_small_net" not in md  # the others are linked, not repeated
    assert "### Grad-CAM: where edge_resnet looks" in evaluation
    assert "](../edge_resnet/gradcam/gradcam_misclassified.png)" in evaluation
    for other in ("my_small_net", "frozen_mnv2"):
        acc = _json(run / other / "metrics.json")["accuracy"]
        assert f"- `{other}` (" in evaluation and f"test accuracy {100 * acc:.2f} %" in evaluation
        assert f"[Grad-CAM, correct](../{other}/gradcam/gradcam_correct.png)" in evaluation

    repro = dict((row[0], row[1]) for row in _table(_section(md, "Reproducibility")))
    assert repro["model that ships"] == "edge_resnet (resnet) as `model_int8.tflite`"
    assert repro["source model sha256 (edge_resnet)"] == "edge_resnet-sha256"
    assert {"my_small_net seed", "edge_resnet seed", "frozen_mnv2 seed"} <= set(repro)
    assert "stage pixel_logreg wall time" in repro

    assert "The weakest class of `edge_resnet`" in _section(md, "Limitations")
    assert "(`edge_resnet`)" in _section(md, "What the numbers mean on a device")


def test_return_on_complexity_has_a_row_per_candidate_with_transfer_and_finetune(
    finetune_ships: Path,
) -> None:
    run = finetune_ships
    md = _md(run)
    section = _section(md, "The candidates that ran: return on complexity")
    rows = _table(section)
    # simplest approach first: anchor, shallow CNN, residual CNN, frozen backbone, fine-tuned
    assert [r[0] for r in rows] == [
        "pixel_logreg",
        "my_small_net",
        "edge_resnet",
        "frozen_mnv2",
        "**tuned_mnv2** (ships)",
    ]
    assert [r[1] for r in rows] == ["classical", "baseline", "resnet", "transfer", "finetune"]
    by = {r[0].strip("*").split("*")[0]: r for r in rows}
    for name in ("my_small_net", "frozen_mnv2", "tuned_mnv2"):
        s = _json(run / name / "summary.json")
        row = by[name]
        assert row[3] == f"{100 * s['metrics']['accuracy']:.2f} %"  # test accuracy
        assert row[4] == f"{s['metrics']['macro_f1']:.4f}"
        assert row[5] == f"{s['params']:,}"
        assert row[8] == f"{s['latency']['p50_ms']:.2f} ms"
    # the fine-tuned model's training time adds the frozen model it started from
    assert by["tuned_mnv2"][7] == "10.0 min (+ 6.7 min of frozen_mnv2)"
    tuned, frozen = (_json(run / n / "summary.json") for n in ("tuned_mnv2", "frozen_mnv2"))
    gain = 100 * (tuned["metrics"]["accuracy"] - frozen["metrics"]["accuracy"])
    assert by["tuned_mnv2"][9] == (
        f"over `frozen_mnv2`: {gain:+.2f} pts test accuracy, 1.0x parameters, 1.0x latency, "
        "2.5x train time"
    )
    assert by["pixel_logreg"][9] == "-"

    assert "Final model: **tuned_mnv2** (finetune)" in _section(md, "Summary")
    assert "## Evaluation and error analysis: tuned_mnv2, the model that ships" in md
    assert "`frozen_mnv2`, `tuned_mnv2` (pretrained backbone) resize inside the graph" in md
    assert "Baseline vs transfer" not in md


def test_candidates_come_from_the_runs_candidates_file(resnet_ships: Path) -> None:
    cands = ran_candidates(resnet_ships)
    assert [(c.name, c.kind) for c in cands] == [
        ("my_small_net", "baseline"),
        ("edge_resnet", "resnet"),
        ("frozen_mnv2", "transfer"),
        ("pixel_logreg", "classical"),
    ]
    assert cands[1].description == "resnet made up"  # read from the file the run names
    assert cands[1].metrics and cands[1].summary and not cands[3].metrics


def test_a_candidates_file_gone_since_the_run_falls_back_to_pipeline_json(
    space_dir: Path,
) -> None:
    run = make_run(
        space_dir, [SMALL, RESNET, FROZEN, TUNED, ANCHOR], "edge_resnet", candidates_file=False
    )
    cands = ran_candidates(run)
    assert [(c.name, c.kind) for c in cands] == [
        ("my_small_net", "baseline"),
        ("edge_resnet", "resnet"),
        ("frozen_mnv2", "transfer"),
        ("tuned_mnv2", "finetune"),
        ("pixel_logreg", "classical"),
    ]
    md = _md(run)
    assert "Final model: **edge_resnet** (resnet)" in md
    rows = _table(_section(md, "The candidates that ran: return on complexity"))
    assert len(rows) == 5


def test_without_a_selection_the_bundles_source_ships(space_dir: Path) -> None:
    run = make_run(space_dir, [SMALL, RESNET, ANCHOR], "edge_resnet", select=False)
    md = _md(run)
    assert "Final model: **edge_resnet** (resnet), the candidate that ships;" in md
    assert "The select stage has not run" in md
    assert "## Evaluation and error analysis: edge_resnet, the model that ships" in md


def test_a_bundle_made_from_another_candidate_is_flagged(space_dir: Path) -> None:
    run = make_run(space_dir, [SMALL, RESNET], "edge_resnet", bundle_of="my_small_net")
    summary = _section(_md(run), "Summary")
    assert "Final model: **edge_resnet**" in summary
    assert "was made from `my_small_net`, not from the chosen `edge_resnet`" in summary


def test_selection_record_reads_what_the_select_stage_writes(resnet_ships: Path) -> None:
    sel = SelectionRecord.load(resnet_ships)
    assert sel is not None and sel.status == "chosen"
    assert sel.shipped_candidate == "edge_resnet" and sel.chosen.artifact == "model_int8.tflite"
    assert {p.candidate for p in sel.points} == {"my_small_net", "edge_resnet", "frozen_mnv2"}
    assert sel.test_after_choice["pixel_logreg"].kind == "classical"
    assert sel.anchor_comparison["pixel_logreg"].beats_anchor
    assert sel.chosen.test and sel.chosen.test.images == 120


def test_a_selection_record_missing_a_field_names_the_file(resnet_ships: Path) -> None:
    path = resnet_ships / "selection.json"
    body = _json(path)
    del body["chosen"]["reason"]
    path.write_text(json.dumps(body))
    with pytest.raises(DataError, match=r"selection\.json is not a selection record.*'reason'"):
        build_report(resnet_ships)


def test_a_summary_missing_its_name_names_the_file(resnet_ships: Path) -> None:
    path = resnet_ships / "edge_resnet" / "summary.json"
    body = _json(path)
    del body["stage"]
    path.write_text(json.dumps(body))
    with pytest.raises(DataError, match=r"edge_resnet/summary\.json is not a record.*'stage'"):
        build_report(resnet_ships)


def test_links_to_the_other_candidates_resolve_in_markdown_html_and_a_copy(
    resnet_ships: Path, tmp_path: Path
) -> None:
    md_path, html_path = write_report(resnet_ships)
    links = re.findall(r"(?<!!)\[[^\]]*\]\(([^)]+)\)", md_path.read_text())  # not images
    assert len(links) == 12  # six evaluation files of each of the two others
    for rel in links:
        assert (md_path.parent / rel).is_file(), rel
    html = html_path.read_text()
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert sorted(hrefs) == sorted(links)  # relative to the HTML's own folder, nothing external
    out = tmp_path / "published"
    md_copy = write_report(resnet_ships, out, copy_figures=True)[0].read_text()
    copied = re.findall(r"\]\(([^)]+)\)", md_copy)  # figures and links
    assert copied and all(link.startswith("figures/") for link in copied)
    for link in copied:
        assert (out / link).is_file(), link


def test_what_small_data_changed_is_in_the_report(resnet_ships: Path) -> None:
    """Each stage's config.json says what small data changed (trainer/training/small_data.py);
    the selection section shows it per candidate, and says nothing when nothing changed."""
    from trainer.training.config import StageConfig
    from trainer.training.small_data import scale_for_data

    assert "Training fitted to the data" not in _md(resnet_ships)
    path = resnet_ships / "edge_resnet" / "config.json"
    record = _json(path)
    _, changes = scale_for_data(StageConfig.full("resnet"), 200)
    record["small_data"] = [c.to_dict() for c in changes]
    path.write_text(json.dumps(record))
    text = _section(_md(resnet_ships), "Which model ships")
    assert "**Training fitted to the data.**" in text
    after = text.split("Training fitted to the data", 1)[1].splitlines()
    start = next(i for i, ln in enumerate(after) if ln.startswith("|"))
    block = []
    for ln in after[start:]:
        if not ln.startswith("|"):
            break
        block.append(ln)
    rows = _table("\n".join(block))
    assert [r[:4] for r in rows][:2] == [
        ["edge_resnet", "batch_size", "128", "16"],
        ["edge_resnet", "epochs", "7", str(next(c.used for c in changes if c.setting == "epochs"))],
    ]
    assert {r[1] for r in rows} == {"batch_size", "epochs", "patience", "warmup_steps"}
