"""scripts/bench_common.py's provenance(): every benchmark record names the script and the command
that wrote it, with no local machine path; and the records some scripts build carry both."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from scripts import bench_common
from scripts.bench_common import provenance, scrub_local_paths, shown_path
from tests.script_module import load_script
from tests.test_benchmark_records import LOCAL_PATH

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "load_test.py"


def _no_local_path(text: str) -> None:
    found = LOCAL_PATH.search(text)
    assert found is None, f"local path in {text[max(0, found.start() - 60) : found.end() + 60]!r}"


def _assert_provenance(record: dict, script: str, key: str = "command") -> str:
    """The record's script and command (under ``key``), checked as the records' test does."""
    assert record["script"] == script and (ROOT / script).is_file()
    command = record[key]
    assert isinstance(command, str) and shlex.split(command)[0] == script
    _no_local_path(json.dumps(record))
    return command


# --- the helper ---------------------------------------------------------------------------------


def test_the_script_is_named_repo_relative_and_the_command_starts_with_it() -> None:
    prov = provenance(SCRIPT, ["runs/bundles/full", "--repeat", "3"])
    assert prov == {
        "script": "scripts/load_test.py",
        "command": "scripts/load_test.py runs/bundles/full --repeat 3",
    }


def test_paths_inside_the_repo_become_repo_relative_and_others_their_name() -> None:
    argv = [str(ROOT / "runs" / "bundles" / "full"), "--out", "/tmp/scratch/x/load.json",
            "--base", "/home/someone/old-checkout", "--tag", "t1"]  # fmt: skip
    command = provenance(SCRIPT, argv)["command"]
    assert command == (
        "scripts/load_test.py runs/bundles/full --out load.json --base old-checkout --tag t1"
    )
    _no_local_path(command)


def test_paths_with_spaces_are_quoted_and_split_back_to_the_same_words() -> None:
    argv = [str(ROOT / "runs" / "my bundle"), "--out=/work/some dir/the out.json", "--note", "a b"]
    command = provenance(SCRIPT, argv)["command"]
    assert shlex.split(command) == [
        "scripts/load_test.py",
        "runs/my bundle",
        "--out=the out.json",
        "--note",
        "a b",
    ]
    _no_local_path(command)


def test_option_values_and_lists_of_paths_are_shown_too() -> None:
    argv = ["--data=/tmp/a/own_data", "--sizes", "30,48", "--dirs", f"{ROOT}/tests,/root/x/y"]
    assert shlex.split(provenance(SCRIPT, argv)["command"])[1:] == [
        "--data=own_data",
        "--sizes",
        "30,48",
        "--dirs",
        "tests,y",
    ]


def test_the_command_defaults_to_sys_argv_and_can_go_under_script_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bench_common.sys, "argv", [str(SCRIPT), "--tag", "x"])
    assert provenance(SCRIPT, command_key="script_command") == {
        "script": "scripts/load_test.py",
        "script_command": "scripts/load_test.py --tag x",
    }


def test_shown_path_relative_paths_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert shown_path("runs/bundles/full") == "runs/bundles/full"
    assert shown_path(ROOT) == "."
    monkeypatch.chdir(tmp_path)
    assert shown_path("own_runs/glyphs") == "glyphs"  # outside the repo: the name


def test_shown_path_under_a_work_folder_keeps_the_path_from_that_folder(tmp_path: Path) -> None:
    work = tmp_path / "own runs"
    assert shown_path(work / "glyphs" / "models" / "v1", work) == "own runs/glyphs/models/v1"
    assert shown_path(work, work) == "own runs"
    assert shown_path(tmp_path / "elsewhere.json", work) == "elsewhere.json"
    assert shown_path(ROOT / "benchmarks", work) == "benchmarks"  # the repo first


def test_scrub_local_paths_changes_paths_in_strings_and_nothing_else() -> None:
    record = {
        "error": "cannot read /tmp/run/own_runs/a/model.keras. Try again",
        "cache": "/root/.cache/edgetk",
        "in_repo": f"see {ROOT}/benchmarks/README.md: ok",
        "url": "http://127.0.0.1:8000/v1/predict",
        "relative": "../home/x and ~/tmp/y",
        "numbers": [0.425, 3, None, True],
    }
    assert scrub_local_paths(record, "/tmp/run/own_runs") == {
        **record,
        "error": "cannot read own_runs/a/model.keras. Try again",
        "cache": "edgetk",
        "in_repo": "see benchmarks/README.md: ok",
    }


def test_scrub_local_paths_finds_the_checkout_wherever_it_lives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A CI runner clones the repository anywhere (``/check/...``, ``/builds/...``): the checkout's
    own folder is taken out of a text whatever its prefix."""
    monkeypatch.setattr(bench_common, "ROOT", Path("/builds/ci-7/edgetk"))
    text = (
        "see /builds/ci-7/edgetk/benchmarks/README.md, cd /builds/ci-7/edgetk; /builds/ci-7/edgetk2"
    )
    assert scrub_local_paths({"t": text}) == {
        "t": "see benchmarks/README.md, cd .; /builds/ci-7/edgetk2"
    }


# --- records the scripts build ------------------------------------------------------------------


