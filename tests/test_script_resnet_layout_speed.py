"""scripts/resnet_layout_speed.py: every layout builds with the project's builder and is timed
in paired rounds; the record is written from the run itself."""

from __future__ import annotations

import json
from pathlib import Path

from tests.script_module import load_script


def _module():
    return load_script("resnet_layout_speed")


def test_record_has_every_layout_with_ratios_against_the_first(tmp_path: Path) -> None:
    from trainer.models import resnet_params

    mod = _module()
    rc = mod.main(["--rounds", "2", "--steps", "1", "--batch", "4", "--size", "16",
                   "--out", str(tmp_path)])  # fmt: skip
    assert rc == 0
    rec = json.loads((tmp_path / "speed.json").read_text())
    assert rec["script"] == "scripts/resnet_layout_speed.py"
    assert rec["command"] == (
        f"scripts/resnet_layout_speed.py --rounds 2 --steps 1 --batch 4 --size 16 --out {tmp_path.name}"
    )
    assert [r["layout"] for r in rec["rows"]] == list(mod.LAYOUTS)
    ref = rec["rows"][0]
    assert ref["speed_vs_ref_per_round"] == [1.0, 1.0]
    for row in rec["rows"]:
        assert len(row["ms_per_step"]) == 2 and min(row["ms_per_step"]) > 0
        assert row["params"] == resnet_params(
            1, 10, tuple(row["widths"]), tuple(row["blocks_per_stage"])
        )
    assert "| resnet_fast 16/48/96 [0,2,2] |" in (tmp_path / "speed.md").read_text()


def test_bad_counts_are_refused_with_the_flag(capsys) -> None:
    assert _module().main(["--rounds", "0"]) == 2
    assert "--rounds 0: use 1 or more" in capsys.readouterr().err
