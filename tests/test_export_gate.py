"""The gate fails on deliberately broken artifacts; precision recovery finds the broken layer."""

from __future__ import annotations

import numpy as np
import pytest

from edge_runtime.common.errors import EXIT_PARITY_GATE, ParityGateError
from export import ExportConfig, GateConfig, RecoveryConfig, export_bundle
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


def test_wrong_calibration_data_fails_the_gate(data, good_model, space_dir) -> None:
    x_train, y_train, x_test, y_test = data
    # Calibrated on near-black images: every real activation saturates the int8 ranges.
    dark = (x_train // 64).astype(np.uint8)
    cfg = ExportConfig(formats=("tflite_fp32", "tflite_int8"), gate=GateConfig.lenient())
    with pytest.raises(ParityGateError) as info:
        export_bundle(good_model, space_dir / "out", cfg, dark, y_train, x_test, y_test, LABELS)
    err = info.value
    assert err.exit_code == EXIT_PARITY_GATE == 3
    msg = str(err)
    assert "parity gate failed for 1 of 2 artifact(s): tflite_int8: accuracy drop" in msg
    assert "tflite_fp32:" not in msg and "points >" in msg
    assert not (space_dir / "out").exists()  # a failed gate publishes nothing
    res = err.result
    assert [a.key for a in res.failed] == ["tflite_int8"]


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