def test_tune_memory_one_process_record_names_its_script_and_command(tmp_path: Path) -> None:
    mod = load_script("tune_memory_one_process")
    run = tmp_path / "tune_one"
    (run / "tune").mkdir(parents=True)
    cfg = {"algorithm": "hyperband", "max_trials": 5, "max_epochs": 2, "recycle_every": None,
           "data": {"source": "fashion_mnist", "train_size": None, "test_size": None}}  # fmt: skip
    (run / "tune" / "config.json").write_text(json.dumps({"config": cfg}))
    trials = [{"trial_id": f"{i:02d}", "epochs": 2, "seconds": 1.5, "peak_rss_mb": 900.0 + 10 * i}
              for i in range(5)]  # fmt: skip
    (run / "tune" / "trials.json").write_text(json.dumps(trials))
    (run / mod.LOG_NAME).write_text("log\n")

    record = mod.collect(run, ["--collect-only", "--run-dir", str(run)])

    command = _assert_provenance(record, "scripts/tune_memory_one_process.py")
    assert command == "scripts/tune_memory_one_process.py --collect-only --run-dir tune_one"
    assert record["source"].startswith("tune_one/tune/trials.json")
    assert "tune_one/tune_one_process.log" in record["source"]
    assert record["last_trial_peak_mb"] == 940.0
    markdown = mod.markdown(record)
    assert command in markdown
    _no_local_path(markdown)


def test_own_data_row_record_and_markdown_carry_no_local_path_and_no_log_in_benchmarks(
    tmp_path: Path,
) -> None:
    mod = load_script("own_data_benchmark")
    runs_root = tmp_path / "own_runs"
    run = runs_root / "glyphs_grey"
    run.mkdir(parents=True)
    gate_error = f"ParityGateError: see {run}/exports/baseline/manifest.json."
    first = {"exit_code": 0, "wall_seconds": 61.0, "wall_time_source": "wall clock",
             "fallback": {"command": "edgetk run ...", "exit_code": 0, "wall_seconds": 9.0,
                          "gate_error": gate_error}}  # fmt: skip
    (run / mod.FIRST_RUN_NAME).write_text(json.dumps(first))

    row = mod.bench_one("glyphs_grey", tmp_path / "own_data" / "glyphs_grey", runs_root, True)

    assert row["parity_failure_fallback"]["gate_error"] == (
        "ParityGateError: see own_runs/glyphs_grey/exports/baseline/manifest.json."
    )
    assert mod.log_path(runs_root, "glyphs_grey").parent == runs_root
    machine = {"device": {"cpu_model": "cpu", "cores_logical": 2}, "load_average_start": [1.0]}
    argv = ["--data-root", str(tmp_path / "own_data"), "--runs-root", str(runs_root)]
    record = mod.results_record([row], machine, argv)
    command = _assert_provenance(record, "scripts/own_data_benchmark.py", "script_command")
    assert command == "scripts/own_data_benchmark.py --data-root own_data --runs-root own_runs"
    assert record["command"] == "edgetk run --data-dir DIR --profile quick"  # the measured one
    out = tmp_path / "out"
    out.mkdir()
    mod.write_markdown(record, out / "results.md")
    markdown = (out / "results.md").read_text()
    assert command in markdown
    _no_local_path(markdown)


def _device_record(name: str, work: Path, bundle: Path) -> dict:
    """A device's bench.json as `edgetk bench --devices` saves it: the stored record, with the
    local paths it had before they were taken out."""
    record = json.loads((ROOT / "benchmarks" / "edge" / "remote" / f"{name}_run1.json").read_text())
    for key in ("script", "command", "provenance_note"):
        record.pop(key)
    record["bundle"]["path"] = str(bundle)
    record["remote"]["device_cache"] = str(work / f"device-{name}" / "edgetk")
    return record


def test_remote_bench_record_writes_provenance_bench_runs_and_no_local_path(
    tmp_path: Path,
) -> None:
    mod = load_script("remote_bench_record")
    work, out, bundle = tmp_path / "rb work", tmp_path / "out", tmp_path / "fm-bundle"
    for run in ("run1", "run2"):
        for name in ("x86-loopback", "arm64-emulated"):
            (work / run / name).mkdir(parents=True)
            record = _device_record(name, work, bundle)
            (work / run / name / "bench.json").write_text(json.dumps(record))
        (work / f"{run}.out").write_text(f"[0] x86-loopback: bundle {bundle}\n")
    (work / "run2.command.json").write_text('{"exit_code": 0, "wall_s": 12.5}')
    (work / "commit.txt").write_text("47f22441c2d6d59242c26c206b583648a70b74c3\n")

    mod.main([str(work), str(out), "--bundle", str(bundle)])

    want = "scripts/remote_bench_record.py 'rb work' out --bundle fm-bundle"
    summary = json.loads((out / "summary.json").read_text())
    assert _assert_provenance(summary, "scripts/remote_bench_record.py") == want
    assert summary["bench_runs"] == {"run1": None, "run2": {"exit_code": 0, "wall_s": 12.5}}
    for name in ("x86-loopback", "arm64-emulated"):
        for run in ("run1", "run2"):
            copy = json.loads((out / f"{name}_{run}.json").read_text())
            assert _assert_provenance(copy, "scripts/remote_bench_record.py") == want
            assert copy["bundle"]["path"] == "fm-bundle"
            assert copy["remote"]["device_cache"] == f"rb work/device-{name}/edgetk"
    for page in ("README.md", "comparison_run1.txt", "comparison_run2.txt"):
        _no_local_path((out / page).read_text())
    assert "Wall time of the whole command: run2 12.5 s." in (out / "README.md").read_text()
