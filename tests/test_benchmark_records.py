"""benchmarks/: every record names the script and the command that wrote it, the index lists every
record, and no file carries a local machine path or hides from a listing."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
ARCHIVE = BENCH / "archive"
INDEX = BENCH / "README.md"

# A path on the machine a record was made on; relative paths ("../home/x") and URLs do not match.
LOCAL_PATH = re.compile(r"(?<![\w.~-])/(?:work|tmp|root|home)/")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _in_rendered_report(path: Path) -> bool:
    """Files beside a rendered report (its copied figures and tables) belong to the report."""
    return any((d / "report.md").is_file() for d in path.parents if BENCH in d.parents)


def _current_json_records() -> list[Path]:
    return sorted(
        p for p in BENCH.rglob("*.json") if ARCHIVE not in p.parents and not _in_rendered_report(p)
    )


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _link_targets(page: Path) -> set[Path]:
    """Every relative link target of a Markdown page, resolved; anchors and URLs left out."""
    targets = set()
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        target = target.split("#", 1)[0]
        if target and not re.match(r"[a-z]+:", target):
            targets.add((page.parent / target).resolve())
    return targets


def _text(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


@pytest.mark.parametrize("path", _current_json_records(), ids=_rel)
def test_every_json_record_names_the_script_and_the_command_that_wrote_it(path: Path) -> None:
    record = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(record, dict), f"{_rel(path)}: a record is a JSON object"
    script, command = record.get("script"), record.get("command")
    assert isinstance(script, str) and script.strip(), (
        f"{_rel(path)}: no top-level 'script'; make its script write it (scripts/bench_common.provenance) "
        "or have the script write it"
    )
    assert isinstance(command, str) and command.strip(), (
        f"{_rel(path)}: no top-level 'command' string (the command line that wrote it)"
    )
    assert script.startswith("scripts/") and (ROOT / script).is_file(), (
        f"{_rel(path)}: script {script!r} is not a file under scripts/"
    )
    # Where "command" is the measured edgetk command, "script_command" is how the script ran.
    invocation = record.get("script_command", command)
    assert script in invocation, f"{_rel(path)}: {invocation!r} does not run {script}"


def test_no_file_under_benchmarks_holds_a_local_machine_path() -> None:
    found = []
    for path in sorted(p for p in BENCH.rglob("*") if p.is_file()):
        text = _text(path)
        if text is None:
            continue  # figures and other binary files
        for n, line in enumerate(text.splitlines(), 1):
            if LOCAL_PATH.search(line):
                found.append(f"{_rel(path)}:{n}: {line.strip()[:120]}")
    assert not found, "local machine paths (use repo-relative paths or file names):\n" + "\n".join(
        found
    )


def test_no_hidden_files_under_benchmarks() -> None:
    hidden = [
        _rel(Path(d) / name)
        for d, dirs, files in os.walk(BENCH)
        for name in dirs + files
        if name.startswith(".")
    ]
    assert not hidden, f"hidden files under benchmarks/: {hidden}"


def test_the_index_lists_every_json_record_and_each_listed_record_exists() -> None:
    listed = _link_targets(INDEX)
    missing = sorted(_rel(p) for p in listed if not p.exists())
    assert not missing, f"benchmarks/README.md links to records that do not exist: {missing}"
    unlisted = [_rel(p) for p in _current_json_records() if p.resolve() not in listed]
    assert not unlisted, f"JSON records missing from benchmarks/README.md: {unlisted}"


def test_the_archive_index_names_files_that_exist() -> None:
    page = ARCHIVE / "README.md"
    targets = _link_targets(page)
    assert targets, "benchmarks/archive/README.md links no archived record"
    missing = sorted(_rel(p) for p in targets if not p.exists())
    assert not missing, f"benchmarks/archive/README.md links files that do not exist: {missing}"
