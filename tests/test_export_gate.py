"""The gate fails on deliberately broken artifacts; precision recovery finds the broken layer."""

from __future__ import annotations

import numpy as np
import pytest

from edge_runtime.common.errors import EXIT_PARITY_GATE, ParityGateError
from edge_runtime.manifest import load_manifest
from export import ExportConfig, GateConfig, RecoveryConfig, check_parity, export_bundle
from export.runners import predict_tflite
from tests.fixtures.artifact_structure import tflite_tensor_dtypes
from tests.test_export_support import (
    LABELS,
    make_hard_to_quantize,
    synthetic_split,
    train_tiny,
)


@pytest.fixture(scope="module")
def data():
    return synthetic_split()


@pytest.fixture(scope="module")
def good_model(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("good") / "good.keras"
    train_tiny(data[0], data[1]).save(path)
    return path


@pytest.fixture(scope="module")
def hard_model(tmp_path_factory, data):
    model = train_tiny(data[0], data[1])
    make_hard_to_quantize(model)
    path = tmp_path_factory.mktemp("hard") / "hard.keras"
    model.save(path)
    return path


@pytest.fixture(scope="module")
def recovered(tmp_path_factory, data, hard_model):
    """The hard model exported strictly and with recovery; the strict failure is accepted."""
    x_train, y_train, x_test, y_test = data
    cfg = ExportConfig(
        formats=("tflite_int8", "tflite_int8_mixed"),
        allow_parity_failure=True,
        recovery=RecoveryConfig(steps=(1, 2, 3), debug_images=32),
    )
    out = tmp_path_factory.mktemp("rec") / "hard bundle"
    return export_bundle(hard_model, out, cfg, x_train, y_train, x_test, y_test, LABELS,
                         x_select=x_train[-200:], y_select=y_train[-200:])  # fmt: skip


def test_failing_default_is_left_out_and_the_bundle_ships(data, good_model, space_dir) -> None:
    x_train, y_train, x_test, y_test = data
    # Calibrated on near-black images: every real activation saturates the int8 ranges.
    dark = (x_train // 64).astype(np.uint8)
    cfg = ExportConfig(formats=("tflite_fp32", "tflite_int8"), gate=GateConfig.lenient())
    res = export_bundle(good_model, space_dir / "out", cfg, dark, y_train, x_test, y_test, LABELS)
    assert [a.key for a in res.failed] == [a.key for a in res.excluded] == ["tflite_int8"]
    m = load_manifest(space_dir / "out", verify_hashes=True)
    assert [a.file for a in m.artifacts] == ["model_fp32.tflite"]
    assert m.default_artifact == "model_fp32.tflite"  # int8 is preferred, but it failed
    assert not (space_dir / "out" / "model_int8.tflite").exists()
    (ex,) = m.excluded
    assert ex["key"] == "tflite_int8" and ex["file"] == "model_int8.tflite"
    assert ex["parity"]["verdict"] == "fail" and ex["parity"]["accuracy_delta"] < -0.2
    assert "accuracy drop" in ex["reason"] and "real at 99 % confidence" in ex["reason"]
    assert "tflite_int8 would be the default artifact but failed" in res.default_note
    assert m.parity_data["default_note"] == res.default_note
    md = (space_dir / "out" / "parity.md").read_text()
    assert "| tflite_int8 |" in md and "fail (left out)" in md
    assert "## Left out of the bundle" in md and "## Sample size and significance" in md
    assert f"n = {len(y_test)} paired images" in md


def test_nothing_passing_exits_3_even_at_n30(data, good_model, space_dir) -> None:
    x_train, y_train, x_test, y_test = data
    dark = (x_train // 64).astype(np.uint8)
    cfg = ExportConfig(formats=("tflite_int8",), gate=GateConfig.lenient())
    with pytest.raises(ParityGateError) as info:
        export_bundle(good_model, space_dir / "out", cfg, dark, y_train, x_test[:30],
                      y_test[:30], LABELS)  # fmt: skip
    err = info.value
    assert err.exit_code == EXIT_PARITY_GATE == 3
    msg = str(err)
    assert "parity gate failed for 1 of 1 artifact(s): tflite_int8: accuracy drop" in msg
    assert "n = 30" in msg and "No artifact passed, so no bundle was written" in msg
    assert not (space_dir / "out").exists()  # a failed gate publishes nothing
    assert [p.name for p in space_dir.iterdir()] == []  # and leaves no staging folder
    assert "n = 30 paired images" in err.result.parity_md


@pytest.fixture(scope="module")
def fp32_tflite(tmp_path_factory, good_model):
    import keras

    from export.tflite_export import convert_tflite, write_saved_model

    work = tmp_path_factory.mktemp("fp32")
    model = keras.models.load_model(good_model)
    return convert_tflite(write_saved_model(model, work / "sm", (16, 16, 1)), "fp32", None)


def _judge_fp32(ref_model_path, probs, x, y):
    import keras

    ref = keras.models.load_model(ref_model_path).predict(x.astype(np.float32), verbose=0)
    gate = GateConfig.default()
    return check_parity("tflite_fp32", "fp32", ref, probs, y, LABELS, gate.fp32,
                        confidence=gate.confidence)  # fmt: skip


def test_wrong_input_scale_fails_at_n30(data, good_model, fp32_tflite) -> None:
    # A device that feeds 0..1 floats to a model trained on 0..255 pixels, run for real.
    x, y = data[2][:30], data[3][:30]
    probs = predict_tflite(fp32_tflite, x.astype(np.float32) / 255.0)
    r = _judge_fp32(good_model, probs, x, y)
    assert not r.passed and r.metrics["significance"]["images"] == 30
    assert any(f.startswith("accuracy drop") and "real at 99 %" in f for f in r.failures)
    assert any(f.startswith("top-1 agreement") for f in r.failures)


def test_corrupted_weights_fail_at_n30(data, good_model, tmp_path) -> None:
    import keras

    from export.tflite_export import convert_tflite, write_saved_model

    model = keras.models.load_model(good_model)
    # The output layer's class columns rotated by one, as a byte-shifted weight buffer might do.
    out = model.get_layer("probs")
    w, b = out.get_weights()
    out.set_weights([np.roll(w, 1, axis=1), np.roll(b, 1)])
    broken = convert_tflite(write_saved_model(model, tmp_path / "sm", (16, 16, 1)), "fp32", None)
    x, y = data[2][:30], data[3][:30]
    r = _judge_fp32(good_model, predict_tflite(broken, x.astype(np.float32)), x, y)
    assert not r.passed
    assert any("real at 99 % confidence" in f for f in r.failures)


def test_strict_int8_of_hard_model_fails_but_is_kept(recovered) -> None:
    strict = recovered.manifest.artifact("tflite:int8")
    assert strict.parity_passed is False and strict.parity_failure_accepted is True
    assert strict.input.dtype == "int8" and strict.float_layers == ()
    assert strict.parity["accuracy_delta"] < -0.2  # the broken layer wrecks full-integer int8


def test_recovery_names_the_hard_layer_and_keeps_it_float(recovered) -> None:
    mixed = recovered.manifest.artifact("tflite:int8_mixed")
    assert mixed.parity_passed is True and not mixed.parity_failure_accepted
    assert len(mixed.float_layers) == 1 and "hidden" in mixed.float_layers[0]
    rec = mixed.parity["recovery"]
    assert "hidden" in rec["ranking_top"][0]["tensor"]
    assert "quantization steps" in rec["float_layers"][0]["reason"]
    assert rec["metric"].startswith("sensitivity")
    assert "cuts the mean output error" in rec["float_layers"][0]["reason"]
    assert [a["float_layers"] for a in rec["attempts"]] == [0, 1]
    assert [a["passed"] for a in rec["attempts"]] == [False, True]
    # In the file, the hidden layer's output is float and the other layers stay int8.
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(recovered.bundle_dir / mixed.file))
    by_name = {t["name"]: np.dtype(t["dtype"]).name for t in interp.get_tensor_details()}
    assert by_name[mixed.float_layers[0]] == "float32"
    assert tflite_tensor_dtypes(recovered.bundle_dir / mixed.file).get("int8", 0) > 5
    md = (recovered.bundle_dir / "parity.md").read_text()
    assert "## Precision recovery" in md and mixed.float_layers[0] in md


def test_default_artifact_prefers_a_passing_one(recovered) -> None:
    assert recovered.manifest.default_artifact == "model_int8_mixed.tflite"
