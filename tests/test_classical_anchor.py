"""The classical anchor: a stated stratified subset, validation and test scored, never exported."""

from __future__ import annotations

import json

import numpy as np

from tests.test_trainer_stages import synthetic_dataset
from trainer.candidates import ClassicalSpec
from trainer.data import DataConfig
from trainer.training.classical import run_classical, stratified_subset


def test_stratified_subset_keeps_class_shares() -> None:
    y = np.repeat([0, 1, 2], [600, 300, 100])
    idx = stratified_subset(y, 100, seed=0)
    assert len(idx) == 100 and len(set(idx)) == 100
    assert np.bincount(y[idx]).tolist() == [60, 30, 10]
    assert len(stratified_subset(y, 5000, seed=0)) == 1000  # more than there is: all of it


def test_anchor_scores_validation_and_test_on_its_subset(tmp_path) -> None:
    ds = synthetic_dataset()
    spec = ClassicalSpec(model="logistic_regression", train_subset=120, C=0.05)
    s = run_classical(tmp_path / "a run", "classical", spec, DataConfig(val_fraction=0.2), ds)
    assert s["train_count"] == 120 and s["train_subset_of"] == 288
    assert s["val_metrics"]["count"] == 72 and s["test_count"] == 150
    assert s["metrics"]["accuracy"] > 0.6  # stripes are linearly separable enough; chance is 1/3
    assert s["exported"] is False and s["params"] == 16 * 16 * 3 + 3
    on_disk = json.loads((tmp_path / "a run" / "classical" / "summary.json").read_text())
    assert on_disk["val_metrics"] == s["val_metrics"]
