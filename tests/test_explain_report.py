"""The report's explanation picture (trainer/report/explain_maps.py): the shipped artifact's
occlusion maps beside the float Keras model's, on validation images it gets right and wrong."""

from __future__ import annotations

import numpy as np
from PIL import Image

from tests.test_export_support import LABELS, synthetic_images, synthetic_split, train_tiny


def test_choose_images_right_per_class_first_and_wrong() -> None:
    from trainer.report.explain_maps import choose_images

    y = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    pred = np.array([0, 0, 1, 2, 2, 2, 0, 3])
    right, wrong = choose_images(y, pred, n_correct=4, n_wrong=5)
    assert sorted(int(y[i]) for i in right) == [0, 1, 2, 3]  # one per class first
    assert all(pred[i] == y[i] for i in right)
    assert sorted(wrong) == [3, 6] and all(pred[i] != y[i] for i in wrong)
    assert choose_images(y, pred, 4, 2) == choose_images(y, pred, 4, 2)  # the same every time


def test_maps_are_drawn_recorded_and_reach_the_report(tmp_path) -> None:
    from edge_runtime.common.fileio import read_json
    from export import ExportConfig, GateConfig, export_bundle
    from trainer.report.blocks import Figure, Report
    from trainer.report.explain_maps import MAPS_JSON, MAPS_PNG, write_explanation_maps
    from trainer.report.run_files import RunFiles
    from trainer.report.sections import export_section

    run = tmp_path / "a run"
    x_train, y_train, x_test, y_test = synthetic_split()
    model = train_tiny(x_train, y_train, epochs=3)
    keras_file = tmp_path / "m.keras"
    model.save(keras_file)
    cfg = ExportConfig(formats=("tflite_int8",), gate=GateConfig.lenient(),
                       allow_parity_failure=True)  # fmt: skip
    export_bundle(keras_file, run / "bundle", cfg, x_train, y_train, x_test[:200], y_test[:200],
                  LABELS)  # fmt: skip
    x_val, y_val = synthetic_images(200, seed=5)
    # 20 ambiguous images (a second square, of another class): the model gets some wrong
    for i in range(20):
        j = next(j for j in range(20, 200) if y_val[j] != y_val[i])
        x_val[i] = np.maximum(x_val[i], x_val[j])
    out = write_explanation_maps(run, keras_file, run / "bundle", x_val, y_val, LABELS)
    assert out == run / MAPS_PNG and Image.open(out).format == "PNG"
    info = read_json(run / MAPS_JSON)
    rows = info["images"]
    assert info["artifact"] == "model_int8.tflite" and info["split"] == "validation"
    right = [r for r in rows if r["correct"]]
    wrong = [r for r in rows if not r["correct"]]
    assert len(right) == 4 and {r["true"] for r in right} == set(LABELS)
    assert 1 <= len(wrong) <= 2 and all(r["true"] != r["predicted"] for r in wrong)
    pred = model.predict(x_val.astype("float32"), verbose=0).argmax(1)
    for r in rows:  # each row names the image and the Keras model's answer on it
        assert r["predicted"] == LABELS[pred[r["index"]]] and r["true"] == LABELS[y_val[r["index"]]]
        assert -1 <= r["rank_correlation"] <= 1 and 0 <= r["top_overlap"] <= 1
    # int8 maps of this model agree with the float ones far above chance on the right answers
    assert np.median([r["top_overlap"] for r in right]) > 0.3

    report = Report("t")
    export_section(report, RunFiles(run))
    (figure,) = [b for b in report.blocks if isinstance(b, Figure)]
    assert str(figure.path) == MAPS_PNG and "model_int8.tflite" in figure.caption
    assert f"{len(right)} validation images it gets right and {len(wrong)}" in figure.caption


def test_no_bundle_no_maps(tmp_path) -> None:
    from trainer.report.blocks import Figure, Report
    from trainer.report.run_files import RunFiles
    from trainer.report.sections import export_section

    report = Report("t")
    export_section(report, RunFiles(tmp_path))
    assert not [b for b in report.blocks if isinstance(b, Figure)]
