"""Metrics agree with scikit-learn computed independently; the collapse detector fires when it must."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics as skm

from edge_runtime.common.errors import CollapseError, ConfigError, DataError
from trainer.evaluation import (
    CollapseThresholds,
    compute_metrics,
    detect_collapse,
    most_confused_pairs,
    raise_if_collapsed,
)

NAMES = ["a", "b", "c", "d", "e"]


def _noisy_predictions(n: int, k: int, accuracy: float, seed: int):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, size=n)
    logits = rng.normal(size=(n, k))
    right = rng.random(n) < accuracy
    logits[right, y[right]] += 4.0
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, probs.argmax(axis=1), probs


def test_metrics_match_scikit_learn() -> None:
    y, pred, probs = _noisy_predictions(600, 5, 0.7, seed=3)
    m = compute_metrics(y, pred, probs, NAMES)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["macro_f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert m["weighted_f1"] == pytest.approx(skm.f1_score(y, pred, average="weighted"))
    report = skm.classification_report(y, pred, output_dict=True, zero_division=0)
    for row in m["per_class"]:
        ref = report[str(row["index"])]
        assert row["precision"] == pytest.approx(ref["precision"])
        assert row["recall"] == pytest.approx(ref["recall"])
        assert row["f1"] == pytest.approx(ref["f1-score"])
        assert row["support"] == ref["support"]
    assert m["confusion_matrix"] == skm.confusion_matrix(y, pred).tolist()
    assert m["top2_accuracy"] == pytest.approx(skm.top_k_accuracy_score(y, probs, k=2))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, probs), rel=1e-6)
    assert m["n_samples"] == 600 and m["status"] == "ok" and not m["collapse"]["detected"]


def test_absent_class_still_has_a_row_and_a_column() -> None:
    y = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([0, 1, 1, 1, 2, 2])
    m = compute_metrics(y, pred, None, ["x", "y", "z", "never"])
    assert np.asarray(m["confusion_matrix"]).shape == (4, 4)
    assert m["per_class"][3] == {
        "index": 3,
        "name": "never",
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 0,
        "predicted": 0,
    }
    assert "top2_accuracy" not in m  # no probabilities, no confidence statistics


def test_most_confused_pairs_are_ordered_by_count() -> None:
    cm = np.array([[5, 3, 0], [7, 2, 1], [0, 3, 9]])
    pairs = most_confused_pairs(cm, ["x", "y", "z"], top=3)
    assert [(p["true"], p["predicted"], p["count"]) for p in pairs] == [
        (1, 0, 7),
        (0, 1, 3),
        (2, 1, 3),
    ]
    assert pairs[0]["share_of_true"] == pytest.approx(0.7)
    assert pairs[0]["true_name"] == "y" and pairs[0]["predicted_name"] == "x"


def test_bad_inputs_name_the_problem() -> None:
    with pytest.raises(DataError, match="y_pred spans 0..7 but there are 5 classes"):
        compute_metrics([0, 1], [0, 7], None, NAMES)
    with pytest.raises(DataError, match=r"probs must have shape \(N, K\) = \(2, 5\)"):
        compute_metrics([0, 1], None, np.ones((2, 3)) / 3, NAMES)
    with pytest.raises(DataError, match="y_true has 3 samples but y_pred has 2"):
        compute_metrics([0, 1, 2], [0, 1], None, NAMES)
    with pytest.raises(DataError, match="integer class indices"):
        compute_metrics([0.5, 1.0], [0, 1], None, NAMES)


def test_collapse_fires_on_one_class_and_on_chance() -> None:
    y = np.repeat(np.arange(10), 100)
    constant = detect_collapse(y, np.full_like(y, 8), 10)
    assert constant.detected
    assert constant.dominant_class == 8 and constant.dominant_share == 1.0
    assert any("one class dominates" in r for r in constant.reasons)

    # The user's story: 10.5 % on ten balanced classes, mostly one class.
    rng = np.random.default_rng(0)
    story = np.where(rng.random(len(y)) < 0.7, 3, rng.integers(0, 10, len(y)))
    report = detect_collapse(y, story, 10)
    assert report.detected and report.accuracy < 0.15
    assert any(r.startswith("near chance") for r in report.reasons)

    # Spread-out guessing: no dominant class, but chance accuracy.
    guess = detect_collapse(y, rng.integers(0, 10, len(y)), 10)
    assert guess.detected and guess.dominant_share < 0.2


def test_collapse_is_silent_on_good_and_legitimately_skewed_models() -> None:
    y, pred, _ = _noisy_predictions(1000, 10, 0.9, seed=1)
    assert not detect_collapse(y, pred, 10).detected
    # Imbalanced data: the majority class is 70 % of the truth, so 70 % of predictions is fine.
    y = np.array([0] * 700 + [1] * 100 + [2] * 100 + [3] * 100)
    pred = y.copy()
    pred[::10] = (pred[::10] + 1) % 4
    assert not detect_collapse(y, pred, 4).detected
    # Two classes at 70 %: 1.5 x chance would demand 75 %; the margin cap keeps it silent.
    y2 = np.repeat([0, 1], 500)
    p2 = y2.copy()
    p2[::10] = 1 - p2[::10]
    p2[1::10] = 1 - p2[1::10]
    p2[2::10] = 1 - p2[2::10]
    r2 = detect_collapse(y2, p2, 2)
    assert r2.accuracy == pytest.approx(0.7) and not r2.detected


def test_non_finite_outputs_are_a_collapse() -> None:
    y, _, probs = _noisy_predictions(200, 5, 0.95, seed=4)
    probs[:50] = np.nan
    m = compute_metrics(y, None, probs, NAMES)
    assert m["non_finite_outputs"] == 50
    assert m["status"] == "COLLAPSE"
    assert "50 of 200 outputs are NaN" in m["collapse"]["reasons"][0]


def test_raise_if_collapsed_names_numbers_and_figure() -> None:
    y = np.repeat(np.arange(10), 20)
    m = compute_metrics(y, np.full_like(y, 2), None, [f"c{i}" for i in range(10)])
    m["files"] = {"confusion_matrix_normalized": "/runs/x/transfer/confusion_matrix_normalized.png"}
    with pytest.raises(CollapseError, match=r"stage 'transfer' collapsed.*accuracy 10\.0%") as err:
        raise_if_collapsed(m, "transfer")
    assert "100.0% of predictions are 'c2'" in str(err.value)
    assert "/runs/x/transfer/confusion_matrix_normalized.png" in str(err.value)
    assert err.value.exit_code == 4

    good = compute_metrics(y, y, None, [f"c{i}" for i in range(10)])
    raise_if_collapsed(good, "baseline")  # silent
    with pytest.raises(ConfigError, match="no 'collapse' section"):
        raise_if_collapsed({"accuracy": 0.9}, "baseline")


def test_thresholds_validate_and_round_trip() -> None:
    th = CollapseThresholds(dominant_share=0.6)
    assert CollapseThresholds.from_dict(th.to_dict()) == th
    with pytest.raises(ConfigError, match=r"dominant_share=1\.5 is out of range"):
        CollapseThresholds(dominant_share=1.5)
    strict = CollapseThresholds(chance_factor=5.0, chance_margin_cap=0.5)
    y = np.repeat(np.arange(10), 10)
    pred = np.where(np.arange(100) % 10 < 4, y, (y + 1) % 10)  # 40 % accuracy
    assert not detect_collapse(y, pred, 10).detected
    assert detect_collapse(y, pred, 10, thresholds=strict).detected


def test_importing_metrics_does_not_import_tensorflow() -> None:
    # The exporter's parity gate uses compute_metrics; it must stay light.
    code = (
        "import sys, trainer.evaluation as e; "
        "e.compute_metrics([0, 1], [0, 1], None, ['a', 'b']); "
        "bad = [m for m in ('tensorflow', 'keras', 'matplotlib') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
