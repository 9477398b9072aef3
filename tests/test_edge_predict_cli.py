"""`edgetk predict`: output formats, labelled-folder evaluation checked independently, bad files."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edge_runtime.errors import DataError
from edge_runtime.evaluation import evaluate
from edge_runtime.inputs import collect_inputs
from edgetk.cli import main
from tests.fixtures.edge_helpers import BUNDLE, IMAGES, LABELS, pattern


def _labelled_folder(root: Path) -> Path:
    """A labelled folder where the right answers are known: clean patterns in every format, plus
    deliberately mislabelled files so the metrics are not all 1.0."""
    root.mkdir(parents=True, exist_ok=True)
    for label in LABELS:
        (root / label).mkdir()
    for i, label in enumerate(LABELS):
        img = pattern(label, 40)
        Image.fromarray(img).save(root / label / "grey.png")
        Image.fromarray(np.stack([img] * 3, -1)).save(root / label / "rgb.jpg", quality=95)
        Image.fromarray(img).save(root / label / "plain.bmp")
        Image.fromarray(img).convert("P").save(root / label / "palette.gif")
        Image.fromarray(img.astype(np.uint16) * 257).save(root / label / "deep16.png")
        rgba = np.dstack([np.stack([255 - img] * 3, -1), np.full(img.shape, 255, np.uint8)])
        Image.fromarray(rgba, "RGBA").save(root / label / "photo rgba.png")  # dark on light
        wrong = LABELS[(i + 1) % 4]
        Image.fromarray(pattern(wrong, 28)).save(root / label / "mislabelled.png")
    return root


def test_labelled_folder_evaluation_matches_an_independent_computation(
    space_dir: Path, capsys
) -> None:
    root = _labelled_folder(space_dir / "eval set")
    metrics = space_dir / "metrics.json"
    rc = main(["predict", str(BUNDLE), str(root), "--format", "jsonl", "--out-file", str(metrics)])
    assert rc == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(rows) == 28 and all("error" not in r for r in rows)
    y_true = [r["true_label"] for r in rows]
    y_pred = [r["label"] for r in rows]
    # every clean pattern is right; each mislabelled file is "wrong" by construction
    for r in rows:
        expected = r["true_label"] if "mislabelled" not in r["path"] else None
        if expected:
            assert r["label"] == expected, r
    m = json.loads(metrics.read_text())
    # independent computation: plain Python counting
    n = len(y_true)
    assert m["n"] == n == 28
    assert m["accuracy"] == pytest.approx(sum(t == p for t, p in zip(y_true, y_pred)) / n, abs=1e-6)
    f1s = []
    for lab in LABELS:
        tp = sum(t == lab and p == lab for t, p in zip(y_true, y_pred))
        fp = sum(t != lab and p == lab for t, p in zip(y_true, y_pred))
        fn = sum(t == lab and p != lab for t, p in zip(y_true, y_pred))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
        got = next(c for c in m["per_class"] if c["label"] == lab)
        assert got["f1"] == pytest.approx(f1s[-1], abs=1e-6)
    assert m["macro_f1"] == pytest.approx(sum(f1s) / 4, abs=1e-6)
    conf = np.zeros((4, 4), int)
    for t, p in zip(y_true, y_pred):
        conf[LABELS.index(t), LABELS.index(p)] += 1
    assert m["confusion"] == conf.tolist()
    assert m["accuracy"] == pytest.approx(24 / 28)


def test_evaluate_agrees_with_scikit_learn() -> None:
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    t = rng.integers(0, 5, 300)
    p = np.where(rng.random(300) < 0.7, t, rng.integers(0, 5, 300))
    p[p == 4] = 3  # class 4 is never predicted: its F1 is 0
    ev = evaluate(t, p, list("abcde"))
    assert ev.accuracy == pytest.approx(sk.accuracy_score(t, p))
    assert ev.macro_f1 == pytest.approx(sk.f1_score(t, p, average="macro", labels=range(5)))
    np.testing.assert_array_equal(ev.confusion, sk.confusion_matrix(t, p, labels=range(5)))


def test_table_and_csv_formats_and_unreadable_files(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(IMAGES / "box" / "02.png", folder / "a.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    (folder / "notes.txt").write_text("ignored: not an image suffix")
    rc = main(["predict", str(BUNDLE), str(folder), "--format", "csv", "--top-k", "2"])
    captured = capsys.readouterr()
    assert rc == 0
    rows = list(csv.DictReader(io.StringIO(captured.out)))
    assert [Path(r["path"]).name for r in rows] == ["a.png", "broken.png"]
    assert rows[0]["label"] == "box" and rows[0]["top_k"].startswith("box:")
    assert rows[1]["label"] == "" and "not an image" in rows[1]["error"]
    assert "skipped 1 unreadable file(s)" in captured.err
    rc = main(["predict", str(BUNDLE), str(folder / "a.png"), "--format", "table"])
    out = capsys.readouterr().out
    assert rc == 0 and out.splitlines()[1].startswith("box")


def test_bad_paths_and_options(tmp_path: Path, capsys) -> None:
    assert main(["predict", str(BUNDLE), str(tmp_path / "nothing.png")]) == 1
    assert "nothing.png does not exist" in capsys.readouterr().err
    (tmp_path / "junk.png").write_bytes(b"junk")
    assert main(["predict", str(BUNDLE), str(tmp_path / "junk.png")]) == 1
    assert "none of the 1 file(s) could be read" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "no bundle"), str(tmp_path / "junk.png")]) == 1
    assert "does not exist; pass the folder" in capsys.readouterr().err
    assert main(["predict", str(BUNDLE), str(tmp_path / "junk.png"), "--top-k", "0"]) == 2
    assert "Invalid value for '--top-k'" in capsys.readouterr().err


def test_stray_subfolder_in_labelled_folder_is_an_error(tmp_path: Path) -> None:
    root = _labelled_folder(tmp_path / "set")
    (root / "shoes").mkdir()
    Image.fromarray(pattern("box")).save(root / "shoes" / "x.png")
    with pytest.raises(DataError, match=r"subfolder\(s\) \['shoes'\] are not labels"):
        collect_inputs([root], LABELS)


def test_labels_with_a_slash_use_an_underscore_folder(tmp_path: Path) -> None:
    from tests.fixtures.edge_helpers import copy_bundle

    bundle = copy_bundle(tmp_path)
    path = bundle / "manifest.json"
    data = json.loads(path.read_text())
    data["labels"][2] = "box/frame"  # like Fashion-MNIST's "T-shirt/top"
    path.write_text(json.dumps(data))
    root = tmp_path / "set"
    (root / "box_frame").mkdir(parents=True)
    (root / "cross").mkdir()
    Image.fromarray(pattern("box")).save(root / "box_frame" / "a.png")
    Image.fromarray(pattern("cross")).save(root / "cross" / "b.png")
    items, labelled = collect_inputs([root], data["labels"])
    assert labelled and [i.true_index for i in items] == [2, 3]
