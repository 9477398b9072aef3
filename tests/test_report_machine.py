"""The report's limitations name the machine this run's latency was measured on."""

from __future__ import annotations

from pathlib import Path

from edge_runtime.common.fileio import write_json
from trainer.report.run_files import RunFiles
from trainer.report.sections import _latency_machine_sentence

DEVICE = {"cpu_model": "Cortex-A76", "arch": "aarch64", "cores_usable": 4, "os": "Debian 12"}


def test_sentence_describes_the_bench_records_device(tmp_path: Path) -> None:
    write_json(tmp_path / "bench" / "bench.json", {"device": DEVICE, "rows": []})
    text = _latency_machine_sentence(RunFiles(tmp_path))
    assert "Cortex-A76 (aarch64, 4 usable cores, Debian 12)" in text
    assert "2-core" not in text and "VM" not in text


def test_sentence_without_a_bench_says_none_was_measured(tmp_path: Path) -> None:
    text = _latency_machine_sentence(RunFiles(tmp_path))
    assert text.startswith("No latency was measured in this run")
