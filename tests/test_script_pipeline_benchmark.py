"""scripts/pipeline_benchmark.py: the collected record's wall time and load sources."""

from __future__ import annotations

import json
from pathlib import Path

from tests.script_module import load_script


def _module():
    return load_script("pipeline_benchmark")


def test_wall_from_state_sums_stages_and_skips_the_gap_of_a_resumed_run(tmp_path: Path) -> None:
    # export ends at 10:01:40; select was rerun (--from select) at 10:30: 28 min of no stage.
    stages = {
        "baseline": {"started_utc": "2026-01-01T10:00:00Z", "seconds": 60.0},
        "export": {"started_utc": "2026-01-01T10:01:00Z", "seconds": 40.0},
        "select": {"started_utc": "2026-01-01T10:30:00Z", "seconds": 30.0},
    }
    (tmp_path / "pipeline.json").write_text(json.dumps({"stages": stages}))
    assert _module().wall_from_state(tmp_path) == 130.0


def test_load_from_an_earlier_record_or_a_log(tmp_path: Path) -> None:
    mod = _module()
    rec = tmp_path / "full_profile.json"
    rec.write_text(
        json.dumps({"load": {"median": 2.48, "max": 3.0, "one_minute_load_samples": 64}})
    )
    assert mod.load_from_log(rec) == {
        "median": 2.48,
        "max": 3.0,
        "one_minute_load_samples": 64,
        "source": "full_profile.json",
    }
    log = tmp_path / "load.log"
    log.write_text("2026-01-01T10:00:00Z 1.5\n2026-01-01T10:00:30Z 4.5\n2026-01-01T10:01:00Z 2.0\n")
    got = mod.load_from_log(log)
    assert (got["median"], got["max"], got["one_minute_load_samples"]) == (2.0, 4.5, 3)
    # A stopped logger leaves the shell's "Terminated"; a torn last line has no value.
    log.write_text(log.read_text() + "Terminated\n2026-01-01T10:01:30Z\n\n")
    got = mod.load_from_log(log)
    assert (got["median"], got["one_minute_load_samples"], got["lines_skipped"]) == (2.0, 3, 2)


def test_a_collected_record_names_the_options_the_run_used_not_the_scripts_defaults(
    tmp_path: Path,
) -> None:
    cfg = {
        "profile": "full",
        "seed": 43,
        "candidates_file": "/tmp/cands.json",
        "candidate_names": ["resnet"],
        "budget": {"max_ms": None, "max_kb": 700.0, "max_ram_mb": None},
        "formats": None,
        "tune": False,
    }
    (tmp_path / "pipeline_config.json").write_text(json.dumps(cfg))
    # Paths outside the checkout are named by their last part: records carry no local paths.
    assert _module().command_from_config(tmp_path) == [
        "--profile", "full", "--seed", "43", "--candidates", "cands.json",
        "--models", "resnet", "--budget-kb", "700", "--run-dir", tmp_path.name,
    ]  # fmt: skip
    mod = _module()
    assert mod.shown_path(mod.ROOT / "runs" / "x") == "runs/x"


def test_command_names_test_time_views_and_the_record_prints_note_and_views(tmp_path: Path) -> None:
    mod = _module()
    cfg = {"profile": "full", "seed": 42, "test_time_views": "flip"}
    (tmp_path / "pipeline_config.json").write_text(json.dumps(cfg))
    assert mod.command_from_config(tmp_path)[-4:-2] == ["--test-time-views", "flip"]
    rec = {
        "profile": "full",
        "command": "edgetk run --profile full",
        "wall_seconds": 60.0,
        "exit_code": 0,
        "note": "export onward redone on resume",
        "machine": {"cpu": "x", "cpu_count": 2},
        "load": {"median": 1.0, "max": 2.0, "one_minute_load_samples": 3},
        "stage_seconds": {"export": 60.0},
        "candidates": [],
        "deployed": {
            "artifact": "model_dynamic.tflite",
            "candidate": "resnet_fast",
            "precision": "dynamic",
            "test_time_views": "flip_shift",
            "test_accuracy": 0.9361,
            "keras_test_accuracy": 0.9364,
            "test_images": 10000,
            "size_bytes": 396000,
        },
    }
    md = mod.markdown(rec)
    assert "export onward redone on resume" in md
    assert "test-time views flip_shift, **93.61 %**" in md


