"""`edgetk train` / `edgetk models`: thin commands, exit codes, messages."""

from __future__ import annotations

import numpy as np
import pytest

from edgetk.cli import main


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    """Three classes of 16x16 PNGs in a folder whose path has spaces."""
    from PIL import Image

    root = tmp_path_factory.mktemp("data") / "my images"
    rng = np.random.default_rng(0)
    stripes = (np.arange(16) % 4 < 2) * 160.0
    for k, name in enumerate(["dark", "horizontal", "vertical"]):
        (root / name).mkdir(parents=True)
        for i in range(60):
            x = rng.normal(40, 15, (16, 16))
            if k == 1:
                x += stripes[:, None]
            elif k == 2:
                x += stripes[None, :]
            Image.fromarray(np.clip(x, 0, 255).astype(np.uint8)).save(root / name / f"{i}.png")
    return root


def test_train_baseline_then_list(image_folder, space_dir, capsys) -> None:
    run = space_dir / "run"
    rc = main(
        [
            "train",
            "--stage",
            "baseline",
            "--data-dir",
            str(image_folder),
            "--epochs",
            "6",
            "--batch-size",
            "16",  # enough steps for BatchNorm's moving statistics on 144 training images
            "--run-dir",
            str(run),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "baseline: test accuracy" in out and "models/baseline/v1" in out
    assert (run / "models" / "baseline" / "v1" / "metadata.json").is_file()
    assert (run / "return_on_complexity.md").is_file()
    assert main(["models", "list", "--run-dir", str(run)]) == 0
    table = capsys.readouterr().out
    assert "baseline  v1" in table
    assert main(["models", "show", "baseline", "--run-dir", str(run)]) == 0
    assert '"labels": [' in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stage", "baseline", "--unfreeze-fraction", "0.5"], "applies to --stage finetune only"),
        (["--stage", "finetune", "--backbone", "mobilenet_v2"], "finetune inherits"),
        (["--stage", "transfer", "--alpha", "0.2"], r"--alpha 0.2 is not available"),
    ],
)
def test_usage_errors_exit_2(image_folder, space_dir, capsys, args, message) -> None:
    rc = main(["train", *args, "--data-dir", str(image_folder), "--run-dir", str(space_dir)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: ") and message in err


def test_finetune_without_transfer_says_what_to_do(image_folder, space_dir, capsys) -> None:
    rc = main(
        [
            "train",
            "--stage",
            "finetune",
            "--data-dir",
            str(image_folder),
            "--run-dir",
            str(space_dir),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1
    assert "no registered model 'transfer'" in err and "train that stage first" in err


def test_models_list_empty_and_show_missing(space_dir, capsys) -> None:
    assert main(["models", "list", "--run-dir", str(space_dir)]) == 0
    assert "no registered models" in capsys.readouterr().out
    assert main(["models", "show", "transfer", "--run-dir", str(space_dir)]) == 1
    assert "no registered model 'transfer'" in capsys.readouterr().err
