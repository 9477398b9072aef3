"""The ``select`` stage: measure every gated artifact, choose on validation within budget, then
(and only then) read the test split's numbers for the record in ``<run>/selection.json``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from edge_runtime.common.errors import ConfigError
from edge_runtime.common.fileio import read_json, write_json
from trainer.pipeline.select import TIE_ALPHA, Choice, NothingFitsError, Point, choose

log = logging.getLogger(__name__)

SELECTION_NAME = "selection.json"
SELECT_DIR = "select"
EXPORTS_DIR = "exports"


def _test_record(run_dir: Path, names: list[str]) -> dict[str, Any]:
    """Every candidate's test numbers, read AFTER the choice (for the record and the report)."""
    out: dict[str, Any] = {}
    for name in names:
        s = read_json(run_dir / name / "summary.json")
        out[name] = {
            "kind": s.get("kind", name),
            "test": s.get("metrics"),
            "test_count": s.get("test_count"),
            "params": s.get("params"),
            "train_seconds": s.get("train_seconds"),
            "train_count": s.get("train_count"),
        }
    return out


def _artifact_test(run_dir: Path, p: Point) -> dict[str, Any]:
    m = read_json(run_dir / EXPORTS_DIR / p.candidate / "manifest.json")
    art = next(a for a in m["artifacts"] if a["file"] == p.artifact)
    parity = art.get("parity") or {}
    return {
        "accuracy": parity.get("accuracy"),
        "keras_accuracy": parity.get("keras_accuracy"),
        "images": (m.get("parity_data") or {}).get("images"),
    }


def _record(
    run_dir: Path,
    cfg: Any,
    val_table: dict[str, Any],
    points: list[Point],
    choice: Choice | None,
    error: str | None,
    all_names: list[str],
    classical: list[str],
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schema": 1,
        "rule": "among the artifacts that passed their parity gate and fit the budget, the most "
        "accurate on the VALIDATION split leads; every artifact whose validation accuracy is not "
        f"significantly below the leader's (exact one-sided McNemar on the same images, p >= "
        f"{TIE_ALPHA}) is tied with it, and the smallest, then fastest, tied artifact ships. The "
        "test split is read once, after the choice, for this record.",
        "budget": cfg.budget.to_dict(),
        "validation": val_table,
        "points": [p.to_dict() for p in points],
        "pareto": [p.key for p in (choice.pareto if choice else ())],
        "status": "chosen" if choice else "nothing fits",
    }
    if choice is None:
        body["error"] = error
        return body
    w = choice.winner
    body["chosen"] = {**w.to_dict(), "reason": choice.reason}
    body["tied_with_leader"] = [p.key for p in choice.tied]
    body["within_budget"] = [p.key for p in choice.within_budget]
    # --- the test split, read once, after the choice ---
    tests = _test_record(run_dir, all_names)
    body["test_after_choice"] = tests
    deployed = _artifact_test(run_dir, w)
    body["chosen"]["test"] = deployed
    anchors = {}
    for name in classical:
        acc = (tests[name].get("test") or {}).get("accuracy")
        if acc is None or deployed["accuracy"] is None:
            continue
        anchors[name] = {
            "anchor_test_accuracy": acc,
            "deployed_test_accuracy": deployed["accuracy"],
            "beats_anchor": deployed["accuracy"] > acc,
            "gain_pts": round(100 * (deployed["accuracy"] - acc), 2),
        }
    body["anchor_comparison"] = anchors
    return body


def select_and_record(
    run_dir: Path,
    cfg: Any,
    dataset: Any,
    keras_names: list[str],
    collapsed: dict[str, str] | None = None,
    crossval: dict[str, Any] | None = None,
) -> dict:
    """Measure the points, choose, write ``selection.json`` and the Pareto figure.

    ``collapsed``: candidates whose training collapsed (``{name: why}``); they have no exports and
    are recorded as left out. ``crossval``: the cross-validation record of a small-data run
    (trainer/pipeline/crossval.py); only the candidates still in its race offer points.
    """
    from trainer.data import make_splits
    from trainer.pipeline.points import measure_points
    from trainer.pipeline.validation_table import validation_table
    from trainer.report.pareto import plot_pareto

    run_dir = Path(run_dir)
    picked = cfg.candidate_list()
    all_names = [c.name for c in picked]
    classical = [c.name for c in picked if c.is_classical]
    splits = make_splits(dataset, cfg.data)
    if not len(splits.y_val):
        raise ConfigError(
            "selection reads the validation split and this run has none; use --val-fraction above 0"
        )
    val_table = validation_table(run_dir, all_names)
    evidence: dict[str, Any] = {
        "kind": "validation split",
        "images": int(len(splits.y_val)),
    }
    racing = list(keras_names)
    if crossval is not None:
        in_race = set(crossval.get("in_race") or [])
        racing = [n for n in keras_names if n in in_race] or racing
        evidence = {
            "kind": "cross-validation",
            "folds": crossval["folds"],
            "images": crossval["images"],
            "why": crossval["why"],
            "leader": crossval["leader"],
            "in_race": racing,
            "out_of_race": crossval.get("out_of_race") or {},
            "scores": crossval["scores"],
            # trainer/pipeline/refit.py: what cross-validation scored is what ships
            "then": (
                f"the chosen candidate is retrained on all {crossval['images']} training images "
                "(the refit stage, refit.json) and that model ships at the chosen precision"
            ),
        }
        log.info("cross-validation leaves %s in the race (%s)", racing, crossval["why"])
    points: list[Point] = []
    for name in racing:
        points += measure_points(
            run_dir / EXPORTS_DIR / name, name, splits.x_val, splits.y_val, cfg.bench_runs
        )
    latency_source = "this machine, 1 thread, p95"
    if cfg.budget_bench:
        from trainer.pipeline.device_latency import apply_device_latency, load_device_latency

        latency, devices = load_device_latency(cfg.budget_bench)
        hashes = {}
        for name in keras_names:
            manifest = read_json(run_dir / EXPORTS_DIR / name / "manifest.json")
            for a in manifest["artifacts"]:
                hashes[f"{name}/{a['file']}"] = a["sha256"]
        points = apply_device_latency(points, hashes, latency)
        latency_source = "device bench: " + "; ".join(devices)
        missing = [p.key for p in points if p.p95_ms is None]
        if missing:
            log.warning(
                "no device latency for %s: they cannot meet --budget-ms", ", ".join(missing)
            )
    choice, error = None, None
    try:
        choice = choose(points, cfg.budget)
    except NothingFitsError as exc:
        error = str(exc)
    body = _record(run_dir, cfg, val_table, points, choice, error, all_names, classical)
    body["latency_source"] = latency_source
    body["evidence"] = evidence
    body["collapsed"] = dict(collapsed or {})
    figure = plot_pareto(points, choice, cfg.budget, run_dir / SELECT_DIR / "pareto.png")
    body["figure"] = str(figure.relative_to(run_dir)) if figure else None
    write_json(run_dir / SELECTION_NAME, body)
    if choice is None:
        raise NothingFitsError(error or "nothing fits the budget")
    w = choice.winner
    log.info("chosen: %s (%s)", w.key, choice.reason)
    return {
        "chosen": w.key,
        "val_accuracy": w.val_accuracy,
        "points": len(points),
        "selection": str(run_dir / SELECTION_NAME),
    }
