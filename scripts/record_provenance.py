"""Name the script and the command in benchmark records written before their scripts did, and
take local machine paths out of records, without changing a measured value.

    .venv/bin/python scripts/record_provenance.py          # apply the tables below
    .venv/bin/python scripts/record_provenance.py --check  # exit 1 when a record still needs it

``PROVENANCE`` maps a record to the script that wrote it, the command line, and where that command
was read from (the script's docstring, a folder README, the record's own fields). Each record gets
top-level ``script``, the command, and ``provenance_note``. The command goes to ``command``, or to
``script_command`` where the record's ``command`` already names the measured ``edgetk`` command
(the convention of ``scripts/pipeline_benchmark.py``). In commands, a local folder is shown by its
name, or as an UPPERCASE placeholder where its name is unknown. A record that already names a
script is left alone: its script wrote the fields itself.

``LOCAL_PATHS`` maps a file under benchmarks/ to the local paths in it and what replaces each (a
repo-relative path or a file name). ``RENAMED_KEYS`` moves a field whose name the provenance needs.

Every change is checked before it is written: numbers, booleans and nulls equal, strings equal
up to a listed replacement, keys only added or renamed as listed; otherwise the file is left as
it was and the script exits 1. Writes are atomic (a temporary file in the same folder, then
``os.replace``). Running it again changes nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# The day these fields were added; fixed, so that a rerun writes the same note.
ADDED_ON = "2026-12-05"


@dataclass(frozen=True)
class Provenance:
    """Who wrote a record and how, and where that was read from."""

    script: str
    command: str
    source: str
    # A field of the record (dotted path) and its value: which run this entry describes. A record
    # rewritten by a later run no longer matches and is refused (its script must name itself).
    run: tuple[str, Any]
    # "script_command" where the record's "command" is the measured edgetk command.
    key: str = "command"

    @property
    def note(self) -> str:
        return f"script and command added from {self.source} on {ADDED_ON}"


_DOC = "the script's docstring"
_PIPE = "scripts/pipeline_benchmark.py"
_TUNE = "scripts/tune_benchmark.py"
_OVERHEAD = "scripts/bench_overhead.py"
_REMOTE = "scripts/remote_bench_record.py"
_REMOTE_COMMAND = f"{_REMOTE} WORK benchmarks/edge/remote --bundle fmnist-bundle"


def _remote_device(created_utc: str) -> Provenance:
    return Provenance(
        _REMOTE,
        _REMOTE_COMMAND,
        f"{_DOC} and scripts/remote_bench_two_targets.sh (the record itself is what `edgetk bench "
        "--devices` wrote on that target; this script copied it here; WORK: the run's work "
        "folder)",
        run=("created_utc", created_utc),
    )


PROVENANCE: dict[str, Provenance] = {
    "benchmarks/pipeline/quick_profile.json": Provenance(
        _PIPE,
        "scripts/pipeline_benchmark.py --profile quick --seeds 3",
        f"{_DOC} and the record (3 seeds, wall time by the script's clock, run directory "
        "runs/bench_quick: the script's default)",
        run=("wall_seconds", 300.0),
        key="script_command",
    ),
    "benchmarks/own_data/results.json": Provenance(
        "scripts/own_data_benchmark.py",
        "scripts/own_data_benchmark.py --data-root own_data --runs-root own_runs",
        f"{_DOC} and the run logs it wrote (folders own_data and own_runs, shown by name)",
        run=("machine.load_average_start", [1.09, 1.34, 1.33]),
        key="script_command",
    ),
    "benchmarks/resnet_layouts/speed.json": Provenance(
        "scripts/resnet_layout_speed.py",
        "scripts/resnet_layout_speed.py --rounds 5 --steps 20",
        "the record's own command field",
        run=("one_minute_load_per_round", [2.9, 4.13, 4.62, 4.8, 4.73]),
    ),
    "benchmarks/gate/sample_size.json": Provenance(
        "scripts/gate_sample_size.py",
        "scripts/gate_sample_size.py --sizes 30,48,100,10000 --repeats 100",
        f"{_DOC}; --sizes and --repeats from the record (its n and repeats), the training "
        "options at their defaults (12,000 images, 3 epochs, as recorded)",
        run=("created_utc", "2026-11-27T09:07:56Z"),
    ),
    "benchmarks/edge/install_footprint_litert.json": Provenance(
        "scripts/install_footprint.py",
        "scripts/install_footprint.py --extras none --litert 1.1.2,1.2.0,1.4.0,2.1.1,2.3.0 "
        "--runs 5 --out benchmarks/edge/install_footprint_litert",
        f"{_DOC} and benchmarks/edge/README.md; --out from the record's file name",
        run=("created_utc", "2026-11-27T14:04:17Z"),
    ),
    "benchmarks/edge/overhead_full_int8.json": Provenance(
        _OVERHEAD,
        f"{_OVERHEAD} --bundle runs/bundles/full --artifact model_int8.tflite "
        "--out benchmarks/edge/overhead_full_int8.json",
        f"{_DOC} and benchmarks/edge/README.md; --bundle and --artifact from the record, "
        "--out from its file name",
        run=("p50_ratio", 1.1095),
    ),
    "benchmarks/edge/overhead_quick_int8.json": Provenance(
        _OVERHEAD,
        f"{_OVERHEAD} --bundle runs/bundles/quick --artifact model_int8.tflite "
        "--out benchmarks/edge/overhead_quick_int8.json",
        f"{_DOC} and benchmarks/edge/README.md; --bundle and --artifact from the record, "
        "--out from its file name",
        run=("p50_ratio", 1.1126),
    ),
    "benchmarks/edge/overhead_quick_int8_mixed.json": Provenance(
        _OVERHEAD,
        f"{_OVERHEAD} --bundle runs/bundles/quick --artifact model_int8_mixed.tflite "
        "--out benchmarks/edge/overhead_quick_int8_mixed.json",
        f"{_DOC} and benchmarks/edge/README.md; --bundle and --artifact from the record, "
        "--out from its file name",
        run=("p50_ratio", 1.1304),
    ),
    "benchmarks/edge/remote/summary.json": Provenance(
        _REMOTE,
        _REMOTE_COMMAND,
        f"{_DOC} and scripts/remote_bench_two_targets.sh, which runs it (WORK: the run's work "
        "folder)",
        run=("edgetk_commit", "47f22441c2d6d59242c26c206b583648a70b74c3"),
    ),
    "benchmarks/edge/remote/x86-loopback_run1.json": _remote_device("2026-11-27T08:01:51Z"),
    "benchmarks/edge/remote/x86-loopback_run2.json": _remote_device("2026-11-27T08:45:24Z"),
    "benchmarks/edge/remote/arm64-emulated_run1.json": _remote_device("2026-11-27T08:29:57Z"),
    "benchmarks/edge/remote/arm64-emulated_run2.json": _remote_device("2026-11-27T08:46:35Z"),
    "benchmarks/serve/abuse.json": Provenance(
        "scripts/abuse_benchmark.py",
        "scripts/abuse_benchmark.py --bundle tests/fixtures/tiny_bundle --base OLD_CHECKOUT "
        "--runs 7",
        f"{_DOC} and benchmarks/serve/README.md; --bundle and --runs from the record "
        "(OLD_CHECKOUT: a checkout of 37a5cfb, named by the commit that added the record)",
        run=("server_peak_rss_mb", 252.9),
    ),
    "benchmarks/serve/fuzz_images.json": Provenance(
        "scripts/fuzz_images.py",
        "scripts/fuzz_images.py runs/bundles/full --cases 10000 --seed 4",
        f"{_DOC}; the bundle, --cases and --seed from the record",
        run=("seconds", 10.8),
    ),
    "benchmarks/serve/load_test_full_int8.json": Provenance(
        "scripts/load_test.py",
        "scripts/load_test.py runs/bundles/full --workers 1 --threads 1 --requests 6000 "
        "--duration 12 --baseline-seconds 4 --repeat 3 --tag load_test_full_int8",
        f"{_DOC} and benchmarks/serve/README.md; the options from the record (server_args, caps, "
        "in_process.seconds, 3 repeats of the levels), --tag from its file name; the script as of "
        "commit 67d4868 (thread-per-connection client)",
        run=("created_utc", "2026-11-26T13:36:07Z"),
    ),
    "benchmarks/tuning/distributed_loopback.json": Provenance(
        "scripts/tune_distributed_loopback.py",
        "scripts/tune_distributed_loopback.py",
        f"{_DOC} (the run directory in the record's command is the script's default)",
        run=("features_seconds", 19.8),
        key="script_command",
    ),
    "benchmarks/tuning/memory_one_process.json": Provenance(
        "scripts/tune_memory_one_process.py",
        "scripts/tune_memory_one_process.py --collect-only --run-dir tune_one",
        f"{_DOC} and the record's source field (the run folder, shown by name)",
        run=("last_trial_peak_mb", 2226.0),
    ),
    "benchmarks/tuning/memory_probe.json": Provenance(
        "scripts/tune_memory_probe.py",
        "scripts/tune_memory_probe.py",
        f"{_DOC}; the record's rows and models are the script's defaults",
        run=("eager_over_graph_epoch_time", 1.86),
    ),
    "benchmarks/tuning/search_full.json": Provenance(
        _TUNE,
        f"{_TUNE} --collect-only --run-dir RUN_DIR --time-log TIME_LOG",
        f"{_DOC}; --collect-only and --time-log because the record has no wall time of its own "
        "but a /usr/bin/time log (RUN_DIR, TIME_LOG: local paths)",
        run=("search.search_seconds", 443.2),
    ),
    "benchmarks/tuning/search_full_bayesian.json": Provenance(
        _TUNE,
        f"{_TUNE} --collect-only --algorithm bayesian --run-dir RUN_DIR --time-log TIME_LOG",
        f"{_DOC}; --algorithm from the record's file name and config, --collect-only and "
        "--time-log because the record has no wall time of its own but a /usr/bin/time log "
        "(RUN_DIR, TIME_LOG: local paths)",
        run=("search.search_seconds", 1212.7),
    ),
}

_A = "benchmarks/archive"
LOCAL_PATHS: dict[str, tuple[tuple[str, str], ...]] = {
    "benchmarks/pipeline/quick_profile.json": (
        ("/work/ci-run3/runs/bench_quick", "runs/bench_quick"),
    ),
    "benchmarks/pipeline/quick_profile.md": (
        ("/work/ci-run3/runs/bench_quick", "runs/bench_quick"),
    ),
    "benchmarks/own_data/results.json": (("/work/scratch/own_runs/", "own_runs/"),),
    "benchmarks/tuning/memory_one_process.json": (("/work/scratch/tune_one/", "tune_one/"),),
    **{
        f"benchmarks/edge/remote/{name}.json": (
            ("/work/scratch-i13/fmnist-bundle", "fmnist-bundle"),
            ("/work/scratch-i13/rb/device-x86/edgetk", "device-x86/edgetk"),
            ("/root/.cache/edgetk", "~/.cache/edgetk"),
        )
        for name in (
            "x86-loopback_run1",
            "x86-loopback_run2",
            "arm64-emulated_run1",
            "arm64-emulated_run2",
        )
    },
    f"{_A}/edge/x86_full_bench.json": (("/tmp/edge_fm200f", "edge_fm200f"),),
    f"{_A}/edge/x86_quick_bench.json": (("/tmp/edge_fm200", "edge_fm200"),),
    f"{_A}/edge/arm64_emulated_edge_extra/comparison.json": (
        ("/work/wt-i16/benchmarks/edge/arm64_emulated_edge_extra/", ""),
    ),
    f"{_A}/edge/arm64_emulated_edge_extra/bench.txt": (
        ("wrote /tmp/bench.json", "wrote bench.json"),
    ),
    **{
        f"{_A}/pipeline/full_profile_{name}.{ext}": ((local, shown),)
        for name, local, shown in (
            ("fresh", "/work/scratch7/fresh", "fresh"),
            ("resumed", "/work/scratch7/full_fast", "full_fast"),
            ("noviews", "/work/scratch6/full_fast", "full_fast"),
            ("resnet7", "/work/scratch/full/reselect", "reselect"),
        )
        for ext in ("json", "md")
    },
    **{
        f"{_A}/pipeline/full_profile_resnet_long.{ext}": (
            ("/work/scratch5/cands_e14.json", "cands_e14.json"),
            ("/work/scratch5/e14", "e14"),
        )
        for ext in ("json", "md")
    },
}

RENAMED_KEYS: dict[str, dict[str, str]] = {
    # Its "command" held the exit code and wall time of each `edgetk bench --devices` run.
    "benchmarks/edge/remote/summary.json": {"command": "bench_runs"},
}


class ProvenanceError(Exception):
    """A table entry does not fit the file, or a change would touch a measured value."""


def _replace_all(text: str, pairs: tuple[tuple[str, str], ...]) -> str:
    for old, new in pairs:
        text = text.replace(old, new)
    return text


def _dump(record: Any) -> str:
    return json.dumps(record, indent=2) + "\n"


def _same_values(
    old: Any, new: Any, pairs: tuple[tuple[str, str], ...], added: set[str], where: str
) -> None:
    """Raise unless ``new`` is ``old`` up to the listed replacements and the ``added`` keys."""
    if isinstance(old, dict):
        if not isinstance(new, dict):
            raise ProvenanceError(f"{where}: an object became {type(new).__name__}")
        extra, missing = set(new) - set(old) - added, set(old) - set(new)
        if extra or missing:
            raise ProvenanceError(f"{where}: keys added {sorted(extra)}, lost {sorted(missing)}")
        for k, v in old.items():
            _same_values(v, new[k], pairs, set(), f"{where}.{k}")
    elif isinstance(old, list):
        if not isinstance(new, list) or len(new) != len(old):
            raise ProvenanceError(f"{where}: a list changed length or type")
        for i, (a, b) in enumerate(zip(old, new)):
            _same_values(a, b, pairs, set(), f"{where}[{i}]")
    elif isinstance(old, str):
        if new != _replace_all(old, pairs):
            raise ProvenanceError(f"{where}: {old!r} -> {new!r} is not a listed replacement")
    elif type(old) is not type(new) or old != new:
        raise ProvenanceError(f"{where}: measured value {old!r} -> {new!r}")


def _renamed(record: dict[str, Any], rel: str) -> dict[str, Any]:
    """``record`` with the keys of ``RENAMED_KEYS`` renamed, in place; once only: a key is
    renamed while its value is not yet a string (the command line that takes its name)."""
    for old_key, new_key in RENAMED_KEYS.get(rel, {}).items():
        if old_key in record and not isinstance(record[old_key], str):
            record = {(new_key if k == old_key else k): v for k, v in record.items()}
    return record


def _with_provenance(record: dict[str, Any], prov: Provenance, rel: str) -> dict[str, Any]:
    record = _renamed(record, rel)
    if "script" in record:
        return record  # its script named itself (or this ran before)
    field, expected = prov.run
    actual: Any = record
    for part in field.split("."):
        actual = actual.get(part) if isinstance(actual, dict) else None
    if actual != expected:
        raise ProvenanceError(
            f"{rel}: {field} is {actual!r}, not {expected!r}: the record is from another run than "
            "the table describes; have its script write 'script' and 'command' itself"
        )
    if prov.key == "command" and "command" in record and record["command"] != prov.command:
        raise ProvenanceError(
            f"{rel}: its command {record['command']!r} differs from the table's {prov.command!r}"
        )
    if prov.key == "script_command" and not isinstance(record.get("command"), str):
        raise ProvenanceError(f"{rel}: key 'script_command' needs the record's own 'command'")
    head = {"script": prov.script, prov.key: prov.command, "provenance_note": prov.note}
    return {**head, **{k: v for k, v in record.items() if k not in head}}


def updated_text(rel: str, text: str) -> str:
    """The file's new text under the tables (``text`` itself when nothing applies)."""
    pairs = LOCAL_PATHS.get(rel, ())
    new_text = _replace_all(text, pairs)
    prov = PROVENANCE.get(rel)
    if rel.endswith(".json"):
        old = json.loads(text)
        if prov is not None:
            if _dump(old) != text:
                raise ProvenanceError(f"{rel}: not in the indent-2 layout; refusing to rewrite it")
            new = _with_provenance(json.loads(new_text), prov, rel)
            new_text = _dump(new)
        new = json.loads(new_text)
        compare = _renamed(old, rel)
        added = set(new) - set(compare)
        if added - {"script", "command", "script_command", "provenance_note"}:
            raise ProvenanceError(f"{rel}: unexpected new keys {sorted(added)}")
        _same_values(compare, new, pairs, added, rel)
    return new_text


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 when a record needs a change"
    )
    args = ap.parse_args(argv)
    pending: list[str] = []
    for rel in sorted(set(PROVENANCE) | set(LOCAL_PATHS)):
        path = ROOT / rel
        if not path.is_file():
            print(f"error: {rel} is in the tables but not on disk", file=sys.stderr)
            return 1
        text = path.read_text(encoding="utf-8")
        try:
            new_text = updated_text(rel, text)
        except ProvenanceError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        if new_text == text:
            continue
        pending.append(rel)
        if not args.check:
            _write_atomic(path, new_text)
            print(f"updated {rel}")
    if args.check and pending:
        print("records needing provenance or path fixes:\n  " + "\n  ".join(pending))
        return 1
    if not pending:
        print("every record in the tables is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