def _run_with_views(tmp_path: Path, views: str) -> dict:
    (tmp_path / "views.json").write_text(
        json.dumps(
            {
                "plain": {
                    "test_accuracy": 0.9402,
                    "test_images": 10000,
                    "p95_ms": 0.13,
                    "size_kb": 394.0,
                }
            }
        )  # fmt: skip
    )
    deployed = {"test_time_views": views, "test_accuracy": 0.9431, "test_images": 10000,
                "size_bytes": 394_000}  # fmt: skip
    return _module().plain_side(tmp_path, deployed)


def test_the_plain_accuracy_is_the_views_records_when_views_shipped_else_the_deployed(
    tmp_path: Path,
) -> None:
    got = _run_with_views(tmp_path, "flip")
    assert (got["plain_test_accuracy"], got["plain_p95_ms"]) == (0.9402, 0.13)
    got = _run_with_views(tmp_path, "none")  # a views.json of no consequence: plain shipped
    assert (got["plain_test_accuracy"], got["plain_size_kb"]) == (0.9431, 394.0)


def _seed_record(seeds: list[int], val: list[float], plain: list[float | None]) -> dict:
    mod = _module()
    runs = [
        {
            "candidates": [{"stage": "my_net", "val_accuracy": v, "accuracy": v - 0.005}],
            "deployed": {"test_accuracy": (p or 0.9) + 0.001, "plain_test_accuracy": p},
        }
        for v, p in zip(val, plain, strict=True)
    ]
    return {"seed_list": seeds, "seeds": mod.seed_stats(runs, "my_net"), "command": "edgetk run x"}


def test_seed_runs_compare_paired_by_seed_with_an_earlier_record(tmp_path: Path) -> None:
    mod = _module()
    new = _seed_record([42, 43, 44], [0.941, 0.945, 0.939], [0.940, 0.942, 0.938])
    assert new["seeds"]["plain_deployed_test_accuracy"]["mean"] == 0.94
    # A run without a plain number leaves the statistic out rather than averaging fewer seeds.
    assert (
        _seed_record([1, 2], [0.9, 0.9], [0.9, None])["seeds"]["plain_deployed_test_accuracy"]
        is None
    )
    old = _seed_record([41, 42, 43], [0.950, 0.938, 0.940], [0.930, 0.932, 0.931])
    cmp = mod.compare_seeds(new, old, "old.json")
    assert cmp["seeds"] == [42, 43]  # only the seeds both made
    val = cmp["metrics"]["float_val_accuracy"]
    assert [round(d, 4) for d in val["paired_differences"]] == [0.003, 0.005]
    assert val["better_on_every_seed"] is True
    plain = cmp["metrics"]["plain_deployed_test_accuracy"]
    assert round(plain["earlier_mean"], 4) == 0.9315 and round(plain["mean"], 4) == 0.941
    rec = {
        "profile": "full", "command": "edgetk run", "wall_seconds": 60.0, "exit_code": 0,
        "machine": {"cpu": "x", "cpu_count": 2},
        "load": {"median": 1.0, "max": 2.0, "one_minute_load_samples": 3},
        "stage_seconds": {}, "candidates": [], "comparison": cmp,
    }  # fmt: skip
    md = mod.markdown(rec)
    assert "Against the earlier record `old.json` (`my_net`" in md
    assert "| float val accuracy | 93.90 % | 94.30 % | +0.30, +0.50 | +0.40 |" in md
