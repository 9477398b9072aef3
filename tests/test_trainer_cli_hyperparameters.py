"""`edgetk train --hyperparameters`: the file `edgetk tune` writes feeds a training stage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgetk.cli import main
from tests.test_foundation_data import make_image_folder


def _train_baseline(data_dir: Path, hp: Path, run: Path, *extra: str) -> int:
    """``edgetk train --stage baseline`` on DATA_DIR, reading the hyperparameters file HP."""
    return main(
        [
            "train",
            "--stage",
            "baseline",
            "--data-dir",
            str(data_dir),
            "--hyperparameters",
            str(hp),
            "--run-dir",
            str(run),
            *extra,
        ]
    )


def test_best_hyperparameters_file_reaches_the_stage_config(space_dir, capsys) -> None:
    image_folder = make_image_folder(space_dir / "images")
    hp = space_dir / "best_hyperparameters.json"
    hp.write_text(
        json.dumps(
            {"learning_rate": 0.004, "dropout": 0.05, "dense_units": [24], "label_smoothing": 0.1}
        )
    )
    run = space_dir / "run"
    rc = _train_baseline(image_folder, hp, run, "--epochs", "1")
    assert rc == 0, capsys.readouterr()
    cfg = json.loads((run / "baseline" / "config.json").read_text())["config"]
    assert cfg["learning_rate"] == 0.004 and cfg["dropout"] == 0.05
    assert cfg["dense_units"] == [24] and cfg["label_smoothing"] == 0.1
    assert cfg["epochs"] == 1  # explicit options still win over the file


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"learning_rate": 0.01, "l2": 0.1}, "l2"),
        (None, "does not exist"),
    ],
)
def test_bad_hyperparameters_file_is_a_clear_error(space_dir, capsys, body, message) -> None:
    hp = space_dir / "hp.json"
    if body is not None:
        hp.write_text(json.dumps(body))
    rc = _train_baseline(space_dir, hp, space_dir / "run")
    err = capsys.readouterr().err
    assert rc in (1, 2) and message in err
