"""One macro-F1: `edgetk predict`, the export gate and the tuning objective agree on a subset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import f1_score

from edge_runtime.inputs import collect_inputs
from edge_runtime.predictor import Predictor
from edge_runtime.preprocess import load_image
from edgetk.cli import main
from export.parity import compare_outputs
from tests.fixtures.edge_helpers import BUNDLE, LABELS, pattern
from trainer.tuning.metric import macro_f1 as tuning_macro_f1


def _subset_without_a_class(root: Path) -> Path:
    """A labelled folder holding three of the four classes (no "cross"), one image mislabelled:
    the case where averaging over the classes present and over the label set disagree."""
    for label in LABELS[:3]:
        (root / label).mkdir(parents=True)
        for size in (28, 36, 44):
            Image.fromarray(pattern(label, size)).save(root / label / f"{size}.png")
    Image.fromarray(pattern("vertical", 28)).save(root / "horizontal" / "wrong.png")
    return root


def test_predict_and_gate_report_the_same_macro_f1(tmp_path: Path) -> None:
    folder = _subset_without_a_class(tmp_path / "subset")
    metrics_out = tmp_path / "metrics.json"
    assert main(["predict", str(BUNDLE), str(folder), "--metrics-out", str(metrics_out)]) == 0
    predicted = json.loads(metrics_out.read_text())

    # The gate's side: the same files through the runtime, scored by the gate's own function.
    items, labelled = collect_inputs([folder], LABELS)
    assert labelled and len(items) == 10
    predictor = Predictor.from_bundle(BUNDLE)
    probs = np.stack(
        [p.probabilities for p in predictor.predict([load_image(i.path) for i in items])]
    )
    y_true = np.array([i.true_index for i in items])
    gate = compare_outputs(probs, probs, y_true, LABELS)

    y_pred = probs.argmax(axis=1)
    assert 3 not in y_pred  # nothing predicted as "cross": its F1 is 0 and still counts
    expected = f1_score(y_true, y_pred, labels=range(4), average="macro", zero_division=0)
    assert predicted["n"] == gate["images"] == 10
    assert predicted["macro_f1"] == pytest.approx(gate["macro_f1"], abs=1e-6)
    assert gate["macro_f1"] == pytest.approx(expected, abs=1e-12)
    assert tuning_macro_f1(y_true, y_pred, 4) == pytest.approx(expected, abs=1e-12)
    # Averaging over the three classes present would give a different (higher) number.
    present_only = f1_score(y_true, y_pred, labels=range(3), average="macro", zero_division=0)
    assert gate["macro_f1"] < present_only - 0.1
